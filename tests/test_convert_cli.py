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
