"""The skeleton and importance figures of ``python -m pyg_mstgcn.visualize``, on the real sample
files: sizes and frame counts as documented, frames that are drawn and move, the streams'
arrows, the class-activation map's shape and sum, and bad input in one line.

Most checkpoints are small networks with random weights (one with attention, one without):
what is drawn, and the map's identities, do not depend on training; one network is trained
(the tiny recipe, two epochs) and goes through the skeleton, importance and adjacency views.
"""
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

pytest.importorskip('matplotlib', reason='figures need matplotlib (the [vis] extra)')

from PIL import Image, ImageSequence  # noqa: E402

from conftest import shared_path  # noqa: E402
from pyg_mstgcn import Recognizer  # noqa: E402
from pyg_mstgcn.graph import get_layout  # noqa: E402
from pyg_mstgcn.io import write_split  # noqa: E402
from pyg_mstgcn.models import build_model  # noqa: E402
from pyg_mstgcn.predict.inputs import ReadOptions, read_input  # noqa: E402
from pyg_mstgcn.predict.sequences import finish  # noqa: E402
from pyg_mstgcn.visualize.cli import main  # noqa: E402
from pyg_mstgcn.visualize.clips import make_scene  # noqa: E402
from pyg_mstgcn.visualize.importance import class_activation_map  # noqa: E402
from pyg_mstgcn.visualize.render import project  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SMALL = dict(blocks=[[3, 8, False, 1], [8, 8, True, 2], [8, 8, True, 2]], kernel_size=3,
             s_scale=2, t_scale=2)
DPI = 40   # small figures: pixels = inches x 40


def checkpoint(path, layout, **options):
    torch.manual_seed(0)
    model = build_model({'num_classes': 10, 'layout': layout, **SMALL, **options})
    torch.save({'model_config': model.config(), 'state_dict': model.state_dict(),
                'class_names': [f'action {i}' for i in range(10)],
                'config': {'data': {'stream': 'joint', 'val_transforms': [],
                                    'stream_first': True}}}, path)
    return path


@pytest.fixture(scope='module')
def ckpts(tmp_path_factory):
    folder = tmp_path_factory.mktemp('ckpt')
    return {'ntu': checkpoint(folder / 'ntu.pt', 'ntu-rgb+d'),
            'kinetics': checkpoint(folder / 'kinetics.pt', 'openpose', attention='stcja')}


def ntu(name='S001C003P008R002A058'):   # handshaking: two people, 70 frames
    return shared_path('data', 'ntu', f'{name}.skeleton')


def kinetics(name='__vzEs2wzdQ'):       # 165 frames, two people
    return shared_path('data', 'kinetics', 'kinetics_val', f'{name}.json')


def draw(*args):
    assert main([str(a) for a in args] + ['--dpi', str(DPI)]) == 0


def frames_of(path):
    with Image.open(path) as image:
        return [np.asarray(f.convert('RGB'), dtype=np.int16)
                for f in ImageSequence.Iterator(image)]


def check(path, size, count):
    """Opens with Pillow at :obj:`size` with :obj:`count` frames, each drawn on (not blank),
    each differing from the one before."""
    with Image.open(path) as image:
        assert image.size == size
    frames = frames_of(path)
    assert len(frames) == count
    for frame in frames:
        assert frame.std() > 0 and (frame.min(axis=-1) < 200).mean() > 0.005
    for a, b in zip(frames, frames[1:]):
        assert np.abs(a - b).max() > 0


def test_skeleton_animation_with_windowed_predictions(tmp_path, ckpts):
    out = tmp_path / 'clip.gif'
    draw('skeleton', ntu(), '--weights', ckpts['ntu'], '--window', 30, '--stride', 20,
         '--max-frames', 6, '--out', out)
    check(out, (336, 192), 6)   # 8.4 x 4.8 in with the top-5


@pytest.mark.parametrize('weights', [False, True])
def test_skeleton_strip(tmp_path, ckpts, weights):
    out = tmp_path / 'frames.png'
    extra = ['--weights', ckpts['kinetics']] if weights else []
    draw('skeleton', kinetics(), '--frames', 3, '--out', out, *extra)
    check(out, (288 + 144 * weights, 132), 1)   # 3 x 2.4 (+ 3.6) x 3.3 in


