"""Independent dense PyTorch reference of the ORIGINAL MST-GCN network: the ground truth of the
tests and the baseline of the benchmarks.

This module is the ground truth our PyG implementation is compared against. It is a plain,
deliberately unoptimised transcription of the computation described in
``shared/reference/ORIGINAL_MODEL.md`` ("the description" below), with the module tree laid out
so that ``state_dict()`` keys and shapes are exactly those of checkpoints written by the original
code (``shared/reference/official_checkpoint_keys.tsv``). Every tensor is ``x[n, c, t, v]``
(sample·person, channel, frame, joint) inside the network; the model input is
``(N, C, T, V, M)``.

Public names:

* :class:`OriginalMSTGCN` - the whole network, constructed from the original ``model_args``.
* :func:`randomize_` - fill every parameter / BatchNorm statistic with deterministic values.
* :func:`spatial_partition` - the (3, V, V) adjacency of a layout (description, "Graph").
* :data:`NTU_PARTS`, :data:`OPENPOSE_PARTS` - default body parts (0-based joint indices).
* :data:`NTU_BLOCK_ARGS` - the 10-block, 112/224/448-channel configuration of the NTU configs.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn
from torch.nn import functional as F

__all__ = [
    "NTU_BLOCK_ARGS",
    "NTU_INWARD_EDGES",
    "KINETICS_INWARD_EDGES",
    "NTU_PARTS",
    "OPENPOSE_PARTS",
    "spatial_partition",
    "Activation",
    "OriginalMSTGCN",
    "randomize_",
]

# --------------------------------------------------------------------------------------------
# Graph (description, "Graph")
# --------------------------------------------------------------------------------------------

#: NTU RGB+D (V=25) inward (child, parent) pairs, 1-based as written in the description.
NTU_INWARD_EDGES: tuple[tuple[int, int], ...] = (
    (1, 2), (2, 21), (3, 21), (4, 3), (5, 21), (6, 5), (7, 6), (8, 7), (9, 21), (10, 9),
    (11, 10), (12, 11), (13, 1), (14, 13), (15, 14), (16, 15), (17, 1), (18, 17), (19, 18),
    (20, 19), (22, 23), (23, 8), (24, 25), (25, 12),
)

#: Kinetics / OpenPose (V=18) inward (child, parent) pairs, 0-based.
KINETICS_INWARD_EDGES: tuple[tuple[int, int], ...] = (
    (4, 3), (3, 2), (7, 6), (6, 5), (13, 12), (12, 11), (10, 9), (9, 8), (11, 5), (8, 2),
    (5, 1), (2, 1), (0, 1), (15, 0), (14, 0), (17, 15), (16, 14),
)

#: NTU body parts (description, "Attention", pa), converted to 0-based joint indices.
NTU_PARTS: list[list[int]] = [
    [j - 1 for j in (5, 6, 7, 8, 22, 23)],  # left arm
    [j - 1 for j in (9, 10, 11, 12, 24, 25)],  # right arm
    [j - 1 for j in (13, 14, 15, 16)],  # left leg
    [j - 1 for j in (17, 18, 19, 20)],  # right leg
    [j - 1 for j in (1, 2, 3, 4, 21)],  # torso
]

#: OpenPose (18 joints) body parts, 0-based.
OPENPOSE_PARTS: list[list[int]] = [
    [5, 6, 7],  # left arm
    [2, 3, 4],  # right arm
    [11, 12, 13],  # left leg
    [8, 9, 10],  # right leg
    [0, 1, 14, 15, 16, 17],  # torso / head
]

#: block_args of the original NTU configs: rows [C_in, C_out, residual, temporal stride].
NTU_BLOCK_ARGS: list[list[Any]] = (
    [[3, 112, False, 1]]
    + [[112, 112, True, 1]] * 3
    + [[112, 224, True, 2]]
    + [[224, 224, True, 1]] * 2
    + [[224, 448, True, 2]]
    + [[448, 448, True, 1]] * 2
)

_GRAPHS: dict[str, tuple[int, list[tuple[int, int]]]] = {
    "graph.ntu_rgb_d.Graph": (25, [(i - 1, j - 1) for i, j in NTU_INWARD_EDGES]),
    "graph.kinetics.Graph": (18, list(KINETICS_INWARD_EDGES)),
}


def _column_normalised(num_node: int, pairs: Sequence[tuple[int, int]]) -> np.ndarray:
    """M[j, i] = 1 for each pair (i, j), then each column divided by its sum (0 stays 0)."""
    m = np.zeros((num_node, num_node), dtype=np.float64)
    for i, j in pairs:
        m[j, i] = 1.0
    col_sum = m.sum(axis=0)
    scale = np.where(col_sum > 0, 1.0 / np.where(col_sum > 0, col_sum, 1.0), 0.0)
    return m * scale[None, :]


def spatial_partition(graph: str) -> np.ndarray:
    """The (3, V, V) float32 spatial partition [I, norm(inward), norm(outward)] of a layout.

    ``graph`` is the original's class path: ``'graph.ntu_rgb_d.Graph'`` (25 joints) or
    ``'graph.kinetics.Graph'`` (18 joints). Description, section "Graph".
    """
    if graph not in _GRAPHS:
        raise ValueError(f"unknown graph {graph!r}; expected one of {sorted(_GRAPHS)}")
    num_node, inward = _GRAPHS[graph]
    outward = [(j, i) for i, j in inward]
    return np.stack(
        [
            np.eye(num_node),
            _column_normalised(num_node, inward),
            _column_normalised(num_node, outward),
        ]
    ).astype(np.float32)


# --------------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------------


class Activation(nn.Module):
    """Block activation (description, "Notation"): relu, swish x·σ(x), hswish x·relu6(x+3)/6.

    Like the original, an unknown name falls back to ReLU. Holds no parameters.
    """

    def __init__(self, name: str = "relu") -> None:
        super().__init__()
        self.name = name if name in ("relu", "swish", "hswish") else "relu"

    def forward(self, x: Tensor) -> Tensor:
        if self.name == "swish":
            return x * torch.sigmoid(x)
        if self.name == "hswish":
            return hard_swish(x)
        return F.relu(x)

    def extra_repr(self) -> str:
        return self.name


def hard_swish(x: Tensor) -> Tensor:
    """x · relu6(x + 3) / 6."""
    return x * (F.relu6(x + 3.0) / 6.0)


class ZeroResidual(nn.Module):
    """Residual branch of a block without residual: contributes 0."""

    def forward(self, x: Tensor) -> Tensor | int:
        return 0


def hierarchical(x: Tensor, branches: Sequence[nn.Module], carry: bool,
                 post: Callable[[Tensor], Tensor] = lambda y: y) -> Tensor:
    """The multi-scale split (description, "MS-GC" / "MT-GC"): equal channel groups, group i
    through branch i after adding the previous group's output when ``carry``; ``post`` is
    applied to each output before it is carried over."""
    groups = torch.chunk(x, len(branches), dim=1)
    outs: list[Tensor] = []
    for i, f in enumerate(branches):
        inp = groups[i] + outs[-1] if (i > 0 and carry) else groups[i]
        outs.append(post(f(inp)))
    return torch.cat(outs, dim=1)


def conv_bn(c_in: int, c_out: int, kernel: tuple[int, int] | int = 1,
            stride: tuple[int, int] | int = 1, padding: tuple[int, int] | int = 0,
            groups: int = 1) -> nn.Sequential:
    """Sequential(Conv2d, BatchNorm2d): the `*.0` / `*.1` pairs of the checkpoints."""
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=padding, groups=groups),
        nn.BatchNorm2d(c_out),
    )


def spatial_residual(c_in: int, c_out: int, residual: bool) -> nn.Module:
    """Spatial-layer residual: zero, identity (C_in = C_out) or 1×1 conv + bn."""
    if not residual:
        return ZeroResidual()
    if c_in == c_out:
        return nn.Identity()
    return conv_bn(c_in, c_out)


def temporal_residual(channels: int, stride: int, residual: bool) -> nn.Module:
    """Temporal-layer residual: zero, identity (stride 1) or strided 1×1 conv + bn."""
    if not residual:
        return ZeroResidual()
    if stride == 1:
        return nn.Identity()
    return conv_bn(channels, channels, 1, stride=(stride, 1))


def temporal_conv_bn(channels: int, kernel_size: int, stride: int) -> nn.Sequential:
    """(k, 1) temporal convolution, padding (k-1)/2, stride (s, 1), then bn."""
    pad = (kernel_size - 1) // 2
    return conv_bn(channels, channels, (kernel_size, 1), stride=(stride, 1), padding=(pad, 0))


# --------------------------------------------------------------------------------------------
# Spatial layers
# --------------------------------------------------------------------------------------------


class GraphConv(nn.Module):
    """Spatial graph convolution (description, "Spatial graph convolution").

    ``gcn`` (1×1 conv C_in → K·C_out, subset-major) then
    ``y[n, c, t, w] = Σ_k Σ_v g[n, k, c, t, v] · (A + PA)[k, v, w]``.
    ``A`` is a fixed buffer, ``PA`` a free parameter initialised to ``A``.
    """

    def __init__(self, c_in: int, c_out: int, A: np.ndarray) -> None:
        super().__init__()
        self.num_subset = A.shape[0]
        self.gcn = nn.Conv2d(c_in, c_out * self.num_subset, 1)
        self.PA = nn.Parameter(torch.tensor(A, dtype=torch.float32))
        self.register_buffer("A", torch.tensor(A, dtype=torch.float32))

    def forward(self, x: Tensor) -> Tensor:
        n, _, t, v = x.shape
        g = self.gcn(x).view(n, self.num_subset, -1, t, v)  # subset-major: [k, c]
        return torch.einsum("nkctv,kvw->nctw", g, self.A + self.PA)


class SepGraphLayer(nn.Module):
    """Depthwise-separable spatial layer (description, "Depthwise-separable spatial layer").

    [act(bn(1×1 expand))] → depth_gcn (grouped 1×1, K outputs per channel, channel-major) →
    aggregate with A + PA (``ncktv,kvw->nctw``) → act(depth_bn) → point_gcn_bn (1×1 conv + bn)
    → + residual. No final activation.
    """

    def __init__(self, c_in: int, c_out: int, A: np.ndarray, expand_ratio: int = 0,
                 residual: bool = True, act: nn.Module | None = None) -> None:
        super().__init__()
        self.act = act if act is not None else Activation("relu")
        self.num_subset = A.shape[0]
        if expand_ratio > 0:
            inner = c_in * expand_ratio
            self.expand_conv: nn.Sequential | None = conv_bn(c_in, inner)
        else:
            inner = c_in
            self.expand_conv = None
        self.depth_gcn = nn.Conv2d(inner, inner * self.num_subset, 1, groups=inner)
        self.depth_bn = nn.BatchNorm2d(inner)
        self.point_gcn_bn = conv_bn(inner, c_out)
        self.PA = nn.Parameter(torch.tensor(A, dtype=torch.float32))
        self.register_buffer("A", torch.tensor(A, dtype=torch.float32))
        self.residual = spatial_residual(c_in, c_out, residual)

    def forward(self, x: Tensor) -> Tensor:
        res = self.residual(x)
        if self.expand_conv is not None:
            x = self.act(self.expand_conv(x))
        n, _, t, v = x.shape
        g = self.depth_gcn(x).view(n, -1, self.num_subset, t, v)  # channel-major: [c, k]
        x = torch.einsum("ncktv,kvw->nctw", g, self.A + self.PA)
        x = self.act(self.depth_bn(x))
        return self.point_gcn_bn(x) + res


class PlainGraphLayer(nn.Module):
    """Plain spatial layer (description, "Plain and bottleneck layers"):
    act(bn(graph_conv(x)) + res)."""

    def __init__(self, c_in: int, c_out: int, A: np.ndarray, residual: bool,
                 act: nn.Module) -> None:
        super().__init__()
        self.act = act
        self.conv = GraphConv(c_in, c_out, A)
        self.bn = nn.BatchNorm2d(c_out)
        self.residual = spatial_residual(c_in, c_out, residual)

    def forward(self, x: Tensor) -> Tensor:
        return self.act(self.bn(self.conv(x)) + self.residual(x))


class MSGraphLayer(nn.Module):
    """MS-GC (description, "Multi-scale spatial layer MS-GC").

    res from the raw input; x = bn_in(x); s channel groups; y_1 = f_1(x_1),
    y_i = f_i(x_i + y_{i-1}) when C_in = C_out else f_i(x_i); act(concat(y) + res).
    f_i = GraphConv + bn (``conv_bn.i.0`` / ``conv_bn.i.1``) or a :class:`SepGraphLayer`
    without residual (``conv_bn.i.*``) when ``layer_type == 'sep'``.
    """

    def __init__(self, c_in: int, c_out: int, A: np.ndarray, s_scale: int, layer_type: str,
                 expand_ratio: int, residual: bool, act: nn.Module) -> None:
        super().__init__()
        assert c_in % s_scale == 0 and c_out % s_scale == 0
        self.act = act
        self.carry = c_in == c_out  # 'basic' mode; 'stage' mode (width changes) has no carry
        self.bn_in = nn.BatchNorm2d(c_in)
        gi, go = c_in // s_scale, c_out // s_scale
        self.conv_bn = nn.ModuleList()
        for _ in range(s_scale):
            if layer_type == "sep":
                self.conv_bn.append(SepGraphLayer(gi, go, A, expand_ratio, residual=False, act=act))
            else:
                self.conv_bn.append(nn.Sequential(GraphConv(gi, go, A), nn.BatchNorm2d(go)))
        self.residual = spatial_residual(c_in, c_out, residual)

    def forward(self, x: Tensor) -> Tensor:
        res = self.residual(x)
        return self.act(hierarchical(self.bn_in(x), self.conv_bn, self.carry) + res)


class BottleGraphLayer(nn.Module):
    """Bottleneck spatial layer: act(bn(reduce)) → act(bn(graph conv)) → bn(expand) + res → act.

    inner = C_in / r when C_in = C_out, else 2·C_in / r (description, "Plain and bottleneck").
    """

    def __init__(self, c_in: int, c_out: int, A: np.ndarray, reduct_ratio: int, residual: bool,
                 act: nn.Module) -> None:
        super().__init__()
        inner = c_in // reduct_ratio if c_in == c_out else c_in * 2 // reduct_ratio
        self.act = act
        self.reduct_conv = conv_bn(c_in, inner)
        self.conv = nn.Sequential(GraphConv(inner, inner, A), nn.BatchNorm2d(inner))
        self.expand_conv = conv_bn(inner, c_out)
        self.residual = spatial_residual(c_in, c_out, residual)

    def forward(self, x: Tensor) -> Tensor:
        res = self.residual(x)
        x = self.act(self.reduct_conv(x))
        x = self.act(self.conv(x))
        return self.act(self.expand_conv(x) + res)


class MSBottleGraphLayer(nn.Module):
    """Multi-scale spatial bottleneck (``ms_bottle``): the bottleneck with its middle graph conv
    replaced by the hierarchical split over s groups; each group's output passes act before it is
    carried over (carry only when C_in = C_out)."""

    def __init__(self, c_in: int, c_out: int, A: np.ndarray, s_scale: int, reduct_ratio: int,
                 residual: bool, act: nn.Module) -> None:
        super().__init__()
        inner = c_in // reduct_ratio if c_in == c_out else c_in * 2 // reduct_ratio
        assert inner % s_scale == 0
        self.act = act
        self.carry = c_in == c_out
        self.reduct_conv = conv_bn(c_in, inner)
        g = inner // s_scale
        self.conv = nn.ModuleList(
            nn.Sequential(GraphConv(g, g, A), nn.BatchNorm2d(g)) for _ in range(s_scale)
        )
        self.expand_conv = conv_bn(inner, c_out)
        self.residual = spatial_residual(c_in, c_out, residual)

    def forward(self, x: Tensor) -> Tensor:
        res = self.residual(x)
        y = hierarchical(self.act(self.reduct_conv(x)), self.conv, self.carry, self.act)
        return self.act(self.expand_conv(y) + res)


# --------------------------------------------------------------------------------------------
# Temporal layers
# --------------------------------------------------------------------------------------------


class PlainTemporalLayer(nn.Module):
    """Plain temporal layer: act(bn(temporal_conv(x)) + res); residual as in MT-GC."""

    def __init__(self, channels: int, kernel_size: int, stride: int, residual: bool,
                 act: nn.Module) -> None:
        super().__init__()
        pad = (kernel_size - 1) // 2
        self.act = act
        self.conv = nn.Conv2d(channels, channels, (kernel_size, 1), stride=(stride, 1),
                              padding=(pad, 0))
        self.bn = nn.BatchNorm2d(channels)
        self.residual = temporal_residual(channels, stride, residual)

    def forward(self, x: Tensor) -> Tensor:
        return self.act(self.bn(self.conv(x)) + self.residual(x))


class SepTemporalLayer(nn.Module):
    """Separable temporal layer: [act(bn(1×1 expand))] → act(depthwise (k,1) conv + bn) →
    pointwise 1×1 conv + bn → + residual; no final activation."""

    def __init__(self, channels: int, kernel_size: int, stride: int, expand_ratio: int = 0,
                 residual: bool = True, act: nn.Module | None = None) -> None:
        super().__init__()
        pad = (kernel_size - 1) // 2
        self.act = act if act is not None else Activation("relu")
        if expand_ratio > 0:
            inner = channels * expand_ratio
            self.expand_conv: nn.Sequential | None = conv_bn(channels, inner)
        else:
            inner = channels
            self.expand_conv = None
        self.depth_conv = conv_bn(inner, inner, (kernel_size, 1), stride=(stride, 1),
                                  padding=(pad, 0), groups=inner)
        self.point_conv = conv_bn(inner, channels)
        self.residual = temporal_residual(channels, stride, residual)

    def forward(self, x: Tensor) -> Tensor:
        res = self.residual(x)
        if self.expand_conv is not None:
            x = self.act(self.expand_conv(x))
        x = self.act(self.depth_conv(x))
        return self.point_conv(x) + res


class MSTemporalLayer(nn.Module):
    """MT-GC (description, "Multi-scale temporal layer MT-GC").

    t channel groups, f_i = temporal conv + bn (``conv_bn.i.0/.1``) or a
    :class:`SepTemporalLayer` without residual; carry y_{i-1} only when stride is 1;
    act(concat + res). ``bn_in`` is created (it is in checkpoints) but never used.
    """

    def __init__(self, channels: int, t_scale: int, kernel_size: int, stride: int,
                 layer_type: str, expand_ratio: int, residual: bool, act: nn.Module) -> None:
        super().__init__()
        assert channels % t_scale == 0
        self.carry = stride == 1
        self.act = act
        self.bn_in = nn.BatchNorm2d(channels)  # unused, as in the original
        g = channels // t_scale
        self.conv_bn = nn.ModuleList()
        for _ in range(t_scale):
            if layer_type == "sep":
                self.conv_bn.append(SepTemporalLayer(g, kernel_size, stride, expand_ratio,
                                                     residual=False, act=act))
            else:
                self.conv_bn.append(temporal_conv_bn(g, kernel_size, stride))
        self.residual = temporal_residual(channels, stride, residual)

    def forward(self, x: Tensor) -> Tensor:
        res = self.residual(x)
        return self.act(hierarchical(x, self.conv_bn, self.carry) + res)


class BottleTemporalLayer(nn.Module):
    """Bottleneck temporal layer, inner = C / r: act(bn(reduce)) → act(bn(temporal conv,
    stride)) → bn(expand) + res → act."""

    def __init__(self, channels: int, kernel_size: int, stride: int, reduct_ratio: int,
                 residual: bool, act: nn.Module) -> None:
        super().__init__()
        inner = channels // reduct_ratio
        self.act = act
        self.reduct_conv = conv_bn(channels, inner)
        self.conv = temporal_conv_bn(inner, kernel_size, stride)
        self.expand_conv = conv_bn(inner, channels)
        self.residual = temporal_residual(channels, stride, residual)

    def forward(self, x: Tensor) -> Tensor:
        res = self.residual(x)
        x = self.act(self.reduct_conv(x))
        x = self.act(self.conv(x))
        return self.act(self.expand_conv(x) + res)


class MSBottleTemporalLayer(nn.Module):
    """Multi-scale temporal bottleneck (``ms_bottle``): reduce → t-group hierarchical temporal
    convs (``convs.i.0/.1``, act on each group, carry only for stride 1) → expand + res → act."""

    def __init__(self, channels: int, t_scale: int, kernel_size: int, stride: int,
                 reduct_ratio: int, residual: bool, act: nn.Module) -> None:
        super().__init__()
        inner = channels // reduct_ratio
        assert inner % t_scale == 0
        self.act = act
        self.carry = stride == 1
        self.reduct_conv = conv_bn(channels, inner)
        g = inner // t_scale
        self.convs = nn.ModuleList(temporal_conv_bn(g, kernel_size, stride) for _ in range(t_scale))
        self.expand_conv = conv_bn(inner, channels)
        self.residual = temporal_residual(channels, stride, residual)

    def forward(self, x: Tensor) -> Tensor:
        res = self.residual(x)
        y = hierarchical(self.act(self.reduct_conv(x)), self.convs, self.carry, self.act)
        return self.act(self.expand_conv(y) + res)


# --------------------------------------------------------------------------------------------
# Attention (description, "Attention")
# --------------------------------------------------------------------------------------------


class STJointAtt(nn.Module):
    """``stja`` (``with_channel=False``) / ``stcja`` (``with_channel=True``).

    x_t = mean over joints (C×T), x_v = mean over frames (C×V), stacked along frames →
    fcn (1×1 conv C→C/r, bn, hard-swish) → split; a = σ(conv_t(x_t)) · σ(conv_v(x_v))
    [· σ(conv_c((mean x_t + mean x_v) / 2))], broadcast to (C, T, V).
    """

    def __init__(self, channel: int, reduct_ratio: int, bias: bool, with_channel: bool) -> None:
        super().__init__()
        inner = channel // reduct_ratio
        self.fcn = nn.Sequential(
            nn.Conv2d(channel, inner, 1, bias=bias),
            nn.BatchNorm2d(inner),
        )
        self.conv_t = nn.Conv2d(inner, channel, 1)
        self.conv_v = nn.Conv2d(inner, channel, 1)
        self.with_channel = with_channel
        if with_channel:
            self.conv_c = nn.Sequential(nn.Conv2d(inner, channel, 1))  # key conv_c.0

    def forward(self, x: Tensor) -> Tensor:
        _, _, t, v = x.shape
        x_t = x.mean(dim=3, keepdim=True)  # n, c, t, 1
        x_v = x.mean(dim=2, keepdim=True).transpose(2, 3)  # n, c, v, 1
        h = hard_swish(self.fcn(torch.cat([x_t, x_v], dim=2)))  # n, inner, t+v, 1
        h_t, h_v = torch.split(h, [t, v], dim=2)
        att = torch.sigmoid(self.conv_t(h_t)) * torch.sigmoid(self.conv_v(h_v.transpose(2, 3)))
        if self.with_channel:
            h_c = (h_t.mean(dim=(2, 3), keepdim=True) + h_v.mean(dim=(2, 3), keepdim=True)) * 0.5
            att = att * torch.sigmoid(self.conv_c[0](h_c))
        return att  # n, c, t, v


class ChannelAtt(nn.Module):
    """``ca``: squeeze-and-excitation, σ(conv(relu(bn(conv(mean_{t,v} x))))), C → C/4 → C.

    ``fcn`` indices follow the original Sequential [pool, conv, bn, relu, conv, sigmoid].
    """

    def __init__(self, channel: int) -> None:
        super().__init__()
        inner = channel // 4
        self.fcn = nn.Sequential(
            nn.Identity(),  # 0: global average pool (done in forward)
            nn.Conv2d(channel, inner, 1),
            nn.BatchNorm2d(inner),
            nn.Identity(),  # 3: ReLU
            nn.Conv2d(inner, channel, 1),
        )

    def forward(self, x: Tensor) -> Tensor:
        s = x.mean(dim=(2, 3), keepdim=True)
        h = F.relu(self.fcn[2](self.fcn[1](s)))
        return torch.sigmoid(self.fcn[4](h))  # n, c, 1, 1


class FrameAtt(nn.Module):
    """``fa``: per frame, mean and max over (channels, joints) → (9,1) conv 2 → 1, no sigmoid."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(2, 1, kernel_size=(9, 1), padding=(4, 0))

    def forward(self, x: Tensor) -> Tensor:
        avg = x.mean(dim=(1, 3))  # n, t
        mx = x.amax(dim=(1, 3))  # n, t
        maps = torch.stack([avg, mx], dim=1).unsqueeze(-1)  # n, 2, t, 1
        return self.conv(maps)  # n, 1, t, 1


