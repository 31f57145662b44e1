"""Mappings between pose layouts: joint names of the input-only layouts, every direct mapping
joint by joint against the published joint orders, midpoints, chains, identity, batch axes and
the errors."""
import numpy as np
import pytest

from pyg_mstgcn.graph import (COCO, MAPPINGS, OPENPOSE, POSE_LAYOUTS, SkeletonLayout,
                              describe_mappings, map_keypoints, mapping_path, num_pose_joints,
                              pose_joint_names, pose_layout_names)

# The published joint orders, typed from the estimators' documentation: the reference the
# module's name tables are checked against.
BODY25 = ('nose', 'neck', 'right_shoulder', 'right_elbow', 'right_wrist', 'left_shoulder',
          'left_elbow', 'left_wrist', 'mid_hip', 'right_hip', 'right_knee', 'right_ankle',
          'left_hip', 'left_knee', 'left_ankle', 'right_eye', 'left_eye', 'right_ear',
          'left_ear', 'left_big_toe', 'left_small_toe', 'left_heel', 'right_big_toe',
          'right_small_toe', 'right_heel')
HALPE_EXTRA = ('head', 'neck', 'mid_hip', 'left_big_toe', 'right_big_toe', 'left_small_toe',
               'right_small_toe', 'left_heel', 'right_heel')  # joints 17 to 25
WHOLEBODY_FEET = ('left_big_toe', 'left_small_toe', 'left_heel', 'right_big_toe',
                  'right_small_toe', 'right_heel')  # joints 17 to 22

# For each direct mapping: each target joint by name, and the source joint (index in the
# published order) or the pair of source joints it comes from.
EXPECTED = {
    ('openpose-body25', 'openpose'): {
        'nose': 0, 'neck': 1, 'right_shoulder': 2, 'right_elbow': 3, 'right_wrist': 4,
        'left_shoulder': 5, 'left_elbow': 6, 'left_wrist': 7, 'right_hip': 9, 'right_knee': 10,
        'right_ankle': 11, 'left_hip': 12, 'left_knee': 13, 'left_ankle': 14, 'right_eye': 15,
        'left_eye': 16, 'right_ear': 17, 'left_ear': 18},
    ('coco', 'openpose'): {
        'nose': 0, 'neck': (5, 6), 'right_shoulder': 6, 'right_elbow': 8, 'right_wrist': 10,
        'left_shoulder': 5, 'left_elbow': 7, 'left_wrist': 9, 'right_hip': 12,
        'right_knee': 14, 'right_ankle': 16, 'left_hip': 11, 'left_knee': 13,
        'left_ankle': 15, 'right_eye': 2, 'left_eye': 1, 'right_ear': 4, 'left_ear': 3},
    ('openpose', 'coco'): {
        'nose': 0, 'left_eye': 15, 'right_eye': 14, 'left_ear': 17, 'right_ear': 16,
        'left_shoulder': 5, 'right_shoulder': 2, 'left_elbow': 6, 'right_elbow': 3,
        'left_wrist': 7, 'right_wrist': 4, 'left_hip': 11, 'right_hip': 8, 'left_knee': 12,
        'right_knee': 9, 'left_ankle': 13, 'right_ankle': 10},
    ('halpe26', 'coco'): {name: j for j, name in enumerate(COCO.joint_names)},
    ('coco-wholebody', 'coco'): {name: j for j, name in enumerate(COCO.joint_names)},
}
LIST = ('openpose-body25 -> openpose, coco -> openpose, openpose -> coco, halpe26 -> coco, '
        'coco-wholebody -> coco')


def random_keypoints(layout, *batch, seed=0):
    """Keypoints [*batch, V, 3] with scores in (0.1, 1], so that no joint is missing."""
    rng = np.random.default_rng(seed)
    V = num_pose_joints(layout)
    keypoints = rng.uniform(-1, 1, size=(*batch, V, 3))
    keypoints[..., 2] = rng.uniform(0.1, 1, size=(*batch, V))
    return keypoints


