"""Checks of the dense reference of the original MST-GCN (``tests/original_reference.py``).

The reference is the ground truth for our PyG implementation, so it is itself checked against
what is known of the original code: parameter counts (``param_counts.tsv``), checkpoint key
layout (``official_checkpoint_keys.tsv``), the graph description, and forward shapes for every
block type × layer type × attention.
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import numpy as np
import pytest
import torch

from original_reference import (
    KINETICS_INWARD_EDGES,
    NTU_BLOCK_ARGS,
    NTU_INWARD_EDGES,
    NTU_PARTS,
    OPENPOSE_PARTS,
    OriginalMSTGCN,
    randomize_,
    spatial_partition,
)

REFERENCE_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "reference"

DATASETS = {
    "ntu60": dict(num_class=60, num_point=25, graph="graph.ntu_rgb_d.Graph"),
    "ntu120": dict(num_class=120, num_point=25, graph="graph.ntu_rgb_d.Graph"),
    "kinetics": dict(num_class=400, num_point=18, graph="graph.kinetics.Graph"),
}

# Tensors that exist in checkpoints but take no part in the forward pass.
UNUSED = re.compile(r"(\.mstcn\.bn_in\.(weight|bias)|\.att\.att\.joints)$")

SMALL_BLOCK_ARGS = [[3, 16, False, 1], [16, 16, True, 1], [16, 32, True, 2], [32, 32, False, 1]]
BLOCK_TYPES = ["basic", "bottle", "sep", "ms", "ms_bottle"]
LAYER_TYPES = ["basic", "sep"]
ATTENTIONS = [None, "stcja", "stja", "ca", "fa", "ja", "pa"]


def _reference_file(name: str) -> Path:
    path = REFERENCE_DIR / name
    if not path.is_file():
        pytest.skip(f"{path} not available")
    return path


def _full_model(dataset: str, block_type: str, layer_type: str, atten: str | None
                ) -> OriginalMSTGCN:
    return OriginalMSTGCN(
        num_person=2, block_args=NTU_BLOCK_ARGS, graph_args={"labeling_mode": "spatial"},
        kernel_size=9, block_type=block_type, layer_type=layer_type, atten=atten,
        s_scale=4, t_scale=4, reduct_ratio=2, expand_ratio=0, act="relu", bias=True,
        **DATASETS[dataset],
    )


def _param_count_rows() -> list[dict[str, str]]:
    path = REFERENCE_DIR / "param_counts.tsv"
    if not path.is_file():
        return []
    lines = [ln for ln in path.read_text().splitlines() if ln.strip() and not ln.startswith("#")]
    header = lines[0].split("\t")
    return [dict(zip(header, ln.split("\t"))) for ln in lines[1:]]


def _key_sections() -> list[tuple[str, str, str, list[tuple[str, tuple[int, ...], str, str]]]]:
    """Parse the tsv into (block_type, layer_type, atten, rows) per configuration header."""
    path = REFERENCE_DIR / "official_checkpoint_keys.tsv"
    if not path.is_file():
        return []
    sections: list[tuple[str, str, str, list]] = []
    for line in path.read_text().splitlines():
        if line.startswith("#"):
            m = re.search(r"block_type=(\S+) layer_type=(\S+) atten=(\S+)", line)
            if m:
                sections.append((m[1], m[2], m[3], []))
            continue
        if not line.strip():
            continue
        cols = line.split("\t") + [""] * 4
        shape = tuple(int(s) for s in re.findall(r"\d+", cols[1]))
        sections[-1][3].append((cols[0], shape, cols[2], cols[3]))
    return sections


_ROWS = _param_count_rows()
_SECTIONS = _key_sections()


def test_reference_files_parsed() -> None:
    _reference_file("param_counts.tsv")
    _reference_file("official_checkpoint_keys.tsv")
    assert len(_ROWS) >= 16
    assert len(_SECTIONS) >= 12
    assert _SECTIONS[0][:3] == ("ms", "basic", "stcja")  # canonical NTU-60 comes first


@pytest.mark.parametrize(
    "row", _ROWS or [None],
    ids=[f"{r['dataset']}-{r['block_type']}-{r['layer_type']}-{r['atten']}" for r in _ROWS]
    or ["missing"],
)
def test_param_counts(row: dict[str, str] | None) -> None:
    if row is None:
        pytest.skip("param_counts.tsv not available")
    model = _full_model(row["dataset"], row["block_type"], row["layer_type"], row["atten"])
    params = dict(model.named_parameters())
    total = sum(p.numel() for p in params.values())
    used = sum(p.numel() for name, p in params.items() if not UNUSED.search(name))
    assert total == int(row["all_params"])
    assert used == int(row["used_params"])


@pytest.mark.parametrize(
    "section", _SECTIONS or [None],
    ids=[f"{s[0]}-{s[1]}-{s[2]}" for s in _SECTIONS] or ["missing"],
)
def test_checkpoint_keys(section) -> None:
    if section is None:
        pytest.skip("official_checkpoint_keys.tsv not available")
    block_type, layer_type, atten, rows = section
    model = _full_model("ntu60", block_type, layer_type, atten)
    state = model.state_dict()
    params = dict(model.named_parameters())
    listed = {key for key, *_ in rows}
    for key, shape, kind, unused in rows:
        assert key in state, f"missing {key}"
        assert tuple(state[key].shape) == shape, key
        assert (key in params) == (kind == "param"), key
        assert bool(UNUSED.search(key)) == (unused == "unused"), key
    checked = re.compile(r"^(data_bn|fc|layers\.(0|1|4))\.")
    extra = [
        k for k in state
        if checked.match(k) and not k.endswith(("running_var", "num_batches_tracked"))
        and k not in listed
    ]
    assert not extra, f"keys not in the official checkpoints: {extra}"
    # every BatchNorm carries running_var / num_batches_tracked next to running_mean
    for k in state:
        if k.endswith("running_mean"):
            base = k[: -len("running_mean")]
            assert base + "running_var" in state and base + "num_batches_tracked" in state


def test_graph_partition() -> None:
    layouts = [("graph.ntu_rgb_d.Graph", 25, 24), ("graph.kinetics.Graph", 18, 17)]
    for graph, v, num_edges in layouts:
        A = spatial_partition(graph)
        assert A.shape == (3, v, v) and A.dtype == np.float32
        np.testing.assert_array_equal(A[0], np.eye(v))
        assert (A[1] > 0).sum() == num_edges and (A[2] > 0).sum() == num_edges
        np.testing.assert_array_equal(A[1] > 0, (A[2] > 0).T)
        for sub in A[1:]:  # columns sum to 1 or 0
            col = sub.sum(axis=0)
            assert np.all(np.isclose(col, 1.0) | (col == 0))
    A = spatial_partition("graph.ntu_rgb_d.Graph")
    # inward (1, 2) 1-based: M[1, 0] = 1 / (column 0 sum = 1); centre joint 21 (index 20) has
    # no parent, so inward column 20 is empty; outward column 20 fans out to joints 2, 3, 5, 9.
    assert A[1, 1, 0] == 1.0 and A[1, :, 20].sum() == 0
    np.testing.assert_allclose(A[2, [1, 2, 4, 8], 20], 0.25)


def test_constants_match_the_description() -> None:
    """Edge lists and NTU parts are those written in ORIGINAL_MODEL.md (parsed at test time)."""
    text = _reference_file("ORIGINAL_MODEL.md").read_text()
    pair = re.compile(r"\((\d+),\s*(\d+)\)")
    ntu = text.split("NTU RGB+D (V=25)", 1)[1].split("Kinetics / OpenPose", 1)[0]
    kinetics = text.split("Kinetics / OpenPose (V=18)", 1)[1].split("##", 1)[0]
    assert [tuple(map(int, p)) for p in pair.findall(ntu)] == list(NTU_INWARD_EDGES)
    assert [tuple(map(int, p)) for p in pair.findall(kinetics)] == list(KINETICS_INWARD_EDGES)
    parts_text = text.split("NTU parts", 1)[1]
    for name, part in zip(["left arm", "right arm", "left leg", "right leg", "torso"], NTU_PARTS):
        numbers = re.match(r"\s*((?:\d+\s*)+)", parts_text.split(name, 1)[1])
        assert numbers is not None, name
        assert [int(j) - 1 for j in numbers[1].split()] == part, name


def test_default_parts_cover_every_joint_once() -> None:
    for parts, v in [(NTU_PARTS, 25), (OPENPOSE_PARTS, 18)]:
        assert sorted(j for p in parts for j in p) == list(range(v))
    model = OriginalMSTGCN(60, 25, 2, SMALL_BLOCK_ARGS, "graph.ntu_rgb_d.Graph", atten="pa")
    joints = model.layers[1].att.att.joints
    assert joints.dtype == torch.long and not joints.requires_grad
    assert joints.tolist() == [4, 4, 4, 4, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3,
                               4, 0, 0, 1, 1]


def test_initialisation() -> None:
    torch.manual_seed(0)
    model = OriginalMSTGCN(60, 25, 2, SMALL_BLOCK_ARGS, "graph.ntu_rgb_d.Graph",
                           block_type="ms", atten="stcja")
    state = model.state_dict()
    for k, t in state.items():
        if k.endswith(".PA"):
            assert torch.equal(t, state[k[:-2] + "A"])
    for m in model.modules():
        if isinstance(m, torch.nn.Conv2d) and m.bias is not None:
            assert torch.all(m.bias == 0)
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            assert torch.all(m.weight == 1) and torch.all(m.bias == 0)


def test_randomize_touches_everything_but_A_and_joints() -> None:
    model = OriginalMSTGCN(60, 25, 2, SMALL_BLOCK_ARGS, "graph.ntu_rgb_d.Graph",
                           block_type="ms", layer_type="sep", atten="pa")
    before = {k: v.clone() for k, v in model.state_dict().items()}
    randomize_(model, seed=3)
    after = model.state_dict()
    for k, v in after.items():
        if k.endswith((".A", "joints", "num_batches_tracked")):
            assert torch.equal(v, before[k]), k
        else:
            assert not torch.equal(v, before[k]), k
        if k.endswith("running_var"):
            assert torch.all(v > 0)
        if k.endswith(".PA"):
            assert torch.all(v != 0)
    again = randomize_(OriginalMSTGCN(60, 25, 2, SMALL_BLOCK_ARGS, "graph.ntu_rgb_d.Graph",
                                      block_type="ms", layer_type="sep", atten="pa"), seed=3)
    for k, v in again.state_dict().items():
        assert torch.equal(v, after[k]), k


@pytest.mark.parametrize("block_type,layer_type", list(itertools.product(BLOCK_TYPES, LAYER_TYPES)))
def test_forward_shapes(block_type: str, layer_type: str) -> None:
    n, c, t, v, m = 2, 3, 16, 25, 2
    x = torch.randn(n, c, t, v, m, generator=torch.Generator().manual_seed(0))
    for atten in ATTENTIONS:
        model = OriginalMSTGCN(
            num_class=7, num_point=v, num_person=m, block_args=SMALL_BLOCK_ARGS,
            graph="graph.ntu_rgb_d.Graph", block_type=block_type, layer_type=layer_type,
            atten=atten, act="hswish",
        )
        randomize_(model, seed=1)
        for train in (True, False):
            model.train(train)
            features, logits = model(x)
            assert logits.shape == (n, 7), (atten, train)
            assert features.shape == (n * m, 32, t // 2, v), (atten, train)
            assert torch.isfinite(logits).all() and torch.isfinite(features).all()


def test_kinetics_forward_and_string_none() -> None:
    model = OriginalMSTGCN(num_class=5, num_point=18, num_person=2, block_args=SMALL_BLOCK_ARGS,
                           graph="graph.kinetics.Graph", atten="None", act="swish").eval()
    assert not any(".att." in k for k in model.state_dict())
    features, logits = model(torch.randn(1, 3, 8, 18, 2))
    assert logits.shape == (1, 5) and features.shape == (2, 32, 4, 18)


def test_bias_option_only_affects_attention_fcn() -> None:
    for atten, keys in [("stcja", ["att.att.fcn.0.bias"]),
                        ("pa", ["att.att.fcn.1.bias", "att.att.fcn.4.bias"])]:
        with_bias = OriginalMSTGCN(60, 25, 2, SMALL_BLOCK_ARGS, "graph.ntu_rgb_d.Graph",
                                   atten=atten).state_dict()
        without = OriginalMSTGCN(60, 25, 2, SMALL_BLOCK_ARGS, "graph.ntu_rgb_d.Graph",
                                 atten=atten, bias=False).state_dict()
        removed = set(with_bias) - set(without)
        assert removed == {f"layers.{i}.{k}" for i in (1, 2, 3) for k in keys}
        assert not set(without) - set(with_bias)


def test_forward_matches_hand_computation_of_first_block() -> None:
    """Block 0 (plain, no residual) written out once more by hand, in eval mode."""
    model = OriginalMSTGCN(4, 25, 1, [[3, 8, False, 1]], "graph.ntu_rgb_d.Graph").eval()
    randomize_(model, seed=5)
    x = torch.randn(2, 3, 6, 25, 1, generator=torch.Generator().manual_seed(1))
    features, logits = model(x)

    bn1d = model.data_bn
    xx = x[..., 0].permute(0, 3, 1, 2).reshape(2, 75, 6)  # (n, v·c, t), feature = v·C + c
    std = torch.sqrt(bn1d.running_var + bn1d.eps)
    xx = (xx - bn1d.running_mean[:, None]) / std[:, None] * bn1d.weight[:, None] + bn1d.bias[:, None]
    xx = xx.reshape(2, 25, 3, 6).permute(0, 2, 3, 1)  # n, c, t, v
    layer = model.layers[0]
    gc = layer.msgcn.conv
    w = gc.gcn.weight[:, :, 0, 0].view(3, 8, 3)  # k, c_out, c_in
    g = torch.einsum("kdc,nctv->nkdtv", w, xx) + gc.gcn.bias.view(1, 3, 8, 1, 1)
    adj = gc.A + gc.PA
    y = sum(g[:, k] @ adj[k] for k in range(3))
    y = torch.relu(layer.msgcn.bn(y))
    y = torch.relu(layer.mstcn.bn(layer.mstcn.conv(y)))
    torch.testing.assert_close(features, y)
    torch.testing.assert_close(logits, model.fc(y.mean(dim=(2, 3))))
