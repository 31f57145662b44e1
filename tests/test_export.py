"""Deploying networks: the dense input [N, C, T, V, M], the fused inference model, ONNX and
torch.export files run (ONNX Runtime, the exported program) on batch sizes and frame counts
other than those exported, their metadata, and bad input (one clear line each).

Every number is checked against the eager model, loaded from its checkpoint, as the
independent reference; batch norms, biases and the learnable adjacency are randomised first
(a fresh batch norm is the identity and would hide a wrong fold)."""
import copy
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from conftest import shared_path
from pyg_mstgcn.data import from_dense
from pyg_mstgcn.data.classes import class_names
from pyg_mstgcn.errors import InputError
from pyg_mstgcn.export import (TOLERANCE, OnnxModel, ProgramModel, deploy_info, export_onnx,
                               export_program, load_deployed)
from pyg_mstgcn.export.cli import main as export_main
from pyg_mstgcn.models import MSTGCN, build_model, optimize_for_inference
from pyg_mstgcn.nn import (ATTENTIONS, BLOCK_TYPES, AttentionLayer, FrozenAdjacency,
                           LearnableAdjacency, MultiScaleGraphLayer, SpatialGraphConv)
from pyg_mstgcn.train.checkpoint import load_model

onnx = pytest.importorskip('onnx')
onnxruntime = pytest.importorskip('onnxruntime')

ROOT = Path(__file__).resolve().parents[1]
SMALL = dict(blocks=[[3, 16, False, 1], [16, 16, True, 1], [16, 32, True, 2]], kernel_size=3,
             s_scale=2, t_scale=2)
BATCH, FRAMES = 2, 16            # the example every file is exported with
OTHER_SHAPES = ((3, 23), (1, 9))  # (N, T) the files run on


def relative(actual, expected) -> float:
    """``max |actual - expected| / max |expected|``."""
    actual, expected = torch.as_tensor(actual).double(), torch.as_tensor(expected).double()
    return float((actual - expected).abs().max() / expected.abs().max())


@torch.no_grad()
def randomise(model: nn.Module, seed: int = 0) -> nn.Module:
    """Batch norms with running statistics and affine parameters far from the identity, the
    learnable adjacency B away from A, non-zero biases; eval mode."""
    g = torch.Generator().manual_seed(seed)
    for module in model.modules():
        if isinstance(module, nn.BatchNorm1d):
            n = module.num_features
            module.running_mean.copy_(torch.randn(n, generator=g) * 0.3)
            module.running_var.copy_(torch.rand(n, generator=g) + 0.5)
            module.weight.copy_(torch.rand(n, generator=g) * 0.5 + 0.5)
            module.bias.copy_(torch.randn(n, generator=g) * 0.2)
        elif isinstance(module, LearnableAdjacency):
            module.B.add_(torch.randn(module.B.shape, generator=g) * 0.2)
        elif isinstance(module, (nn.Conv1d, nn.Linear)) and module.bias is not None:
            module.bias.copy_(torch.randn(module.bias.shape, generator=g) * 0.1)
    return model.eval()


def dense_input(model, n, t, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, model.in_channels, t, model.layout.num_joints, model.num_person,
                       generator=g)


@torch.no_grad()
def eager(model, x):
    """The eager logits, checked to depend on the input (a network whose features died
    would give every sample the classifier's bias, and prove nothing)."""
    out = model(x)
    if out.size(0) > 1:
        assert relative(out[1:], out[:1].expand_as(out[1:])) > 1e-5, 'degenerate logits'
    return out


def small(layout='ntu-rgb+d', seed=0, **options):
    torch.manual_seed(seed)
    return randomise(MSTGCN(10, layout=layout, **{**SMALL, **options}), seed)


def refused(proc, *words):
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert len(lines) == 1 and lines[0].startswith('error: ') and \
        'Traceback' not in proc.stderr, proc.stderr
    for word in words:
        assert word in lines[0], (word, lines[0])


def one_line(error, *words):
    message = str(error.value)
    assert '\n' not in message, message
    for word in words:
        assert word in message, (word, message)


