"""data.augment_on=device: the batched forms of the random steps keep the per-sample steps'
distributions, each graph of a batch gets its own draw, the draws are a function of (seed,
epoch, step), and the trainer trains with them or refuses a pipeline it cannot move."""
import pytest
import torch

from pyg_mstgcn.data import from_dense
from pyg_mstgcn.data.transforms import RandomMove, RandomRotation, RandomShift, build_transforms
from pyg_mstgcn.data.transforms.batched import (BatchedMove, BatchedRotation, BatchedShift,
                                                Uniform, augment_batch, split_for_device)
from pyg_mstgcn.train.augment import DeviceAugment
from pyg_mstgcn.train.config import ConfigError, resolve
from test_train import TINY, cli_args, data_dir, run_cli  # noqa: F401 (fixture)

V = 25


def batch_of(x, valid=None):
    """A PyG batch of dense skeletons [N, C, T, V, M], with its valid frames."""
    batch = from_dense(x, 'ntu-rgb+d')
    T = x.size(2)
    batch.valid_frames = torch.tensor([[0, T]] * x.size(0)) if valid is None else valid
    return batch


def dense(batch, N, M=2):
    return batch.x.view(N, M, V, batch.x.size(1), batch.x.size(2))   # [N, M, V, C, T]


def apply(steps, x, seed=0, valid=None):
    batch = augment_batch(batch_of(x, valid), steps, V,
                          Uniform(torch.Generator().manual_seed(seed), x.size(0)))
    return dense(batch, x.size(0))


def test_rotation_keeps_distances_and_draws_per_graph():
    """Per frame and person, joint distances are kept; zeros stay zero; identical samples
    get different rotations, and every frame and person of one the same."""
    N = 8
    pose = torch.randn(1, 3, 1, V, 1)
    x = pose.expand(N, 3, 6, V, 2).clone()   # every sample, frame and person the same pose
    x[:, :, 4:] = 0
    out = apply([BatchedRotation(RandomRotation(0.5))], x)
    joints = out.permute(0, 1, 4, 2, 3)                               # [N, M, T, V, C]
    before = torch.cdist(pose[0, :, 0, :, 0].T, pose[0, :, 0, :, 0].T)
    torch.testing.assert_close(torch.cdist(joints[:, :, :4], joints[:, :, :4]),
                               before.expand(N, 2, 4, V, V), rtol=1e-4, atol=1e-4)
    assert (joints[:, :, 4:] == 0).all()
    first = joints[:, :1, :1]
    assert torch.allclose(joints[:, :, :4], first.expand(N, 2, 4, V, 3), atol=1e-6)
    assert len({tuple(first[i].flatten()[:3].tolist()) for i in range(N)}) == N


def test_rotation_angles_span_the_range():
    """About z only: the angle of the x axis is uniform over [-max, max], as per sample."""
    N = 400
    x = torch.zeros(N, 3, 1, V, 1)
    x[:, 0] = 1
    batch = batch_of(x)
    out = augment_batch(batch, [BatchedRotation(RandomRotation((0.0, 0.0, 0.3)))], V,
                        Uniform(torch.Generator().manual_seed(0), N))
    xyz = out.x.view(N, V, 3)[:, 0]
    angle = torch.atan2(-xyz[:, 1], xyz[:, 0])
    assert angle.abs().max() <= 0.3 + 1e-6 and angle.min() < -0.27 and angle.max() > 0.27
    assert abs(angle.mean()) < 0.03


@pytest.mark.parametrize('keep_empty', [False, True])
def test_move_with_single_candidates_is_the_per_sample_move(keep_empty):
    """One candidate each: no randomness left, and the batch gets what each sample would."""
    move = RandomMove((10.,), (1.1,), (-0.2,), (1, 2, 3), keep_empty=keep_empty)
    x = torch.randn(3, 3, 7, V, 2)
    x[1, :, :, :, 1] = 0                                               # an absent person
    out = apply([BatchedMove(move)], x)
    for i in range(3):
        expected = move(x[i].numpy(), rng=0)                          # [C, T, V, M]
        torch.testing.assert_close(out[i].permute(2, 3, 1, 0),
                                   torch.from_numpy(expected), rtol=1e-5, atol=1e-5)


def test_move_curves_take_the_candidates_at_the_nodes():
    """On all-zero samples the output is the translation: at the first and last frame one of
    the candidates, each drawn about equally often, linear in between (one segment)."""
    N, T = 1000, 5
    move = RandomMove()
    out = apply([BatchedMove(move)], torch.zeros(N, 3, T, V, 1).expand(N, 3, T, V, 2))
    tx = out[:, 0, 0, 0]                                               # [N, T]
    for end in (tx[:, 0], tx[:, -1]):
        values, counts = torch.unique(end.round(decimals=4), return_counts=True)
        assert values.tolist() == pytest.approx(list(move.transform_candidate))
        assert counts.min() > 150
    torch.testing.assert_close(tx, tx[:, :1] + (tx[:, -1:] - tx[:, :1]) *
                               torch.linspace(0, 1, T), rtol=1e-5, atol=1e-5)


