"""Attention modules of MST-GCN (stcja, stja, ca, fa, ja, pa) and the attention layer.

Each attention module maps node features ``[num_nodes, C, T]`` of skeleton instances of
``V`` joints to a gate that broadcasts against them; :class:`AttentionLayer` applies it as
:math:`\\sigma(\\mathrm{BN}(\\mathbf{x} \\odot a(\\mathbf{x})) + \\mathbf{x})`.
"""
from __future__ import annotations

import inspect
from functools import partial
from typing import Callable, Dict, Optional, Sequence

import torch
from torch import Tensor, nn

from pyg_mstgcn.nn.activations import HardSwish, activation
from pyg_mstgcn.nn.fusion import fold_batch_norm
from pyg_mstgcn.nn.spatial_conv import check_node_features


def _per_instance(x: Tensor, num_joints: int) -> Tensor:
    """Views ``[B * V, C, T]`` node features as ``[B, V, C, T]``."""
    N, C, T = x.shape
    if N % num_joints != 0:
        raise ValueError(f"attention: {N} nodes do not form skeleton instances of "
                         f"{num_joints} joints")
    return x.view(N // num_joints, num_joints, C, T)


class SqueezeExcite(nn.Module):
    """Linear, batch norm, ReLU, linear: the bottleneck shared by ca, ja and pa."""

    def __init__(self, in_features: int, hidden: int, out_features: int,
                 bias: bool = True) -> None:
        super().__init__()
        self.squeeze = nn.Linear(in_features, hidden, bias=bias)
        self.bn = nn.BatchNorm1d(hidden)
        self.excite = nn.Linear(hidden, out_features, bias=bias)

    def forward(self, x: Tensor) -> Tensor:
        return self.excite(torch.relu(self.bn(self.squeeze(x))))

    def fuse_for_inference(self) -> None:
        """Folds the batch norm into the squeeze (see :mod:`~pyg_mstgcn.nn.fusion`)."""
        if isinstance(self.bn, nn.BatchNorm1d):
            self.bn = fold_batch_norm(self.squeeze, self.bn)


class STJointAttention(nn.Module):
    r"""Spatio-temporal joint attention (``'stja'``), and with :obj:`channel_term` the
    spatio-temporal-channel joint attention (``'stcja'``) of MST-GCN.

    The frame profile (mean over joints) and the joint profile (mean over frames) are encoded
    together, :math:`\mathbf{h} = \mathrm{hswish}(\mathrm{BN}(\mathbf{W}[\bar{\mathbf{x}}_t
    \Vert \bar{\mathbf{x}}_v]))` with :obj:`channels / reduct_ratio` channels, and the gate is
    :math:`\sigma(\mathbf{W}_t \mathbf{h}_t)\, \sigma(\mathbf{W}_v \mathbf{h}_v)` per
    (channel, frame, joint), times :math:`\sigma(\mathbf{W}_c (\bar{\mathbf{h}}_t +
    \bar{\mathbf{h}}_v) / 2)` per channel for stcja.
    """

    def __init__(self, channels: int, num_joints: int, reduct_ratio: int = 2,
                 bias: bool = True, channel_term: bool = True) -> None:
        super().__init__()
        inner = channels // reduct_ratio
        self.num_joints = num_joints
        self.fcn = nn.Sequential(nn.Conv1d(channels, inner, 1, bias=bias),
                                 nn.BatchNorm1d(inner), HardSwish())
        self.conv_t = nn.Conv1d(inner, channels, 1)
        self.conv_v = nn.Conv1d(inner, channels, 1)
        self.conv_c = nn.Linear(inner, channels) if channel_term else None

    def fuse_for_inference(self) -> None:
        """Folds the batch norm of the encoder into its convolution (see
        :mod:`~pyg_mstgcn.nn.fusion`)."""
        if isinstance(self.fcn[1], nn.BatchNorm1d):
            self.fcn[1] = fold_batch_norm(self.fcn[0], self.fcn[1])

    def forward(self, x: Tensor) -> Tensor:
        x = _per_instance(x, self.num_joints)                     # [B, V, C, T]
        T = x.size(-1)
        frames = x.mean(dim=1)                                    # [B, C, T]
        joints = x.mean(dim=3).transpose(1, 2)                    # [B, C, V]
        hidden = self.fcn(torch.cat([frames, joints], dim=2))
        h_t, h_v = hidden.split([T, self.num_joints], dim=2)
        gate_t = torch.sigmoid(self.conv_t(h_t))                  # [B, C, T]
        gate_v = torch.sigmoid(self.conv_v(h_v))                  # [B, C, V]
        gate = gate_v.transpose(1, 2).unsqueeze(-1) * gate_t.unsqueeze(1)   # [B, V, C, T]
        if self.conv_c is not None:
            pooled = (h_t.mean(dim=2) + h_v.mean(dim=2)) * 0.5
            gate = gate * torch.sigmoid(self.conv_c(pooled))[:, None, :, None]
        return gate.reshape(-1, *gate.shape[2:])


class ChannelAttention(nn.Module):
    r"""Channel attention (``'ca'``), squeeze-and-excitation:
    :math:`\sigma(\mathbf{W}_2\, \mathrm{ReLU}(\mathrm{BN}(\mathbf{W}_1 \bar{\mathbf{x}})))`
    per channel, :math:`\bar{\mathbf{x}}` the mean over frames and joints."""

    def __init__(self, channels: int, num_joints: int) -> None:
        super().__init__()
        self.num_joints = num_joints
        self.fcn = SqueezeExcite(channels, channels // 4, channels)

    def forward(self, x: Tensor) -> Tensor:
        pooled = _per_instance(x, self.num_joints).mean(dim=(1, 3))     # [B, C]
        gate = torch.sigmoid(self.fcn(pooled))
        return gate.repeat_interleave(self.num_joints, dim=0).unsqueeze(-1)


class FrameAttention(nn.Module):
    r"""Frame attention (``'fa'``): the mean and the maximum over channels and joints of each
    frame, mixed by a temporal convolution of kernel 9 into one weight per frame (no
    squashing)."""

    def __init__(self, num_joints: int) -> None:
        super().__init__()
        self.num_joints = num_joints
        self.conv = nn.Conv1d(2, 1, kernel_size=9, padding=4)

    def forward(self, x: Tensor) -> Tensor:
        x = _per_instance(x, self.num_joints)
        profile = torch.stack([x.mean(dim=(1, 2)), x.amax(dim=(1, 2))], dim=1)  # [B, 2, T]
        gate = self.conv(profile)                                                # [B, 1, T]
        return gate.repeat_interleave(self.num_joints, dim=0)


class JointAttention(nn.Module):
    r"""Joint attention (``'ja'``): the mean of each joint over channels and frames, through
    a bottleneck of :math:`V/2`, softmax over the joints."""

    def __init__(self, num_joints: int) -> None:
        super().__init__()
        self.num_joints = num_joints
        self.fcn = SqueezeExcite(num_joints, num_joints // 2, num_joints)

    def forward(self, x: Tensor) -> Tensor:
        pooled = _per_instance(x, self.num_joints).mean(dim=(2, 3))     # [B, V]
        gate = torch.softmax(self.fcn(pooled), dim=1)
        return gate.reshape(-1, 1, 1)


class PartAttention(nn.Module):
    r"""Part attention (``'pa'``): from the global mean, a bottleneck of
    :obj:`channels / reduct_ratio` gives :math:`P` scores per channel, softmax over the
    :math:`P` body parts; each joint takes the weight of its part."""

    def __init__(self, channels: int, parts: Sequence[Sequence[int]], reduct_ratio: int = 2,
                 bias: bool = True) -> None:
        super().__init__()
        num_joints = sum(len(part) for part in parts)
        part_of_joint = [0] * num_joints
        for p, part in enumerate(parts):
            for joint in part:
                part_of_joint[joint] = p
        self.num_joints, self.num_parts = num_joints, len(parts)
        self.register_buffer('part_of_joint', torch.tensor(part_of_joint), persistent=False)
        self.fcn = SqueezeExcite(channels, channels // reduct_ratio, channels * len(parts),
                                 bias=bias)

    def forward(self, x: Tensor) -> Tensor:
        B, C = x.size(0) // self.num_joints, x.size(1)
        pooled = _per_instance(x, self.num_joints).mean(dim=(1, 3))     # [B, C]
        scores = torch.softmax(self.fcn(pooled).view(B, C, self.num_parts), dim=2)
        gate = scores[:, :, self.part_of_joint].transpose(1, 2)          # [B, V, C]
        return gate.reshape(-1, C, 1)


#: Name -> attention module: a class, or a :func:`~functools.partial` of one. Each takes
#: only the arguments its signature names among ``channels``, ``num_joints``, ``parts``,
#: ``reduct_ratio`` and ``bias`` (see :func:`make_attention`).
ATTENTIONS: Dict[str, Callable[..., nn.Module]] = {
    'stcja': STJointAttention,
    'stja': partial(STJointAttention, channel_term=False),
    'ca': ChannelAttention,
    'fa': FrameAttention,
    'ja': JointAttention,
    'pa': PartAttention,
}


def make_attention(kind: str, channels: int, num_joints: int,
                   parts: Optional[Sequence[Sequence[int]]] = None, reduct_ratio: int = 2,
                   bias: bool = True) -> nn.Module:
    """Creates the attention module called :obj:`kind` (see :data:`ATTENTIONS`), passing it
    the arguments its signature names."""
    if kind not in ATTENTIONS:
        raise ValueError(f"unknown attention '{kind}'; valid names: "
                         f"{', '.join(ATTENTIONS)} (or None for no attention)")
    make = ATTENTIONS[kind]
    available = dict(channels=channels, num_joints=num_joints, parts=parts,
                     reduct_ratio=reduct_ratio, bias=bias)
    accepted = inspect.signature(make).parameters
    kwargs = {name: value for name, value in available.items() if name in accepted}
    if 'parts' in kwargs and parts is None:
        raise ValueError(f"part attention ('{kind}') needs body parts: use a layout that "
                         f"defines them or give `parts`")
    return make(**kwargs)


class AttentionLayer(nn.Module):
    r"""The attention layer after each block:
    :math:`\sigma(\mathrm{BN}(\mathbf{x} \odot a(\mathbf{x})) + \mathbf{x})`.

    Args:
        channels (int): Channels of the node features.
        kind (str): A name of :data:`ATTENTIONS`: ``'stcja'``, ``'stja'``, ``'ca'``,
            ``'fa'``, ``'ja'`` or ``'pa'``.
        num_joints (int): Joints per skeleton instance.
        parts (sequence of sequences of int, optional): Body parts, needed by ``'pa'``.
        reduct_ratio (int, optional): Bottleneck ratio of stcja, stja and pa.
            (default: :obj:`2`)
        bias (bool, optional): Bias in the first projection of stcja, stja and pa.
            (default: :obj:`True`)
        act (str, optional): Activation name. (default: :obj:`'relu'`)
    """

    def __init__(self, channels: int, kind: str, num_joints: int,
                 parts: Optional[Sequence[Sequence[int]]] = None, reduct_ratio: int = 2,
                 bias: bool = True, act: str = 'relu') -> None:
        super().__init__()
        self.channels, self.kind = channels, kind
        self.gate = make_attention(kind, channels=channels, num_joints=num_joints, parts=parts,
                                   reduct_ratio=reduct_ratio, bias=bias)
        self.bn = nn.BatchNorm1d(channels)
        self.act = activation(act)

    def forward(self, x: Tensor) -> Tensor:
        check_node_features(x, self.channels, self.__class__.__name__)
        return self.act(self.bn(x * self.gate(x)) + x)
