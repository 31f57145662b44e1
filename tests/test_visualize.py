"""Figures drawn with matplotlib."""
import numpy as np
import pytest

pytest.importorskip('matplotlib', reason='figures need matplotlib (the [vis] extra)')

from matplotlib.image import imread  # noqa: E402

from pyg_mstgcn.visualize import plot_confusion  # noqa: E402


@pytest.mark.parametrize('classes', [3, 60])
def test_confusion_figure(tmp_path, classes):
    rng = np.random.default_rng(0)
    cm = rng.integers(0, 5, (classes, classes)) + np.eye(classes, dtype=int) * 20
    names = [f'action {i}' for i in range(classes)]
    path = plot_confusion(cm, tmp_path / 'c.png', names, title='run')
    image = imread(path)
    assert image.ndim == 3 and min(image.shape[:2]) > 400
    # white background, blue cells: both present
    assert (image[..., :3] > 0.95).all(axis=-1).mean() > 0.2
    assert (image[..., 2] - image[..., 0] > 0.3).mean() > 0.01
    with pytest.raises(ValueError, match='2 class names for a 3 x 3'):
        plot_confusion(np.eye(3), tmp_path / 'x.png', ['a', 'b'])
