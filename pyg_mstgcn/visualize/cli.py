"""``python -m pyg_mstgcn.visualize SUBCOMMAND``: figures of what the model sees and learned.

Each subcommand is one module of :mod:`pyg_mstgcn.visualize` (:data:`SUBCOMMANDS`), giving
``add_arguments(parser)`` and ``run(args) -> int``; bad input raises an
:class:`~pyg_mstgcn.errors.InputError`, reported here in one line (exit status 2).
"""
from __future__ import annotations

import argparse
import importlib
import sys
from typing import Dict, List, Optional

from pyg_mstgcn.errors import ArgumentParser, InputError, report

#: Subcommand -> the module that draws it (imported when chosen: matplotlib is an extra).
SUBCOMMANDS: Dict[str, str] = {
    'skeleton': 'pyg_mstgcn.visualize.skeleton',
    'adjacency': 'pyg_mstgcn.visualize.adjacency',
    'importance': 'pyg_mstgcn.visualize.importance',
    'evaluation': 'pyg_mstgcn.visualize.evaluation',
}


def parser() -> argparse.ArgumentParser:
    p = ArgumentParser(prog='python -m pyg_mstgcn.visualize',
                       description=__doc__.split('\n')[0].replace('``', ''),
                       epilog='python -m pyg_mstgcn.visualize SUBCOMMAND --help for each; '
                              'exit status: 0 written, 2 bad input (one line on stderr)')
    commands = p.add_subparsers(dest='command', metavar='SUBCOMMAND', required=True,
                                parser_class=ArgumentParser)
    for name, module_name in SUBCOMMANDS.items():
        module = importlib.import_module(module_name)
        doc = (module.__doc__ or '').strip()
        sub = commands.add_parser(name, help=doc.split('\n')[0], description=doc,
                                  formatter_class=argparse.RawDescriptionHelpFormatter)
        module.add_arguments(sub)
        sub.set_defaults(run=module.run)
    return p


def main(argv: Optional[List[str]] = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.run(args)
    except InputError as e:
        return report(e)
    except ImportError as e:   # matplotlib, pillow or a video writer missing
        return report(e)
    except KeyboardInterrupt:
        return report('interrupted', 130)


if __name__ == '__main__':
    sys.exit(main())
