"""The one exception a sample's preprocessing raises for bad input."""
from __future__ import annotations


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
