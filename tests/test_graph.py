"""Skeleton layouts and the spatial partition (identity, inward, outward)."""
import ast
import re

import pytest
import torch

from conftest import REFERENCE, ROOT, shared_path
from pyg_mstgcn.graph import (COCO, LAYOUTS, NTU_RGB_D, OPENPOSE, SUBSETS, SkeletonLayout,
                              full_edges, get_layout, skeleton_edges, spatial_partition,
                              support_edges)

# name, joints, centre
LAYOUT_FACTS = [('ntu-rgb+d', 25, 20), ('openpose', 18, 1), ('coco', 17, 0), ('nw-ucla', 20, 2)]


def _ntu_undirected():
    """The NTU bones as unordered pairs, in a scrambled orientation."""
    return [(p, c) if i % 2 else (c, p) for i, (c, p) in enumerate(NTU_RGB_D.inward)]


@pytest.mark.parametrize('name,num_joints,center', LAYOUT_FACTS)
def test_layouts_are_trees_with_parts(name, num_joints, center):
    """Each built-in layout is a tree over all its joints, rooted at its centre, whose bones
    point towards the centre, with body parts and one bone pair per joint."""
    layout = get_layout(name)
    assert layout.name == name and LAYOUTS[name] is layout
    assert layout.num_joints == num_joints and layout.center == center
    assert len(layout.inward) == num_joints - 1
    children = [c for c, _ in layout.inward]
    assert sorted(children) == sorted(set(range(num_joints)) - {center})  # one parent each
    assert layout.outward == tuple((p, c) for c, p in layout.inward)
    # every joint reaches the centre by following parents
    parent = dict(layout.inward)
    for joint in range(num_joints):
        seen = 0
        while joint != center:
            joint = parent[joint]
            seen += 1
            assert seen < num_joints
    assert sorted(j for part in layout.parts for j in part) == list(range(num_joints))
    assert len(layout.parts) == 5
    assert sorted(j for j, _ in layout.bone_pairs) == list(range(num_joints))
    assert len(layout.part_of_joint) == num_joints


def test_aliases_and_lookup():
    """'ntu' and 'kinetics' name the NTU and OpenPose layouts; names are case-insensitive; a
    layout passes through unchanged."""
    assert get_layout('ntu') is NTU_RGB_D
    assert get_layout('kinetics') is OPENPOSE
    assert get_layout('NTU-RGB+D') is NTU_RGB_D
    assert get_layout('coco') is COCO
    custom = SkeletonLayout.from_edges([(0, 1), (1, 2)], center=1)
    assert get_layout(custom) is custom


def test_layout_details():
    """Spot checks of the NTU, OpenPose and COCO definitions."""
    # NTU 1-based (1, 2), (2, 21), (23, 8), (25, 12) as 0-based (child, parent)
    for bone in [(0, 1), (1, 20), (22, 7), (24, 11)]:
        assert bone in NTU_RGB_D.inward
    assert NTU_RGB_D.part_of_joint[20] == 4 and NTU_RGB_D.part_of_joint[21] == 0
    assert NTU_RGB_D.bone_pairs[20] == (20, 20)  # the centre has a zero bone
    # OpenPose: centred on the neck (1), bone stream rooted at the nose (0)
    assert OPENPOSE.bone_pairs[0] == (0, 0) and OPENPOSE.bone_pairs[1] == (1, 0)
    assert (0, 1) in OPENPOSE.inward and (1, 0) not in OPENPOSE.inward
    assert COCO.bone_pairs[0] == (0, 0) and (15, 13) in COCO.inward


@pytest.mark.parametrize('name,num_joints,center', LAYOUT_FACTS)
def test_layouts_name_their_joints(name, num_joints, center):
    """Each built-in layout names every joint once, in short snake_case words."""
    names = get_layout(name).joint_names
    assert len(names) == num_joints == len(set(names))
    assert all(re.fullmatch(r'[a-z]+(_[a-z]+)*', n) for n in names)


