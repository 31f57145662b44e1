"""Every model configuration in configs/ builds; where a file states its parameter count (the
used_params of the original, ../shared/reference/param_counts.tsv), the model has it."""
import re
from pathlib import Path

import pytest
import yaml

from pyg_mstgcn.models import build_model

CONFIGS = sorted((Path(__file__).resolve().parents[1] / 'configs').rglob('*.yaml'))


@pytest.mark.parametrize('path', [p for p in CONFIGS if 'model' in yaml.safe_load(p.read_text())],
                         ids=lambda p: p.name)
def test_model_config_builds_with_stated_size(path):
    text = path.read_text()
    model = build_model(yaml.safe_load(text)['model'])
    stated = re.search(r'([\d,]{4,}) parameters', text)
    if path.parent.name == 'models':
        assert stated is not None, f'{path.name} states no parameter count'
    if stated is not None:
        assert sum(p.numel() for p in model.parameters()) == int(stated.group(1).replace(',', ''))