def test_skeleton_of_arrays_and_a_dataset_folder(tmp_path):
    sample = np.load(shared_path('data', 'ntu_processed', 'example_ntu_sample.npy'))
    np.save(tmp_path / 'sample.npy', sample)
    draw('skeleton', tmp_path / 'sample.npy', '--stream', 'motion', '--max-frames', 3,
         '--out', tmp_path / 'a.gif')
    check(tmp_path / 'a.gif', (192, 192), 3)   # 4.8 x 4.8 in
    write_split(tmp_path / 'data', 'val', np.stack([sample, sample[..., ::-1]]), ['a', 'b'],
                [0, 1])
    draw('skeleton', tmp_path / 'data', '--index', 1, '--frames', 2,
         '--out', tmp_path / 'b.png')
    check(tmp_path / 'b.png', (192, 132), 1)


@pytest.mark.parametrize('stream', ['bone', 'joint_motion'])
def test_stream_arrows_are_the_stream(stream):
    sequence, = read_input(ntu(), 'ntu', ReadOptions('ntu-rgb+d', 2, 3))
    x, valid = finish(sequence)
    frames = np.arange(0, valid, 10)
    scene = make_scene(x, 'ntu-rgb+d', frames, 10, 150, stream)
    tails, heads, shown = scene.arrows
    assert shown.sum() > 0.8 * scene.mask.sum()
    layout = get_layout('ntu-rgb+d')
    if stream == 'bone':   # each arrow runs from the joint's parent to the joint
        parent = dict(layout.bone_pairs)
        expected = scene.xy[:, :, [parent.get(v, v) for v in range(layout.num_joints)]]
        assert np.allclose(heads[shown], scene.xy[shown], atol=1e-5)
        assert np.allclose(tails[shown], expected[shown], atol=1e-5)
    else:                  # from the joint, along its motion times the gain of the note
        gain = float(scene.note.rsplit('x', 1)[1])
        motion = x[:, frames + 1] - x[:, frames]
        expected = project(gain * motion.transpose(1, 3, 2, 0), 10, 150)
        assert np.allclose(tails[shown], scene.xy[shown], atol=1e-5)
        assert np.allclose((heads - tails)[shown], expected[shown], atol=1e-4)