def test_pose_layouts_and_their_joints():
    """Every pose layout by name with its joint count; the input-only layouts follow the
    published orders; the built-in graph layouts keep their names and joints."""
    assert pose_layout_names() == ('ntu-rgb+d', 'openpose', 'coco', 'nw-ucla',
                                   'openpose-body25', 'halpe26', 'coco-wholebody')
    counts = {'ntu-rgb+d': 25, 'openpose': 18, 'coco': 17, 'nw-ucla': 20,
              'openpose-body25': 25, 'halpe26': 26, 'coco-wholebody': 133}
    for name, count in counts.items():
        assert num_pose_joints(name) == count == len(POSE_LAYOUTS[name])
        assert len(set(pose_joint_names(name))) == count  # unique names
    assert pose_joint_names('openpose') == OPENPOSE.joint_names
    assert pose_joint_names('coco') == COCO.joint_names
    assert pose_joint_names('openpose-body25') == BODY25
    assert pose_joint_names('halpe26') == COCO.joint_names + HALPE_EXTRA
    wholebody = pose_joint_names('coco-wholebody')
    assert wholebody[:23] == COCO.joint_names + WHOLEBODY_FEET
    assert wholebody[23] == 'face_0' and wholebody[91] == 'left_hand_0'
    assert wholebody[112] == 'right_hand_0' and wholebody[132] == 'right_hand_20'
    # aliases and case as in get_layout; a built-in SkeletonLayout stands for its name
    assert num_pose_joints('kinetics') == 18 and num_pose_joints('NTU') == 25
    assert num_pose_joints(COCO) == 17


@pytest.mark.parametrize('pair', list(EXPECTED), ids=lambda pair: ' -> '.join(pair))
def test_direct_mapping_joint_by_joint(pair):
    """Each target joint, found by name, holds the values of its source joint, or the
    midpoint of its two source joints with the product of their scores."""
    source, target = pair
    expected = EXPECTED[pair]
    names = pose_joint_names(target)
    assert sorted(expected) == sorted(names)  # every target joint is checked
    assert mapping_path(source, target) == (MAPPINGS[pair], )
    keypoints = random_keypoints(source, 3)
    out = map_keypoints(keypoints, source, target)
    assert out.shape == (3, len(names), 3) and out.dtype == np.float64
    for name, given in expected.items():
        got = out[:, names.index(name)]
        if isinstance(given, int):
            assert np.array_equal(got, keypoints[:, given]), name
        else:
            one, two = keypoints[:, given[0]], keypoints[:, given[1]]
            assert np.array_equal(got[:, :2], (one[:, :2] + two[:, :2]) / 2), name
            assert np.array_equal(got[:, 2], one[:, 2] * two[:, 2]), name


def test_mappings_are_declared_in_order():
    """The table holds the five direct mappings, in the order the error messages list."""
    assert [str(m) for m in MAPPINGS.values()] == LIST.split(', ')
    assert describe_mappings() == LIST


def test_neck_is_the_midpoint_of_the_shoulders():
    """COCO-17 to COCO-18: the neck lies between the shoulders, its score the product of
    theirs; a missing shoulder (score 0) gives a missing neck, all zeros."""
    keypoints = np.zeros((17, 3))
    left, right = COCO.joint_names.index('left_shoulder'), COCO.joint_names.index(
        'right_shoulder')
    keypoints[left] = (2.0, 4.0, 0.5)
    keypoints[right] = (4.0, 8.0, 0.8)
    neck = OPENPOSE.joint_names.index('neck')
    assert np.allclose(map_keypoints(keypoints, 'coco', 'openpose')[neck], (3.0, 6.0, 0.4))
    keypoints[right] = (4.0, 8.0, 0.0)  # detected somewhere, but with score 0
    assert np.array_equal(map_keypoints(keypoints, 'coco', 'openpose')[neck], (0, 0, 0))
    keypoints[right] = 0.0  # absent, as in our data
    assert np.array_equal(map_keypoints(keypoints, 'coco', 'openpose')[neck], (0, 0, 0))


def test_left_shoulder_is_the_same_joint_after_mapping():
    """A joint name picks the same body point in COCO-17 and COCO-18 (left_shoulder is joint
    5 in both, right_shoulder 6 and 2), both ways."""
    coco = random_keypoints('coco', seed=1)
    openpose = map_keypoints(coco, 'coco', 'openpose')
    assert COCO.joint_names.index('left_shoulder') == 5 == OPENPOSE.joint_names.index(
        'left_shoulder')
    assert np.array_equal(openpose[5], coco[5])
    for name in COCO.joint_names:
        assert np.array_equal(openpose[OPENPOSE.joint_names.index(name)],
                              coco[COCO.joint_names.index(name)]), name
    assert np.array_equal(map_keypoints(openpose, 'openpose', 'coco'), coco)  # round trip


@pytest.mark.parametrize('source,via,target', [('coco-wholebody', 'coco', 'openpose'),
                                               ('openpose-body25', 'openpose', 'coco'),
                                               ('halpe26', 'coco', 'openpose')])
