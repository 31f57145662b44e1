"""The learned adjacency: ``MSTGCN.adjacency_matrices()``, its figures and ``.npz``, and the
``adjacency`` subcommand's refusals."""
import argparse
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

pytest.importorskip('matplotlib', reason='figures need matplotlib (the [vis] extra)')

from PIL import Image  # noqa: E402

from pyg_mstgcn.graph import SkeletonLayout, get_layout  # noqa: E402
from pyg_mstgcn.models import build_model, optimize_for_inference  # noqa: E402
from pyg_mstgcn.nn import LearnableAdjacency, SpatialGraphConv  # noqa: E402
from pyg_mstgcn.visualize import adjacency  # noqa: E402
from pyg_mstgcn.visualize.cli import main  # noqa: E402
from pyg_mstgcn.visualize.figures import DPI  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SMALL = dict(blocks=[[3, 8, False, 1], [8, 8, True, 1]], kernel_size=3, s_scale=2, t_scale=2)
#: name -> layout and options: multi-scale without attention, a multi-scale bottleneck with
#: attention, and B on the bones only
MODELS = {'ntu': ('ntu-rgb+d', {}),
          'openpose_stcja': ('openpose', dict(attention='stcja', block_type='ms_bottle')),
          'coco_skeleton': ('coco', dict(adjacency='skeleton'))}


def small_model(layout, seed=0, **options):
    """A small network whose offsets B have moved away from A (A + B != 2A)."""
    torch.manual_seed(seed)
    model = build_model({'num_classes': 5, 'layout': layout, **SMALL, **options})
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, LearnableAdjacency):
                module.B.add_(0.3 * torch.randn_like(module.B))
    return model.eval()


def save(model, path):
    torch.save({'model_config': model.config(), 'state_dict': model.state_dict(),
                'class_names': None}, path)
    return path


@pytest.fixture(scope='module')
def ckpts(tmp_path_factory):
    folder = tmp_path_factory.mktemp('adjacency')
    return {name: save(small_model(layout, **options), folder / f'{name}.pt')
            for name, (layout, options) in MODELS.items()}


def draw(*argv):
    parser = argparse.ArgumentParser()
    adjacency.add_arguments(parser)
    return adjacency.run(parser.parse_args([str(a) for a in argv]))


def has_size(path, size):
    """Whether the image at :obj:`path` is :obj:`size` inches at DPI (whole pixels, the
    fraction dropped)."""
    return all(abs(p - DPI * inches) < 1 for p, inches in zip(Image.open(path).size, size))