class JointAtt(nn.Module):
    """``ja``: per joint global mean → 1×1 conv V→V/2 → bn → relu → 1×1 conv V/2→V →
    softmax over joints. V is the total number of joints in ``parts``."""

    def __init__(self, parts: Sequence[Sequence[int]]) -> None:
        super().__init__()
        num_joint = sum(len(p) for p in parts)
        self.fcn = nn.Sequential(
            nn.Identity(),  # 0: global average pool
            nn.Conv2d(num_joint, num_joint // 2, 1),
            nn.BatchNorm2d(num_joint // 2),
            nn.Identity(),  # 3: ReLU
            nn.Conv2d(num_joint // 2, num_joint, 1),
        )

    def forward(self, x: Tensor) -> Tensor:
        s = x.mean(dim=(1, 2)).unsqueeze(-1).unsqueeze(-1)  # n, v, 1, 1 (joints as channels)
        h = F.relu(self.fcn[2](self.fcn[1](s)))
        a = torch.softmax(self.fcn[4](h), dim=1)  # n, v, 1, 1
        return a.permute(0, 2, 3, 1)  # n, 1, 1, v


class PartAtt(nn.Module):
    """``pa``: global mean → 1×1 conv C→C/r (bias opt.) → bn → relu → 1×1 conv C/r → C·P
    (bias opt.), read as (C, P) → softmax over parts; each joint takes its part's weight.
    ``joints`` (non-trainable LongTensor parameter) is the joint → part index."""

    def __init__(self, channel: int, parts: Sequence[Sequence[int]], reduct_ratio: int,
                 bias: bool) -> None:
        super().__init__()
        self.num_parts = len(parts)
        num_joint = sum(len(p) for p in parts)
        joint_to_part = [j for v in range(num_joint) for j, p in enumerate(parts) if v in p]
        self.joints = nn.Parameter(torch.tensor(joint_to_part, dtype=torch.long),
                                   requires_grad=False)
        inner = channel // reduct_ratio
        self.fcn = nn.Sequential(
            nn.Identity(),  # 0: global average pool
            nn.Conv2d(channel, inner, 1, bias=bias),
            nn.BatchNorm2d(inner),
            nn.Identity(),  # 3: ReLU
            nn.Conv2d(inner, channel * self.num_parts, 1, bias=bias),
        )

    def forward(self, x: Tensor) -> Tensor:
        n, c, t, v = x.shape
        s = x.mean(dim=(2, 3), keepdim=True)
        h = self.fcn[4](F.relu(self.fcn[2](self.fcn[1](s))))  # n, c*P, 1, 1
        a = torch.softmax(h.view(n, c, 1, self.num_parts), dim=3)
        return a[..., self.joints].expand(n, c, t, v)


class AttentionLayer(nn.Module):
    """Attention wrapper: r = x; x = x · a(x); act(bn(x) + r). Submodule ``att`` is the
    attention map a(·); ``bn`` the BatchNorm2d over C."""

    def __init__(self, channel: int, att_type: str, act: nn.Module, reduct_ratio: int,
                 bias: bool, parts: Sequence[Sequence[int]] | None) -> None:
        super().__init__()
        self.att: nn.Module
        if att_type in ("stja", "stcja"):
            self.att = STJointAtt(channel, reduct_ratio, bias, with_channel=att_type == "stcja")
        elif att_type == "ca":
            self.att = ChannelAtt(channel)
        elif att_type == "fa":
            self.att = FrameAtt()
        elif att_type in ("ja", "pa"):
            if parts is None:
                raise ValueError(f"attention {att_type!r} needs body parts; pass parts=...")
            self.att = JointAtt(parts) if att_type == "ja" else PartAtt(
                channel, parts, reduct_ratio, bias)
        else:
            raise ValueError(f"unknown attention {att_type!r}")
        self.bn = nn.BatchNorm2d(channel)
        self.act = act

    def forward(self, x: Tensor) -> Tensor:
        return self.act(self.bn(x * self.att(x)) + x)


# --------------------------------------------------------------------------------------------
# Block and network (description, "Block and network")
# --------------------------------------------------------------------------------------------

_BLOCK_TYPES = ("basic", "bottle", "sep", "ms", "ms_bottle")
_ATTENTIONS = ("stja", "stcja", "ca", "fa", "ja", "pa")


class Block(nn.Module):
    """One MST-GCN block: ``msgcn`` (spatial) → ``mstcn`` (temporal) → optional ``att``."""

    def __init__(self, c_in: int, c_out: int, residual: bool, stride: int, A: np.ndarray,
                 block_type: str, atten: str | None, *, kernel_size: int, layer_type: str,
                 s_scale: int, t_scale: int, reduct_ratio: int, expand_ratio: int,
                 act: nn.Module, bias: bool, parts: Sequence[Sequence[int]] | None) -> None:
        super().__init__()
        self.msgcn: nn.Module
        self.mstcn: nn.Module
        if block_type == "basic":
            self.msgcn = PlainGraphLayer(c_in, c_out, A, residual, act)
            self.mstcn = PlainTemporalLayer(c_out, kernel_size, stride, residual, act)
        elif block_type == "bottle":
            self.msgcn = BottleGraphLayer(c_in, c_out, A, reduct_ratio, residual, act)
            self.mstcn = BottleTemporalLayer(c_out, kernel_size, stride, reduct_ratio, residual,
                                             act)
        elif block_type == "sep":
            self.msgcn = SepGraphLayer(c_in, c_out, A, expand_ratio, residual, act)
            self.mstcn = SepTemporalLayer(c_out, kernel_size, stride, expand_ratio, residual, act)
        elif block_type == "ms":
            self.msgcn = MSGraphLayer(c_in, c_out, A, s_scale, layer_type, expand_ratio,
                                      residual, act)
            self.mstcn = MSTemporalLayer(c_out, t_scale, kernel_size, stride, layer_type,
                                         expand_ratio, residual, act)
        elif block_type == "ms_bottle":
            self.msgcn = MSBottleGraphLayer(c_in, c_out, A, s_scale, reduct_ratio, residual, act)
            self.mstcn = MSBottleTemporalLayer(c_out, t_scale, kernel_size, stride, reduct_ratio,
                                               residual, act)
        else:
            raise ValueError(f"unknown block_type {block_type!r}; expected one of {_BLOCK_TYPES}")
        self.atten = atten
        if atten is not None:
            self.att = AttentionLayer(c_out, atten, act, reduct_ratio, bias, parts)

    def forward(self, x: Tensor) -> Tensor:
        x = self.mstcn(self.msgcn(x))
        return self.att(x) if self.atten is not None else x


def _conv_branch_init(conv: nn.Conv2d, branches: int) -> None:
    """Original ``conv_branch_init``: each of ``branches`` output slices ~ N(0, 2/(n·k1·k2))."""
    w = conv.weight
    n, k1, k2 = w.shape[0], w.shape[1], w.shape[2]
    for i in range(branches):
        nn.init.normal_(w[i * n // branches:(i + 1) * n // branches], 0.0,
                        math.sqrt(2.0 / (n * k1 * k2)))
    if conv.bias is not None:
        nn.init.zeros_(conv.bias)


def _conv_init(conv: nn.Conv2d) -> None:
    """Original ``conv_init``: kaiming normal (fan_out), zero bias."""
    nn.init.kaiming_normal_(conv.weight, mode="fan_out")
    if conv.bias is not None:
        nn.init.zeros_(conv.bias)


def _bn_init(bn: nn.modules.batchnorm._BatchNorm) -> None:
    nn.init.ones_(bn.weight)
    nn.init.zeros_(bn.bias)


class OriginalMSTGCN(nn.Module):
    """Dense reference of the original MST-GCN ``Model`` (description, "Block and network").

    Args mirror the original ``model_args``. ``forward(x)`` takes ``(N, C, T, V, M)`` and
    returns ``(features, logits)``: features ``(N·M, C_last, T', V)``, logits
    ``(N, num_class)``.
    """

    def __init__(
        self,
        num_class: int,
        num_point: int,
        num_person: int,
        block_args: Sequence[Sequence[Any]],
        graph: str,
        graph_args: dict[str, Any] | None = None,
        kernel_size: int = 9,
        block_type: str = "ms",
        layer_type: str = "basic",
        atten: str | None = None,
        s_scale: int = 4,
        t_scale: int = 4,
        reduct_ratio: int = 2,
        expand_ratio: int = 0,
        act: str = "relu",
        bias: bool = True,
        parts: Sequence[Sequence[int]] | None = None,
    ) -> None:
        super().__init__()
        if graph_args and graph_args.get("labeling_mode", "spatial") != "spatial":
            raise ValueError("only the 'spatial' labeling mode exists in the reference")
        atten = None if atten in (None, "None") else atten
        if atten is not None and atten not in _ATTENTIONS:
            raise ValueError(f"unknown atten {atten!r}; expected None or one of {_ATTENTIONS}")
        A = spatial_partition(graph)
        if A.shape[1] != num_point:
            raise ValueError(f"graph {graph!r} has {A.shape[1]} joints, num_point={num_point}")
        if parts is None:
            parts = {25: NTU_PARTS, 18: OPENPOSE_PARTS}.get(num_point)
        self.num_subset = A.shape[0]
        self.graph_A = A  # numpy, not a buffer
        activation = Activation(act)  # one parameter-free module shared by all layers

        self.data_bn = nn.BatchNorm1d(num_person * block_args[0][0] * num_point)
        self.layers = nn.ModuleList()
        for i, (c_in, c_out, residual, stride) in enumerate(block_args):
            first = i == 0  # block 0: always the plain block, no attention
            self.layers.append(Block(
                int(c_in), int(c_out), bool(residual), int(stride), A,
                "basic" if first else block_type, None if first else atten,
                kernel_size=kernel_size, layer_type=layer_type, s_scale=s_scale,
                t_scale=t_scale, reduct_ratio=reduct_ratio, expand_ratio=expand_ratio,
                act=activation, bias=bias, parts=parts,
            ))
        self.fc = nn.Linear(int(block_args[-1][1]), num_class)
        self._init_like_original(num_class)

    def _init_like_original(self, num_class: int) -> None:
        """Original initialisation loop, same visiting order (pre-order ``modules()``).

        Graph convolutions (and separable spatial layers) get ``conv_branch_init`` on all their
        convs; but because ``modules()`` then visits those convs again, the generic
        ``conv_init`` branch overwrites it: in the original every Conv2d ends up kaiming-normal
        (fan_out) with zero bias. BatchNorms: weight 1, bias 0. fc: weight ~ N(0, 2/num_class),
        bias left at PyTorch's default. ``PA`` stays equal to ``A``.
        """
        for m in self.modules():
            if isinstance(m, (GraphConv, SepGraphLayer)):
                for mm in m.modules():
                    if isinstance(mm, nn.Conv2d):
                        _conv_branch_init(mm, self.num_subset)
                    if isinstance(mm, nn.BatchNorm2d):
                        _bn_init(mm)
            elif isinstance(m, nn.Conv2d):
                _conv_init(m)
            elif isinstance(m, (nn.BatchNorm2d, nn.BatchNorm1d)):
                _bn_init(m)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0.0, math.sqrt(2.0 / num_class))

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        n, c, t, v, m = x.shape
        # data_bn over features (m, v, c): (N, C, T, V, M) -> (N, M, V, C, T) -> (N, M·V·C, T)
        x = x.permute(0, 4, 3, 1, 2).reshape(n, m * v * c, t)
        x = self.data_bn(x)
        # persons as separate samples: (N, M, V, C, T) -> (N, M, C, T, V) -> (N·M, C, T, V)
        x = x.view(n, m, v, c, t).permute(0, 1, 3, 4, 2).reshape(n * m, c, t, v)
        for layer in self.layers:
            x = layer(x)
        features = x
        pooled = x.mean(dim=(2, 3)).view(n, m, -1).mean(dim=1)  # gap over (T, V), mean over M
        return features, self.fc(pooled)


# --------------------------------------------------------------------------------------------
# Deterministic randomisation for equivalence tests
# --------------------------------------------------------------------------------------------


@torch.no_grad()
def randomize_(model: nn.Module, seed: int = 0) -> nn.Module:
    """Fill every floating parameter and BatchNorm running statistic with deterministic values.

    * Conv / Linear weights ~ N(0, 1/fan_in), their biases ~ U(-0.2, 0.2);
    * BatchNorm weight ~ U(0.5, 1.5), bias ~ U(-0.2, 0.2), running_mean ~ U(-0.3, 0.3),
      running_var ~ U(0.5, 1.5) (positive); ``num_batches_tracked`` untouched;
    * ``PA`` ~ U(-1, 1) / V (non-zero everywhere, so A + PA is dense);
    * any other floating parameter ~ U(-0.5, 0.5).

    Buffers ``A`` and the integer ``joints`` parameter are left untouched. Values come from a
    private ``torch.Generator(seed)`` (global RNG unaffected), created on CPU and copied to the
    tensors' device / dtype. Returns ``model``.
    """
    gen = torch.Generator().manual_seed(seed)

    def uniform(t: Tensor, lo: float, hi: float) -> None:
        t.copy_(torch.rand(t.shape, generator=gen, dtype=torch.float64) * (hi - lo) + lo)

    def normal(t: Tensor, std: float) -> None:
        t.copy_(torch.randn(t.shape, generator=gen, dtype=torch.float64) * std)

    for module in model.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            if module.weight is not None:
                uniform(module.weight, 0.5, 1.5)
            if module.bias is not None:
                uniform(module.bias, -0.2, 0.2)
            if module.running_mean is not None:
                uniform(module.running_mean, -0.3, 0.3)
            if module.running_var is not None:
                uniform(module.running_var, 0.5, 1.5)
            continue
        for name, p in module.named_parameters(recurse=False):
            if not p.is_floating_point():  # e.g. PartAtt.joints
                continue
            if isinstance(module, (nn.Conv2d, nn.Linear)) and name == "weight":
                normal(p, 1.0 / math.sqrt(p[0].numel()))
            elif isinstance(module, (nn.Conv2d, nn.Linear)) and name == "bias":
                uniform(p, -0.2, 0.2)
            elif name == "PA":
                uniform(p, -1.0 / p.shape[-1], 1.0 / p.shape[-1])
            else:
                uniform(p, -0.5, 0.5)
    return model
