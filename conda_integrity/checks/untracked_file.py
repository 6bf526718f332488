"""untracked-file (with ``--untracked``): a file no record owns.

Places where unowned files are normal are left out: ``conda-meta/``,
``__pycache__`` folders and bytecode Python writes, conda's own files in a base
environment (``.condarc``, ``condabin/``, ``conda-bld/``), ``pkgs/`` and
``envs/``, which the walk does not enter, and the files other tools that manage
environments put there on purpose (:data:`TOOL_FILES`).

rattler (pixi) moves a file it cannot delete (on Windows, one in use) into
``.trash/`` as ``<name>.<uuid>.trash`` and empties that folder after its next
transaction (``rattler/src/install/unlink.rs``): a ``.trash/`` that holds files
is named for what it is, once, instead of each file as one no package owns.
"""

from __future__ import annotations

from collections.abc import Iterator

from ..findings import INFO, Finding
from ..observe.prefix_state import PrefixState
from .base import ENVIRONMENT, Check

NORMAL_TOP_LEVEL = frozenset({"conda-meta", ".condarc", ".nonadmin", "condabin", "conda-bld"})
#: files and folders at the top of an environment that a tool writes on purpose, and
#: what they are (pixi's markers ``conda-meta/pixi``, ``conda-meta/pixi_env_prefix``
#: and ``conda-meta/.pixi-environment-fingerprint`` are in ``conda-meta/``, which
#: holds no records but ``*.json`` files)
TOOL_FILES = {
    "CACHEDIR.TAG": "rattler's (pixi's) tag that keeps backup tools out of the environment",
    ".trash": "rattler's (pixi's) folder for files it could not delete yet; it empties it",
}
RATTLER_TRASH = ".trash"


def _normal(path: str) -> bool:
    top = path.split("/", 1)[0]
    return (
        top in NORMAL_TOP_LEVEL
        or top in TOOL_FILES
        or "__pycache__/" in path
        or path.endswith((".pyc", ".pyo"))
    )


def check(state: PrefixState) -> Iterator[Finding]:
    if not state.untracked or state.tree is None:
        return
    owned = set(state.owners).union(*(record.paths for record in state.unchanged))
    trash = 0
    for path in state.tree.files:
        if path.startswith(RATTLER_TRASH + "/"):
            trash += 1
        elif path not in owned and not _normal(path):
            yield CHECK.finding("no package owns this file", path=path)
    if trash:
        files = "1 file" if trash == 1 else f"{trash} files"
        yield CHECK.finding(
            f"{TOOL_FILES[RATTLER_TRASH]} after its next install or update ({files})",
            path=RATTLER_TRASH,
        )


CHECK = Check(code="untracked-file", severity=INFO, scope=ENVIRONMENT, order=100, run=check)
