r"""Reading NTU RGB+D ``.skeleton`` files (Kinect v2) and choosing the two main bodies.

**The format** (text, CRLF line endings)::

    T                                   number of frames
    B                                   frame 1: number of bodies
    bodyID clipped hlConf hlState hrConf hrState restricted leanX leanY tracking
    25                                  number of joints of this body
    x y z depthX depthY colorX colorY oriW oriX oriY oriZ tracking     (25 joint lines)
    ...                                 the other bodies, then frames 2..T

Only the camera-space coordinates ``x, y, z`` (metres) are kept.

**Speed.** A file in the dataset's own layout (fields separated by single spaces) takes a
fast path: NumPy locates the spaces and line breaks of the whole file, which gives every
line's field count; a short Python walk over frames and bodies (never over joints) checks the
structure; the ``x y z`` fields of all joint lines are gathered and converted in one C call.
Anything else (other whitespace, or a problem) goes through a general tokenizer that accepts
any whitespace and, for a bad file, finds the first problem in file order. Every check is
exact: a wrong field count on any line, a non-numeric token anywhere or a non-finite
coordinate raises :class:`SkeletonFileError` naming the line and what was expected.

**Bodies** (as the original ``read_xyz`` of 2s-AGCN / MST-GCN): body slot :math:`m` of every
frame is the :math:`m`-th body listed in that frame, whatever its ID; up to 4 slots are kept.
The 2 slots with the largest *energy* are selected: the standard deviation of each
coordinate over all joints of all non-empty frames of the slot (a frame is empty when its
coordinates sum to 0), summed over x, y, z.
"""
from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, List, Optional, Tuple, Union

import numpy as np

from pyg_mstgcn.preprocess.errors import SampleError
from pyg_mstgcn.preprocess.normalize import num_valid_frames, pre_normalize

NUM_JOINTS = 25
#: Body slots observed per frame (the Kinect tracks at most 6; the original keeps 4).
MAX_BODIES = 4
#: Bodies kept per sample.
NUM_PERSONS = 2
INFO_FIELDS = 10
JOINT_FIELDS = 12


class SkeletonFileError(SampleError):
    """A malformed ``.skeleton`` file: the line where it is wrong and what was expected
    (:attr:`reason` is ``'truncated'``, ``'bad structure'``, ``'non-numeric token'``,
    ``'wrong joint count'`` or ``'non-finite value'``)."""


@dataclass
class SkeletonSequence:
    """The bodies of one ``.skeleton`` file.

    Attributes:
        num_frames (int): :math:`T`, the number of frames the file declares.
        xyz (numpy.ndarray): ``[B, 25, 3]`` float64 coordinates of every listed body
            (:math:`B` bodies over all frames, in file order).
        frame (numpy.ndarray): ``[B]`` the frame of each body.
        slot (numpy.ndarray): ``[B]`` the position of each body within its frame.
    """
    num_frames: int
    xyz: np.ndarray
    frame: np.ndarray
    slot: np.ndarray