@pytest.mark.parametrize('name,data', [('ntu', ntu), ('kinetics', kinetics)])
def test_class_activation_map(ckpts, name, data):
    recognizer = Recognizer.from_checkpoint(ckpts[name], 'cpu')
    model = recognizer.members[0].model
    sample = [finish(s) for s in recognizer.sequences(data())]
    x, = recognizer.model_inputs(sample)
    cam, labels, logits = class_activation_map(model, x)
    T, V, M = x.shape[2:]
    assert cam.shape == (1, T // 4, V, M)     # two blocks of temporal stride 2
    assert torch.allclose(logits, model(x), atol=1e-5)
    assert np.allclose(logits.numpy(), recognizer.logits(sample), atol=1e-5)
    assert labels.tolist() == logits.argmax(1).tolist()
    for label in (labels, torch.tensor([3])):  # the map's mean plus the bias is the logit
        cam, labels, _ = class_activation_map(model, x, int(label[0]))
        total = cam.mean(dim=(1, 2, 3)) + model.fc.bias[labels]
        assert torch.allclose(total, logits[0, labels], atol=1e-4)


@pytest.mark.parametrize('name,data,persons', [('ntu', ntu, 2), ('kinetics', kinetics, 2)])
def test_importance_figures(tmp_path, ckpts, name, data, persons):
    draw('importance', '--weights', ckpts[name], data(), '--class', 'action 3',
         '--out', tmp_path / 'imp.png')
    check(tmp_path / 'imp.png', (320, int(round((1.0 + 3.6 * persons) * DPI))), 1)
    draw('importance', '--weights', ckpts[name], data(), '--max-frames', 4,
         '--out', tmp_path / 'imp.gif')
    check(tmp_path / 'imp.gif', (416, 192), 4)   # 10.4 x 4.8 in


def refused(capsys, args, *words):
    assert main([str(a) for a in args]) == 2
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith('error: '), lines
    for word in words:
        assert word in lines[0], (word, lines[0])


def test_bad_input(tmp_path, capsys, ckpts, monkeypatch):
    refused(capsys, ['skeleton', ntu(), '--layout', 'coco', '--out', tmp_path / 'a.gif'],
            '3-D ntu-rgb+d', '--layout asks for 2-D coco')
    refused(capsys, ['skeleton', kinetics(), '--weights', ckpts['ntu'], '--out',
                     tmp_path / 'a.gif'], '2-D openpose', '3-D ntu-rgb+d')
    refused(capsys, ['skeleton', ntu(), '--weights', ntu(), '--out', tmp_path / 'a.gif'],
            'checkpoint')
    refused(capsys, ['skeleton', ntu(), '--out', tmp_path / 'a.avi'], "'.avi'", '.gif',
            '.mp4', '.png')
    refused(capsys, ['skeleton', ntu(), '--index', 3, '--out', tmp_path / 'a.gif'],
            'holds 1 sequence')
    refused(capsys, ['importance', '--weights', ckpts['ntu'], ntu(), '--class', 'actoin 3',
                     '--out', tmp_path / 'a.png'], "did you mean 'action 3'")
    from matplotlib import animation
    monkeypatch.setattr(animation.writers, 'is_available', lambda name: False)
    monkeypatch.setitem(sys.modules, 'imageio_ffmpeg', None)   # neither ffmpeg nor imageio's
    refused(capsys, ['skeleton', ntu(), '--out', tmp_path / 'a.mp4'],
            'pip install imageio-ffmpeg')


def test_command_line_refuses_an_unknown_subcommand():
    proc = subprocess.run([sys.executable, '-m', 'pyg_mstgcn.visualize', 'skeletons'],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert proc.returncode == 2 and len(lines) == 1 and lines[0].startswith('error: ')
    assert "'skeletons'" in lines[0]


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    """A small network trained as a user trains one: the tiny recipe, two epochs on its
    synthetic data (NTU layout)."""
    folder = tmp_path_factory.mktemp('trained')
    proc = subprocess.run([sys.executable, '-m', 'pyg_mstgcn.train', '-c', 'tiny', '--set',
                           f'data.root={folder / "data"}', f'output.dir={folder / "runs"}',
                           'output.name=tiny', 'train.epochs=2'], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return folder / 'runs' / 'tiny' / 'best.pt'


def test_a_trained_model_through_the_subcommands(tmp_path, trained):
    """The subcommands on a trained checkpoint and a real NTU file: the animation with its
    predictions, the importance map (its mean plus the bias is the logit), and the learned
    adjacency, whose exported matrices are the layers' own A and A + B (moved away from A by
    training)."""
    draw('skeleton', ntu(), '--weights', trained, '--max-frames', 5, '--out',
         tmp_path / 'clip.gif')
    check(tmp_path / 'clip.gif', (336, 192), 5)
    draw('importance', '--weights', trained, ntu(), '--out', tmp_path / 'imp.png')
    check(tmp_path / 'imp.png', (320, int(round((1.0 + 3.6 * 2) * DPI))), 1)
    recognizer = Recognizer.from_checkpoint(trained, 'cpu')
    model = recognizer.members[0].model
    x, = recognizer.model_inputs([finish(s) for s in recognizer.sequences(ntu())])
    cam, labels, logits = class_activation_map(model, x)
    assert torch.allclose(cam.mean(dim=(1, 2, 3)) + model.fc.bias[labels],
                          logits[0, labels], atol=1e-4)
    assert main(['adjacency', '--weights', str(trained), '--out',
                 str(tmp_path / 'adj.npz')]) == 0
    saved = np.load(tmp_path / 'adj.npz')
    convs = [m for m in model.modules() if hasattr(m, 'adjacency') and
             hasattr(m.adjacency, 'A')]
    assert len(convs) == len(saved['effective']) > 1
    for i, conv in enumerate(convs):
        assert np.allclose(saved['fixed'][i], conv.adjacency.A.numpy())
        assert np.allclose(saved['effective'][i], conv.adjacency().detach().numpy())
    assert not np.allclose(saved['learned'], saved['fixed'])   # B has moved from A
