import sys

from pyg_mstgcn.export.cli import main

sys.exit(main())
