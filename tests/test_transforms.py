"""Transforms: shapes, determinism, the valid-frame semantics, the original's and the modern
steps, configuration by name and its errors."""
import numpy as np
import pytest
import torch

from pyg_mstgcn.data.transforms import (TRANSFORMS, Compose, Normalize, PadWindow,
                                        RandomChoose, RandomMove, RandomRotation, RandomShift,
                                        Transform, UniformSample, ValidCropResize,
                                        build_transform, build_transforms, feeder_transforms,
                                        resize_frames, valid_range)
from pyg_mstgcn.graph import get_layout

#: Options for every registered transform (a new transform needs an entry here).
SPECS = {
    'random_choose': {'size': 12},
    'random_shift': {},
    'random_move': {},
    'pad_window': {'size': 40},
    'normalize': {'mean': [0.1, 0.2, 0.3], 'std': [1.0, 2.0, 3.0]},
    'uniform_sample': {'size': 12},
    'valid_crop_resize': {'size': 12, 'min_length': 4},
    'random_rotation': {'max_angle': 0.5},
    'min_max_normalize': {},
    'sorted_sample': {'size': 12},
    'pre_normalize': {},
}
RANDOM = {'random_choose', 'random_shift', 'random_move', 'uniform_sample',
          'valid_crop_resize', 'random_rotation', 'sorted_sample'}


def _sample(T=30, valid=20, V=25, M=2, seed=0):
    """[3, T, V, M] with `valid` non-zero frames, then zeros; person 1 absent."""
    x = np.zeros((3, T, V, M), dtype=np.float32)
    x[:, :valid, :, 0] = np.random.default_rng(seed).normal(size=(3, valid, V))
    return x


def _frame_ids(T, V=3, M=1):
    """Frame t holds the value t + 1 everywhere: sampled indices can be read back."""
    return np.broadcast_to(np.arange(1, T + 1, dtype=np.float32)[None, :, None, None],
                           (3, T, V, M)).copy()


def test_every_transform_is_covered():
    assert set(SPECS) == set(TRANSFORMS)


@pytest.mark.parametrize('name', sorted(TRANSFORMS))
def test_shapes_dtype_and_input_untouched(name):
    x = _sample()
    before = x.copy()
    transform = build_transform({'name': name, **SPECS[name]})
    out = transform(x, rng=0)
    assert out.dtype == np.float32 and out.ndim == 4
    assert out.shape[0] == 3 and out.shape[2:] == (25, 2)
    expected_T = {'random_choose': 12, 'pad_window': 40, 'uniform_sample': 12,
                  'valid_crop_resize': 12, 'sorted_sample': 12,
                  'pre_normalize': 20}.get(name, 30)  # pre_normalize keeps the valid frames
    assert out.shape[1] == expected_T
    np.testing.assert_array_equal(x, before)
    assert repr(transform).startswith(type(transform).__name__ + '(')


@pytest.mark.parametrize('name', sorted(RANDOM))
def test_determinism_given_a_seed(name):
    x = _sample(T=60, valid=50)
    transform = build_transform({'name': name, **SPECS[name]})
    a = transform(x, rng=np.random.default_rng(7))
    b = transform(x, rng=np.random.default_rng(7))
    np.testing.assert_array_equal(a, b)
    outs = [transform(x, rng=seed) for seed in range(8)]
    assert any(not np.array_equal(outs[0], o) for o in outs[1:])


def test_valid_range():
    x = np.zeros((3, 10, 2, 1), dtype=np.float32)
    assert valid_range(x) == (0, 0)
    x[1, 3, 1, 0] = 1
    x[0, 6, 0, 0] = -2
    assert valid_range(x) == (3, 7)
    assert valid_range(x, num_frames=5) == (0, 5)
    assert valid_range(x, num_frames=50) == (0, 10)
    with pytest.raises(ValueError, match='num_frames'):
        valid_range(x, num_frames=-1)


def test_random_rotation_preserves_bone_lengths_and_zeros():
    layout = get_layout('ntu-rgb+d')
    x = _sample(T=16, valid=10)
    out = RandomRotation(max_angle=np.pi)(x, rng=3)
    pairs = np.array(layout.inward)

    def lengths(a):
        return np.linalg.norm(a[:, :, pairs[:, 0]] - a[:, :, pairs[:, 1]], axis=0)

    np.testing.assert_allclose(lengths(out), lengths(x), atol=1e-5)
    assert not np.allclose(out, x)
    np.testing.assert_array_equal(out[:, 10:], 0)    # padding stays zero
    np.testing.assert_array_equal(out[..., 1], 0)    # the absent person too


