"""Deploying a trained network: its inference model exported as an ONNX file or a
torch.export program (``python -m pyg_mstgcn.export --help``), and the runtimes that run
those files on a dense batch ``[N, C, T, V, M]``.

Modules: :mod:`~pyg_mstgcn.export.metadata` (what a file says about its input and classes),
:mod:`~pyg_mstgcn.export.exporting` (writing and checking the files),
:mod:`~pyg_mstgcn.export.runtime` (ONNX Runtime and exported programs),
:mod:`~pyg_mstgcn.export.cli` (the command line). ``onnx``, ``onnxscript`` and
``onnxruntime`` come with the ``[export]`` extra.
"""
from pyg_mstgcn.export.exporting import (DEFAULT_OPSET, FORMATS, TOLERANCE, ExportError,
                                         export_onnx, export_program, onnx_bytes)
from pyg_mstgcn.export.metadata import DeployInfo, deploy_info
from pyg_mstgcn.export.runtime import OnnxModel, ProgramModel, load_deployed, onnx_session

__all__ = ['export_onnx', 'export_program', 'onnx_bytes', 'DeployInfo', 'deploy_info', 'OnnxModel',
           'ProgramModel', 'load_deployed', 'onnx_session', 'ExportError', 'FORMATS',
           'DEFAULT_OPSET', 'TOLERANCE']
