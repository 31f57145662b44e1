"""The evaluation figures (confusion matrix, per-class accuracy) and their subcommand."""
import json
import pickle

import numpy as np
import pytest

pytest.importorskip('matplotlib', reason='figures need matplotlib (the [vis] extra)')

from PIL import Image  # noqa: E402

from pyg_mstgcn.visualize import evaluation, plot_confusion  # noqa: E402
from pyg_mstgcn.visualize.cli import main  # noqa: E402
from pyg_mstgcn.visualize.figures import DPI  # noqa: E402


def has_size(path, size):
    """Whether the image at :obj:`path` is :obj:`size` inches at DPI (whole pixels, the
    fraction dropped)."""
    return all(abs(p - DPI * inches) < 1 for p, inches in zip(Image.open(path).size, size))


def confusion(classes, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 5, (classes, classes)) + np.eye(classes, dtype=int) * 20


def not_blank(path):
    """White background and coloured marks, both present."""
    image = np.asarray(Image.open(path).convert('RGB')) / 255.0
    white = (image > 0.95).all(axis=-1).mean()
    blue = (image[..., 2] - image[..., 0] > 0.3).mean()
    return white > 0.2 and blue > 0.01


@pytest.mark.parametrize('classes', [3, 60])
def test_evaluation_figures(tmp_path, classes):
    cm = confusion(classes)
    names = [f'action {i}' for i in range(classes)]
    paths = evaluation.plot_evaluation(cm, tmp_path, names, title='run')
    assert [p.name for p in paths] == ['confusion.png', 'per_class_accuracy.png']
    sizes = (evaluation.confusion_size(classes),
             evaluation.per_class_size(min(classes, evaluation.BARS_ALL)))
    for path, size in zip(paths, sizes):
        assert has_size(path, size) and not_blank(path)
    with pytest.raises(ValueError, match='2 class names for a 3 x 3'):
        plot_confusion(np.eye(3), tmp_path / 'x.png', ['a', 'b'])


def test_confused_pairs_listed_beyond_label_all(tmp_path, monkeypatch):
    cm = np.eye(40, dtype=int) * 10
    cm[3, 7], cm[5, 1], cm[9, 2] = 6, 6, 2      # 6 of 10 samples beat 6 of 16
    cm[3, 3] = 4
    assert evaluation.confused_pairs(cm, 2) == [(3, 7, 6), (5, 1, 6)]
    assert evaluation.confused_pairs(np.eye(3)) == []
    texts = []
    monkeypatch.setattr(evaluation, 'save_figure', lambda fig, path: texts.extend(
        t.get_text() for ax in fig.axes for t in ax.texts))
    plot_confusion(cm, tmp_path / 'c.png', [f'class {i}' for i in range(40)])
    listing = next(t for t in texts if 'predicted class' in t)
    assert 'class 3\n' in listing and '→ class 7' in listing and '60%' in listing
    texts.clear()   # up to LABEL_ALL: counts in the cells, no listing
    plot_confusion(cm[:8, :8], tmp_path / 'c.png')
    assert '6' in texts and not any('predicted' in t for t in texts)


def test_evaluation_command(tmp_path, monkeypatch, capsys):
    """From a --phase test folder (its class names) and from --scores / --labels."""
    rng = np.random.default_rng(1)
    names = [f's{i}' for i in range(30)]
    labels = rng.integers(0, 4, 30).tolist()
    scores = {n: rng.normal(size=4).astype(np.float32) for n in names}
    scores['s0'][labels[0]] = 9.0
    run = tmp_path / 'run-test'
    run.mkdir()
    with open(run / 'scores.pkl', 'wb') as f:
        pickle.dump(scores, f)
    with open(run / 'labels.pkl', 'wb') as f:
        pickle.dump((names, labels), f)
    (run / 'metrics.json').write_text(json.dumps({'class_names': list('abcd')}))
    drawn = []
    plot = evaluation.plot_evaluation
    monkeypatch.setattr(evaluation, 'plot_evaluation', lambda cm, folder, names, *a: (
        drawn.append((cm, names)), plot(cm, folder, names, *a))[1])
    assert main(['evaluation', str(run), '--format', 'svg']) == 0
    assert (run / 'confusion.svg').is_file() and (run / 'per_class_accuracy.svg').is_file()
    cm, classes = drawn[0]
    pred = [int(scores[n].argmax()) for n in names]
    assert classes == list('abcd') and cm.sum() == 30 and cm[labels[0], labels[0]] >= 1
    assert np.trace(cm) == sum(p == t for p, t in zip(pred, labels))
    out = tmp_path / 'figures'
    args = ['--scores', str(run / 'scores.pkl'), '--labels', str(run / 'labels.pkl'),
            '--out', str(out)]
    assert main(['evaluation'] + args) == 0
    assert has_size(out / 'confusion.png', evaluation.confusion_size(4))
    capsys.readouterr()
    with open(tmp_path / 'fewer.pkl', 'wb') as f:   # labels of other samples
        pickle.dump((names[:-1], labels[:-1]), f)
    other = args[:2] + ['--labels', str(tmp_path / 'fewer.pkl')]
    for bad, words in (([], 'give a --phase test folder'),
                       (other, 'has 1 sample(s) not in the labels: s29'),
                       ([str(tmp_path)], 'no scores.pkl'),
                       (args[:2], '--scores needs --labels'),
                       (args + ['--class-names', 'ntu60'], '60 class names for the 4 classes')):
        assert main(['evaluation'] + bad) == 2
        lines = capsys.readouterr().err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith('error: ') and words in lines[0], lines
