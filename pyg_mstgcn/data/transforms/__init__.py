r"""Data preparation as a list of small transforms, configured by name.

Every transform works on **one sample** in the original's layout, a NumPy array
``[C, T, V, M]`` (channels, frames, joints, persons), float32, before it becomes a PyG
:class:`~torch_geometric.data.Data` (see :mod:`pyg_mstgcn.data`). The idea is PYSKL's
``pose_related.py``: a pipeline is a list such as

.. code-block:: python

    transforms = build_transforms([
        {'name': 'uniform_sample', 'size': 64},
        {'name': 'random_rotation', 'max_angle': 0.3},
    ])
    x = transforms(sample, rng=np.random.default_rng(0))    # [3, 64, 25, 2]

**Valid frames.** Many steps act on the *valid* frames of a sample, the span of frames that
hold the sequence, as opposed to padding. It is a range ``(begin, end)``: given per sample
(``num_frames`` of our preprocessing, PYSKL's ``total_frames``: the frames ``[0,
num_frames)``), or else found in the data, from the first to the last frame with any non-zero
coordinate (the original's rule). The range travels along the pipeline: :meth:`Transform.apply`
takes and returns it, so that ``random_shift`` followed by ``uniform_sample`` samples the
frames that were shifted, not the padding.

**Randomness.** Random steps draw from a :class:`numpy.random.Generator` passed to them, never
from NumPy's global state, so that the outcome is a function of the generator's seed.
:class:`~pyg_mstgcn.data.datasets.SkeletonArrayDataset` keeps one generator per process and
seeds it from PyTorch (see its documentation): with :obj:`torch.manual_seed` set, a
``DataLoader`` with any number of workers gives the same augmentations run after run. Called
directly, a transform takes ``rng=`` (a generator or an integer seed); without one it draws a
fresh, unseeded generator.

**The original's steps** (2s-AGCN / MST-GCN ``feeders/tools.py``): :class:`Normalize`,
:class:`RandomShift`, :class:`RandomChoose`, :class:`PadWindow` (``auto_pading``),
:class:`RandomMove`. Their ``Feeder`` applies them in the order normalisation,
``random_shift``, ``random_choose`` (or else padding to ``window_size``), ``random_move``;
:func:`feeder_transforms` builds that list from a feeder's arguments.
**The modern ones** (CTR-GCN, PYSKL): :class:`UniformSample`, :class:`ValidCropResize`,
:class:`RandomRotation`; CTR-GCN's NW-UCLA feeder: :class:`MinMaxNormalize` (per-sample
scaling to [-1, 1]) and :class:`SortedSample` (sorted random frames). :class:`PreNormalize`
is the original's pre-normalisation of the preprocessing, as a step.

A transform of your own subclasses :class:`Transform` and implements :meth:`~Transform.apply`;
a plain function ``f(x) -> x`` in the list also works (the valid frames are then found in its
output).

**Where things live.** :mod:`~pyg_mstgcn.data.transforms.base`: the framework
(:class:`Transform`, :class:`Compose`, the wrapper of plain functions, :func:`valid_range`,
:func:`as_generator`); :mod:`~pyg_mstgcn.data.transforms.temporal`: frame sampling and windows
(:class:`RandomChoose`, :class:`RandomShift`, :class:`PadWindow`, :class:`UniformSample`,
:class:`ValidCropResize`, :class:`SortedSample`, :func:`resize_frames`);
:mod:`~pyg_mstgcn.data.transforms.spatial`: coordinates (:class:`Normalize`,
:class:`RandomMove`, :class:`RandomRotation`, :class:`MinMaxNormalize`,
:class:`PreNormalize`);
:mod:`~pyg_mstgcn.data.transforms.registry`: the name table :data:`TRANSFORMS` with its
:data:`ALIASES` and the builders; :mod:`~pyg_mstgcn.data.transforms.feeder`:
:func:`feeder_transforms`. Import them from this package.
"""
from pyg_mstgcn.data.transforms.base import (Compose, RngLike, Transform, TransformSpec, Valid,
                                             as_generator, valid_range)
from pyg_mstgcn.data.transforms.feeder import feeder_transforms
from pyg_mstgcn.data.transforms.registry import (ALIASES, TRANSFORMS, build_transform,
                                                 build_transforms)
from pyg_mstgcn.data.transforms.spatial import (MinMaxNormalize, Normalize, PreNormalize,
                                                RandomMove, RandomRotation)
from pyg_mstgcn.data.transforms.temporal import (PadWindow, RandomChoose, RandomShift,
                                                 SortedSample, UniformSample, ValidCropResize,
                                                 resize_frames)

__all__ = [
    'Transform', 'Compose', 'RandomChoose', 'RandomShift', 'PadWindow', 'Normalize',
    'RandomMove', 'UniformSample', 'ValidCropResize', 'RandomRotation', 'MinMaxNormalize',
    'SortedSample', 'PreNormalize', 'TRANSFORMS',
    'ALIASES', 'build_transform', 'build_transforms', 'feeder_transforms', 'valid_range',
    'resize_frames', 'as_generator', 'Valid', 'RngLike', 'TransformSpec',
]