# ----------------------------------------------------------------------------- dense input

@pytest.mark.parametrize('layout,backend,adjacency,attention', [
    ('ntu-rgb+d', 'dense', 'full', 'stcja'),
    ('ntu-rgb+d', 'sparse', 'full', 'stcja'),
    ('ntu-rgb+d', 'sparse', 'skeleton', 'pa'),
    ('openpose', 'dense', 'skeleton', 'pa'),
    ('openpose', 'sparse', 'skeleton', 'ja'),
    ('coco', 'sparse', 'full', 'ca'),
])
def test_dense_input_gives_the_logits_of_its_pyg_batch(layout, backend, adjacency, attention):
    model = small(layout, backend=backend, adjacency=adjacency, attention=attention)
    x = dense_input(model, 3, 12)
    reference = eager(model, from_dense(x, layout))
    with torch.no_grad():
        assert relative(model(x), reference) <= 1e-5
    # the same weights on the dense backend: the sparse one's graph for a dense batch holds
    # every edge the adjacency weighs
    dense = MSTGCN(10, layout=layout, **{**SMALL, **model.options.to_dict(), 'backend': 'dense'})
    dense.load_state_dict(model.state_dict())
    with torch.no_grad():
        assert relative(dense.eval()(x), reference) <= 1e-5
    with pytest.raises(ValueError, match=r'dense batch of shape \[N, 3 channels'):
        model(x[..., :1, :])


# ----------------------------------------------------------------------------- fusion

def check_fused(model: MSTGCN, x) -> MSTGCN:
    """optimize_for_inference(model) computes the same logits, folds every batch norm that
    follows a layer, freezes A + B, cannot train, and leaves the model as it was."""
    before = {k: v.clone() for k, v in model.state_dict().items()}
    reference = eager(model, x)
    fused = optimize_for_inference(model)
    with torch.no_grad():
        assert relative(fused(x), reference) <= TOLERANCE
        # in float64 the fold is exact to rounding: a small slip (a missing eps) shows too
        double = copy.deepcopy(model).double()
        assert relative(optimize_for_inference(double)(x.double()), double(x.double())) <= 1e-10
    # the batch norms that stay: data_bn, MS-GC's input norm, the attention layers' norm
    kept = {'data_bn'}
    for name, module in model.named_modules():
        if isinstance(module, MultiScaleGraphLayer):
            kept.add(f'{name}.bn_in')
        elif isinstance(module, AttentionLayer):
            kept.add(f'{name}.bn')
    left = {name for name, m in fused.named_modules() if isinstance(m, nn.BatchNorm1d)}
    assert left == kept
    original = dict(model.named_modules())
    convs = [(n, m) for n, m in fused.named_modules() if isinstance(m, SpatialGraphConv)]
    assert convs
    for name, conv in convs:
        assert isinstance(conv.adjacency, FrozenAdjacency) and conv.backend == 'dense'
        with torch.no_grad():
            expected = original[name].adjacency()
        assert torch.allclose(conv.adjacency(), expected, rtol=0, atol=1e-6)
        assert not any(p is conv.adjacency.weight for p in fused.parameters())
    assert fused.fused and fused.backend == 'dense' and not fused.training
    with pytest.raises(RuntimeError, match='inference only'):
        fused.train()
    fused.eval()   # eval stays allowed
    # the model is untouched, and still trains
    after = model.state_dict()
    assert after.keys() == before.keys()
    assert all(torch.equal(after[k], before[k]) for k in before)
    assert not model.fused
    assert all(isinstance(m.adjacency, LearnableAdjacency) for m in model.modules()
               if isinstance(m, SpatialGraphConv))
    model.train()
    model.eval()
    return fused


@pytest.mark.parametrize('attention', [None, *ATTENTIONS])
@pytest.mark.parametrize('block_type', list(BLOCK_TYPES))
def test_fused_equals_unfused(block_type, attention):
    model = small(block_type=block_type, attention=attention)
    check_fused(model, dense_input(model, 2, 20))


