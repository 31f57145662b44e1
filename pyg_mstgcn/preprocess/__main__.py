import sys

from pyg_mstgcn.preprocess.cli import main

sys.exit(main())
