"""Running exported networks: an ONNX file under ONNX Runtime, or a torch.export program,
each called like the model on a dense batch ``[N, C, T, V, M]`` and returning the logits,
with the file's :class:`~pyg_mstgcn.export.DeployInfo`."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional, Union

import numpy as np
import torch
from torch import Tensor

from pyg_mstgcn.errors import InputError
from pyg_mstgcn.export.exporting import FORMATS
from pyg_mstgcn.export.metadata import INPUT_AXES, INPUT_NAME, PROGRAM_EXTRA_FILE, DeployInfo
from pyg_mstgcn.graph import SkeletonLayout, get_layout

PathLike = Union[str, Path]


def onnx_session(model: Union[PathLike, bytes], threads: Optional[int] = None) -> Any:
    """An ONNX Runtime session of a file (or its bytes) with every graph optimisation, on
    :obj:`threads` threads (PyTorch's count by default), whose threads spin while a run lasts
    but stop when it returns (by default they go on spinning, taking the cores from whatever
    the process does next: twice the time of a PyTorch call after it on 2 cores; without
    spinning at all, the run itself is 40% slower); a missing ONNX Runtime, or a file that is
    not an ONNX model, is an :class:`~pyg_mstgcn.errors.InputError`."""
    try:
        import onnxruntime
    except ImportError:
        raise InputError("running ONNX files needs ONNX Runtime: pip install "
                         "'pyg_mstgcn[export]'") from None
    options = onnxruntime.SessionOptions()
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = threads or torch.get_num_threads()
    options.inter_op_num_threads = 1
    options.log_severity_level = 3   # errors only
    options.add_session_config_entry('session.force_spinning_stop', '1')
    source = model if isinstance(model, bytes) else str(model)
    if not isinstance(model, bytes) and not Path(model).is_file():
        raise InputError(f'{model}: no such file')
    try:
        return onnxruntime.InferenceSession(source, options,
                                            providers=onnxruntime.get_available_providers())
    except Exception as e:  # ONNX Runtime raises its own exception types
        where = 'the exported model' if isinstance(model, bytes) else str(model)
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise InputError(f'{where} is not an ONNX model ONNX Runtime can run ({first})'
                         ) from None


class _Deployed:
    """What both runtimes share: the metadata, the attributes a recogniser reads, the check
    of the input's shape."""
    info: DeployInfo
    where: str

    @property
    def layout(self) -> SkeletonLayout:
        return get_layout(self.info.layout)

    @property
    def num_classes(self) -> int:
        return self.info.num_classes

    @property
    def num_person(self) -> int:
        return self.info.num_person

    @property
    def in_channels(self) -> int:
        return self.info.in_channels

    def eval(self) -> '_Deployed':  # an exported network is always in inference mode
        return self

    def to(self, device: Any) -> '_Deployed':
        return self

    def _checked(self, x: Union[Tensor, np.ndarray]) -> np.ndarray:
        x = x.detach().cpu().numpy() if isinstance(x, Tensor) else np.asarray(x)
        info = self.info
        expected = (info.in_channels, info.num_joints, info.num_person)
        if x.ndim != 5 or (x.shape[1], x.shape[3], x.shape[4]) != expected or \
                x.shape[0] < 1 or x.shape[2] < info.min_frames:
            raise InputError(f'{self.where} takes [{INPUT_AXES}] = [N, {info.in_channels}, T, '
                             f'{info.num_joints}, {info.num_person}] ({info.layout}, '
                             f'{info.num_person} persons), N at least 1, T at least '
                             f'{info.min_frames} (got {list(x.shape)})')
        return np.ascontiguousarray(x, dtype=np.float32)


class OnnxModel(_Deployed):
    """An exported ONNX file run by ONNX Runtime: ``OnnxModel('mstgcn.onnx')(x)`` gives the
    logits ``[N, num_classes]`` of a dense batch ``x [N, C, T, V, M]`` (NumPy or tensor) as a
    tensor; :attr:`info` is its metadata.

    Args:
        path (str or bytes): The file (or its content).
        threads (int, optional): ONNX Runtime's threads (PyTorch's count by default).
    """

    def __init__(self, path: Union[PathLike, bytes], threads: Optional[int] = None) -> None:
        self.where = 'the exported model' if isinstance(path, bytes) else str(path)
        self.session = onnx_session(path, threads)
        self.info = DeployInfo.from_strings(self.session.get_modelmeta().custom_metadata_map,
                                            self.where)

    def __call__(self, x: Union[Tensor, np.ndarray]) -> Tensor:
        out = self.session.run(None, {INPUT_NAME: self._checked(x)})[0]
        return torch.from_numpy(out)


class ProgramModel(_Deployed):
    """An exported torch.export program (``.pt2``), called as :class:`OnnxModel` is.

    Args:
        path (str): The file.
    """

    def __init__(self, path: PathLike) -> None:
        self.where = str(path)
        extra = {PROGRAM_EXTRA_FILE: ''}
        if not Path(path).is_file():
            raise InputError(f'{path}: no such file')
        try:
            program = torch.export.load(str(path), extra_files=extra)
        except Exception as e:  # a zip of another kind, a truncated file...
            raise InputError(f'{path} is not a torch.export program ({type(e).__name__}); '
                             f'export one with python -m pyg_mstgcn.export --format '
                             f'torch-export') from None
        try:
            values = json.loads(extra[PROGRAM_EXTRA_FILE] or '{}')
        except json.JSONDecodeError:
            values = {}
        self.info = DeployInfo.from_strings(values, self.where)
        self.module = program.module()

    def __call__(self, x: Union[Tensor, np.ndarray]) -> Tensor:
        x = torch.from_numpy(self._checked(x))
        try:
            with torch.inference_mode():
                return self.module(x)
        except (AssertionError, RuntimeError) as e:   # the program's guards on the shapes
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise InputError(f'{self.where} cannot take an input of shape {list(x.shape)} '
                             f'({first}); an ONNX export takes any frame count') from None


def load_deployed(path: PathLike, threads: Optional[int] = None) -> _Deployed:
    """The exported network of :obj:`path`: an :class:`OnnxModel` for ``.onnx`` files, a
    :class:`ProgramModel` for ``.pt2``."""
    suffix = Path(path).suffix.lower()
    if suffix == FORMATS['torch-export']:
        return ProgramModel(path)
    return OnnxModel(path, threads)
