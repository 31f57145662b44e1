r"""The recogniser: trained checkpoints (one, or several fused as the ensemble does) that
turn any input of :mod:`pyg_mstgcn.predict.inputs` into class names, over whole sequences,
sliding windows or a live stream of frames.

Each checkpoint brings what its training used: the model, the input stream (joint, bone,
motion) and the evaluation transforms of its configuration (as ``--phase test`` applies
them), and its class names. A sequence goes through the last steps of the dataset's
preprocessing (:func:`~pyg_mstgcn.predict.sequences.finish`), then each checkpoint's stream
and transforms, then the model; the logits of several checkpoints are summed with their
weights (as ``python -m pyg_mstgcn.ensemble`` fuses score files), and ``top`` ranks the
classes by the softmax of the result.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Deque, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from torch_geometric.data import Batch

from pyg_mstgcn.data import SkeletonDataset, to_dense
from pyg_mstgcn.data.classes import class_names as read_names
from pyg_mstgcn.data.skeleton import check_sequence_shape
from pyg_mstgcn.data.transforms import Normalize, PreNormalize, build_transforms
from pyg_mstgcn.errors import InputError
from pyg_mstgcn.export.exporting import DEFAULT_FRAMES, FORMATS as EXPORT_FORMATS
from pyg_mstgcn.graph import get_layout
from pyg_mstgcn.models import MSTGCN
from pyg_mstgcn.predict.inputs import (ReadOptions, array_sequences, expand, people_frames,
                                      read_input)
from pyg_mstgcn.predict.sequences import PoseSequence, check_window, finish, windows
from pyg_mstgcn.preprocess.ntu import MAX_BODIES
from pyg_mstgcn.train.checkpoint import WeightsError, load_model

PathLike = Union[str, Path]


@dataclass
class Prediction:
    """One prediction: of a whole sequence, or of one window of it.

    Attributes:
        input (str): The input the sequence was read from.
        sample (str): The sequence within the input (file stem, ``frame_dir``, array index).
        start (int): Its first frame.
        end (int): The frame after its last.
        top (list of dict): The best classes, best first: ``{"label": int, "name": str or
            None, "score": probability}``.
        logits (list of float): The class scores (fused over the checkpoints).
    """
    input: str
    sample: str
    start: int
    end: int
    top: List[Dict[str, Any]]
    logits: List[float] = field(repr=False)

    def to_dict(self) -> Dict[str, Any]:
        """The record of the JSON output: ``input``, ``sample``, ``start``, ``end``, ``top``,
        ``logits``."""
        return {'input': self.input, 'sample': self.sample, 'start': self.start,
                'end': self.end, 'top': self.top, 'logits': self.logits}


class _Sequences(SkeletonDataset):
    """Finished sequences as a dataset, so that a checkpoint's stream and evaluation
    transforms apply exactly as in evaluation (:meth:`SkeletonDataset.get`)."""

    def __init__(self, samples: List[Tuple[np.ndarray, int]], layout, stream: str,
                 transforms: Any, stream_first: bool) -> None:
        super().__init__(layout, stream, transforms, stream_first, seed=0)
        self.samples = samples
        self.labels = [0] * len(samples)

    def __len__(self) -> int:
        return len(self.samples)

    def raw(self, index: int):
        x, num_frames = self.samples[index]
        return np.array(x, dtype=np.float32), num_frames, 0, str(index)


#: ``runtime`` -> what runs the network: the model in PyTorch (a checkpoint, or a
#: torch.export program), or ONNX Runtime (an exported ONNX file, or a checkpoint exported in
#: memory).
RUNTIMES = ('torch', 'onnx')
#: Suffixes of exported files, and the runtime each needs.
EXPORTED_SUFFIXES = {EXPORT_FORMATS['onnx']: 'onnx', EXPORT_FORMATS['torch-export']: 'torch'}


@dataclass
class _Member:
    """One checkpoint of the recogniser, with what its training applied to its input: its
    model takes a dense batch ``[N, C, T, V, M]`` (an :class:`MSTGCN`, or an exported network
    of :mod:`pyg_mstgcn.export`)."""
    model: Any
    weight: float
    stream: str
    transforms: Any
    stream_first: bool


class Recognizer:
    r"""Action recognition with trained checkpoints; see the module doc.

    Build it with :meth:`from_checkpoint`. :meth:`predict` takes any input of
    :mod:`pyg_mstgcn.predict.inputs` (a path, several, or an array in the model's input space,
    ``[C, T, V, M]`` or ``[N, C, T, V, M]``); :meth:`stream` makes an online recogniser for
    live frames.

    Args:
        members: The checkpoints' models and their input processing.
        class_names (list of str, optional): The names of the classes.
        device (torch.device): Where the models run.
        batch_size (int): Sequences per forward pass.
    """

    def __init__(self, members: List[_Member], class_names: Optional[List[str]],
                 device: torch.device, batch_size: int = 16) -> None:
        self.members, self.class_names = members, class_names
        self.device, self.batch_size = device, int(batch_size)
        first = members[0].model
        self.layout, self.num_classes = first.layout.name, first.num_classes
        self.num_person, self.in_channels = first.num_person, first.in_channels
        # raw NTU bodies are pre-normalised here, unless the checkpoints' transforms do it
        # (trained on raw 3-D pickles): the step is not idempotent, so never twice
        own = [any(isinstance(t, PreNormalize) for t in build_transforms(m.transforms))
               for m in members]
        if any(own) and not all(own):
            raise InputError('some checkpoints pre-normalise raw 3-D input in their '
                             'transforms (pre_normalize) and others expect it pre-normalised; '
                             'predict with them separately and fuse the score files')
        self.ntu_pre_normalized = not any(own)

    @classmethod
    def from_checkpoint(cls, path: Union[PathLike, Sequence[PathLike]],
                        device: Optional[Union[str, torch.device]] = None,
                        fuse_weights: Optional[Sequence[float]] = None,
                        class_names: Optional[Union[PathLike, Sequence[str]]] = None,
                        batch_size: int = 16, runtime: Optional[str] = None) -> 'Recognizer':
        """A recogniser of one checkpoint or several (fused).

        Args:
            path (str or list of str): Our checkpoints (``best.pt``, ``last.pt``), converted
                ones, or files of ``python -m pyg_mstgcn.export`` (``.onnx``, ``.pt2``), whose
                metadata give the preprocessing and class names as the checkpoint did.
            device (str or torch.device, optional): ``'cpu'``, ``'cuda'``...; CUDA when
                available by default.
            fuse_weights (list of float, optional): One weight per checkpoint (default: 1).
            class_names (str or list of str, optional): Names overriding the checkpoints':
                a file (one per line), a shipped list (``'ntu60'``...) or the names.
            batch_size (int, optional): Sequences per forward pass. (default: :obj:`16`)
            runtime (str, optional): ``'torch'`` or ``'onnx'`` (ONNX Runtime; a checkpoint
                is exported in memory first, see :mod:`pyg_mstgcn.export`); by default that
                of each file (``.onnx`` files ONNX Runtime, the others PyTorch).
        """
        paths = [path] if isinstance(path, (str, Path)) else list(path)
        if not paths:
            raise InputError('no checkpoint given')
        if runtime is not None and runtime not in RUNTIMES:
            raise InputError(f"unknown runtime '{runtime}'; valid runtimes: "
                             f"{', '.join(RUNTIMES)}")
        weights = [1.0] * len(paths) if fuse_weights is None else [float(w) for w in
                                                                    fuse_weights]
        if len(weights) != len(paths):
            raise InputError(f'{len(paths)} checkpoints but {len(weights)} fuse weights; give '
                             f'one weight per checkpoint')
        device = torch.device(device if device is not None else
                              'cuda' if torch.cuda.is_available() else 'cpu')
        if device.type == 'cuda' and not torch.cuda.is_available():
            raise InputError(f"device '{device}' but CUDA is not available; use 'cpu'")
        members, names = [], None
        for p, w in zip(paths, weights):
            member, member_names = _load_member(Path(p), w, runtime)
            member.model.to(device).eval()
            members.append(member)
            names = names or member_names
        _check_compatible(paths, [m.model for m in members])
        if class_names is not None:
            names = read_names(class_names) if isinstance(class_names, (str, Path)) else \
                list(class_names)
        if names is not None and len(names) != members[0].model.num_classes:
            raise InputError(f'{len(names)} class names for {members[0].model.num_classes} '
                             f'classes')
        return cls(members, names, device, batch_size)

    # -- reading --------------------------------------------------------------------------

    def read_options(self, frame_size: Optional[Tuple[float, float]] = None,
                     split: Optional[str] = None) -> ReadOptions:
        return ReadOptions(self.layout, self.num_person, self.in_channels, frame_size, split)

    def sequences(self, source: Any, fmt: Optional[str] = None,
                  frame_size: Optional[Tuple[float, float]] = None,
                  split: Optional[str] = None) -> Iterator[PoseSequence]:
        """The sequences of :obj:`source`: an array (the model's input space), a path or a
        list of paths (files, folders)."""
        options = self.read_options(frame_size, split)
        if isinstance(source, (np.ndarray, torch.Tensor)):
            array = source.cpu().numpy() if isinstance(source, torch.Tensor) else source
            yield from array_sequences(array, '<array>', options)
            return
        paths = [source] if isinstance(source, (str, Path)) else list(source)
        for path, found in expand([str(p) for p in paths], fmt):
            yield from read_input(path, found, options)

    # -- predicting -----------------------------------------------------------------------

    def predict(self, source: Any, top_k: int = 5, window: Optional[int] = None,
                stride: Optional[int] = None, fmt: Optional[str] = None,
                frame_size: Optional[Tuple[float, float]] = None,
                split: Optional[str] = None) -> List[Prediction]:
        """Predictions for every sequence of :obj:`source` (see :meth:`sequences`), one per
        sequence, or one per window with :obj:`window` (frames) and :obj:`stride` (see
        :func:`~pyg_mstgcn.predict.sequences.windows`)."""
        return list(self.iter_predict(self.sequences(source, fmt, frame_size, split), top_k,
                                      window, stride))

    def iter_predict(self, sequences: Iterable[PoseSequence], top_k: int = 5,
                     window: Optional[int] = None, stride: Optional[int] = None
                     ) -> Iterator[Prediction]:
        """:meth:`predict` over given sequences, yielding predictions as batches finish."""
        check_window(window, stride)
        pending: List[Tuple[PoseSequence, int, int, np.ndarray, int]] = []
        for sequence in sequences:
            where = f'{sequence.input}' + (f' ({sequence.sample})' if sequence.sample !=
                                            Path(sequence.input).stem else '')
            for start, end in windows(sequence.num_frames, window, stride, where):
                item = (sequence, start, end) + finish(sequence, start, end,
                                                         self.ntu_pre_normalized)
                if pending and item[3].shape != pending[0][3].shape:  # a batch: one shape
                    yield from self._run(pending, top_k)
                    pending = []
                pending.append(item)
                if len(pending) == self.batch_size:
                    yield from self._run(pending, top_k)
                    pending = []
        if pending:
            yield from self._run(pending, top_k)

    def model_inputs(self, samples: Sequence[Tuple[np.ndarray, int]],
                     stream: Optional[str] = None) -> List[torch.Tensor]:
        """What each checkpoint's model receives for finished samples ``(x [C, T, V, M],
        valid frames)``: the dense batch ``[N, C, T', V, M]`` of its stream and evaluation
        transforms, on :attr:`device`. :obj:`stream` replaces the checkpoints' streams
        (``'joint'``: the coordinates the transforms leave, frame by frame as the model
        receives its stream)."""
        inputs = []
        for member in self.members:
            data = _Sequences(list(samples), self.layout, stream or member.stream,
                              member.transforms, member.stream_first)
            rng = np.random.default_rng(0)
            batch = Batch.from_data_list([data.get(i, rng) for i in range(len(data))])
            inputs.append(to_dense(batch, get_layout(self.layout).num_joints).to(self.device))
        return inputs

    def logits(self, samples: Sequence[Tuple[np.ndarray, int]]) -> np.ndarray:
        """The fused logits ``[N, num_classes]`` of finished samples ``(x [C, T, V, M], valid
        frames)``: each checkpoint's model on its input (:meth:`model_inputs`), weighted."""
        total = None
        for member, x in zip(self.members, self.model_inputs(samples)):
            with torch.inference_mode():
                out = member.model(x).float().cpu().numpy()
            total = member.weight * out if total is None else total + member.weight * out
        return total

    def _run(self, pending, top_k: int) -> Iterator[Prediction]:
        logits = self.logits([(x, valid) for _, _, _, x, valid in pending])
        for (sequence, start, end, _, _), row in zip(pending, logits):
            yield self.prediction(row, sequence.input, sequence.sample, start, end, top_k)

    def prediction(self, logits: np.ndarray, input: str, sample: str, start: int, end: int,
                   top_k: int = 5) -> Prediction:
        """The :class:`Prediction` of one row of logits."""
        e = np.exp(logits - logits.max())
        probability = e / e.sum()
        order = np.argsort(-probability, kind='stable')[:max(1, int(top_k))]
        top = [{'label': int(c), 'name': self.class_names[c] if self.class_names else None,
                'score': float(probability[c])} for c in order]
        return Prediction(input, sample, int(start), int(end), top,
                          [float(v) for v in logits])

    def stream(self, window: int = 64, stride: int = 16, layout: Optional[str] = None,
               frame_size: Optional[Tuple[float, float]] = None, top_k: int = 5
               ) -> 'OnlineRecognizer':
        """An online recogniser of live frames (see :class:`OnlineRecognizer`)."""
        return OnlineRecognizer(self, window, stride, layout, frame_size, top_k)


class OnlineRecognizer:
    r"""Recognition over a live sequence: :meth:`push` one frame at a time; every time a full
    window of :obj:`window` frames has advanced by :obj:`stride` frames, the window is
    predicted (the same prediction as :meth:`Recognizer.predict` gives for that window of the
    same frames).

    Frames are ``[V, C]`` (one person) or ``[M, V, C]`` (persons in listing order):

    - without :obj:`layout`: the model's input space, as in its preprocessed arrays (what
      :meth:`Recognizer.predict` takes as an array);
    - with :obj:`layout`, raw poses of that layout, each window preprocessed as the dataset's
      preprocessing does: for a 2-D model, ``(x, y, score)`` of any pose layout that maps to
      the model's (``'coco'``: a pose estimator's COCO-17), normalised to the frame (pixels
      divided by :obj:`frame_size`) and converted as Kinetics-Skeleton; for an NTU RGB+D
      model, ``'ntu-rgb+d'`` camera coordinates ``(x, y, z)``, the two bodies of highest
      energy kept and the window pre-normalised.
    """

    def __init__(self, recognizer: Recognizer, window: int, stride: int,
                 layout: Optional[str], frame_size: Optional[Tuple[float, float]],
                 top_k: int) -> None:
        check_window(window, stride)
        self.recognizer, self.window, self.stride = recognizer, int(window), int(stride)
        self.layout, self.frame_size, self.top_k = layout, frame_size, top_k
        self.frames: Deque[np.ndarray] = deque(maxlen=self.window)
        self.count = 0   # frames pushed so far

    def push(self, frame: Any) -> Optional[Prediction]:
        """Adds one frame; returns the prediction of the window ending with it when a window
        is due, else :obj:`None`."""
        frame = np.asarray(frame, dtype=np.float64)
        if frame.ndim == 2:
            frame = frame[None]
        if frame.ndim != 3:
            raise InputError(f'a frame must be [V, C] or [M, V, C] (got shape '
                             f'{list(frame.shape)})')
        self.frames.append(frame)
        self.count += 1
        due = self.count >= self.window and (self.count - self.window) % self.stride == 0
        if not due:
            return None
        start, end = self.count - self.window, self.count
        sequence = self._sequence(list(self.frames), start)
        logits = self.recognizer.logits(
            [finish(sequence, pre_normalized=self.recognizer.ntu_pre_normalized)])[0]
        return self.recognizer.prediction(logits, '<stream>', 'stream', start, end,
                                          self.top_k)

    def _sequence(self, frames: List[np.ndarray], start: int) -> PoseSequence:
        rec = self.recognizer
        options = rec.read_options(self.frame_size)
        if self.layout is None:  # the model's input space: [M, V, C] frames
            x = _stack_persons(frames, rec.num_person).transpose(3, 0, 2, 1)   # [C, T, V, M]
            check_sequence_shape((1, ) + x.shape, rec.layout, 'the streamed frames')
            return PoseSequence('<stream>', 'stream', x, 'prepared', len(frames), rec.layout)
        if get_layout(rec.layout).name == 'ntu-rgb+d':
            slots = _stack_persons(frames, MAX_BODIES)             # [T, S, V, 3]
            return PoseSequence('<stream>', 'stream', slots.transpose(1, 0, 2, 3), 'ntu',
                                len(frames), rec.layout)
        data = people_frames([list(f) for f in frames], '<stream>', options)
        return PoseSequence('<stream>', 'stream', data, 'pose2d', len(frames), rec.layout)


def _stack_persons(frames: List[np.ndarray], persons: int) -> np.ndarray:
    """Frames ``[M_t, V, C]`` as ``[T, persons, V, C]``: the first persons of each frame,
    missing ones zero."""
    V, C = frames[0].shape[1:]
    out = np.zeros((len(frames), persons, V, C))
    for t, f in enumerate(frames):
        if f.shape[1:] != (V, C):
            raise InputError(f'frame {t} of the window has shape {list(f.shape)}, the first '
                             f'{list(frames[0].shape)}')
        out[t, :min(len(f), persons)] = f[:persons]
    return out


def _load_member(path: Path, weight: float, runtime: Optional[str]
                 ) -> Tuple[_Member, Optional[List[str]]]:
    """The member of a checkpoint or an exported file, run by :obj:`runtime`, and the class
    names it holds."""
    needs = EXPORTED_SUFFIXES.get(path.suffix.lower())
    if needs is not None:   # an exported network: the metadata say what training applied
        if runtime is not None and runtime != needs:
            raise InputError(f'{path} is an exported {path.suffix} file, which runs with '
                             f'--runtime {needs} (or without --runtime)')
        from pyg_mstgcn.export import load_deployed
        model = load_deployed(path)
        info = model.info
        stream, transforms, stream_first = info.stream, info.transforms, info.stream_first
        names = info.class_names
    else:
        model, checkpoint = load_model(path)
        data = (checkpoint.config or {}).get('data', {})
        stream, transforms = data.get('stream', 'joint'), data.get('val_transforms') or []
        stream_first, names = data.get('stream_first', True), checkpoint.class_names
        if runtime == 'onnx':
            model = _in_onnx_runtime(model, path, checkpoint.config, names)
    probe = _Sequences([], model.layout, stream, transforms, stream_first)
    if any(isinstance(t, Normalize) and not t.fitted for t in probe.transforms):
        raise WeightsError(f'{path}: its evaluation transforms normalise with statistics of '
                           f'the training data, which the checkpoint does not hold')
    member = _Member(model, weight, probe.stream, probe.transforms, probe.stream_first)
    return member, names


def _in_onnx_runtime(model: MSTGCN, path: Path, config: Optional[Dict[str, Any]],
                     names: Optional[List[str]]) -> Any:
    """:obj:`model` exported to ONNX in memory with the metadata of its checkpoint's training
    :obj:`config` (checked as the export command checks it) and run by ONNX Runtime."""
    from pyg_mstgcn.export import OnnxModel, deploy_info, onnx_bytes
    content, _ = onnx_bytes(model, deploy_info(model, DEFAULT_FRAMES, config, names, str(path)))
    return OnnxModel(content)


def _check_compatible(paths: Sequence[PathLike], models: Sequence[MSTGCN]) -> None:
    first = models[0]
    for path, model in zip(paths[1:], models[1:]):
        if model.num_classes != first.num_classes:
            raise InputError(f'the checkpoints cannot be fused: {paths[0]} has '
                             f'{first.num_classes} classes, {path} {model.num_classes}')
        if model.layout.name != first.layout.name or model.num_person != first.num_person:
            raise InputError(f'the checkpoints cannot be fused: {paths[0]} takes layout '
                             f"'{first.layout.name}', {path} '{model.layout.name}'")


__all__ = ['Recognizer', 'OnlineRecognizer', 'Prediction']
