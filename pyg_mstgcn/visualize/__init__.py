"""Figures, drawn with matplotlib (the ``[vis]`` extra): the confusion matrix of an
evaluation."""
from pyg_mstgcn.visualize.confusion import plot_confusion

__all__ = ['plot_confusion']
