"""Activation functions of the original network, created by name."""
from __future__ import annotations

from functools import partial
from typing import Callable, Dict

import torch
from torch import Tensor, nn


class Swish(nn.Module):
    r"""Swish: :math:`x \cdot \sigma(x)`."""

    def forward(self, x: Tensor) -> Tensor:
        return x * torch.sigmoid(x)


class HardSwish(nn.Module):
    r"""Hard swish: :math:`x \cdot \mathrm{ReLU6}(x + 3) / 6`."""

    def forward(self, x: Tensor) -> Tensor:
        return x * torch.nn.functional.relu6(x + 3.0) / 6.0


#: In place where it is cheaper: every activation of the network acts on a fresh intermediate
#: (a batch norm's output or a sum) that no backward pass reads, and ReLU's own backward reads
#: its output only; a pass over memory and an allocation fewer per layer.
ACTIVATIONS: Dict[str, Callable[[], nn.Module]] = {
    'relu': partial(nn.ReLU, inplace=True),
    'hswish': HardSwish,
    'swish': Swish,
}


def activation(name: str) -> nn.Module:
    """Creates the activation called :obj:`name` (``'relu'``, ``'hswish'`` or ``'swish'``)."""
    if name not in ACTIVATIONS:
        raise ValueError(f"unknown activation '{name}'; valid names: {', '.join(ACTIVATIONS)}")
    return ACTIVATIONS[name]()