class _Tokens:
    """Token and line boundaries of a whole file, found with NumPy byte operations."""

    def __init__(self, raw: bytes) -> None:
        b = np.frombuffer(raw, np.uint8)
        self.raw, self.bytes = raw, b
        if len(b) == 0:
            self.starts = self.ends = self.line_end = self.first = np.zeros(0, np.int64)
            self.counts: List[int] = []
            return
        space = b <= 32
        change = np.flatnonzero(space[1:] != space[:-1]) + 1
        pieces = [change]
        if not space[0]:
            pieces.insert(0, np.zeros(1, np.int64))
        if not space[-1]:
            pieces.append(np.full(1, len(b), np.int64))
        bounds = np.concatenate(pieces) if len(pieces) > 1 else change
        self.starts, self.ends = bounds[0::2], bounds[1::2]
        line_end = np.flatnonzero(b == 10)
        if b[-1] != 10:  # the last line has no line break
            line_end = np.append(line_end, len(b))
        self.line_end = line_end
        before = np.searchsorted(self.starts, line_end)  # tokens starting before each line end
        count = np.diff(before, prepend=0)
        self.first = before - count  # index of each line's first token
        self.counts = count.tolist()

    @property
    def num_lines(self) -> int:
        return len(self.counts)

    def token(self, line: int, index: int = 0) -> bytes:
        t = int(self.first[line]) + index
        return self.raw[int(self.starts[t]):int(self.ends[t])]

    def xyz_bounds(self, lines: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """Byte range of the first three fields of each of :obj:`lines`."""
        first = self.first[lines]
        return self.starts[first], self.ends[first + 2]

    def line_of(self, position: int) -> int:
        """The 0-based line holding the byte at ``position``."""
        return int(np.searchsorted(self.line_end, position))

    def line_text(self, line: int) -> str:
        start = int(self.line_end[line - 1]) + 1 if line > 0 else 0
        text = self.raw[start:int(self.line_end[line])].decode('utf-8', 'replace').strip()
        return text if len(text) <= 60 else text[:57] + '...'


class _CanonicalTokens:
    """Line and field boundaries of a file in the canonical layout of the dataset: fields
    separated by single spaces, no leading or trailing spaces, ``\\r`` only before ``\\n``.
    Only the spaces and line breaks need locating, which halves the work of
    :class:`_Tokens`. :meth:`build` returns ``None`` for any other layout."""

    @classmethod
    def build(cls, raw: bytes, b: np.ndarray) -> Optional['_CanonicalTokens']:
        n = len(b)
        space = np.flatnonzero(b == 32)
        if len(space) and (space[0] == 0 or space[-1] == n - 1
                           or (b[space - 1] <= 32).any() or (b[space + 1] <= 32).any()):
            return None
        line_end = np.flatnonzero(b == 10)
        if b[-1] != 10:
            line_end = np.append(line_end, n)
        start = np.concatenate([[0], line_end[:-1] + 1])
        has_cr = (line_end > start) & (b[line_end - 1] == 13)
        if (np.count_nonzero(has_cr) != np.count_nonzero(b == 13)  # a \r not before \n
                or np.count_nonzero(b == 9)):  # a tab
            return None
        self = cls()
        self.raw, self.space, self.line_end, self.start = raw, space, line_end, start
        self.content_end = line_end - has_cr
        before = np.searchsorted(space, line_end)           # spaces before each line end
        spaces = np.diff(before, prepend=0)
        self.first_space = before - spaces
        self.count_array = np.where(self.content_end > start, spaces + 1, 0)
        self.counts = self.count_array.tolist()
        return self

    def xyz_bounds(self, lines: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """Byte range of the first three fields of each of :obj:`lines`."""
        return self.start[lines], self.space[self.first_space[lines] + 2]


#: Every byte a well-formed file may hold.
_NUMERIC = b'0123456789.-+eE \t\r\n'


def _bad_characters(raw: bytes, b: np.ndarray) -> Optional[int]:
    """Position of the first byte that cannot be part of a number or a separator."""
    if not raw.translate(None, _NUMERIC):  # nothing else in the file
        return None
    ok = np.subtract(b, 48, dtype=np.uint8) <= 9  # digits
    ok |= (b == 32) | (b == 46) | (b == 45) | (b == 13) | (b == 10) | (b == 43) | (b == 9)
    ok |= (b | 32) == 101  # e, E
    if ok.all():
        return None
    return int(np.argmin(ok))


def _fields(n: int) -> str:
    return f'{n} field' + ('' if n == 1 else 's')


class _Walker:
    """Follows the frame / body / joint structure of a tokenised file."""

    def __init__(self, tokens: _Tokens, path: str) -> None:
        self.tokens, self.path = tokens, path

    def error(self, line: int, reason: str, detail: str) -> SkeletonFileError:
        return SkeletonFileError(self.path, line + 1, reason, detail)

    def integer(self, line: int, what: Callable[[], str]) -> int:
        tokens = self.tokens
        if line >= tokens.num_lines:
            raise self.error(line, 'truncated', f'the file ends early: expected {what()}')
        count = tokens.counts[line]
        if count != 1:
            found = 'an empty line' if count == 0 else _fields(count)
            raise self.error(line, 'bad structure', f'expected {what()} (one integer), found '
                             f'{found}: {tokens.line_text(line)!r}')
        token = tokens.token(line)
        try:
            value = int(token)
        except ValueError:
            raise self.error(line, 'non-numeric token',
                             f'expected {what()}, found {token.decode(errors="replace")!r}'
                             ) from None
        if value < 0:
            raise self.error(line, 'bad structure', f'expected {what()}, found {value}')
        return value

    def walk(self, strict: bool) -> Tuple[int, List[int], List[int], List[int]]:
        """Returns ``(T, frame, slot, first joint line)`` of every body.

        With ``strict``, every joint line's field count is checked in file order (used to
        find the first error); otherwise the caller checks them in bulk.
        """
        counts, num_lines = self.tokens.counts, self.tokens.num_lines
        T = self.integer(0, lambda: 'the number of frames')
        frames: List[int] = []
        slots: List[int] = []
        firsts: List[int] = []
        line = 1
        for t in range(T):
            nb = self.integer(line, lambda: f'the number of bodies of frame {t + 1} of {T}')
            body_count_line = line
            line += 1
            for m in range(nb):
                where = f'body {m + 1} of {nb} in frame {t + 1}'
                if line >= num_lines:
                    raise self.error(line, 'truncated', f'the file ends early: expected the '
                                     f'info line of {where}')
                if counts[line] != INFO_FIELDS:
                    raise self.error(
                        line, 'bad structure',
                        f'expected the {INFO_FIELDS}-field info line of {where}, found '
                        f'{_fields(counts[line])}; does the body count {nb} on line '
                        f'{body_count_line + 1} (or the joint count of the previous body) match '
                        f'the lines that follow?')
                nj = self.integer(line + 1, lambda: f'the number of joints of {where}')
                if nj != NUM_JOINTS:
                    raise self.error(line + 1, 'wrong joint count',
                                     f'expected {NUM_JOINTS} joints for {where}, found {nj}')
                first = line + 2
                if strict:
                    for k in range(NUM_JOINTS):
                        self.check_joint_line(first + k, lambda: f'joint {k + 1} of {where}')
                elif first + NUM_JOINTS > num_lines:
                    raise self.error(num_lines, 'truncated', f'the file ends early: expected '
                                     f'{NUM_JOINTS} joint lines for {where}')
                frames.append(t)
                slots.append(m)
                firsts.append(first)
                line = first + NUM_JOINTS
        for extra in range(line, num_lines):
            if counts[extra]:
                raise self.error(extra, 'bad structure',
                                 f'unexpected content after the last of the {T} frames '
                                 f'declared on line 1: {self.tokens.line_text(extra)!r}')
        return T, frames, slots, firsts

    def check_joint_line(self, line: int, what: Callable[[], str]) -> None:
        if line >= self.tokens.num_lines:
            raise self.error(line, 'truncated', f'the file ends early: expected {what()}')
        count = self.tokens.counts[line]
        if count != JOINT_FIELDS:
            raise self.error(line, 'bad structure',
                             f'expected the {JOINT_FIELDS}-field line of {what()}, found '
                             f'{_fields(count)}: {self.tokens.line_text(line)!r}')


def parse_skeleton(raw: bytes, path: Union[str, Path] = '<bytes>') -> SkeletonSequence:
    """Parses the contents of one ``.skeleton`` file.

    Raises:
        SkeletonFileError: The file is malformed (truncated, wrong field or joint count, a
            body count that does not match the lines, a non-numeric token, a non-finite
            coordinate). The message names the line and what was expected.
    """
    b = np.frombuffer(raw, np.uint8)
    if len(b) and not raw.translate(None, _NUMERIC):
        sequence = _parse_canonical(raw, b)
        if sequence is not None:
            return sequence
    # Anything unusual: the general tokenizer, which finds the first problem and explains it.
    return _parse(_Tokens(raw), str(path))


class _Malformed(Exception):
    pass


def _parse_canonical(raw: bytes, b: np.ndarray) -> Optional[SkeletonSequence]:
    """The fast path for well-formed files in the dataset's own layout; ``None`` at the
    first doubt (the caller then diagnoses the file with the general path)."""
    tokens = _CanonicalTokens.build(raw, b)
    if tokens is None:
        return None
    counts, start, end = tokens.counts, tokens.start, tokens.content_end
    num_lines = len(counts)

    def number(line: int) -> int:
        if line >= num_lines or counts[line] != 1:
            raise _Malformed
        value = int(raw[start[line]:end[line]])
        if value < 0:
            raise _Malformed
        return value

    frames: List[int] = []
    slots: List[int] = []
    firsts: List[int] = []
    try:
        T = number(0)
        line = 1
        for t in range(T):
            bodies = number(line)
            line += 1
            for m in range(bodies):
                if line >= num_lines or counts[line] != INFO_FIELDS:
                    raise _Malformed
                if number(line + 1) != NUM_JOINTS or line + 2 + NUM_JOINTS > num_lines:
                    raise _Malformed
                frames.append(t)
                slots.append(m)
                firsts.append(line + 2)
                line += 2 + NUM_JOINTS
        if any(counts[line:]):
            raise _Malformed
    except (_Malformed, ValueError):
        return None
    joint_lines = (np.asarray(firsts, np.int64)[:, None] + np.arange(NUM_JOINTS)).reshape(-1)
    if not (tokens.count_array[joint_lines] == JOINT_FIELDS).all():
        return None
    xyz = np.zeros((0, 3))
    if len(joint_lines):
        begin, stop = tokens.xyz_bounds(joint_lines)
        # "x y z " of every joint line, gathered, then all numbers in one C call. A sentinel
        # NaN (letters cannot occur in the file) proves that the text was read to its end,
        # and the count that no token split in two.
        size = stop - begin + 1                                # with the third space
        offset = np.cumsum(size) - size
        index = np.repeat(begin - offset, size) + np.arange(int(offset[-1] + size[-1]))
        text = b[index].tobytes() + b'nan'
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            try:
                values = np.fromstring(text, dtype=np.float64, sep=' ')
            except ValueError:
                return None
        if len(values) != 3 * len(joint_lines) + 1 or not np.isnan(values[-1]):
            return None
        xyz = values[:-1].reshape(-1, 3)
        if not np.isfinite(xyz).all():
            return None
    return SkeletonSequence(T, xyz.reshape(-1, NUM_JOINTS, 3), np.asarray(frames, np.int64),
                            np.asarray(slots, np.int64))


def _parse(tokens: '_Tokens', path: str) -> SkeletonSequence:
    """The general path: any whitespace layout; precise errors."""
    if tokens.num_lines == 0 or not any(tokens.counts):
        raise SkeletonFileError(path, 1, 'truncated',
                                'the file is empty: expected the number of frames')
    walker = _Walker(tokens, path)
    errors = []  # the first in file order is reported; on one line, the structural one
    try:
        T, frames, slots, firsts = walker.walk(strict=False)
        joint_lines = (np.asarray(firsts, np.int64)[:, None]
                       + np.arange(NUM_JOINTS)).reshape(-1)
        structure_ok = bool((np.asarray(tokens.counts)[joint_lines] == JOINT_FIELDS).all())
    except SkeletonFileError:
        structure_ok = False
    if not structure_ok:
        try:
            walker.walk(strict=True)  # raises at the first bad line, in file order
        except SkeletonFileError as error:
            errors.append(error)
    _check_characters(tokens, walker, errors)
    if errors:
        raise min(errors, key=lambda error: error.line)
    xyz = _convert_xyz(tokens, joint_lines, walker)
    return SkeletonSequence(T, xyz.reshape(-1, NUM_JOINTS, 3), np.asarray(frames, np.int64),
                            np.asarray(slots, np.int64))


def _check_characters(tokens: '_Tokens', walker: '_Walker', errors: List) -> None:
    bad_byte = _bad_characters(tokens.raw, tokens.bytes)
    if bad_byte is None:
        return
    line = tokens.line_of(bad_byte)
    token = int(np.searchsorted(tokens.starts, bad_byte, side='right')) - 1
    if token < 0 or tokens.ends[token] <= bad_byte:  # a control character between tokens
        found = f'the byte {tokens.raw[bad_byte:bad_byte + 1]!r}'
    else:
        text = tokens.raw[tokens.starts[token]:tokens.ends[token]]
        found = (f'{text.decode("utf-8", "replace")!r} in field '
                 f'{token - int(tokens.first[line]) + 1}')
    errors.append(walker.error(line, 'non-numeric token', f'expected numbers only, found '
                               f'{found}: {tokens.line_text(line)!r}'))


def _convert_xyz(tokens: _Tokens, joint_lines: np.ndarray, walker: '_Walker') -> np.ndarray:
    """The first three fields of the given lines as a ``[L, 3]`` float64 array."""
    if len(joint_lines) == 0:
        return np.zeros((0, 3))
    begin, end = tokens.xyz_bounds(joint_lines)
    raw = tokens.raw
    text = b' '.join([raw[a:z] for a, z in zip(begin.tolist(), end.tolist())])
    try:
        values = np.array(text.split(), dtype=np.float64).reshape(-1, 3)
    except ValueError:
        for line in joint_lines.tolist():
            for k in range(3):
                token = tokens.token(line, k)
                try:
                    float(token)
                except ValueError:
                    raise walker.error(line, 'non-numeric token',
                                       f'expected a number for coordinate {"xyz"[k]}, found '
                                       f'{token.decode(errors="replace")!r}') from None
        raise  # not reached: some token failed above
    finite = np.isfinite(values).all(1)
    if not finite.all():
        line = int(joint_lines[np.argmin(finite)])
        raise walker.error(line, 'non-finite value',
                           f'expected finite coordinates, found {tokens.line_text(line)!r}')
    return values


def read_skeleton(path: Union[str, Path]) -> SkeletonSequence:
    """Reads and parses one ``.skeleton`` file (see :func:`parse_skeleton`)."""
    fd = os.open(path, os.O_RDONLY)
    try:  # one read of the known size (buffered reading costs more here)
        size = os.fstat(fd).st_size
        chunks = []
        while size > 0:
            chunk = os.read(fd, size)
            if not chunk:
                break
            chunks.append(chunk)
            size -= len(chunk)
    finally:
        os.close(fd)
    return parse_skeleton(b''.join(chunks) if len(chunks) != 1 else chunks[0], path)


def body_slots(sequence: SkeletonSequence, max_bodies: int = MAX_BODIES) -> np.ndarray:
    """``[S, T, 25, 3]``: slot :math:`m` holds the :math:`m`-th body listed in each frame;
    bodies beyond :obj:`max_bodies` in a frame are dropped (as the original). :math:`S` is
    the number of slots in use, at most :obj:`max_bodies` (the others would be empty)."""
    used = int(sequence.slot.max()) + 1 if len(sequence.slot) else 0
    data = np.zeros((min(used, max_bodies), sequence.num_frames, NUM_JOINTS, 3))
    keep = sequence.slot < max_bodies
    data[sequence.slot[keep], sequence.frame[keep]] = sequence.xyz[keep]
    return data


def body_energy(slots: np.ndarray) -> np.ndarray:
    """The energy of each body slot of ``[M, T, V, 3]``: over the slot's non-empty frames
    (coordinates summing to non-zero), the standard deviation of x, of y and of z over all
    joints and frames, summed; 0 for a slot without non-empty frames."""
    energy = np.zeros(len(slots))
    nonempty = slots.sum(axis=(2, 3)) != 0
    for m, slot in enumerate(slots):  # a handful of slots, never a loop over frames
        frames = slot[nonempty[m]]
        if len(frames):
            energy[m] = sum(frames[:, :, c].std() for c in range(3))
    return energy


def select_bodies(slots: np.ndarray, num_persons: int = NUM_PERSONS) -> np.ndarray:
    """The :obj:`num_persons` slots of highest energy, as ``[3, T, 25, num_persons]``.

    Ties keep the listing order (the original leaves them to NumPy's default ``argsort``,
    whose order for equal keys differs between NumPy versions and CPUs).
    """
    if len(slots) <= 1:  # one slot comes first whatever its energy (ties keep the order)
        order = np.arange(len(slots))
    else:
        energy = body_energy(slots)
        order = np.argsort(-energy, kind='stable')[:num_persons]  # absent slots: 0, last
    chosen = slots[order]
    if len(chosen) < num_persons:
        pad = np.zeros((num_persons - len(chosen), ) + chosen.shape[1:])
        chosen = np.concatenate([chosen, pad])
    return chosen.transpose(3, 1, 2, 0)


def main_bodies(sequence: SkeletonSequence, max_bodies: int = MAX_BODIES,
                num_persons: int = NUM_PERSONS) -> np.ndarray:
    """The selected bodies as ``[3, T, 25, num_persons]`` float64 (the original's
    ``read_xyz``): :func:`select_bodies` of :func:`body_slots`."""
    T = sequence.num_frames
    if len(sequence.slot) == T and not sequence.slot.any():  # one body in every frame
        out = np.zeros((3, T, NUM_JOINTS, num_persons))
        out[..., 0] = sequence.xyz.transpose(2, 0, 1)
        return out
    return select_bodies(body_slots(sequence, max_bodies), num_persons)


def read_sample(path: Union[str, Path], max_bodies: int = MAX_BODIES,
                num_persons: int = NUM_PERSONS) -> np.ndarray:
    """One file as ``[3, T, 25, num_persons]`` float64 (the original's ``read_xyz``)."""
    return main_bodies(read_skeleton(path), max_bodies, num_persons)


def load_ntu_sample(path: Union[str, Path], num_frames: int = 300, truncate: bool = True
                    ) -> Tuple[np.ndarray, int, List[str]]:
    """One file, ready for training: parsed, bodies selected, fitted to :obj:`num_frames`
    frames (zero padding, then the repetition of :func:`~preprocess.normalize.pre_normalize`)
    and pre-normalised.

    Args:
        path (str or Path): The ``.skeleton`` file.
        num_frames (int, optional): The length of the time axis. (default: :obj:`300`)
        truncate (bool, optional): Cut longer sequences (with a warning); otherwise they
            are an error. (default: :obj:`True`)

    Returns:
        ``(sample, valid_frames, warnings)``: ``[3, num_frames, 25, 2]`` float32, the number of
        frames before the repetition (see :func:`~preprocess.normalize.num_valid_frames`), and
        warning messages.

    Raises:
        SampleError: A malformed file (:class:`SkeletonFileError`), or, with severity
            ``'warning'``, a file with zero frames or no body.
    """
    sequence = read_skeleton(path)
    T = sequence.num_frames
    if T == 0:
        raise SampleError(path, 1, 'no frames', 'the file declares 0 frames', 'warning')
    if len(sequence.xyz) == 0:
        raise SampleError(path, 0, 'no body', f'none of its {T} frames has a body', 'warning')
    sample = main_bodies(sequence)
    if not sample.any():
        raise SampleError(path, 0, 'no body', 'every body has all joints at (0, 0, 0)',
                          'warning')
    warnings = []
    if T > num_frames:
        if not truncate:
            raise SampleError(path, 1, 'too long', f'{T} frames, more than {num_frames}')
        warnings.append(f'{path}: {T} frames, truncated to the first {num_frames} (use '
                        f'--keep-long to keep whole sequences)')
        sample = sample[:, :num_frames]
    # float32, as the original's array; zero-padded to num_frames by pre_normalize
    normalized = pre_normalize(sample.astype(np.float32), num_frames=num_frames)
    return normalized, int(num_valid_frames(sample)), warnings
