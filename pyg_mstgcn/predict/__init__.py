"""Recognising actions in new data with trained checkpoints: ``python -m pyg_mstgcn.predict``
and :class:`Recognizer` (:mod:`~pyg_mstgcn.predict.inputs`: the formats read;
:mod:`~pyg_mstgcn.predict.sequences`: windows and the last preprocessing steps;
:mod:`~pyg_mstgcn.predict.recognizer`: checkpoints to predictions, whole, windowed or live)."""
from pyg_mstgcn.predict.inputs import FORMATS, detect_format
from pyg_mstgcn.predict.recognizer import OnlineRecognizer, Prediction, Recognizer
from pyg_mstgcn.predict.sequences import PoseSequence, windows

__all__ = ['Recognizer', 'OnlineRecognizer', 'Prediction', 'PoseSequence', 'FORMATS',
           'detect_format', 'windows']
