import sys

from pyg_mstgcn.visualize.cli import main

sys.exit(main())