@pytest.mark.parametrize('options', [
    dict(block_type='ms', layer_type='sep', expand_ratio=2, attention='stcja'),
    dict(block_type='sep', expand_ratio=2, attention='pa'),
    dict(block_type='ms', backend='sparse', adjacency='skeleton', attention='stja'),
    dict(block_type='bottle', adjacency='skeleton', act='hswish', attention='fa'),
    dict(layout='openpose', block_type='ms_bottle', backend='sparse', adjacency='full',
         attention='pa'),
], ids=['ms-sep-expand', 'sep-expand', 'sparse-skeleton', 'skeleton-hswish', 'openpose-sparse'])
def test_fused_equals_unfused_variants(options):
    model = small(**options)
    x = dense_input(model, 2, 20)
    fused = check_fused(model, x)
    # a PyG batch takes the fused (dense-backend) model too
    with torch.no_grad():
        assert relative(fused(from_dense(x, model.layout)), eager(model, x)) <= TOLERANCE


def test_fused_canonical_network_and_fuse_in_place():
    torch.manual_seed(0)
    model = randomise(MSTGCN(60))
    x = dense_input(model, 2, 20)
    reference = eager(model, x)
    check_fused(model, x)
    assert model.fuse() is model and model.fused
    with torch.no_grad():
        assert relative(model(x), reference) <= TOLERANCE
    with pytest.raises(RuntimeError, match='optimize_for_inference'):
        model.train()


# ----------------------------------------------------------------------------- export

# The canonical NTU network, then one small network per block type, each with an attention
# (every attention appears once), one of the Kinetics (OpenPose) layout; those exported in the
# background last.
NETWORKS = {
    'ntu': dict(model='mstgcn_ntu60'),
    'bottle+ca': dict(block_type='bottle', attention='ca'),
    'sep+pa': dict(block_type='sep', attention='pa', expand_ratio=2),
    'ms_bottle+ja': dict(block_type='ms_bottle', attention='ja'),
    'kinetics': dict(layout='openpose', block_type='ms', attention='stja'),
    'ms+fa': dict(block_type='ms', attention='fa', layer_type='sep'),
    'basic+stcja': dict(block_type='basic', attention='stcja'),
}
# How each network's (ONNX, torch-export) file is written: the Python API, the command line's
# main() in this process, or `python -m pyg_mstgcn.export` as a user runs it (those start in
# the background as soon as the files are first needed, on the core this process leaves free).
VIA = {'ntu': ('python -m', 'api'), 'basic+stcja': ('python -m', 'api'),
       'bottle+ca': ('api', 'main'), 'sep+pa': ('main', 'api'),
       'ms+fa': ('api', 'python -m'), 'ms_bottle+ja': ('main', 'api'),
       'kinetics': ('main', 'api')}
FORMATS = {'onnx': '.onnx', 'torch-export': '.pt2'}
STREAMS = {'basic+stcja': 'bone'}
VAL_TRANSFORMS = [{'name': 'uniform_sample', 'size': 8, 'test_mode': True}]
LABELS = {'basic+stcja': [f'label {i}' for i in range(10)]}   # --labels FILE, over the checkpoint's


