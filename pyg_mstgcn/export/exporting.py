"""Exporting a network's inference model (:func:`~pyg_mstgcn.models.optimize_for_inference`)
as an ONNX file or a torch.export program, with dynamic batch and frame axes, checked against
the eager model before it is reported written."""
from __future__ import annotations

import contextlib
import io
import json
import logging
import warnings
from pathlib import Path
from typing import Dict, Optional, Tuple, Union

import numpy as np
import torch
from torch import Tensor

from pyg_mstgcn.errors import InputError
from pyg_mstgcn.export.metadata import (INPUT_NAME, OUTPUT_NAME, PROGRAM_EXTRA_FILE,
                                        DeployInfo)
from pyg_mstgcn.io import atomic_write
from pyg_mstgcn.models import MSTGCN, optimize_for_inference

PathLike = Union[str, Path]

#: ``--format`` -> the suffix its files take.
FORMATS: Dict[str, str] = {'onnx': '.onnx', 'torch-export': '.pt2'}
#: The frames of the example input by default (the axis stays dynamic).
DEFAULT_FRAMES = 64
#: The ONNX opset written by default (ONNX Runtime 1.17 and later read it).
DEFAULT_OPSET = 18
#: The largest relative difference to the eager model's logits an export may show.
TOLERANCE = 1e-4


class ExportError(RuntimeError):
    """An export that failed its check against the eager model."""


def relative_difference(actual: np.ndarray, expected: np.ndarray) -> float:
    """``max |actual - expected| / max |expected|`` (the scale of the logits)."""
    scale = max(float(np.abs(expected).max()), 1e-12)
    return float(np.abs(actual - expected).max()) / scale


def example_input(model: MSTGCN, batch: int, frames: int, seed: int = 0) -> Tensor:
    """A random dense batch ``[batch, C, frames, V, M]`` for :obj:`model`."""
    for name, value in (('batch', batch), ('frames', frames)):
        if not isinstance(value, int) or value < 1:
            raise InputError(f'--{name} must be a positive integer (got {value})')
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(batch, model.in_channels, frames, model.layout.num_joints,
                       model.num_person, generator=generator)


