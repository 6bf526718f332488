"""Where repair keeps what it moves aside: a backup folder with a manifest.

Repair never deletes a file of the user's: what it takes out of the prefix (a
damaged file before conda links a good one, debris of a conda run) or out of a
package cache (a damaged extracted package, a damaged archive) is moved into
``backups/<time>/`` of the prefix's state folder, which is
``conda-meta/integrity/`` or, when the prefix is not the user's own, their
folder for it in their cache (:func:`..store.paths.guard_dir`). The backup
folder and the folders in it are opened as state folders are: never through a
symlink, never another user's; so is each folder on the way of a path in the
prefix, from the prefix down (:mod:`..store.in_prefix`), when a file is moved
out or put back. A file keeps its path in the prefix below
``prefix/``; a package cache entry goes to ``pkgs/<n>/`` (n counts the package
caches in the order they are first used, the manifest says which is which).

``manifest.json`` lists each item: where it was, where it is now, and why. It
is rewritten (atomically) after every move, so a repair killed half-way leaves
a manifest of what it had moved.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field

from ..store import in_prefix
from ..store.atomic_write import write_atomic
from ..store.paths import guard_dir
from ..store.state_dir import StateDir

FOLDER = "backups"
MANIFEST = "manifest.json"
#: where items from the prefix and from package caches go in a backup folder
PREFIX_PART, PKGS_PART = "prefix", "pkgs"


@dataclass(frozen=True)
class BackupItem:
    """One file or folder moved aside."""

    #: where it was (an absolute path)
    source: str
    #: where it is now (an absolute path in the backup folder)
    kept_as: str
    reason: str


@dataclass
class Backup:
    """A backup folder of one repair, opened on first use."""

    prefix: str
    folder: StateDir
    items: list[BackupItem] = field(default_factory=list)
    #: the package caches items came from, in order of first use
    pkgs_dirs: list[str] = field(default_factory=list)

    @property
    def path(self) -> str:
        return self.folder.path

    def move_aside(self, path: str, reason: str) -> BackupItem:
        """Move ``path`` (a file, symlink or folder in the prefix or in a package
        cache; absolute, or relative to the prefix) into the backup folder, and add
        it to the manifest. OSError when it cannot be moved (a folder on its way in
        the prefix is no folder); nothing is deleted."""
        source = path if os.path.isabs(path) else os.path.join(self.prefix, path)
        kept = self._kept(source)
        in_prefix.move(self._place(source), kept, make_folders=True)
        item = BackupItem(source=source, kept_as=kept.path, reason=reason)
        self.items.append(item)
        self._write_manifest()
        return item

    def put_back(self) -> list[BackupItem]:
        """Move the items of the prefix back where they were, where that place is
        still free and every folder on its way is a folder of the prefix (a repair
        whose transaction failed); the manifest then lists what stays. The items
        put back, in the order they went back."""
        back = []
        for item in reversed(self.items):
            if _relative(self.prefix, item.source) is None:
                continue
            try:
                # its folder may have gone with it, once it was left empty
                in_prefix.move(self._kept(item.source), self._place(item.source), True)
            except OSError:
                continue
            back.append(item)
        if back:
            self.items = [item for item in self.items if item not in back]
            self._write_manifest()
        return back

    def _place(self, source: str) -> in_prefix.Place:
        """Where ``source`` is: each folder below the prefix opened in turn; a package
        cache entry in its cache folder."""
        relative = _relative(self.prefix, source)
        if relative is None:
            return in_prefix.place_of(source)
        return in_prefix.place(self.prefix, relative)

    def _kept(self, source: str) -> in_prefix.Place:
        """Where ``source`` is kept in the backup folder."""
        *folders, name = self._parts_for(source)
        where = self.folder
        for part in folders:
            where = where.sub(part)
        return in_prefix.Place(where, name)

    def _parts_for(self, source: str) -> list[str]:
        """The folders below the backup folder, and the name, that ``source`` keeps."""
        relative = _relative(self.prefix, source)
        if relative is not None:
            return [PREFIX_PART, *relative.split(os.sep)]
        absolute = os.path.abspath(source)
        pkgs_dir = os.path.dirname(absolute)
        if pkgs_dir not in self.pkgs_dirs:
            self.pkgs_dirs.append(pkgs_dir)
        return [PKGS_PART, str(self.pkgs_dirs.index(pkgs_dir)), os.path.basename(absolute)]

    def _write_manifest(self) -> None:
        document = {
            "prefix": self.prefix,
            "pkgs_dirs": self.pkgs_dirs,
            "items": [asdict(item) for item in self.items],
        }
        data = json.dumps(document, indent=2).encode()
        write_atomic(self.folder, MANIFEST, data, durable=True)


def _relative(prefix: str, path: str) -> str | None:
    """``path`` relative to ``prefix``, or None when it lies outside."""
    prefix, absolute = os.path.abspath(prefix), os.path.abspath(path)
    if not absolute.startswith(prefix + os.sep):
        return None
    return os.path.relpath(absolute, prefix)


def new_backup(prefix: str) -> Backup:
    """A backup for a repair of ``prefix`` starting now (made on the first move)."""
    now = time.time()
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now)) + f"-{os.getpid()}"
    return Backup(prefix, guard_dir(prefix).sub(FOLDER).sub(stamp))
