import sys

from pyg_mstgcn.train.cli import main

sys.exit(main())