def test_compositions_chain_the_direct_mappings(source, via, target):
    """Without a direct mapping, the shortest chain is applied: the same as mapping to the
    layout in between, then on."""
    path = mapping_path(source, target)
    assert [str(m) for m in path] == [f'{source} -> {via}', f'{via} -> {target}']
    keypoints = random_keypoints(source, 5, seed=2)
    chained = map_keypoints(map_keypoints(keypoints, source, via), via, target)
    assert np.array_equal(map_keypoints(keypoints, source, target), chained)
    assert np.array_equal(MAPPINGS[(via, target)](MAPPINGS[(source, via)](keypoints)), chained)


def test_identity_returns_the_input():
    """The same layout (by any of its names) maps to the input itself; integers become
    floats."""
    keypoints = random_keypoints('openpose', 2)
    assert mapping_path('openpose', 'kinetics') == ()
    assert map_keypoints(keypoints, 'openpose', 'openpose') is keypoints
    assert map_keypoints(keypoints, 'kinetics', OPENPOSE) is keypoints
    ints = np.ones((18, 3), dtype=np.int64)
    out = map_keypoints(ints, 'openpose', 'openpose')
    assert out.dtype == np.float64 and np.array_equal(out, ints)
    assert map_keypoints(ints, 'openpose', 'coco').dtype == np.float64


def test_batch_axes_ride_along():
    """Keypoints [T, M, V, 3] map frame by frame and person by person; float32 stays
    float32; lists are accepted."""
    keypoints = random_keypoints('openpose-body25', 4, 2, seed=3)
    out = map_keypoints(keypoints, 'openpose-body25', 'coco')
    assert out.shape == (4, 2, 17, 3)
    for t in range(4):
        for m in range(2):
            assert np.array_equal(out[t, m],
                                  map_keypoints(keypoints[t, m], 'openpose-body25', 'coco'))
    single = map_keypoints(keypoints.astype(np.float32), 'openpose-body25', 'coco')
    assert single.dtype == np.float32
    assert np.array_equal(map_keypoints(keypoints.tolist(), 'openpose-body25', 'coco'), out)


def test_mapping_errors():
    """Unknown layouts, pairs without a chain and keypoints of the wrong shape are refused
    with one line naming what was given and what exists."""
    with pytest.raises(ValueError) as info:
        map_keypoints(np.zeros((25, 3)), 'ntu-rgb+d', 'openpose')
    assert str(info.value) == ("cannot map pose layout 'ntu-rgb+d' (25 joints) to 'openpose' "
                               f"(18 joints): the mappings are {LIST}")
    with pytest.raises(ValueError) as info:
        mapping_path('coco', 'openpose-body25')  # only the other way exists
    assert str(info.value) == ("cannot map pose layout 'coco' (17 joints) to "
                               f"'openpose-body25' (25 joints): the mappings are {LIST}")
    with pytest.raises(ValueError) as info:
        map_keypoints(np.zeros((17, 3)), 'mocap', 'coco')
    message = str(info.value)
    assert "'mocap' (not a known pose layout) to 'coco' (17 joints)" in message
    assert LIST in message and 'halpe26' in message.split(LIST)[1] and '\n' not in message
    with pytest.raises(ValueError, match="to 'mocap' \\(not a known pose layout\\)"):
        map_keypoints(np.zeros((17, 3)), 'coco', 'mocap')
    custom = SkeletonLayout.from_edges([(0, 1), (1, 2)], center=1, name='coco')
    with pytest.raises(ValueError, match="'coco' \\(not a known pose layout\\)"):
        mapping_path(custom, 'openpose')  # a layout of that name but other joints
    with pytest.raises(ValueError, match="unknown pose layout 'mocap'; the pose layouts are "
                                         "ntu-rgb\\+d, openpose, coco"):
        num_pose_joints('mocap')
    with pytest.raises(ValueError) as info:
        map_keypoints(np.zeros((2, 17, 3)), 'openpose', 'coco')
    assert str(info.value) == ("keypoints of shape (2, 17, 3) have 17 joints on axis -2, but "
                               "pose layout 'openpose' has 18")
    with pytest.raises(ValueError, match=r'\[\.\.\., V, 3\] of \(x, y, score\) \(got shape '
                                         r'\(18, 2\)\)'):
        map_keypoints(np.zeros((18, 2)), 'openpose', 'coco')
    with pytest.raises(ValueError, match=r'got shape \(3,\)'):
        map_keypoints(np.zeros(3), 'openpose', 'coco')
