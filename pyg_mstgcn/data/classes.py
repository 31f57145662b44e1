"""Class names: the lists shipped with the package (NTU RGB+D 60/120, Kinetics-400, NW-UCLA)
and any file of names, one per line, resolved the same way."""
from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Tuple, Union

from pyg_mstgcn.checks import suggest
from pyg_mstgcn.io import read_class_names

_FOLDER = Path(__file__).resolve().parent / 'names'

#: Shipped list name -> (file in ``pyg_mstgcn/data/names``, how many of its lines). NTU-60's
#: classes are the first 60 of NTU-120 (line i is action A{i}, label i - 1). NW-UCLA's 10 are
#: its actions a01-a06, a08, a09, a11, a12 in that order (the dataset has no a07, a10).
CLASS_LISTS: Dict[str, Tuple[str, int]] = {
    'ntu60': ('ntu120.txt', 60),
    'ntu120': ('ntu120.txt', 120),
    'kinetics400': ('kinetics400.txt', 400),
    'nw_ucla': ('nw_ucla.txt', 10),
}

#: The help of the command lines' ``--labels``: names that replace a checkpoint's.
LABELS_HELP = (f"class names, one per line (or {', '.join(CLASS_LISTS)}), over the "
               f"checkpoint's")


def class_names(name: Union[str, Path]) -> List[str]:
    """The class names of a shipped list (:data:`CLASS_LISTS`: ``'ntu60'``, ``'ntu120'``,
    ``'kinetics400'``, ``'nw_ucla'``) or of a text file (one name per line, line ``i + 1``
    naming label ``i``). An unknown name that is not a file is a :class:`ValueError` naming
    the lists."""
    if str(name) in CLASS_LISTS:
        file, count = CLASS_LISTS[str(name)]
        return read_class_names(_FOLDER / file)[:count]
    path = Path(name)
    if not path.is_file():
        raise ValueError(f"class names '{name}': not a file (one name per line), nor a shipped "
                         f"list{suggest(str(name), CLASS_LISTS)}; shipped: "
                         f"{', '.join(CLASS_LISTS)}")
    names = read_class_names(path)
    if not names:
        raise ValueError(f'class names file {path} is empty')
    return names


__all__ = ['CLASS_LISTS', 'LABELS_HELP', 'class_names']
