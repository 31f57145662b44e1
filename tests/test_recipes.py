"""Shipped configurations: every recipe resolves by name and by path, one network is defined
once (recipes name their model and state what differs), the named model registry, and the
help generated from the option table."""
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from pyg_mstgcn.config_files import (ConfigError, config_dir, config_names, load_recipe,
                                     resolve_model_section)
from pyg_mstgcn.models import MSTGCN, build_model, list_models, model_config
from pyg_mstgcn.train.config import OPTIONS, help_text, resolve

ROOT = Path(__file__).resolve().parents[1]
RECIPES = config_names('train')


def test_the_shipped_configurations_are_the_repository_folder():
    assert config_dir() == ROOT / 'configs'   # a checkout (editable install) reads configs/
    assert len(RECIPES) == 42 and 'ntu60_xsub_joint' in RECIPES and '_base_' not in RECIPES
    assert {f'nw_ucla_{stream}' for stream in ('joint', 'bone', 'joint_motion',
                                               'bone_motion')} <= set(RECIPES)
    assert list_models() == ['amstgcn_kinetics', 'amstgcn_ntu60', 'mstgcn_ntu120_2d',
                             'mstgcn_ntu60', 'mstgcn_ntu60_2d', 'mstgcn_nw_ucla']


@pytest.mark.parametrize('name', RECIPES)
def test_every_recipe_resolves_by_name_and_by_path(name):
    by_name = resolve(name, ['data.root=somewhere'])
    by_path = resolve(str(ROOT / 'configs' / 'train' / f'{name}.yaml'), ['data.root=somewhere'])
    strip = lambda c: {k: v for k, v in c.items() if not k.startswith('_')}  # noqa: E731
    assert strip(by_name) == strip(by_path)
    assert by_name['model']['num_classes'] >= 8


def test_one_network_defined_once():
    """The recipes repeat no model section: each names a model configuration (or inherits
    it), and no recipe file holds block rows."""
    for path in (ROOT / 'configs' / 'train').rglob('*.yaml'):
        content = yaml.safe_load(path.read_text())
        assert 'blocks' not in path.read_text() or path.stem in ('synthetic', 'tiny'), path
        model = content.get('model')
        assert model is None or isinstance(model, str) or '_base_' in model \
            or path.stem in ('synthetic', 'tiny'), path


def test_stream_recipes_differ_from_their_joint_recipe_in_the_stream_only():
    joint, _ = load_recipe('ntu120_xsub_joint')
    for stream in ('bone', 'joint_motion', 'bone_motion'):
        config, sources = load_recipe(f'ntu120_xsub_{stream}')
        assert config['data']['stream'] == stream
        assert config['output']['name'] == f'ntu120_xsub_{stream}'
        assert {**config, 'data': {**config['data'], 'stream': 'joint'},
                'output': {**config['output'], 'name': 'ntu120_xsub_joint'}} == joint
        assert sources['data.stream'].endswith(f'ntu120_xsub_{stream}.yaml')
    assert joint['model'] == {'num_classes': 120, 'layout': 'ntu-rgb+d'}
    assert joint['optim']['lr'] == 0.15 and joint['schedule']['steps'] == [50, 70, 90]


def test_model_section_names_replace_and_options_update(tmp_path):
    def model(*overrides):
        options = resolve(str(recipe), ['data.root=x', *overrides])['model']
        return {k: options[k] for k in ('num_classes', 'layout', 'attention', 'act')}

    recipe = tmp_path / 'r.yaml'
    recipe.write_text('_base_: kinetics_joint\nmodel: {num_classes: 10}\n')
    assert model() == {'num_classes': 10, 'layout': 'openpose', 'attention': 'stcja',
                       'act': 'relu'}
    assert model('model=mstgcn_ntu60') == {'num_classes': 60, 'layout': 'ntu-rgb+d',
                                           'attention': None, 'act': 'relu'}
    assert model('model={_base_: amstgcn_ntu60, act: swish}') == {
        'num_classes': 60, 'layout': 'ntu-rgb+d', 'attention': 'stcja', 'act': 'swish'}


def test_base_loops_and_unknown_names_are_errors(tmp_path):
    (tmp_path / 'a.yaml').write_text('_base_: b\n')
    (tmp_path / 'b.yaml').write_text('_base_: a\n')
    with pytest.raises(ConfigError, match='loops back'):
        load_recipe(tmp_path / 'a.yaml')
    with pytest.raises(ConfigError, match="no training recipe 'ntu60_xsub_jiont'.*did you mean "
                                          "'ntu60_xsub_joint'"):
        resolve('ntu60_xsub_jiont')
    with pytest.raises(ConfigError, match="no model configuration 'mstgcn'"):
        resolve_model_section({'_base_': 'mstgcn'}, 'here')


def test_named_model_registry():
    model = build_model('mstgcn_ntu60', num_classes=120)
    assert isinstance(model, MSTGCN) and model.num_classes == 120
    assert sum(p.numel() for p in model.parameters()) == 2_918_291
    assert model_config('amstgcn_kinetics') == {'num_classes': 400, 'layout': 'openpose',
                                                'attention': 'stcja'}
    assert sum(p.numel() for p in build_model('amstgcn_ntu60').parameters()) == 4_487_183
    assert build_model({'_base_': 'mstgcn_ntu60', 'num_classes': 5}).num_classes == 5
    with pytest.raises(ValueError, match='no model configuration'):
        build_model('resnet50')


def test_help_is_generated_from_the_option_table():
    text = help_text()
    for section, options in OPTIONS.items():
        for key, option in options.items():
            assert f'{section}.{key} = ' in text and option.help in text
    proc = subprocess.run([sys.executable, '-m', 'pyg_mstgcn.train', '--help'],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and 'optim.lr = 0.1: ' in proc.stdout
    assert 'a positive number' in proc.stdout and '--list-configs' in proc.stdout


def test_list_configs_names_every_recipe_and_model():
    proc = subprocess.run([sys.executable, '-m', 'pyg_mstgcn.train', '--list-configs'],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    for name in RECIPES + list_models():
        assert f'  {name} ' in proc.stdout
    assert 'AMST-GCN on Kinetics-Skeleton, joint stream' in proc.stdout


def test_print_config_of_a_named_recipe():
    proc = subprocess.run([sys.executable, '-m', 'pyg_mstgcn.train', '-c', 'ntu60_xsub_joint',
                           '--print-config'], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    printed = yaml.safe_load(proc.stdout)
    # every model option, the defaults filled in: the run's config.yaml rebuilds the network
    assert printed['model'] == build_model('mstgcn_ntu60').config()
    assert printed['model']['blocks'][-1] == [448, 448, True, 1]
    assert printed['data']['root'] == 'data/ntu60/xsub' and printed['optim']['lr'] == 0.15