def test_random_rotation_matrix_and_2d():
    R = RandomRotation(max_angle=(0.1, 0.2, 0.3)).matrix(np.random.default_rng(0))
    np.testing.assert_allclose(R @ R.T, np.eye(3), atol=1e-6)
    assert np.linalg.det(R) == pytest.approx(1, abs=1e-6)
    x = _sample(T=5, valid=5)  # (x, y, score): only x-y turn
    out = RandomRotation(dims=2)(x, rng=0)
    np.testing.assert_array_equal(out[2], x[2])
    np.testing.assert_allclose(np.hypot(out[0], out[1]), np.hypot(x[0], x[1]), atol=1e-5)
    with pytest.raises(ValueError, match='dims must be 2 or 3'):
        RandomRotation(dims=4)
    with pytest.raises(ValueError, match='dims=2'):
        RandomRotation()(np.ones((2, 3, 4, 1), np.float32))


def test_uniform_sample_in_order_within_valid_frames():
    x = _frame_ids(100)  # frames after 40 are not empty (repeat padding), num_frames says 40
    for n, size in ((40, 16), (40, 30), (90, 16)):
        for seed in range(5):
            out = UniformSample(size)(x, rng=seed, num_frames=n)
            picked = out[0, :, 0, 0].astype(int) - 1
            assert len(picked) == size
            assert np.all(np.diff(picked) > 0) and 0 <= picked[0] and picked[-1] < n
    # without num_frames: the non-zero span
    y = _frame_ids(50)
    y[:, :10] = 0
    y[:, 30:] = 0
    picked = UniformSample(8)(y, rng=0)[0, :, 0, 0].astype(int) - 1
    assert picked.min() >= 10 and picked.max() < 30


def test_uniform_sample_test_mode_and_short_sequences():
    x = _frame_ids(100)
    centre = UniformSample(10, test_mode=True)
    a = centre(x, rng=1, num_frames=40)[0, :, 0, 0] - 1
    b = centre(x, rng=2, num_frames=40)[0, :, 0, 0] - 1
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, np.arange(10) * 4 + 2)  # segment centres
    # fewer frames than wanted: they loop
    looped = centre(x, num_frames=4)[0, :, 0, 0] - 1
    np.testing.assert_array_equal(looped, np.arange(10) % 4)
    random_loop = UniformSample(10)(x, rng=0, num_frames=4)[0, :, 0, 0] - 1
    assert set(random_loop.tolist()) == {0, 1, 2, 3}
    empty = UniformSample(6)(np.zeros((3, 8, 2, 1), np.float32), rng=0)
    assert empty.shape == (3, 6, 2, 1) and not empty.any()


def test_valid_crop_resize():
    x = _frame_ids(100)
    out = ValidCropResize(size=24, p_interval=(0.5, 1.0), min_length=10)(x, rng=0,
                                                                        num_frames=60)
    assert out.shape == (3, 24, 3, 1)
    values = out[0, :, 0, 0]
    assert np.all(np.diff(values) >= 0) and values.min() >= 1 and values.max() <= 60
    # test mode: the centre crop, deterministic; p = 0.5 of 60 frames keeps frames 15-44
    centre = ValidCropResize(size=30, p_interval=0.5)
    a = centre(x, rng=0, num_frames=60)
    np.testing.assert_array_equal(a, centre(x, rng=1, num_frames=60))
    np.testing.assert_allclose(a[0, :, 0, 0], np.arange(16, 46))
    # random crops are at least min_length frames (but at most the valid ones)
    short = ValidCropResize(size=8, p_interval=(0.1, 0.1), min_length=64)
    np.testing.assert_allclose(short(x, rng=0, num_frames=20)[0, :, 0, 0],
                               resize_frames(x[:, :20], 8)[0, :, 0, 0])
    with pytest.raises(ValueError, match='p_interval'):
        ValidCropResize(p_interval=(0.9, 0.5))


@pytest.mark.parametrize('T,size', [(20, 64), (64, 20), (7, 7), (1, 5), (33, 32)])
def test_resize_frames_matches_torch_interpolate(T, size):
    x = np.random.default_rng(0).normal(size=(3, T, 4, 2)).astype(np.float32)
    ours = resize_frames(x, size)
    flat = torch.from_numpy(x).permute(0, 2, 3, 1).reshape(1, -1, T)
    theirs = torch.nn.functional.interpolate(flat, size=size, mode='linear',
                                             align_corners=False)
    theirs = theirs.reshape(3, 4, 2, size).permute(0, 3, 1, 2).numpy()
    np.testing.assert_allclose(ours, theirs, atol=1e-5)


