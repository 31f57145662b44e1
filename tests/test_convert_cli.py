"""`python -m pyg_mstgcn.convert`, run as a user would, on a checkpoint of the original
network (written by the independent reference with the original's key names)."""
import subprocess
import sys
from pathlib import Path

import torch
import yaml

from original_reference import OriginalMSTGCN, randomize_
from pyg_mstgcn.data import from_dense
from pyg_mstgcn.models import build_model

ROOT = Path(__file__).resolve().parents[1]
MODEL_ARGS = dict(num_class=5, num_point=18, num_person=2, graph='graph.kinetics.Graph',
                  graph_args={'labeling_mode': 'spatial'},
                  block_args=[[3, 8, False, 1], [8, 8, True, 1], [8, 16, True, 2]],
                  kernel_size=3, block_type='ms', layer_type='basic', atten='stcja',
                  s_scale=4, t_scale=4, reduct_ratio=2, expand_ratio=0, act='relu', bias=True)


def test_convert_cli_writes_a_loadable_checkpoint(tmp_path):
    reference = randomize_(OriginalMSTGCN(**MODEL_ARGS), seed=5).eval()
    checkpoint = tmp_path / 'original.pt'
    torch.save({f'module.{k}': v for k, v in reference.state_dict().items()}, checkpoint)
    config = tmp_path / 'original.yaml'
    config.write_text(yaml.safe_dump({'model_args': MODEL_ARGS, 'base_lr': 0.1}))
    out = tmp_path / 'out' / 'converted.pt'
    result = subprocess.run([sys.executable, '-m', 'pyg_mstgcn.convert', '--config',
                             str(config), '--checkpoint', str(checkpoint), '--out', str(out),
                             '--backend', 'sparse'], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert 'converted' in result.stdout and out.is_file()

    saved = torch.load(out, weights_only=True)
    assert saved['model_config']['backend'] == 'sparse'
    model = build_model(saved['model_config'])
    model.load_state_dict(saved['state_dict'])
    x = torch.randn(2, 3, 8, 18, 2)
    with torch.no_grad():
        torch.testing.assert_close(model.eval()(from_dense(x, 'openpose')), reference(x)[1],
                                   rtol=1e-4, atol=1e-4)


def test_convert_cli_reports_a_missing_checkpoint(tmp_path):
    config = tmp_path / 'original.yaml'
    config.write_text(yaml.safe_dump({'model_args': MODEL_ARGS}))
    result = subprocess.run([sys.executable, '-m', 'pyg_mstgcn.convert', '--config',
                             str(config), '--checkpoint', str(tmp_path / 'nope.pt'), '--out',
                             str(tmp_path / 'o.pt')], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode != 0
    assert 'nope.pt' in result.stderr and 'does not exist' in result.stderr
    assert not (tmp_path / 'o.pt').exists()


def test_convert_records_class_names(tmp_path):
    """Names recognised from the original config (NTU-60 here), or given with --labels; the
    converted checkpoint predicts with them."""
    args = dict(MODEL_ARGS, num_class=60, num_point=25, graph='graph.ntu_rgb_d.Graph',
                atten='None')
    reference = randomize_(OriginalMSTGCN(**args), seed=1)
    torch.save(reference.state_dict(), tmp_path / 'original.pt')
    (tmp_path / 'original.yaml').write_text(yaml.safe_dump({'model_args': args}))

    def convert(*extra):
        return subprocess.run([sys.executable, '-m', 'pyg_mstgcn.convert', '--config',
                               str(tmp_path / 'original.yaml'), '--checkpoint',
                               str(tmp_path / 'original.pt'), '--out', str(tmp_path / 'c.pt'),
                               *extra], cwd=ROOT, capture_output=True, text=True)

    assert convert().returncode == 0
    names = torch.load(tmp_path / 'c.pt', weights_only=True)['class_names']
    assert len(names) == 60 and names[0] == 'drink water'
    (tmp_path / 'names.txt').write_text(''.join(f'class {i}\n' for i in range(60)))
    assert convert('--labels', str(tmp_path / 'names.txt')).returncode == 0
    assert torch.load(tmp_path / 'c.pt', weights_only=True)['class_names'][59] == 'class 59'
    result = convert('--labels', 'kinetics400')
    assert result.returncode == 2 and '400 names for 60 classes' in result.stderr

    from pyg_mstgcn import Recognizer
    recognizer = Recognizer.from_checkpoint(tmp_path / 'c.pt')   # the --labels names
    x = torch.randn(3, 20, 25, 2).numpy()
    assert recognizer.predict(x)[0].top[0]['name'].startswith('class ')
