"""One walk of the prefix: its real folders, the debris of aborted conda runs,
and (on request) every path, for the untracked-file check.

Symlinks are never followed, so a link to a folder outside the prefix (or a
link loop) is seen as a link, not entered. Like conda's own ``delete_trash``,
the walk leaves out the base environment's ``pkgs`` and ``envs`` folders.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

from .state import STATE_DIR

CONDA_TEMP_EXTENSION = ".c~"
CONDA_TRASH = ".conda_trash"
TRANSACTION_TMP_DIR = ".condatmp"
SKIPPED_TOP_LEVEL = frozenset({"pkgs", "envs"})
#: the wrapper scripts conda < 26.1 writes into the prefix to run link scripts
#: (``tempfile`` names: ".tmp" and 8 random characters)
SCRIPT_WRAPPER = re.compile(r"\.tmp[a-z0-9_]{8}(\.bat)?")


@dataclass
class PrefixTree:
    """What a walk of the prefix saw (paths relative, with forward slashes)."""

    #: every folder reached without following a symlink; "" is the prefix itself
    directories: set[str] = field(default_factory=lambda: {""})
    #: leftovers of aborted conda runs: ``*.c~``, ``*.conda_trash*``, ``.condatmp/``,
    #: link-script wrappers
    debris: list[str] = field(default_factory=list)
    #: every non-folder path, when the walk was asked to collect them
    files: list[str] = field(default_factory=list)
    #: folders that could not be listed, with the reason
    errors: dict[str, str] = field(default_factory=dict)


def _is_empty(folder: str) -> bool:
    # conda ignores errors of its final rmtree of .condatmp, so after a successful
    # transaction an empty one may remain: that is no evidence of an aborted run
    try:
        with os.scandir(folder) as entries:
            return next(entries, None) is None
    except OSError:
        return False


def is_debris(name: str) -> bool:
    return name.endswith(CONDA_TEMP_EXTENSION) or CONDA_TRASH in name


def walk_prefix(prefix: str, collect_files: bool = False) -> PrefixTree:
    """Walk ``prefix`` once, depth first, without following symlinks."""
    tree = PrefixTree()
    pending = [""]
    while pending:
        folder = pending.pop()
        try:
            with os.scandir(os.path.join(prefix, folder) if folder else prefix) as entries:
                for entry in entries:
                    _visit(tree, pending, folder, entry, collect_files)
        except OSError as error:
            tree.errors[folder] = error.strerror or str(error)
    tree.debris.sort()
    return tree


def _visit(
    tree: PrefixTree, pending: list[str], folder: str, entry: os.DirEntry, collect_files: bool
) -> None:
    name = entry.name
    path = f"{folder}/{name}" if folder else name
    try:
        is_dir = entry.is_dir(follow_symlinks=False)
    except OSError:
        is_dir = False
    top_level = not folder
    if not is_dir:
        if is_debris(name) or (top_level and SCRIPT_WRAPPER.fullmatch(name)):
            tree.debris.append(path)
        elif collect_files:
            tree.files.append(path)
    elif top_level and name == TRANSACTION_TMP_DIR:
        if not _is_empty(entry.path):
            tree.debris.append(path)
    elif (top_level and name in SKIPPED_TOP_LEVEL) or path == STATE_DIR:
        return
    else:
        tree.directories.add(path)
        pending.append(path)
