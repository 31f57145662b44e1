"""The one exception a sample's preprocessing raises for bad input, and the JSON reading
that raises it."""
from __future__ import annotations

import json
from typing import Any, Type


class SampleError(ValueError):
    """A sample that cannot be used, and why; the run reports it and goes on.

    Args:
        path (str): The input file.
        line (int): The 1-based line of the problem, 0 when no line applies.
        reason (str): A short category, counted in the summary (``'truncated'``,
            ``'bad structure'``, ``'non-numeric token'``, ``'no body'``, ...).
        detail (str): What was found and what was expected.
        severity (str, optional): ``'error'`` for malformed input, ``'warning'`` for a
            well-formed file without usable content (no frames, no body).
            (default: :obj:`'error'`)
    """

    def __init__(self, path: str, line: int, reason: str, detail: str,
                 severity: str = 'error') -> None:
        self.path, self.line, self.reason, self.detail = str(path), line, reason, detail
        self.severity = severity
        where = f'{self.path}, line {line}' if line else self.path
        super().__init__(f'{where}: {detail}')


def load_json(path: str, error: Type[SampleError]) -> Any:
    """The content of the JSON file :obj:`path`; invalid JSON or text that is not UTF-8 is
    :obj:`error` (a :class:`SampleError` of the file's format) naming the line and column."""
    with open(path, 'rb') as f:
        raw = f.read()
    try:
        return json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        detail = (f'invalid JSON at column {e.colno}: {e.msg}'
                  if isinstance(e, json.JSONDecodeError) else f'not UTF-8 text ({e})')
        raise error(path, getattr(e, 'lineno', 0), 'invalid JSON', detail) from None
