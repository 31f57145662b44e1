import sys

from pyg_mstgcn.predict.cli import main

sys.exit(main())