def test_joint_names_agree_across_layouts():
    """The same body point has the same name in every layout; spot checks of the orders."""
    limbs = set(COCO.joint_names) - {'nose', 'left_eye', 'right_eye', 'left_ear', 'right_ear'}
    assert limbs < set(NTU_RGB_D.joint_names)  # shoulders to ankles
    assert set(COCO.joint_names) | {'neck'} == set(OPENPOSE.joint_names)
    assert NTU_RGB_D.joint_names[0] == 'spine_base' and NTU_RGB_D.joint_names[20] == (
        'spine_shoulder')
    assert NTU_RGB_D.joint_names[NTU_RGB_D.center] == 'spine_shoulder'
    assert OPENPOSE.joint_names[OPENPOSE.center] == 'neck'
    assert COCO.joint_names[COCO.center] == 'nose'
    assert NTU_RGB_D.joint_names[4] == COCO.joint_names[5] == OPENPOSE.joint_names[5] == (
        'left_shoulder')


def test_joint_names_of_custom_layouts():
    """from_edges passes joint names through; none is the default; names are checked."""
    layout = SkeletonLayout.from_edges([(0, 1), (1, 2)], center=1,
                                       joint_names=['hand', 'elbow', 'shoulder'])
    assert layout.joint_names == ('hand', 'elbow', 'shoulder')
    assert SkeletonLayout.from_edges([(0, 1), (1, 2)], center=1).joint_names is None
    with pytest.raises(ValueError, match=r"joint_names must give one non-empty string per "
                                         r"joint, 3 in all \(got \('a', 'b'\)\)"):
        SkeletonLayout.from_edges([(0, 1), (1, 2)], center=1, joint_names=['a', 'b'])
    with pytest.raises(ValueError, match='one non-empty string per joint'):
        SkeletonLayout('bad', 3, ((1, 0), (2, 0)), center=0, joint_names='abc')
    with pytest.raises(ValueError, match='one non-empty string per joint'):
        SkeletonLayout('bad', 2, ((1, 0), ), center=0, joint_names=('a', ''))
    with pytest.raises(ValueError, match='joint names must be unique; repeated: a'):
        SkeletonLayout('bad', 3, ((1, 0), (2, 0)), center=0, joint_names=('a', 'b', 'a'))


def test_layouts_match_original_description():
    """The NTU and OpenPose bones are exactly the lists of ORIGINAL_MODEL.md, in order."""
    text = shared_path('reference', 'ORIGINAL_MODEL.md').read_text()
    assert REFERENCE.exists()
    pair = re.compile(r'\((\d+),\s*(\d+)\)')
    ntu = text.split('NTU RGB+D (V=25)', 1)[1].split('Kinetics / OpenPose', 1)[0]
    kinetics = text.split('Kinetics / OpenPose (V=18)', 1)[1].split('##', 1)[0]
    ntu_pairs = [(int(a) - 1, int(b) - 1) for a, b in pair.findall(ntu)]
    kinetics_pairs = [(int(a), int(b)) for a, b in pair.findall(kinetics)]
    assert len(ntu_pairs) == 24 and len(kinetics_pairs) == 17
    assert list(NTU_RGB_D.inward) == ntu_pairs
    assert list(OPENPOSE.inward) == kinetics_pairs


@pytest.mark.parametrize('name,num_joints,center', LAYOUT_FACTS)
def test_partition_structure(name, num_joints, center):
    """Shape (3, V, V), identity first, inward/outward columns sum to 0 or 1, one non-zero
    entry per bone in each of them."""
    V = num_joints
    A = spatial_partition(name)
    assert A.shape == (3, V, V) and A.dtype == torch.float32
    assert SUBSETS == ('identity', 'inward', 'outward')
    assert torch.equal(A[0], torch.eye(V))
    for k in (1, 2):
        col = A[k].sum(dim=0)
        assert torch.all(torch.isclose(col, torch.ones(V)) | (col == 0))
        assert int((A[k] != 0).sum()) == V - 1
        assert torch.all(A[k].diagonal() == 0)
    # the non-zero patterns of inward and outward are transposes of each other
    assert torch.equal(A[1] != 0, (A[2] != 0).t())