def test_random_shift():
    x = _sample(T=30, valid=12)
    for seed in range(5):
        out = RandomShift()(x, rng=seed)
        begin, end = valid_range(out)
        assert end - begin == 12
        np.testing.assert_array_equal(out[:, begin:end], x[:, :12])
        assert not out[:, :begin].any() and not out[:, end:].any()
    # with num_frames, repeated padding frames are dropped
    padded = _frame_ids(30)
    out = RandomShift()(padded, rng=0, num_frames=5)
    assert (out[0, :, 0, 0] != 0).sum() == 5


def test_random_choose():
    x = _frame_ids(50)
    for seed in range(5):
        picked = RandomChoose(10)(x, rng=seed, num_frames=30)[0, :, 0, 0] - 1
        np.testing.assert_array_equal(np.diff(picked), 1)
        assert picked[0] >= 0 and picked[-1] < 30
    # fewer valid frames than the window: zero padding at a random offset
    out = RandomChoose(20)(x, rng=1, num_frames=6)
    assert out.shape[1] == 20 and (out[0, :, 0, 0] != 0).sum() == 6
    begin, end = valid_range(out)
    np.testing.assert_array_equal(out[0, begin:end, 0, 0], np.arange(1, 7))
    # the original: among all frames, padding included
    seen = {RandomChoose(10, valid_only=False)(x, rng=s, num_frames=5)[0, 0, 0, 0]
            for s in range(30)}
    assert max(seen) > 5


def test_pad_window():
    x = _sample(T=10, valid=10)
    out = PadWindow(16)(x)
    assert out.shape[1] == 16
    np.testing.assert_array_equal(out[:, :10], x)
    assert not out[:, 10:].any()
    long = _sample(T=20, valid=20)
    np.testing.assert_array_equal(PadWindow(16)(long), long)  # longer: left as it is
    offsets = {valid_range(PadWindow(16, random_pad=True)(x, rng=s))[0] for s in range(20)}
    assert len(offsets) > 1 and max(offsets) <= 6
    with pytest.raises(ValueError, match='positive number of frames'):
        PadWindow(0)