def check_inputs(batch: int, frames: int) -> Tuple[Tuple[int, int], ...]:
    """Shapes other than the example's, on which every export is checked (dynamic axes)."""
    return ((batch + 1, frames + 7), (1, max(1, frames // 2 + 1)))


def program_min_frames(model: MSTGCN) -> int:
    """The fewest frames a torch.export program of :obj:`model` takes: after every temporal
    stride at least 2 frames must remain (a length of 1 would be traced as a constant)."""
    strides = [row[3] for row in model.block_rows]
    frames = 2
    while True:
        length = frames
        for stride in strides:
            length = -(-length // stride)
        if length >= 2:
            return frames
        frames += 1


def check_program_frames(model: MSTGCN, frames: int) -> int:
    """:func:`program_min_frames` of :obj:`model`, or an
    :class:`~pyg_mstgcn.errors.InputError` when the example's :obj:`frames` are fewer."""
    fewest = program_min_frames(model)
    if frames < fewest:
        raise InputError(f'--frames must be at least {fewest} for a torch.export program of '
                         f'this network (got {frames})')
    return fewest


def _dynamic_shapes() -> Tuple[Dict[int, object], ...]:
    # N and T vary (as far as the network allows: AUTO records the ranges instead of failing);
    # C, V and M are the network's
    return ({0: torch.export.Dim.AUTO, 2: torch.export.Dim.AUTO}, )


def _traced_input(model: MSTGCN, batch: int, frames: int) -> Tensor:
    """The example the network is traced with: a batch of one would be taken as a constant
    size, so at least two."""
    return example_input(model, max(batch, 2), frames)


def _eager_logits(model: MSTGCN, x: Tensor) -> np.ndarray:
    with torch.inference_mode():
        return model(x).numpy()


def _check_against(run, model: MSTGCN, batch: int, frames: int, what: str) -> float:
    """Runs :obj:`run` (dense input -> logits) on the example's shape and on others; raises
    an :class:`ExportError` unless the logits equal the eager model's within
    :data:`TOLERANCE`; returns the largest relative difference."""
    worst = 0.0
    for seed, (n, t) in enumerate(((batch, frames), ) + check_inputs(batch, frames)):
        x = example_input(model, n, t, seed=seed + 1)
        try:
            actual = np.asarray(run(x))
        except Exception as e:  # an exporter's guards or a runtime's own errors
            raise ExportError(f'{what} cannot run an input [{n}, ..., {t}, ...] '
                              f'({type(e).__name__}: {str(e).strip()[:200]})') from None
        difference = relative_difference(actual, _eager_logits(model, x))
        if not difference <= TOLERANCE:
            raise ExportError(f'{what}: logits differ from the eager model by {difference:.2e} '
                              f'(relative) on an input [{n}, ..., {t}, ...]; allowed '
                              f'{TOLERANCE:g}')
        worst = max(worst, difference)
    return worst


@contextlib.contextmanager
def _quiet():
    """Silences the exporters' progress prints and notes (the command line reports itself);
    errors still raise."""
    loggers = [logging.getLogger(name) for name in ('torch.onnx', 'torch.export',
                                                     'torch._export', 'torch.fx')]
    levels = [logger.level for logger in loggers]
    try:
        for logger in loggers:
            logger.setLevel(logging.ERROR)
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter('ignore')
            yield
    finally:
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)


def require_onnx(check: bool = True) -> None:
    """ONNX export needs onnx and onnxscript, and its check ONNX Runtime: one line naming the
    extra when they are missing."""
    import importlib.util
    needed = ['onnx', 'onnxscript'] + (['onnxruntime'] if check else [])
    missing = [name for name in needed if importlib.util.find_spec(name) is None]
    if missing:
        raise InputError(f"ONNX export needs {', '.join(missing)}: pip install "
                         f"'pyg_mstgcn[export]'")


def onnx_bytes(model: MSTGCN, info: DeployInfo, batch: int = 1, frames: int = DEFAULT_FRAMES,
               opset: int = DEFAULT_OPSET, check: bool = True) -> Tuple[bytes, Optional[float]]:
    """The ONNX file of :func:`export_onnx`, as bytes, and the largest relative difference
    its check found (:obj:`None` unchecked)."""
    require_onnx(check)
    import onnx
    fused = optimize_for_inference(model)
    x = _traced_input(model, batch, frames)
    with _quiet():
        program = torch.onnx.export(fused, (x, ), dynamo=True, input_names=[INPUT_NAME],
                                    output_names=[OUTPUT_NAME],
                                    dynamic_shapes=_dynamic_shapes(), opset_version=opset,
                                    external_data=False, verbose=False)
    proto = program.model_proto
    for key, value in info.to_strings().items():
        proto.metadata_props.add(key=key, value=value)
    proto.doc_string = (f'MST-GCN ({info.layout}, {info.num_classes} classes), exported by '
                        f'pyg_mstgcn {info.version}: logits of {info.input}')
    content = proto.SerializeToString()
    difference = None
    if check:
        onnx.checker.check_model(proto, full_check=True)
        from pyg_mstgcn.export.runtime import onnx_session
        session = onnx_session(content)
        difference = _check_against(
            lambda t: session.run(None, {INPUT_NAME: t.numpy()})[0], model, batch, frames,
            'the ONNX model')
    return content, difference


def export_onnx(model: MSTGCN, path: PathLike, info: DeployInfo, batch: int = 1,
                frames: int = DEFAULT_FRAMES, opset: int = DEFAULT_OPSET, check: bool = True
                ) -> Optional[float]:
    """Writes the inference model of :obj:`model` to :obj:`path` as ONNX: input
    ``x [N, C, T, V, M]`` float32 with dynamic ``N`` and ``T``, output ``logits [N,
    num_classes]``, :obj:`info` as metadata. With :obj:`check`, the file passes
    :func:`onnx.checker.check_model` and ONNX Runtime's logits equal the eager model's (on
    the example and on other batch sizes and frame counts) before it replaces :obj:`path`.
    Returns the largest relative difference found (:obj:`None` unchecked)."""
    content, difference = onnx_bytes(model, info, batch, frames, opset, check)
    with atomic_write(path) as f:
        f.write(content)
    return difference


def export_program(model: MSTGCN, path: PathLike, info: DeployInfo, batch: int = 1,
                   frames: int = DEFAULT_FRAMES, check: bool = True) -> Optional[float]:
    """Writes the inference model of :obj:`model` to :obj:`path` as a
    :func:`torch.export.export` program (``torch.export.load(path).module()`` runs it), with
    dynamic ``N`` and ``T`` and :obj:`info` as the extra file ``pyg_mstgcn.json``; checked
    as :func:`export_onnx` checks; :attr:`info.min_frames <DeployInfo.min_frames>` is set.
    Returns the largest relative difference found."""
    info.min_frames = check_program_frames(model, frames)
    fused = optimize_for_inference(model)
    x = _traced_input(model, batch, frames)
    with _quiet():
        program = torch.export.export(fused, (x, ), dynamic_shapes=_dynamic_shapes())
    difference = None
    if check:
        module = program.module()
        difference = _check_against(lambda t: module(t).detach().numpy(), model, batch,
                                    frames, 'the exported program')
    extra = {PROGRAM_EXTRA_FILE: json.dumps(info.to_strings())}
    with atomic_write(path) as f:
        torch.export.save(program, f, extra_files=extra)
    return difference
