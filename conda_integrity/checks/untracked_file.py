"""untracked-file (with ``--untracked``): a file no record owns.

Places where unowned files are normal are left out: ``conda-meta/``,
``__pycache__`` folders and bytecode Python writes, conda's own files in a base
environment (``.condarc``, ``condabin/``, ``conda-bld/``), and ``pkgs/`` and
``envs/``, which the walk does not enter.
"""

from __future__ import annotations

from collections.abc import Iterator

from ..findings import INFO, Finding
from ..observe.prefix_state import PrefixState
from .base import ENVIRONMENT, Check

NORMAL_TOP_LEVEL = frozenset({"conda-meta", ".condarc", ".nonadmin", "condabin", "conda-bld"})


def _normal(path: str) -> bool:
    top = path.split("/", 1)[0]
    return top in NORMAL_TOP_LEVEL or "__pycache__/" in path or path.endswith((".pyc", ".pyo"))


def check(state: PrefixState) -> Iterator[Finding]:
    if not state.untracked or state.tree is None:
        return
    owned = set(state.owners).union(*(record.paths for record in state.unchanged))
    for path in state.tree.files:
        if path not in owned and not _normal(path):
            yield CHECK.finding("no package owns this file", path=path)


CHECK = Check(code="untracked-file", severity=INFO, scope=ENVIRONMENT, order=100, run=check)
