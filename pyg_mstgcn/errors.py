"""Bad input, and how the command lines report it: ``error: WHAT`` on one line of stderr, no
traceback, exit status 2."""
from __future__ import annotations

import argparse
import sys
from typing import NoReturn, Sequence, Union

#: The exit status of a command given bad input (as argparse uses for bad arguments).
BAD_INPUT = 2


class InputError(ValueError):
    """Input a user can fix (a value, an argument, a file); the message says what was wrong,
    where, and what is allowed or what to do."""


def report(error: Union[BaseException, str], status: int = BAD_INPUT) -> int:
    """Prints ``error: MESSAGE`` (an exception's message, or a text) as one line on stderr
    and returns :obj:`status`."""
    message = ' '.join(str(error).split()) or type(error).__name__
    print(f'error: {message}', file=sys.stderr)
    return status


def listed(items: Sequence[str], limit: int = 5, sep: str = ', ') -> str:
    """The first :obj:`limit` items and how many more, so that a message stays one readable
    line however many keys or samples it names."""
    more = f' and {len(items) - limit} more' if len(items) > limit else ''
    return sep.join(items[:limit]) + more


class ArgumentParser(argparse.ArgumentParser):
    """An :class:`argparse.ArgumentParser` whose errors are one line too (``error: PROG:
    MESSAGE; see --help``, exit status 2) instead of the usage and the message."""

    def error(self, message: str) -> NoReturn:
        report(f'{self.prog}: {message}; see --help')
        sys.exit(BAD_INPUT)