def not_blank(path, size):
    image = Image.open(path)
    assert has_size(path, size)
    rgb = np.asarray(image.convert('RGB')).reshape(-1, 3)
    assert (rgb > 240).all(axis=1).mean() > 0.2            # background
    assert len(np.unique(rgb // 16, axis=0)) > 20           # heatmaps, lines, text


@pytest.mark.parametrize('name', list(MODELS))
def test_adjacency_matrices(name):
    layout, options = MODELS[name]
    model = small_model(layout, **options)
    records = model.adjacency_matrices()
    convs = [(n, m) for n, m in model.named_modules() if isinstance(m, SpatialGraphConv)]
    assert [r.name for r in records] == [n for n, _ in convs]
    scales = 2 if options.get('block_type', 'ms') != 'basic' else 1
    assert [(r.block, r.scale) for r in records] == [(0, 0)] + [(1, j) for j in range(scales)]
    for record, (_, conv) in zip(records, convs):
        A, effective = conv.adjacency.A, conv.adjacency()
        assert torch.equal(record.fixed, A) and torch.equal(record.effective, effective)
        assert torch.allclose(record.learned, effective - A, atol=1e-6)
        assert not torch.allclose(record.effective, 2 * A)
        if conv.adjacency.mode == 'skeleton':   # B only where A is non-zero in some subset
            assert (record.learned[:, A.abs().sum(0) == 0] == 0).all()
    # a fused model keeps A + B only: the same records
    for plain, fused in zip(records, optimize_for_inference(model).adjacency_matrices()):
        assert torch.equal(plain.fixed, fused.fixed) and torch.equal(plain.effective,
                                                                      fused.effective)
        assert torch.allclose(plain.learned, fused.learned, atol=1e-6)
    records[0].effective.zero_()   # copies, not the parameters
    assert model.adjacency_matrices()[0].effective.abs().sum() > 0


def test_npz_holds_the_matrices(ckpts, tmp_path):
    from pyg_mstgcn.train.checkpoint import load_model
    model, _ = load_model(ckpts['openpose_stcja'])
    records = model.adjacency_matrices()
    assert draw('--weights', ckpts['openpose_stcja'], '--out', tmp_path / 'a.npz') == 0
    with np.load(tmp_path / 'a.npz') as saved:   # no pickled objects
        for key in ('fixed', 'learned', 'effective'):
            assert np.array_equal(saved[key], np.stack([getattr(r, key) for r in records]))
        assert saved['block'].tolist() == [r.block for r in records]
        assert saved['scale'].tolist() == [r.scale for r in records]
        assert saved['name'].tolist() == [r.name for r in records]
        assert saved['subsets'].tolist() == ['identity', 'inward', 'outward']
        assert tuple(saved['joint_names']) == get_layout('openpose').joint_names
    assert draw('--weights', ckpts['openpose_stcja'], '--block', 1, '--scale', 0,
                '--out', tmp_path / 'b.npz') == 0
    with np.load(tmp_path / 'b.npz') as saved:
        assert saved['effective'].shape == (1, 3, 18, 18)
        assert np.array_equal(saved['effective'][0], records[1].effective)


@pytest.mark.parametrize('name', ['ntu', 'openpose_stcja'])
def test_heatmaps_show_the_matrices(ckpts, tmp_path, monkeypatch, name):
    """The documented sizes, not blank, and the heatmaps' data: A_k, B_k and A_k + B_k of one
    convolution; the sum over k of B_k of each in the overview."""
    from pyg_mstgcn.train.checkpoint import load_model
    records = load_model(ckpts[name])[0].adjacency_matrices()
    shown = []
    save_figure = adjacency.save_figure
    monkeypatch.setattr(adjacency, 'save_figure', lambda fig, path: (shown.append(
        [im.get_array().data for ax in fig.axes for im in ax.get_images()]),
        save_figure(fig, path))[1])
    assert draw('--weights', ckpts[name], '--block', 1, '--scale', 1,
                '--out', tmp_path / 'one.png') == 0
    not_blank(tmp_path / 'one.png', adjacency.detail_size(3))
    record = records[2]
    images = np.array(shown[0]).reshape(3, 3, *record.fixed.shape[1:])   # subset x column
    for k in range(3):
        for column, key in enumerate(('fixed', 'learned', 'effective')):
            np.testing.assert_array_equal(images[k, column], getattr(record, key)[k])
    assert draw('--weights', ckpts[name], '--out', tmp_path / 'all.png') == 0
    not_blank(tmp_path / 'all.png', adjacency.overview_size(2, 2))
    for image, r in zip(shown[1], records):
        np.testing.assert_allclose(image, r.learned.sum(0), rtol=1e-6)


def test_strongest_links(tmp_path):
    model = small_model('ntu-rgb+d')
    records = model.adjacency_matrices()
    layout = get_layout('ntu-rgb+d')
    links = adjacency.strongest_links(records[1:], layout, 6)
    # independently: every joint pair that is no bone, by the mean of sum_k |B| both ways
    B = np.mean([np.abs(r.learned.numpy()).sum(0) for r in records[1:]], axis=0)
    bones = {tuple(sorted(p)) for p in layout.inward}
    pairs = sorted(((B[v, w] + B[w, v], v, w) for v in range(25) for w in range(v + 1, 25)
                    if (v, w) not in bones), reverse=True)
    assert [(v, w) for v, w, _ in links] == [(v, w) for _, v, w in pairs[:6]]
    np.testing.assert_allclose([s for *_, s in links], [s for s, *_ in pairs[:6]], rtol=1e-6)
    # a network that learns on the bones only has none
    coco = small_model('coco', adjacency='skeleton').adjacency_matrices()
    assert adjacency.strongest_links(coco, 'coco', 5) == []


@pytest.mark.parametrize('name', ['ntu', 'openpose_stcja'])
def test_links_figure(ckpts, tmp_path, name):
    assert draw('--weights', ckpts[name], '--top', 5, '--out', tmp_path / 'links.png') == 0
    layout = MODELS[name][0]
    not_blank(tmp_path / 'links.png', adjacency.links_size(2, layout))


def test_refusals(ckpts, tmp_path, capsys):
    """One line each: a file that is no checkpoint, an extension without a writer, a layout
    without a rest pose, a block the network does not have."""
    custom = SkeletonLayout.from_edges([(0, 1), (1, 2), (1, 3)], center=1, name='mine')
    model = build_model({'num_classes': 5, 'layout': custom, **SMALL})
    notes = tmp_path / 'notes.txt'
    notes.write_text('not weights')
    for argv, words in (
            (['--weights', notes, '--out', tmp_path / 'a.png'], 'notes.txt'),
            (['--weights', ckpts['ntu'], '--out', tmp_path / 'a.bmp'], "no writer for '.bmp'"),
            (['--weights', save(model, tmp_path / 'mine.pt'), '--top', 3, '--out',
              tmp_path / 'a.png'], "layout 'mine' has no rest pose"),
            (['--weights', ckpts['ntu'], '--block', 5, '--out', tmp_path / 'a.png'],
             'blocks 0 to 1'),
            (['--weights', ckpts['ntu'], '--top', 3, '--out', tmp_path / 'a.npz'],
             '--top draws a figure')):
        assert main(['adjacency'] + [str(a) for a in argv]) == 2
        lines = capsys.readouterr().err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith('error: ') and words in lines[0], lines
    # the command itself: exit status 2, one line on stderr
    proc = subprocess.run([sys.executable, '-m', 'pyg_mstgcn.visualize', 'adjacency',
                           '--weights', str(notes), '--out', str(tmp_path / 'a.png')],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and len(lines) == 1 and lines[0].startswith('error: ')
