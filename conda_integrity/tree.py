"""One walk of the prefix: its real folders, the debris of aborted conda runs,
and (on request) every path, for the untracked-file check.

Symlinks are never followed, so a link to a folder outside the prefix (or a
link loop) is seen as a link, not entered. Like conda's own ``delete_trash``,
the walk leaves out the base environment's ``pkgs`` and ``envs`` folders.

Adding, removing or renaming an entry changes its folder's mtime and ctime, so
a folder whose (inode, mtime, ctime) is as remembered from the last walk still
holds the same entries and is not listed again (``conda-meta/integrity/
tree.json``). A walk that must see every file (``--untracked``) lists all.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Any

from .state import STATE_DIR, read_json, state_path, write_json

CONDA_TEMP_EXTENSION = ".c~"
CONDA_TRASH = ".conda_trash"
TRANSACTION_TMP_DIR = ".condatmp"
SKIPPED_TOP_LEVEL = frozenset({"pkgs", "envs"})
#: the wrapper scripts conda < 26.1 writes into the prefix to run link scripts
#: (``tempfile`` names: ".tmp" and 8 random characters)
SCRIPT_WRAPPER = re.compile(r"\.tmp[a-z0-9_]{8}(\.bat)?")
FILE_NAME = "tree.json"
FORMAT = 1

#: what a listing remembers of a folder: its key, its subfolders, its debris
Listing = list[Any]


@dataclass
class PrefixTree:
    """What a walk of the prefix saw (paths relative, with forward slashes)."""

    #: every folder reached without following a symlink; "" is the prefix itself
    directories: set[str] = field(default_factory=lambda: {""})
    #: leftovers of aborted conda runs: ``*.c~``, ``*.conda_trash*``, a non-empty
    #: ``.condatmp/``, link-script wrappers
    debris: list[str] = field(default_factory=list)
    #: every non-folder path, when the walk was asked to collect them
    files: list[str] = field(default_factory=list)
    #: folders that could not be listed, with the reason
    errors: dict[str, str] = field(default_factory=dict)
    #: folder -> [ino, mtime_ns, ctime_ns, subfolders, debris names], to remember
    listings: dict[str, Listing] = field(default_factory=dict)


def is_debris(name: str, top_level: bool) -> bool:
    return (
        name.endswith(CONDA_TEMP_EXTENSION)
        or CONDA_TRASH in name
        or (top_level and SCRIPT_WRAPPER.fullmatch(name) is not None)
    )


def load_listings(prefix: str) -> dict[str, Listing]:
    data = read_json(state_path(prefix, FILE_NAME))
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        return {}
    listings = data.get("folders")
    return listings if isinstance(listings, dict) else {}


def save_listings(prefix: str, tree: PrefixTree, before: dict[str, Listing]) -> None:
    if tree.listings != before:
        write_json(state_path(prefix, FILE_NAME), {"format": FORMAT, "folders": tree.listings})


def walk_prefix(
    prefix: str,
    collect_files: bool = False,
    remembered: dict[str, Listing] | None = None,
    settled_ns: int = 0,
) -> PrefixTree:
    """Walk ``prefix`` once, depth first, without following symlinks.

    Folders whose key matches ``remembered`` are not listed again (unless
    ``collect_files``); listings of folders changed after ``settled_ns`` are not
    kept, because a change in the same clock tick would leave the key as it is.
    """
    tree = PrefixTree()
    remembered = {} if collect_files or remembered is None else remembered
    pending = [""]
    while pending:
        folder = pending.pop()
        full = os.path.join(prefix, folder) if folder else prefix
        try:
            info = os.lstat(full)
            key = [info.st_ino, info.st_mtime_ns, info.st_ctime_ns]
            known = remembered.get(folder)
            if known is not None and known[:3] == key:
                subfolders, debris = known[3], known[4]
            else:
                subfolders, debris = _list(full, folder, tree, collect_files)
        except OSError as error:
            tree.errors[folder] = error.strerror or str(error)
            continue
        if info.st_ctime_ns < settled_ns:
            tree.listings[folder] = [*key, subfolders, debris]
        for name in debris:
            path = f"{folder}/{name}" if folder else name
            if path != TRANSACTION_TMP_DIR or not _is_empty(os.path.join(prefix, path)):
                tree.debris.append(path)
        for name in subfolders:
            path = f"{folder}/{name}" if folder else name
            tree.directories.add(path)
            pending.append(path)
    tree.debris.sort()
    return tree


def _list(
    full: str, folder: str, tree: PrefixTree, collect_files: bool
) -> tuple[list[str], list[str]]:
    """(subfolders to walk, debris names) of one folder."""
    top_level = not folder
    subfolders, debris = [], []
    with os.scandir(full) as entries:
        for entry in entries:
            name = entry.name
            try:
                is_dir = entry.is_dir(follow_symlinks=False)
            except OSError:
                is_dir = False
            if not is_dir:
                if is_debris(name, top_level):
                    debris.append(name)
                elif collect_files:
                    tree.files.append(f"{folder}/{name}" if folder else name)
            elif top_level and name == TRANSACTION_TMP_DIR:
                debris.append(name)  # judged on every walk: is it empty?
            elif not (top_level and name in SKIPPED_TOP_LEVEL) and (
                f"{folder}/{name}" != STATE_DIR
            ):
                subfolders.append(name)
    return subfolders, debris


def _is_empty(folder: str) -> bool:
    # conda ignores errors of its final rmtree of .condatmp, so after a successful
    # transaction an empty one may remain: that is no evidence of an aborted run
    try:
        with os.scandir(folder) as entries:
            return next(entries, None) is None
    except OSError:
        return False