class Exports:
    """Each network's checkpoint and exported files, made once when first asked for."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.made = {}
        self.running = {}

    def _once(self, key, make):
        if key not in self.made:
            self.made[key] = make()
        return self.made[key]

    def checkpoint(self, name: str) -> Path:
        return self._once(name, lambda: self._checkpoint(name))

    def _checkpoint(self, name: str) -> Path:
        options = dict(NETWORKS[name])
        torch.manual_seed(0)
        if 'model' in options:
            model = build_model(options.pop('model'))
            names = class_names('ntu60')
        else:
            model = build_model({'num_classes': 10, 'layout': 'ntu-rgb+d', **SMALL, **options})
            names = [f'action {i}' for i in range(model.num_classes)]
        randomise(model, seed=len(name))
        path = self.folder / f'{name}.pt'
        torch.save({'model_config': model.config(), 'state_dict': model.state_dict(),
                    'class_names': names,
                    'config': {'data': {'stream': STREAMS.get(name, 'joint'),
                                        'val_transforms': VAL_TRANSFORMS,
                                        'stream_first': True}}}, path)
        return path

    def model(self, name: str) -> MSTGCN:
        """The eager reference: the checkpoint's network as load_model gives it."""
        return load_model(self.checkpoint(name))[0]

    def path(self, name: str, fmt: str) -> Path:
        return self.folder / f'{name}{FORMATS[fmt]}'

    def arguments(self, name: str, fmt: str):
        args = ['--weights', str(self.checkpoint(name)), '--out', str(self.path(name, fmt)),
                '--format', fmt, '--batch', str(BATCH), '--frames', str(FRAMES)]
        if name in LABELS:
            labels = self.folder / f'{name}.labels.txt'
            labels.write_text(''.join(f'{label}\n' for label in LABELS[name]))
            args += ['--labels', str(labels)]
        return args

    def start(self) -> None:
        """Starts every `python -m` export in the background, one thread each."""
        for name, vias in VIA.items():
            for fmt, via in zip(FORMATS, vias):
                if via == 'python -m' and (name, fmt) not in self.running:
                    self.running[name, fmt] = subprocess.Popen(
                        [sys.executable, '-m', 'pyg_mstgcn.export',
                         *self.arguments(name, fmt)], cwd=ROOT, stdout=subprocess.PIPE,
                        stderr=subprocess.PIPE, text=True,
                        env={**os.environ, 'OMP_NUM_THREADS': '1'})

    def stop(self) -> None:
        for proc in self.running.values():
            if proc.poll() is None:
                proc.kill()
            proc.communicate()

    def file(self, name: str, fmt: str) -> Path:
        return self._once((name, fmt), lambda: self._export(name, fmt))

    def _export(self, name: str, fmt: str) -> Path:
        path = self.path(name, fmt)
        via = VIA[name][list(FORMATS).index(fmt)]
        if via == 'api':
            checkpoint = self.checkpoint(name)
            model, weights = load_model(checkpoint)
            info = deploy_info(model, FRAMES, weights.config, weights.class_names,
                               str(checkpoint))
            export = export_onnx if fmt == 'onnx' else export_program
            assert export(model, path, info, BATCH, FRAMES) <= TOLERANCE
        elif via == 'main':
            assert export_main(self.arguments(name, fmt)) == 0
        else:
            self.start()
            stdout, stderr = self.running[name, fmt].communicate(timeout=600)
            assert self.running[name, fmt].returncode == 0, stderr
            assert f'written {path}' in stdout and 'equal to the eager model' in stdout, stdout
        return path


@pytest.fixture(scope='module')
def exports(tmp_path_factory):
    exports = Exports(tmp_path_factory.mktemp('export'))
    exports.start()
    yield exports
    exports.stop()


def check_runs(exports: Exports, name: str, shapes=OTHER_SHAPES) -> None:
    """Both files of :obj:`name`, through our runtimes and through the bare ONNX Runtime and
    torch.export APIs, give the eager logits on batch sizes and frame counts other than the
    exported ones."""
    model = exports.model(name)
    onnx_file, program_file = exports.file(name, 'onnx'), exports.file(name, 'torch-export')
    session = onnxruntime.InferenceSession(str(onnx_file), providers=['CPUExecutionProvider'])
    [inp], [out] = session.get_inputs(), session.get_outputs()
    V, M = model.layout.num_joints, model.num_person
    assert (inp.name, out.name) == ('x', 'logits')
    assert inp.shape[1:2] + inp.shape[3:] == [3, V, M] and isinstance(inp.shape[0], str) and \
        isinstance(inp.shape[2], str), inp.shape   # N and T dynamic
    program = torch.export.load(str(program_file)).module()
    runs = {'OnnxModel': OnnxModel(onnx_file),
            'InferenceSession': lambda x: session.run(None, {'x': x.numpy()})[0],
            'ProgramModel': ProgramModel(program_file),
            'torch.export.load': lambda x: program(x).detach(),
            'load_deployed(onnx)': load_deployed(onnx_file),
            'load_deployed(pt2)': load_deployed(program_file)}
    for seed, (n, t) in enumerate(shapes):
        x = dense_input(model, n, t, seed=seed + 10)
        expected = eager(model, x)
        for runtime, run in runs.items():
            got = run(x)
            assert tuple(got.shape) == (n, model.num_classes), (runtime, got.shape)
            difference = relative(got, expected)
            assert difference <= TOLERANCE, (runtime, n, t, difference)


