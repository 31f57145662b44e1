"""The trainer's model: built from the configuration (or a checkpoint's), and checked against
the data before any work, with errors that name where the mismatch comes from."""
from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, List, Mapping, Optional

import torch

from pyg_mstgcn.config_files import ConfigError, source_of
from pyg_mstgcn.data import SkeletonDataset
from pyg_mstgcn.data.classes import class_names
from pyg_mstgcn.models import MSTGCN, build_model

if TYPE_CHECKING:
    from pyg_mstgcn.train.finetune import Start


def build_checked_model(options: Mapping[str, Any], from_weights: Optional[str],
                        config: Mapping[str, Any]) -> MSTGCN:
    """The model of :obj:`options`; an invalid option is a :class:`ConfigError` naming the
    option and where it was set (the ``model`` section, or :obj:`from_weights`, the
    checkpoint the options come from)."""
    try:
        return build_model(dict(options))
    except (ValueError, TypeError, KeyError) as e:
        message = re.sub(r'^(model|MSTGCN): ', '', str(e).strip('"'))
        if from_weights is not None:
            raise ConfigError(f'{from_weights}: {message}') from None
        sources = config.get('_sources', {})
        option = re.match(r'^(\w+) must', message)
        if option:
            where = source_of(f'model.{option.group(1)}', sources)
            raise ConfigError(f'model.{message} (set in {where})') from None
        # the source of an option the message names, else of the section
        named = [k for k in sources if k.startswith('model.') and f"'{k[6:]}'" in message]
        where = source_of(named[0] if named else 'model', sources)
        raise ConfigError(f'model section (set in {where}): {message}') from None


def check_data_fits(model: torch.nn.Module, dataset: SkeletonDataset,
                    config: Mapping[str, Any], weights: Optional[str] = None) -> None:
    """Raises a :class:`ConfigError` unless the model takes the data: its joints, values per
    joint, persons and classes. :obj:`weights` names the checkpoint whose configuration the
    model comes from (else it is the configuration's ``model`` section)."""
    data = config['data']
    source = (f'the weights {weights} (their model_config)' if weights else
              f"the model section (set in {source_of('model', config.get('_sources', {}))})")
    V = model.layout.num_joints
    if dataset.layout.num_joints != V:
        raise ConfigError(f"data.layout '{dataset.layout.name}' has "
                          f"{dataset.layout.num_joints} joints but {source} has layout "
                          f"'{model.layout.name}' with {V}")
    if dataset.num_channels != model.in_channels:
        raise ConfigError(f"the data of data.root {data['root']} has {dataset.num_channels} "
                          f"values per joint (axis C of [N, C, T, V, M]) but {source} takes "
                          f"in_channels={model.in_channels} (are the data's axes in another "
                          f"order?)")
    if dataset.num_person != model.num_person:
        raise ConfigError(f"the data of data.root {data['root']} has {dataset.num_person} "
                          f"persons per sample (axis M of [N, C, T, V, M]) but {source} takes "
                          f"num_person={model.num_person}")
    if dataset.num_classes > model.num_classes:
        fix = ('evaluate them on data of their classes' if weights else
               f'set model.num_classes={dataset.num_classes}')
        raise ConfigError(f"the labels of data.root {data['root']} go up to "
                          f"{dataset.num_classes - 1} ({dataset.num_classes} classes) but "
                          f"{source} has num_classes={model.num_classes}; {fix}")


def run_class_names(config: Mapping[str, Any], dataset: SkeletonDataset, model: MSTGCN,
                    start: Optional[Start] = None) -> Optional[List[str]]:
    """The class names a run records: ``data.class_names``, else the data folder's, else those
    of the checkpoint the weights start from (:obj:`start`: ``train.init_weights`` when its
    classifier was kept, ``last.pt`` on ``--resume``), else :obj:`None`; a list whose length
    is not the model's class count is a :class:`ConfigError`."""
    given = config['data']['class_names']
    if given is not None:
        names, what = class_names(given), f'data.class_names {given}'
    elif dataset.class_names is not None:
        names = dataset.class_names
        what = f"the class_names.txt of data.root {config['data']['root']}"
    elif start is not None and not start.replaced:
        names, what = start.class_names, f'the class names of {start.path}'
    else:
        names = None
    if names is not None and len(names) != model.num_classes:
        raise ConfigError(f'{what} has {len(names)} names but the model has '
                          f'num_classes={model.num_classes}')
    return names