def test_partition_entries_follow_the_original():
    """A[1][parent, child] = 1 (M[j, i] = 1 for pair (i, j), one parent per child) and
    A[2][child, parent] = 1 / number of children of the parent."""
    A = spatial_partition('ntu')
    for child, parent in NTU_RGB_D.inward:
        assert A[1, parent, child] == 1.0
        assert A[1, child, parent] == 0.0
    num_children = {}
    for _, parent in NTU_RGB_D.inward:
        num_children[parent] = num_children.get(parent, 0) + 1
    for child, parent in NTU_RGB_D.inward:
        assert A[2, child, parent] == pytest.approx(1.0 / num_children[parent])
    # the centre (21, 1-based) has 4 children: 2, 3, 5, 9; it has no parent
    assert num_children[20] == 4
    assert torch.allclose(A[2, [1, 2, 4, 8], 20], torch.full((4, ), 0.25))
    assert A[1, :, 20].sum() == 0 and A[2, 20, :].sum() == 0
    # leaves (hand tips 22, 24, feet 16, 20, head 4) have no children
    for leaf in (21, 23, 15, 19, 3):
        assert A[2, :, leaf].sum() == 0 and A[1, :, leaf].sum() == 1


def test_partition_of_custom_layout_by_hand():
    """A small star 1 <- {0, 2, 3} and 4 -> 3 (centre 1), computed by hand."""
    layout = SkeletonLayout('star', 5, ((0, 1), (2, 1), (3, 1), (4, 3)), center=1)
    A = spatial_partition(layout)
    inward = torch.zeros(5, 5)
    inward[1, 0] = inward[1, 2] = inward[1, 3] = inward[3, 4] = 1.0
    outward = torch.zeros(5, 5)
    outward[0, 1] = outward[2, 1] = outward[3, 1] = 1 / 3
    outward[4, 3] = 1.0
    assert torch.allclose(A[1], inward)
    assert torch.allclose(A[2], outward)


@pytest.mark.parametrize('name', ['ntu-rgb+d', 'openpose', 'coco', 'nw-ucla'])
def test_skeleton_edges_are_the_nonzero_entries(name):
    """skeleton_edges lists every non-zero A[k, v, w] as edge v -> w of subset k, sorted by
    target then source."""
    A = spatial_partition(name)
    V = A.size(1)
    edge_index, edge_subset = skeleton_edges(name)
    assert edge_index.shape == (2, V + 2 * (V - 1))
    assert edge_subset.shape == (edge_index.size(1), )
    src, dst = edge_index
    key = dst * V + src
    assert torch.all(key[1:] > key[:-1])  # sorted by target, then source; no duplicates
    assert torch.all(A[edge_subset, src, dst] != 0)
    expected = {tuple(e) for e in (A != 0).nonzero().tolist()}
    assert {(k, v, w) for k, v, w in zip(edge_subset.tolist(), src.tolist(),
                                         dst.tolist())} == expected
    assert int((edge_subset == 0).sum()) == V and torch.equal(src[edge_subset == 0],
                                                              dst[edge_subset == 0])


def test_from_edges_orients_towards_the_centre():
    """A small tree given in arbitrary orientation: each bone's child is the joint farther
    from the centre."""
    #        2 (centre)
    #      /   \
    #     1     3 - 4
    #     |
    #     0 - 5
    edges = [(0, 1), (2, 1), (3, 2), (3, 4), (5, 0)]
    layout = SkeletonLayout.from_edges(edges, center=2, name='tree')
    assert layout.name == 'tree' and layout.num_joints == 6 and layout.center == 2
    assert layout.inward == ((0, 1), (1, 2), (3, 2), (4, 3), (5, 0))
    assert layout.bone_pairs == ((0, 1), (1, 2), (2, 2), (3, 2), (4, 3), (5, 0))
    # the same bones rooted elsewhere flip accordingly
    other = SkeletonLayout.from_edges(edges, center=5)
    assert set(other.inward) == {(1, 0), (2, 1), (3, 2), (4, 3), (0, 5)}
    # num_joints may exceed the indices used only if all joints are connected
    with pytest.raises(ValueError, match=r'joints \[6\] are not connected'):
        SkeletonLayout.from_edges(edges, center=2, num_joints=7)


def test_from_edges_reproduces_ntu():
    """The undirected NTU bones with centre 20 give back the NTU inward pairs and the same
    partition."""
    layout = SkeletonLayout.from_edges(_ntu_undirected(), center=20, name='ntu-again',
                                       parts=NTU_RGB_D.parts)
    assert layout.num_joints == 25
    assert layout.inward == NTU_RGB_D.inward
    assert layout.parts == NTU_RGB_D.parts
    assert torch.equal(spatial_partition(layout), spatial_partition('ntu'))