@pytest.mark.slow
@pytest.mark.parametrize('name', [name for name in NETWORKS if name != 'ntu'])
def test_small_networks_exported_run_as_eager(exports, name):
    check_runs(exports, name)


def test_canonical_network_exported_runs_as_eager(exports):
    check_runs(exports, 'ntu')
    # any frame count for ONNX, down to one frame (two stride-2 blocks)
    model, deployed = exports.model('ntu'), OnnxModel(exports.file('ntu', 'onnx'))
    for t in (1, 2, 3):
        x = dense_input(model, 2, t, seed=t)
        assert relative(deployed(x), eager(model, x)) <= TOLERANCE


STANDALONE = """
import sys
for name in ('pyg_mstgcn', 'torch_geometric'):   # any import of them now fails
    sys.modules[name] = None
import numpy as np, onnxruntime, torch
onnx_file, program_file, x_file = sys.argv[1:4]
x = np.load(x_file)
session = onnxruntime.InferenceSession(onnx_file, providers=['CPUExecutionProvider'])
np.save(x_file + '.onnx.npy', session.run(['logits'], {'x': x})[0])
module = torch.export.load(program_file).module()
np.save(x_file + '.program.npy', module(torch.from_numpy(x)).detach().numpy())
"""


@pytest.mark.parametrize('name', ['ntu', pytest.param('kinetics', marks=pytest.mark.slow)])
def test_exported_files_run_without_the_library(exports, name, tmp_path):
    model = exports.model(name)
    x = dense_input(model, 3, 21, seed=5)
    np.save(tmp_path / 'x.npy', x.numpy())
    proc = subprocess.run([sys.executable, '-c', STANDALONE, str(exports.file(name, 'onnx')),
                           str(exports.file(name, 'torch-export')), str(tmp_path / 'x.npy')],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    expected = eager(model, x)
    for runtime in ('onnx', 'program'):
        got = np.load(tmp_path / f'x.npy.{runtime}.npy')
        assert relative(got, expected) <= TOLERANCE, runtime


@pytest.mark.slow
def test_metadata_read_back(exports):
    name = 'basic+stcja'   # stream bone, --labels FILE over the checkpoint's names
    checkpoint = exports.checkpoint(name)
    model = exports.model(name)
    onnx_file, program_file = exports.file(name, 'onnx'), exports.file(name, 'torch-export')
    props = {p.key: p.value for p in onnx.load(str(onnx_file)).metadata_props}
    expected = {'layout': 'ntu-rgb+d', 'num_joints': 25, 'num_person': 2, 'in_channels': 3,
                'num_classes': 10, 'frames': FRAMES, 'stream': 'bone', 'stream_first': True,
                'transforms': VAL_TRANSFORMS, 'source': str(checkpoint)}
    for key, value in expected.items():
        assert (props[key] if isinstance(value, str) else json.loads(props[key])) == value, key
    assert json.loads(props['class_names']) == LABELS[name]
    assert props['version'] == __import__('pyg_mstgcn').__version__
    # the same through the runtimes; the program keeps the checkpoint's class names
    for deployed, names in ((OnnxModel(onnx_file), LABELS[name]),
                            (ProgramModel(program_file), [f'action {i}' for i in range(10)])):
        info = deployed.info
        for key, value in expected.items():
            assert getattr(info, key) == value, key
        assert info.class_names == names
        assert (deployed.layout.name, deployed.num_classes, deployed.num_person,
                deployed.in_channels) == ('ntu-rgb+d', 10, 2, 3)
        # model_config rebuilds the architecture; the checkpoint's weights load into it
        rebuilt = build_model(info.model_config)
        assert {k: v.shape for k, v in rebuilt.state_dict().items()} == \
            {k: v.shape for k, v in model.state_dict().items()}
        rebuilt.load_state_dict(model.state_dict())
        x = dense_input(model, 2, 10)
        assert relative(deployed(x), eager(rebuilt.eval(), x)) <= TOLERANCE
    # another layout and the checkpoint's own names through the command line's main()
    info = OnnxModel(exports.file('kinetics', 'onnx')).info
    assert (info.layout, info.num_joints, info.stream) == ('openpose', 18, 'joint')
    assert info.class_names == [f'action {i}' for i in range(10)]
    assert info.model_config['attention'] == 'stja' and info.model_config['layout'] == 'openpose'


# ----------------------------------------------------------------------------- bad input

def test_export_command_line_bad_input(exports, tmp_path, capsys):
    """Each refused with one line and exit status 2, nothing written: one as a user runs it,
    the rest through the same main() in this process."""
    def main_run(*args):
        try:
            status = export_main([str(a) for a in args])
        except SystemExit as e:   # argparse
            status = e.code
        captured = capsys.readouterr()
        return subprocess.CompletedProcess([], status, captured.out, captured.err)

    checkpoint = exports.checkpoint('sep+pa')
    out = tmp_path / 'out.onnx'
    text = tmp_path / 'notes.txt'
    text.write_text('hello')
    proc = subprocess.run([sys.executable, '-m', 'pyg_mstgcn.export', '--weights', str(text),
                           '--out', str(out)], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    refused(proc, 'notes.txt', 'not a checkpoint')
    np.save(tmp_path / 'x.npy', np.zeros(3))
    refused(main_run('--weights', tmp_path / 'x.npy', '--out', out), 'x.npy',
            'not a checkpoint')
    refused(main_run('--weights', tmp_path / 'missing.pt', '--out', out), 'missing.pt',
            'does not exist')
    bare = tmp_path / 'bare.pt'
    torch.save(exports.model('sep+pa').state_dict(), bare)
    refused(main_run('--weights', bare, '--out', out), 'bare.pt', 'without the model '
            'configuration')
    refused(main_run('--weights', checkpoint, '--out', out, '--batch', '0'), '--batch', '0')
    refused(main_run('--weights', checkpoint, '--out', out, '--frames', '-3'), '--frames')
    refused(main_run('--weights', checkpoint, '--out', out, '--opset', '5'), '--opset',
            'between 17 and 23', '5')
    refused(main_run('--weights', checkpoint, '--out', out, '--format', 'tflite'), 'tflite')
    refused(main_run('--weights', checkpoint, '--out', tmp_path / 'short.pt2', '--frames', '1'),
            '--frames must be at least', 'torch.export')
    labels = tmp_path / 'labels.txt'
    labels.write_text('a\nb\nc\n')
    refused(main_run('--weights', checkpoint, '--out', out, '--labels', labels),
            '3 class names for 10 classes')
    assert not out.exists()


def bare_onnx(path: Path) -> Path:
    """A valid ONNX model without our metadata: one Identity node."""
    helper = onnx.helper
    shape = ['N', 3, 'T', 25, 2]
    graph = helper.make_graph([helper.make_node('Identity', ['x'], ['logits'])], 'bare',
                              [helper.make_tensor_value_info('x', onnx.TensorProto.FLOAT, shape)],
                              [helper.make_tensor_value_info('logits', onnx.TensorProto.FLOAT,
                                                             shape)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid('', 18)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def test_runtimes_refuse_files_that_are_not_exported_models(tmp_path):
    text = tmp_path / 'notes.onnx'
    text.write_text('hello')
    with pytest.raises(InputError) as e:
        OnnxModel(text)
    one_line(e, 'notes.onnx', 'not an ONNX model')
    with pytest.raises(InputError) as e:
        OnnxModel(tmp_path / 'missing.onnx')
    one_line(e, 'missing.onnx', 'no such file')
    with pytest.raises(InputError) as e:
        OnnxModel(bare_onnx(tmp_path / 'bare.onnx'))
    one_line(e, 'bare.onnx', 'no pyg_mstgcn metadata', 'python -m pyg_mstgcn.export')
    with pytest.raises(InputError) as e:
        ProgramModel(tmp_path / 'bare.onnx')
    one_line(e, 'bare.onnx', 'not a torch.export program')
    with pytest.raises(InputError) as e:
        load_deployed(tmp_path / 'missing.pt2')
    one_line(e, 'missing.pt2', 'no such file')
    # a program of another module: no metadata
    program = torch.export.export(nn.Linear(3, 2), (torch.zeros(2, 3), ))
    torch.export.save(program, str(tmp_path / 'linear.pt2'))
    with pytest.raises(InputError) as e:
        ProgramModel(tmp_path / 'linear.pt2')
    one_line(e, 'linear.pt2', 'no pyg_mstgcn metadata', 'python -m pyg_mstgcn.export')


def test_exported_models_refuse_inputs_of_the_wrong_shape(exports):
    onnx_model = OnnxModel(exports.file('ntu', 'onnx'))
    program = ProgramModel(exports.file('ntu', 'torch-export'))
    for deployed in (onnx_model, program):
        for shape in ((2, 3, 20, 18, 2),    # joints of another layout
                      (2, 2, 20, 25, 2),    # channels
                      (2, 3, 20, 25, 1),    # persons
                      (2, 3, 20, 25),       # 4-D
                      (0, 3, 20, 25, 2)):   # empty batch
            with pytest.raises(InputError) as e:
                deployed(torch.zeros(shape))
            one_line(e, '[N, 3, T, 25, 2]', str(list(shape)))
    # the canonical network halves the frames twice: its program takes at least 5 frames,
    # as its metadata say, and refuses fewer before its guards would
    assert program.info.min_frames == 5 and onnx_model.info.min_frames == 1
    with pytest.raises(InputError) as e:
        program(torch.zeros(1, 3, 4, 25, 2))
    one_line(e, 'ntu.pt2', 'T at least 5', '[1, 3, 4, 25, 2]')
    assert program(torch.zeros(1, 3, 5, 25, 2)).shape == (1, 60)


# ----------------------------------------------------------------------------- predict

def predict(*args):
    return subprocess.run([sys.executable, '-m', 'pyg_mstgcn.predict', *map(str, args)],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)


@pytest.mark.slow
def test_predict_takes_exported_files_as_its_checkpoint(exports, tmp_path):
    """The exported files, and the checkpoint under --runtime onnx, predict the checkpoint's
    logits."""
    sample = shared_path('data', 'ntu', 'S001C001P001R001A011.skeleton')
    checkpoint = exports.checkpoint('sep+pa')
    results = {}
    for run, args in (('torch', [checkpoint]), ('onnx', [exports.file('sep+pa', 'onnx')]),
                      ('pt2', [exports.file('sep+pa', 'torch-export')]),
                      ('--runtime onnx', [checkpoint, '--runtime', 'onnx'])):
        out = tmp_path / 'predictions.json'
        proc = predict('--weights', *args, sample, '--out', out)
        assert proc.returncode == 0, (run, proc.stderr)
        [results[run]] = json.loads(out.read_text())
    for run, record in results.items():
        assert relative(record['logits'], results['torch']['logits']) <= TOLERANCE, run
        assert record['top'][0]['name'] == results['torch']['top'][0]['name'], run


@pytest.mark.slow
def test_predict_refuses_an_onnx_file_of_another_layout(exports):
    sample = shared_path('data', 'ntu', 'S001C001P001R001A011.skeleton')
    kinetics = exports.file('kinetics', 'onnx')
    # fused with a checkpoint of the NTU layout
    refused(predict('--weights', kinetics, exports.checkpoint('sep+pa'), sample), 'openpose',
            'ntu-rgb+d')
    # an NTU raw file for a model of the Kinetics layout
    refused(predict('--weights', kinetics, sample), 'openpose', 'ntu-rgb+d')
    # an ONNX file needs ONNX Runtime
    refused(predict('--weights', kinetics, '--runtime', 'torch', sample), 'kinetics.onnx',
            '--runtime onnx')