def test_normalize_given_and_fitted_as_the_original():
    rng = np.random.default_rng(0)
    data = rng.normal(2.0, 3.0, size=(6, 3, 8, 25, 2)).astype(np.float32)
    N, C, T, V, M = data.shape
    # the original's get_mean_map, written out
    mean_map = data.mean(axis=2, keepdims=True).mean(axis=4, keepdims=True).mean(axis=0)
    std_map = data.transpose((0, 2, 4, 1, 3)).reshape((N * T * M, C * V)).std(axis=0)
    std_map = std_map.reshape((C, 1, V, 1))
    normalize = Normalize().fit([data[:4], data[4:]])
    np.testing.assert_allclose(normalize.mean, mean_map, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(normalize.std, std_map, rtol=1e-4)
    np.testing.assert_allclose(normalize(data[0]), (data[0] - mean_map) / std_map, atol=1e-4)
    given = Normalize(mean=[1, 2, 3], std=[2, 2, 0])  # a zero std only centres
    out = given(np.ones((3, 2, 4, 1), np.float32))
    np.testing.assert_allclose(out[:, 0, 0, 0], [0, -0.5, -2])
    with pytest.raises(RuntimeError, match='fit'):
        Normalize()(data[0])
    with pytest.raises(ValueError, match='both mean and std'):
        Normalize(mean=[0, 0, 0])
    with pytest.raises(ValueError, match='do not broadcast'):
        Normalize(mean=[0, 0], std=[1, 1])(data[0])


def test_random_move_as_the_original():
    move = RandomMove()
    assert move.angle_candidate == (-10., -5., 0., 5., 10.)
    assert move.scale_candidate == (0.9, 1.0, 1.1)
    assert move.transform_candidate == (-0.2, -0.1, 0.0, 0.1, 0.2)
    assert move.move_time_candidate == (1, )
    x = _sample(T=12, valid=8)
    out = move(x, rng=5)
    np.testing.assert_array_equal(out[2], x[2])  # z untouched
    a, s, tx, ty = move.curves(12, np.random.default_rng(5))
    assert np.degrees(a[0]) in move.angle_candidate and s[-1] in move.scale_candidate
    t = 3
    R = s[t] * np.array([[np.cos(a[t]), -np.sin(a[t])], [np.sin(a[t]), np.cos(a[t])]])
    expected = np.einsum('ij,jvm->ivm', R, x[:2, t]) + np.array([tx[t], ty[t]])[:, None, None]
    np.testing.assert_allclose(out[:2, t], expected, atol=1e-5)
    # the original moves padding and absent persons too; keep_empty keeps them at zero
    kept = RandomMove(transform_candidate=(0.2, ), keep_empty=True)(x, rng=0)
    assert RandomMove(transform_candidate=(0.2, ))(x, rng=0)[:2, 8:].all()
    assert not kept[:, 8:].any() and not kept[..., 1].any()
    segments = RandomMove(move_time_candidate=(3, )).curves(30, np.random.default_rng(0))
    assert segments.shape == (4, 30)


def test_compose_passes_valid_frames_along():
    x = _frame_ids(40)  # 10 valid frames, then repeats
    pipeline = build_transforms(['random_shift', {'name': 'uniform_sample', 'size': 10,
                                                  'test_mode': True}])
    out = pipeline(x, rng=0, num_frames=10)
    np.testing.assert_array_equal(out[0, :, 0, 0], np.arange(1, 11))
    assert len(pipeline) == 2 and isinstance(pipeline[0], RandomShift)
    assert 'RandomShift()' in repr(pipeline) and 'UniformSample(size=10' in repr(pipeline)


def test_functions_and_own_transforms_in_a_pipeline():
    class Scale(Transform):
        def __init__(self, factor: float = 2.0):
            self.factor = factor

        def apply(self, x, valid, rng):
            return x * self.factor, valid

    pipeline = build_transforms([Scale(3.0), lambda x: x[:, :5]])
    out = pipeline(np.ones((3, 8, 2, 1), np.float32))
    assert out.shape == (3, 5, 2, 1) and np.all(out == 3)
    assert 'Scale(factor=3.0)' in repr(pipeline)
    assert build_transforms(None)(np.ones((3, 2, 2, 1))).shape == (3, 2, 2, 1)
    assert build_transforms(pipeline) is pipeline


def test_configuration_errors():
    with pytest.raises(ValueError, match="unknown transform 'flip'.*random_rotation"):
        build_transforms(['flip'])
    with pytest.raises(ValueError, match="unknown option.*angle.*valid options: max_angle, "
                                         "dims"):
        build_transforms([{'name': 'random_rotation', 'angle': 0.3}])
    with pytest.raises(ValueError, match="needs option.*size"):
        build_transforms(['uniform_sample'])
    with pytest.raises(ValueError, match="needs a 'name'"):
        build_transforms([{'size': 3}])
    with pytest.raises(TypeError, match='cannot build a transform'):
        build_transforms([3])
    with pytest.raises(ValueError, match=r'one skeleton sequence \[C, T, V, M\]'):
        RandomShift()(np.zeros((2, 3, 4, 5, 6)))
    # the original's names are understood
    assert isinstance(build_transform({'name': 'auto_pading', 'size': 4}), PadWindow)
    assert isinstance(build_transform('random_rot'), RandomRotation)


def test_feeder_transforms_in_the_original_order():
    pipeline = feeder_transforms(random_choose=True, random_shift=True, random_move=True,
                                 window_size=150, normalization=True, data_path='x.npy',
                                 debug=False)
    assert [type(t) for t in pipeline] == [Normalize, RandomShift, RandomChoose, RandomMove]
    assert pipeline[2].valid_only is False and pipeline[2].size == 150
    assert [type(t) for t in feeder_transforms(window_size=300)] == [PadWindow]
    ctr = feeder_transforms(p_interval=[0.5, 1], window_size=64, random_rot=True)
    assert [type(t) for t in ctr] == [ValidCropResize, RandomRotation]
    assert feeder_transforms(p_interval=[0.95], window_size=64)[0].p_interval == 0.95
    assert len(feeder_transforms()) == 0
    with pytest.raises(ValueError, match='unknown feeder argument'):
        feeder_transforms(random_flip=True)
    with pytest.raises(ValueError, match='window_size'):
        feeder_transforms(random_choose=True)
    assert isinstance(feeder_transforms(), Compose)