def test_unknown_layout_lists_valid_names():
    """An unknown name is refused with every valid name and alias in the message."""
    with pytest.raises(ValueError, match="unknown skeleton layout 'mocap'") as info:
        get_layout('mocap')
    for valid in ('ntu-rgb+d', 'openpose', 'coco', 'ntu', 'kinetics'):
        assert valid in str(info.value)
    assert 'from_edges' in str(info.value)
    with pytest.raises(ValueError, match='valid names'):
        spatial_partition('mocap')


def test_layout_errors():
    """Bad edges, disconnected joints, bad parts and self-loop bones are refused clearly."""
    with pytest.raises(ValueError, match=r'edge \(1, 5\) has a joint outside \[0, 3\)'):
        SkeletonLayout.from_edges([(0, 1), (1, 5)], center=0, num_joints=3)
    with pytest.raises(ValueError, match=r'edge \(-1, 0\) has a joint outside'):
        SkeletonLayout.from_edges([(-1, 0), (0, 1)], center=0, num_joints=2)
    with pytest.raises(ValueError, match=r'pair \(0, 3\) has a joint outside \[0, 3\)'):
        SkeletonLayout('bad', 3, ((0, 3), (1, 0)), center=0)
    with pytest.raises(ValueError, match=r'joints \[2, 3\] are not connected to the center '
                                         r'joint 0'):
        SkeletonLayout.from_edges([(0, 1), (2, 3)], center=0)
    with pytest.raises(ValueError, match=r'center joint 4 is not in \[0, 3\)'):
        SkeletonLayout.from_edges([(0, 1), (1, 2)], center=4)
    with pytest.raises(ValueError, match='body parts must list every joint exactly once'):
        SkeletonLayout('bad', 3, ((1, 0), (2, 0)), center=0, parts=((0, 1), (1, 2)))
    with pytest.raises(ValueError, match='body parts must list every joint exactly once'):
        SkeletonLayout.from_edges([(0, 1), (1, 2)], center=1, parts=[[0, 1]])
    with pytest.raises(ValueError, match=r'bone \(1, 1\) connects a joint to itself'):
        SkeletonLayout('bad', 2, ((1, 0), (1, 1)), center=0)
    with pytest.raises(ValueError, match=r'bone \(1, 1\) connects a joint to itself'):
        SkeletonLayout.from_edges([(0, 1), (1, 1)], center=0)
    with pytest.raises(ValueError, match='duplicate bones'):
        SkeletonLayout('bad', 2, ((1, 0), (1, 0)), center=0)
    with pytest.raises(ValueError, match='each edge needs two joints'):
        SkeletonLayout.from_edges([(0, 1, 2)], center=0)
    with pytest.raises(ValueError, match='defines no body parts'):
        SkeletonLayout('plain', 2, ((1, 0), ), center=0).part_of_joint


def test_edge_sets_are_graph_level():
    """support_edges and full_edges live in pyg_mstgcn.graph (still importable from
    pyg_mstgcn.data); the support of the skeleton gives the skeleton's edges, self-loops
    included; pyg_mstgcn.models imports nothing from pyg_mstgcn.data."""
    import pyg_mstgcn.data

    assert pyg_mstgcn.data.full_edges is full_edges
    assert pyg_mstgcn.data.support_edges is support_edges
    assert full_edges.__module__ == support_edges.__module__ == 'pyg_mstgcn.graph.edges'
    V = NTU_RGB_D.num_joints
    edge_index, template = support_edges(spatial_partition('ntu').abs().sum(0) != 0, 2 * V)
    one, _ = skeleton_edges('ntu')
    assert torch.equal(edge_index[:, :one.size(1)], one)
    assert torch.equal(edge_index[:, one.size(1):], one + V)
    assert torch.equal(template, edge_index[0] % V * V + edge_index[1] % V)
    assert int((edge_index[0] == edge_index[1]).sum()) == 2 * V
    assert full_edges(2 * V, V)[0].size(1) == 2 * V * V
    for path in sorted((ROOT / 'pyg_mstgcn' / 'models').glob('*.py')):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                modules = [node.module or '']
            elif isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            else:
                continue
            assert not any(m == 'pyg_mstgcn.data' or m.startswith('pyg_mstgcn.data.')
                           for m in modules), f'{path.name} imports {modules}'
