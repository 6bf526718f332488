"""One walk of the prefix: its real folders, the debris of aborted conda runs,
and (on request) every path, for the untracked-file check.

Symlinks are never followed, so a link to a folder outside the prefix (or a
link loop) is seen as a link, not entered. Like conda's own ``delete_trash``,
the walk leaves out the base environment's ``pkgs`` and ``envs`` folders.

Adding, removing or renaming an entry changes its folder's ctime, so a folder
whose (inode, ctime) is as remembered from the last walk still holds the same
entries and is not listed again: its subfolders are the remembered folders
below it (``conda-meta/integrity/tree.json``). A walk that must see every file
(``--untracked``) lists all.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from stat import S_ISDIR

from ..store import schema
from ..store.paths import STATE_DIR
from ..store.state_file import StateFile

CONDA_TEMP_EXTENSION = ".c~"
CONDA_TRASH = ".conda_trash"
TRANSACTION_TMP_DIR = ".condatmp"
SKIPPED_TOP_LEVEL = frozenset({"pkgs", "envs"})
#: the wrapper scripts conda < 26.1 writes into the prefix to run link scripts
#: (``tempfile`` names: ".tmp" and 8 random characters)
SCRIPT_WRAPPER = re.compile(r"\.tmp[a-z0-9_]{8}(\.bat)?")
#: the hard link (and symlink) conda makes in the prefix to see whether it can, and
#: deletes at once: left there by a run killed in between
LINK_TEST = re.compile(r"\.tmp\.index\.json(\.[0-9a-f]{8})?")
FILE_NAME = "tree.json"
FORMAT = 3
#: the key of a folder to list again next time (no real folder has inode 0)
UNTRUSTED = [0, 0]


def _folder_keys(value: object) -> bool:
    """folder -> [inode, ctime], for folders inside the prefix (thousands of them)."""
    return (
        isinstance(value, dict)
        and all(
            type(key) is list and len(key) == 2 and type(key[0]) is int and type(key[1]) is int
            for key in value.values()
        )
        and schema.relative_paths(value)
    )


#: what ``tree.json`` holds: the key of every folder, and the debris names in some
TREE_FORMAT = schema.fields(
    {
        "folders": _folder_keys,
        "debris": lambda value: (
            schema.dict_of(schema.list_of(schema.file_name))(value) and schema.relative_paths(value)
        ),
    }
)


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
    #: what to remember for the next walk: folder -> [inode, ctime] (UNTRUSTED when it
    #: changed too recently or could not be listed)
    folders: dict[str, list[int]] = field(default_factory=dict)
    #: and folder -> debris names in it, for the folders that have any
    folder_debris: dict[str, list[str]] = field(default_factory=dict)
    #: folder -> its inode as this walk's lstat saw it (0: no longer a folder), so
    #: that the record checks after the walk need not stat the folders again
    inodes: dict[str, int] = field(default_factory=dict)


@dataclass
class Remembered:
    """The folders of the last walk, and the debris each one held."""

    folders: dict[str, list[int]] = field(default_factory=dict)
    debris: dict[str, list[str]] = field(default_factory=dict)

    def subfolders(self) -> dict[str, list[str]]:
        children: dict[str, list[str]] = {}
        for path in self.folders:
            if path:  # the prefix itself is nobody's subfolder
                children.setdefault(path.rpartition("/")[0], []).append(path)
        return children


def is_debris(name: str, top_level: bool) -> bool:
    return (
        name.endswith(CONDA_TEMP_EXTENSION)
        or CONDA_TRASH in name
        or (top_level and SCRIPT_WRAPPER.fullmatch(name) is not None)
        or (top_level and LINK_TEST.fullmatch(name) is not None)
    )


def _file(prefix: str) -> StateFile:
    return StateFile.in_prefix(prefix, FILE_NAME, FORMAT)


def load_remembered(prefix: str) -> Remembered:
    """The folders of the last walk (none when its file is unusable)."""
    data = schema.checked(_file(prefix).read(), TREE_FORMAT)
    if data is None:
        return Remembered()
    return Remembered(data["folders"], data["debris"])


def save_remembered(prefix: str, tree: PrefixTree, before: Remembered) -> None:
    """Write the folders of ``tree``, if they differ from ``before`` (OSError when
    that fails)."""
    if tree.folders != before.folders or tree.folder_debris != before.debris:
        _file(prefix).write({"folders": tree.folders, "debris": tree.folder_debris})


def walk_prefix(
    prefix: str,
    collect_files: bool = False,
    remembered: Remembered | None = None,
    settled_ns: int = 0,
) -> PrefixTree:
    """Walk ``prefix`` once, depth first, without following symlinks.

    Folders whose key matches ``remembered`` are not listed again (unless
    ``collect_files``); every folder's key is looked at, because a file added to a
    folder changes no record (a removed record's ``.c~`` left behind, a file put
    there by hand) and only that folder's ctime tells. Folders changed after ``settled_ns`` are not
    remembered, because a change in the same clock tick would leave the key as it is.
    """
    tree = PrefixTree()
    known = Remembered() if collect_files or remembered is None else remembered
    children = known.subfolders() if known.folders else {}
    lstat = os.lstat
    pending = [""]
    while pending:
        folder = pending.pop()
        full = f"{prefix}{os.sep}{folder}" if folder else prefix
        key = known.folders.get(folder)
        try:
            info = lstat(full)
            if key is not None and key[1] == info.st_ctime_ns and key[0] == info.st_ino:
                subfolders, debris = children.get(folder, []), known.debris.get(folder, [])
            else:
                subfolders, debris = _list(full, folder, tree, collect_files)
        except OSError as error:
            tree.errors[folder] = error.strerror or str(error)
            tree.folders[folder] = UNTRUSTED  # listed again next time
            continue
        tree.inodes[folder] = info.st_ino if S_ISDIR(info.st_mode) else 0
        if info.st_ctime_ns < settled_ns:
            tree.folders[folder] = [info.st_ino, info.st_ctime_ns]
            if debris:
                tree.folder_debris[folder] = debris
        else:
            # every folder is remembered, or its parent's subfolders would lack it
            tree.folders[folder] = UNTRUSTED
        for name in debris:
            path = f"{folder}/{name}" if folder else name
            if path != TRANSACTION_TMP_DIR or not _is_empty(os.path.join(prefix, path)):
                tree.debris.append(path)
        tree.directories.update(subfolders)
        pending.extend(reversed(subfolders))
    tree.debris.sort()
    return tree


def _list(
    full: str, folder: str, tree: PrefixTree, collect_files: bool
) -> tuple[list[str], list[str]]:
    """(subfolders to walk, as paths; debris, as names) of one folder."""
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
                    if not _kept_by_conda(entry):
                        debris.append(name)
                elif collect_files:
                    tree.files.append(f"{folder}/{name}" if folder else name)
            elif top_level and name == TRANSACTION_TMP_DIR:
                debris.append(name)  # judged on every walk: is it empty?
            elif not (top_level and name in SKIPPED_TOP_LEVEL):
                path = f"{folder}/{name}" if folder else name
                if path != STATE_DIR:
                    subfolders.append(path)
    return subfolders, debris


def _kept_by_conda(entry: os.DirEntry) -> bool:
    """A ``.c~`` symlink to a folder: conda's backup of a symlink it replaced, which
    it never deletes (its clean-up skips a backup that ``isdir``, following the
    link, and ``delete_trash`` only sees files), even after a transaction that
    finished. It is no sign of one that did not."""
    if not (entry.name.endswith(CONDA_TEMP_EXTENSION) and entry.is_symlink()):
        return False
    try:
        return entry.is_dir(follow_symlinks=True)
    except OSError:
        return False


def _is_empty(folder: str) -> bool:
    # conda ignores errors of its final rmtree of .condatmp, so after a successful
    # transaction an empty one may remain: that is no evidence of an aborted run
    try:
        with os.scandir(folder) as entries:
            return next(entries, None) is None
    except OSError:
        return False
