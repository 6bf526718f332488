"""What changed between two snapshots of a prefix.

Files are compared by kind, permission bits, symlink target, size, mtime and
inode. ctime is left out on purpose: it also changes when another environment
hard-links the same package file, which changes nothing here.

A file that is a new inode with the size and mtime it had (or that mtime cut to
the second) is what a copy that kept every byte leaves (``cp -a`` away and back,
a tar round trip, a backup restored), but also what an edit that put the mtime
back leaves: only its content tells, so such a file is a change unless the read of the newer side
found its content as its package installed it (``verify.snapshot.verified``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from stat import S_IFMT, S_IMODE, S_ISDIR, S_ISLNK, S_ISREG
from typing import Any

from .snapshots import FileStat, Snapshot, SnapshotRecord

ADDED, REMOVED = "added", "removed"
TYPE, TARGET, CONTENT, MODE = "type", "symlink-target", "content", "mode"


@dataclass
class FileChange:
    path: str
    #: added, removed, type, symlink-target, content or mode
    change: str
    #: the record owning the path (in the newer snapshot, else the older one)
    package: str | None


@dataclass
class Changes:
    records_added: list[SnapshotRecord] = field(default_factory=list)
    records_removed: list[SnapshotRecord] = field(default_factory=list)
    files: list[FileChange] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.records_added or self.records_removed or self.files)

    def to_dict(self) -> dict[str, Any]:
        return {
            "records": {
                "added": [record.stem for record in self.records_added],
                "removed": [record.stem for record in self.records_removed],
            },
            "files": [
                {"path": c.path, "change": c.change, "package": c.package} for c in self.files
            ],
        }


#: whether the read of the newer side found the file at a path as its package
#: installed it (its content verified)
ContentJudge = Callable[[str], bool]


def copied(old: FileStat, new: FileStat) -> bool:
    """Whether ``new`` is another inode with the kind, size and mtime of ``old`` (the
    mtime at least to the second, as GNU tar's own format and many container tools
    keep it): a copy that kept them, whose content alone tells whether it changed."""
    return (
        old.ino != new.ino
        and S_IFMT(old.mode) == S_IFMT(new.mode)
        and (S_ISREG(new.mode) or S_ISDIR(new.mode))
        and old.size == new.size
        and new.mtime_ns in (old.mtime_ns, old.mtime_ns - old.mtime_ns % 1_000_000_000)
    )


def _file_change(
    path: str, old: FileStat, new: FileStat, same_content: ContentJudge | None
) -> str | None:
    if not old.mode and not new.mode:
        return None
    if not old.mode:
        return ADDED
    if not new.mode:
        return REMOVED
    if S_IFMT(old.mode) != S_IFMT(new.mode):
        return TYPE
    if S_ISLNK(new.mode):
        return TARGET if old.target != new.target else None
    if (old.size, old.mtime_ns, old.ino) != (new.size, new.mtime_ns, new.ino) and not (
        same_content is not None and copied(old, new) and same_content(path)
    ):
        return CONTENT
    if S_IMODE(old.mode) != S_IMODE(new.mode):
        return MODE
    return None


_ABSENT = FileStat(0, 0, 0, 0)


def compare(old: Snapshot, new: Snapshot, same_content: ContentJudge | None = None) -> Changes:
    """What differs from ``old`` to ``new``: records, and files owned by either.

    A copy (:func:`copied`) is a change unless ``same_content`` (of the read
    ``new`` was taken from) says its content is as installed; without it, it is.
    """
    old_records = {record.stem: record for record in old.records}
    new_records = {record.stem: record for record in new.records}
    changes = Changes(
        records_added=[r for stem, r in new_records.items() if old_records.get(stem) != r],
        records_removed=[r for stem, r in old_records.items() if new_records.get(stem) != r],
    )
    # a record with the same digest on both sides has the same stats: its files
    # need no look (a path it shares with a changed record is looked up in full)
    same = {
        stem
        for stem, digest in new.digests.items()
        if digest and old.digests.get(stem) == digest and stem in old.blocks
    }
    old_files, new_files = _files_but(old, same), _files_but(new, same)
    for path in {**old_files, **new_files}:
        old_file, old_owner = old_files.get(path) or _full(old, path)
        new_file, new_owner = new_files.get(path) or _full(new, path)
        change = _file_change(path, old_file, new_file, same_content)
        if change is not None:
            changes.files.append(FileChange(path, change, new_owner or old_owner))
    changes.files.sort(key=lambda c: c.path)
    return changes


def _files_but(snapshot: Snapshot, same: set[str]) -> dict[str, tuple[FileStat, str]]:
    """The paths of the records not in ``same``, with their stat and first owner."""
    if not same:
        return {path: (item, snapshot.owners[path]) for path, item in snapshot.files.items()}
    found: dict[str, tuple[FileStat, str]] = {}
    for record in snapshot.records:
        if record.stem not in same:
            for path, item in snapshot.files_of(record.stem).items():
                found.setdefault(path, (item, record.stem))
    return found


def _full(snapshot: Snapshot, path: str) -> tuple[FileStat, str | None]:
    return snapshot.files.get(path, _ABSENT), snapshot.owners.get(path)
