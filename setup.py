"""Build script. Metadata, dependencies, extras and console scripts are in setup.cfg; this file
maps the repository's ``configs/`` folder into the package as ``pyg_mstgcn/configs`` (the
training recipes and model configurations that :mod:`pyg_mstgcn.config_files` finds by name),
so an installed package carries them while a checkout keeps them at the top level, and names
the package data (missing-skeleton lists, class names)."""
from setuptools import find_namespace_packages, find_packages, setup

CONFIGS = 'pyg_mstgcn.configs'

setup(
    packages=find_packages(include=['pyg_mstgcn', 'pyg_mstgcn.*'])
    + [CONFIGS] + [f'{CONFIGS}.{name}' for name in find_namespace_packages('configs')],
    package_dir={CONFIGS: 'configs'},
    package_data={CONFIGS: ['*.yaml', '**/*.yaml'], 'pyg_mstgcn.preprocess': ['missing/*.txt'],
                  'pyg_mstgcn.data': ['names/*.txt']},
)
