"""The options of an MST-GCN block, defined, documented and checked in one place:
:class:`BlockOptions`.

The names an option accepts come from the tables that use them (:data:`BLOCK_TYPES`,
:data:`LAYER_TYPES`, :data:`ATTENTIONS`, :data:`ACTIVATIONS`, :data:`ADJACENCY_MODES`,
:data:`BACKENDS`), so a name added to a table is accepted here at once.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field, fields
from typing import Any, Dict, Optional, Sequence, Tuple

from pyg_mstgcn.checks import (BOOL, NON_NEGATIVE_INT, NULL, POSITIVE_INT, POSITIVE_ODD_INT,
                               OneOf, Rule, check_names, check_value, is_integer)
from pyg_mstgcn.nn.activations import ACTIVATIONS
from pyg_mstgcn.nn.adjacency import ADJACENCY_MODES
from pyg_mstgcn.nn.attention import ATTENTIONS
from pyg_mstgcn.nn.block_types import BLOCK_TYPES
from pyg_mstgcn.nn.multiscale import LAYER_TYPES
from pyg_mstgcn.nn.spatial_conv import BACKENDS

#: Body parts once normalised: joint indices per part.
Parts = Tuple[Tuple[int, ...], ...]


def _is_parts(value: Any) -> bool:
    def is_list(v: Any) -> bool:
        return isinstance(v, Sequence) and not isinstance(v, str) and len(v) > 0
    return is_list(value) and all(
        is_list(part) and all(is_integer(j) and j >= 0 for j in part) for part in value)


PARTS = Rule('a list of body parts, each a non-empty list of joint indices', _is_parts)


def _option(default: Any, rule: Rule) -> Any:
    return field(default=default, metadata={'rule': rule})


@dataclass(frozen=True)
class BlockOptions:
    r"""The options of an MST-GCN block (:class:`~pyg_mstgcn.nn.MSTGCNBlock`), the same for
    every block of a network (:class:`~pyg_mstgcn.models.MSTGCN`).

    Every option is checked when the object is made: a bad value raises a one-line
    :class:`ValueError` that names the option, what it accepts and the value got. Use
    :meth:`from_kwargs` (or :meth:`replace`) to also have unknown option names refused with a
    suggestion.

    Args:
        block_type (str, optional): The layers of the block (:data:`BLOCK_TYPES`):
            ``'basic'``, ``'bottle'``, ``'sep'``, ``'ms'`` (MS-GC and MT-GC) or
            ``'ms_bottle'``. (default: :obj:`'ms'`)
        layer_type (str, optional): Branches of the multi-scale layers (:data:`LAYER_TYPES`),
            ``'basic'`` or ``'sep'``; read by ``block_type='ms'`` only.
            (default: :obj:`'basic'`)
        attention (str, optional): The attention layer after the block (:data:`ATTENTIONS`):
            ``'stcja'``, ``'stja'``, ``'ca'``, ``'fa'``, ``'ja'``, ``'pa'``, or :obj:`None`
            for none. (default: :obj:`None`)
        s_scale (int, optional): Scales of MS-GC (multi-scale block types).
            (default: :obj:`4`)
        t_scale (int, optional): Scales of MT-GC (multi-scale block types).
            (default: :obj:`4`)
        kernel_size (int, optional): Temporal kernel size, odd. (default: :obj:`9`)
        reduct_ratio (int, optional): Reduction of the bottleneck layers and of the stcja,
            stja and pa attentions. (default: :obj:`2`)
        expand_ratio (int, optional): Expansion of the separable layers, 0 for none.
            (default: :obj:`0`)
        act (str, optional): Activation (:data:`ACTIVATIONS`): ``'relu'``, ``'hswish'`` or
            ``'swish'``. (default: :obj:`'relu'`)
        bias (bool, optional): Bias of the attention projections. (default: :obj:`True`)
        parts (sequence of sequences of int, optional): Body parts for ``'pa'``, as joint
            indices per part (stored as a tuple of tuples); :obj:`None` takes the layout's.
            (default: :obj:`None`)
        adjacency (str, optional): The learnable adjacency of every graph convolution
            (:data:`ADJACENCY_MODES`): ``'full'`` (any joint pair) or ``'skeleton'`` (bones and
            self-loops only). (default: :obj:`'full'`)
        backend (str, optional): How graph convolutions aggregate (:data:`BACKENDS`):
            ``'dense'`` (batched matrix product, ignores ``edge_index``) or ``'sparse'``
            (message passing along ``edge_index``). (default: :obj:`'dense'`)
    """
    block_type: str = _option('ms', OneOf(BLOCK_TYPES))
    layer_type: str = _option('basic', OneOf(LAYER_TYPES))
    attention: Optional[str] = _option(None, OneOf(ATTENTIONS) | NULL)
    s_scale: int = _option(4, POSITIVE_INT)
    t_scale: int = _option(4, POSITIVE_INT)
    kernel_size: int = _option(9, POSITIVE_ODD_INT)
    reduct_ratio: int = _option(2, POSITIVE_INT)
    expand_ratio: int = _option(0, NON_NEGATIVE_INT)
    act: str = _option('relu', OneOf(ACTIVATIONS))
    bias: bool = _option(True, BOOL)
    parts: Optional[Parts] = _option(None, PARTS | NULL)
    adjacency: str = _option('full', OneOf(ADJACENCY_MODES))
    backend: str = _option('dense', OneOf(BACKENDS))

    def __post_init__(self) -> None:
        for option in fields(self):
            check_value(option.name, getattr(self, option.name), option.metadata['rule'])
        if self.parts is not None:
            object.__setattr__(self, 'parts',
                               tuple(tuple(int(j) for j in part) for part in self.parts))

    @classmethod
    def names(cls) -> Tuple[str, ...]:
        """The option names, in order."""
        return tuple(option.name for option in fields(cls))

    @classmethod
    def from_kwargs(cls, **kwargs: Any) -> 'BlockOptions':
        """The options given by name, the others at their defaults; an unknown name is a
        :class:`ValueError` that suggests the closest valid one."""
        check_names(kwargs, cls.names(), cls.__name__)
        return cls(**kwargs)

    def replace(self, **changes: Any) -> 'BlockOptions':
        """A copy with :obj:`changes` (checked as by :meth:`from_kwargs`)."""
        check_names(changes, self.names(), type(self).__name__)
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> Dict[str, Any]:
        """Every option by name, as plain values (``parts`` as lists)."""
        options = {name: getattr(self, name) for name in self.names()}
        if self.parts is not None:
            options['parts'] = [list(part) for part in self.parts]
        return options
