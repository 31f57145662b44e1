"""What a value may be, said once: the rules that check options (the model's, the trainer's)
and the one-line messages for values and names they refuse."""
from __future__ import annotations

import difflib
import re
from numbers import Integral
from typing import Any, Callable, Collection, Iterable, Optional, Sequence


def is_integer(value: Any) -> bool:
    """An integer that is not a boolean (``True`` is no channel count)."""
    return isinstance(value, Integral) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    """A real number that is not a boolean nor NaN."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value == value


class Rule:
    """What a value may be: :attr:`allowed` says it in words, :meth:`accepts` tests it.
    ``a | b`` accepts what either accepts."""

    def __init__(self, allowed: str, accepts: Callable[[Any], bool]) -> None:
        self._allowed, self._accepts = allowed, accepts

    @property
    def allowed(self) -> str:
        return self._allowed

    def accepts(self, value: Any) -> bool:
        return bool(self._accepts(value))

    def __or__(self, other: 'Rule') -> 'Rule':
        return Rule(f'{self.allowed} or {other.allowed}',
                    lambda v: self.accepts(v) or other.accepts(v))


class OneOf(Rule):
    """One of the names of a table, read when checking (so an entry added later counts)."""

    def __init__(self, names: Collection[str]) -> None:
        self.names = names

    @property
    def allowed(self) -> str:
        return 'one of ' + ', '.join(repr(name) for name in self.names)

    def accepts(self, value: Any) -> bool:
        return isinstance(value, str) and value in self.names


NULL = Rule('null', lambda v: v is None)
BOOL = Rule('true or false', lambda v: isinstance(v, bool))
TEXT = Rule('a non-empty string', lambda v: isinstance(v, str) and v.strip() != '')
MAPPING = Rule('a mapping', lambda v: isinstance(v, dict))
POSITIVE_INT = Rule('a positive integer', lambda v: is_integer(v) and v > 0)
NON_NEGATIVE_INT = Rule('a non-negative integer', lambda v: is_integer(v) and v >= 0)
POSITIVE_ODD_INT = Rule('a positive odd integer',
                        lambda v: is_integer(v) and v > 0 and v % 2 == 1)
POSITIVE = Rule('a positive number', lambda v: is_number(v) and v > 0)
NON_NEGATIVE = Rule('a non-negative number', lambda v: is_number(v) and v >= 0)


#: The units of a duration, in seconds.
_UNIT_SECONDS = {'s': 1.0, 'sec': 1.0, 'm': 60.0, 'min': 60.0, 'h': 3600.0}
_DURATION = re.compile(r'\s*(\d+(?:\.\d*)?)\s*(' + '|'.join(_UNIT_SECONDS) + r')\s*')


def duration_seconds(value: Any) -> Optional[float]:
    """The seconds of a duration written as ``'90s'``, ``'30min'`` (or ``'30m'``) or
    ``'1.5h'`` (``None``: not one)."""
    match = _DURATION.fullmatch(value) if isinstance(value, str) else None
    if match is None or float(match[1]) <= 0:
        return None
    return float(match[1]) * _UNIT_SECONDS[match[2]]


DURATION = Rule("a duration such as '30min', '2h' or '90s'",
                lambda v: duration_seconds(v) is not None)


def interval(low: float, high: float, closed: bool = True) -> Rule:
    """A number in ``[low, high]`` (or ``[low, high)``)."""
    return Rule(f"a number in [{low}, {high}{']' if closed else ')'}",
                lambda v: is_number(v) and low <= v and (v <= high if closed else v < high))


def list_of(rule: Rule) -> Rule:
    """A list whose every item :obj:`rule` accepts."""
    items = re.sub(r'^an? ', '', rule.allowed).replace('number', 'numbers').replace(
        'integer', 'integers')
    return Rule(f'a list of {items}',
                lambda v: isinstance(v, list) and all(rule.accepts(x) for x in v))


def check_value(name: str, value: Any, rule: Rule) -> None:
    """Raises a one-line :class:`ValueError` (``"NAME must be ALLOWED (got VALUE)"``) unless
    :obj:`rule` accepts :obj:`value`."""
    if not rule.accepts(value):
        raise ValueError(f'{name} must be {rule.allowed} (got {value!r})')


def suggest(name: str, valid: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest of :obj:`valid`, or an empty string."""
    close = difflib.get_close_matches(str(name), list(valid), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ''


def check_names(given: Iterable[str], valid: Sequence[str], where: str) -> None:
    """Raises a :class:`ValueError` naming every name of :obj:`given` that is not in
    :obj:`valid`, with the closest valid name as a suggestion, and listing the valid ones."""
    unknown = [name for name in given if name not in valid]
    if unknown:
        described = ', '.join(f"'{name}'{suggest(name, valid)}" for name in unknown)
        raise ValueError(f"{where}: unknown option{'s' if len(unknown) > 1 else ''} "
                         f"{described}; valid options: {', '.join(valid)}")
