"""A confusion-matrix heat-map as PNG, written with :mod:`zlib` and :mod:`struct` only."""
from __future__ import annotations

import struct
import zlib
from pathlib import Path
from typing import Union

import numpy as np


def _chunk(kind: bytes, data: bytes) -> bytes:
    return (struct.pack('>I', len(data)) + kind + data
            + struct.pack('>I', zlib.crc32(kind + data) & 0xffffffff))


def write_png(path: Union[str, Path], rgb: np.ndarray) -> None:
    """Writes an 8-bit RGB image ``[H, W, 3]`` (uint8) as PNG."""
    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    H, W, _ = rgb.shape
    raw = b''.join(b'\x00' + rgb[y].tobytes() for y in range(H))  # filter type 0 per row
    png = (b'\x89PNG\r\n\x1a\n'
           + _chunk(b'IHDR', struct.pack('>IIBBBBB', W, H, 8, 2, 0, 0, 0))
           + _chunk(b'IDAT', zlib.compress(raw, 9)) + _chunk(b'IEND', b''))
    Path(path).write_bytes(png)


def confusion_heatmap(cm: np.ndarray, max_size: int = 640) -> np.ndarray:
    """Row-normalised confusion ``[C, C]`` as an RGB image: white (0) to dark blue (1), each
    cell a square of pixels, with a one-pixel grey grid for up to 64 classes."""
    cm = np.asarray(cm, dtype=np.float64)
    C = len(cm)
    rows = cm.sum(1, keepdims=True)
    frac = np.divide(cm, rows, out=np.zeros_like(cm), where=rows > 0)
    cell = max(1, min(32, max_size // max(C, 1)))
    white, blue = np.array([255., 255., 255.]), np.array([8., 48., 107.])
    colours = white + frac[..., None] * (blue - white)               # [C, C, 3]
    img = np.repeat(np.repeat(colours, cell, axis=0), cell, axis=1)
    if cell >= 4:
        img[::cell, :] = img[-1, :] = 200
        img[:, ::cell] = img[:, -1] = 200
    return np.round(img).astype(np.uint8)


def write_confusion_png(path: Union[str, Path], cm: np.ndarray) -> None:
    """:func:`confusion_heatmap` written to :obj:`path`."""
    write_png(path, confusion_heatmap(cm))