def test_shift_moves_the_valid_frames_to_an_offset_per_graph():
    N, T, n = 60, 12, 5
    x = torch.zeros(N, 3, T, V, 2)
    x[:, :, 2:2 + n] = torch.randn(1, 3, n, V, 2)
    valid = torch.tensor([[2, 2 + n]] * N)
    batch = augment_batch(batch_of(x, valid), [BatchedShift(RandomShift())], V,
                          Uniform(torch.Generator().manual_seed(0), N))
    out = dense(batch, N)
    offsets = set()
    for i in range(N):
        frames = (out[i] != 0).flatten(0, 2).any(0).nonzero().flatten()
        offset = int(frames[0])
        offsets.add(offset)
        assert frames.tolist() == list(range(offset, offset + n))
        torch.testing.assert_close(out[i, ..., offset:offset + n], dense(batch_of(x), N)[
            i, ..., 2:2 + n])
    assert offsets == set(range(T - n + 1))


def test_draws_are_a_function_of_seed_epoch_and_step_and_not_of_the_processes():
    steps = [BatchedShift(RandomShift()), BatchedMove(RandomMove()),
             BatchedRotation(RandomRotation())]
    x = torch.randn(4, 3, 6, V, 2)

    def run(epoch, step, seed=0, rank=0, world_size=1, rows=slice(None)):
        augment = DeviceAugment(steps, V, seed, torch.device('cpu'), rank, world_size)
        return dense(augment(batch_of(x[rows]), epoch, step), x[rows].size(0))

    first = run(0, 3)
    run(0, 4)                                          # what ran before does not matter
    assert torch.equal(run(0, 3), first)
    assert not torch.allclose(run(0, 4), first)
    assert not torch.allclose(run(1, 3), first)
    assert not torch.allclose(run(0, 3, seed=1), first)
    for rank in (0, 1):                                # rows rank::2 of the global batch
        torch.testing.assert_close(run(0, 3, rank=rank, world_size=2,
                                       rows=slice(rank, None, 2)), first[rank::2])


def test_split_for_device():
    """The steps before the first batched one stay per sample; a later step without a
    batched form, or one that does not commute with a stream computed after, is refused."""
    transforms = build_transforms([{'name': 'uniform_sample', 'size': 8}, 'random_shift',
                                   'random_move', 'random_rotation'])
    loader, steps = split_for_device(transforms, 'bone', True)
    assert [type(t).__name__ for t in loader] == ['UniformSample']
    assert [type(s) for s in steps] == [BatchedShift, BatchedMove, BatchedRotation]
    with pytest.raises(ValueError, match='normalize comes after random_rotation'):
        split_for_device(build_transforms(['random_rotation', 'min_max_normalize']), 'joint',
                         True)
    with pytest.raises(ValueError, match='random_move does not commute with the bone'):
        split_for_device(build_transforms(['random_move']), 'bone', False)
    split_for_device(build_transforms(['random_rotation']), 'joint_motion', False)


def test_config_error_and_loader_keeps_valid_frames(data_dir):  # noqa: F811
    config = resolve(TINY, [f'data.root={data_dir}', 'data.synthetic=null',
                            'data.augment_on=device'])
    from pyg_mstgcn.train.data import build_dataset
    dataset = build_dataset(config, 'train', train=True)
    assert [type(t).__name__ for t in dataset.transforms] == ['UniformSample']
    assert dataset[0].valid_frames.tolist() == [[0, 8]]
    assert not hasattr(build_dataset(config, 'val', train=False)[0], 'valid_frames')
    with pytest.raises(ConfigError, match=r'data.augment_on=device .*uniform_sample comes '
                                          r'after random_rotation'):
        resolve(TINY, [f'data.root={data_dir}', 'data.augment_on=device',
                       'data.train_transforms=[random_rotation, {name: uniform_sample, '
                       'size: 8}]'])


def test_cli_trains_with_device_augmentation_and_refuses_in_one_line(data_dir,  # noqa: F811
                                                                     tmp_path):
    proc = run_cli(cli_args(data_dir, tmp_path, 'device', 'data.augment_on=device',
                            'train.epochs=1', 'data.train_transforms=[{name: uniform_sample, '
                            'size: 8}, random_shift, random_move, random_rotation]'))
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / 'device' / 'last.pt').exists()
    proc = run_cli(cli_args(data_dir, tmp_path, 'bad', 'data.augment_on=device',
                            'data.stream=bone', 'data.stream_first=false',
                            'data.train_transforms=[random_move]'))
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and len(lines) == 1, proc.stderr
    assert 'random_move does not commute with the bone stream' in lines[0]
    assert 'data.augment_on=loader' in lines[0]
