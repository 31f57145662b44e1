"""What a deployed model file says about itself: the input it takes (layout, persons,
channels, stream, frames), how its input is prepared (the checkpoint's evaluation
transforms), its classes, and the network it holds.

ONNX files keep it as ``metadata_props`` (string keys and values); torch.export files as the
extra file ``pyg_mstgcn.json``. Each field is one key; strings are stored as they are, other
values as JSON, so that any ONNX tool shows them readably.
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional

from pyg_mstgcn.errors import InputError

#: The input of every exported network: its name and axes; ``N`` and ``T`` are dynamic.
INPUT_NAME, OUTPUT_NAME = 'x', 'logits'
INPUT_AXES = 'N, C, T, V, M'
#: The extra file of torch.export programs that holds the fields.
PROGRAM_EXTRA_FILE = 'pyg_mstgcn.json'


@dataclass
class DeployInfo:
    """The metadata of an exported network.

    Attributes:
        layout (str): The skeleton layout (``ntu-rgb+d``, ``openpose``...).
        num_joints (int): :math:`V`.
        num_person (int): :math:`M`.
        in_channels (int): :math:`C`.
        num_classes (int): Classes of the logits.
        frames (int): The frames of the example the network was exported with; other
            counts are taken too, from :attr:`min_frames` on.
        min_frames (int): The fewest frames the file takes: 1 for ONNX; for a torch.export
            program, enough that no temporal stride leaves a single frame (its traced shapes
            take a length of 1 as a constant).
        stream (str): The input stream the network was trained on (``joint``, ``bone``...),
            computed from joint coordinates before the network.
        stream_first (bool): Whether the stream is computed before the transforms.
        transforms (list): The evaluation transforms of the training configuration.
        class_names (list of str, optional): The names of the classes.
        model_config (dict): The network's arguments (:meth:`MSTGCN.config
            <pyg_mstgcn.models.MSTGCN.config>`).
        source (str): The checkpoint the network came from.
        version (str): The pyg_mstgcn version that exported it.
        input (str): The input's name and axes.
    """
    layout: str
    num_joints: int
    num_person: int
    in_channels: int
    num_classes: int
    frames: int
    min_frames: int = 1
    stream: str = 'joint'
    stream_first: bool = True
    transforms: List[Any] = field(default_factory=list)
    class_names: Optional[List[str]] = None
    model_config: Dict[str, Any] = field(default_factory=dict)
    source: str = ''
    version: str = ''
    input: str = f'{INPUT_NAME} [{INPUT_AXES}] float32'

    def to_strings(self) -> Dict[str, str]:
        """The fields as string keys and values (strings as they are, the rest JSON)."""
        return {f.name: value if isinstance(value, str) else json.dumps(value, default=_plain)
                for f in dataclasses.fields(self)
                for value in [getattr(self, f.name)]}

    @classmethod
    def from_strings(cls, values: Mapping[str, str], where: str) -> 'DeployInfo':
        """The metadata read back from :meth:`to_strings`; a file without it is an
        :class:`~pyg_mstgcn.errors.InputError` saying how to make one."""
        missing = [f.name for f in dataclasses.fields(cls)
                   if f.name not in values and f.default is dataclasses.MISSING
                   and f.default_factory is dataclasses.MISSING]
        if missing:
            raise InputError(f'{where} has no pyg_mstgcn metadata ({", ".join(missing)} '
                             f'missing): export the checkpoint with python -m '
                             f'pyg_mstgcn.export --weights CKPT --out FILE')
        kwargs: Dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            if f.name not in values:
                continue
            text = values[f.name]
            if f.type == 'str':
                kwargs[f.name] = text
                continue
            try:
                kwargs[f.name] = json.loads(text)
            except json.JSONDecodeError:
                raise InputError(f'{where}: its metadata field {f.name!r} is not JSON '
                                 f'({text[:40]!r})') from None
        return cls(**kwargs)


def _plain(value: Any) -> Any:
    """JSON for what :mod:`json` does not know: arrays as lists, anything else as text."""
    return value.tolist() if hasattr(value, 'tolist') else str(value)


def deploy_info(model: Any, frames: int, config: Optional[Mapping[str, Any]] = None,
                class_names: Optional[List[str]] = None, source: str = '') -> DeployInfo:
    """The metadata of :obj:`model` (an :class:`~pyg_mstgcn.models.MSTGCN`) as trained with
    :obj:`config` (a checkpoint's training configuration: its ``data`` section gives the
    stream and the evaluation transforms)."""
    from pyg_mstgcn import __version__
    data = dict((config or {}).get('data') or {})
    model_config = model.config()
    if not isinstance(model_config['layout'], str):   # a layout of the user's own
        model_config['layout'] = model.layout.name
    return DeployInfo(layout=model.layout.name, num_joints=model.layout.num_joints,
                      num_person=model.num_person, in_channels=model.in_channels,
                      num_classes=model.num_classes, frames=int(frames),
                      stream=data.get('stream', 'joint'),
                      stream_first=bool(data.get('stream_first', True)),
                      transforms=list(data.get('val_transforms') or []),
                      class_names=list(class_names) if class_names else None,
                      model_config=model_config, source=source, version=__version__)
