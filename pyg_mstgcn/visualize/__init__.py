"""Figures, drawn with matplotlib (the ``[vis]`` extra): what the model sees and learned, and
how it scored (``python -m pyg_mstgcn.visualize SUBCOMMAND``)."""
from pyg_mstgcn.visualize.evaluation import (plot_confusion, plot_evaluation,
                                             plot_per_class_accuracy)
from pyg_mstgcn.visualize.importance import class_activation_map

__all__ = ['plot_confusion', 'plot_per_class_accuracy', 'plot_evaluation',
           'class_activation_map']
