"""Records that verified clean, remembered with the stat keys of their files.

A record is remembered when a verification found nothing wrong with it and
knew the content of all its files. Its entry holds the (inode, ctime) of the
record file and a digest of the (inode, ctime) of every path it owns (``0, 0``
for a ``.pyc`` that was absent) and of the inode of every folder on their way,
and the record's package-level fields (:mod:`..records.installed`), which the
checks across records need. Any write, chmod, rename or replacement changes a
file's ctime or inode, and a folder moved away and replaced by a symlink (to
where it went, say: outside the environment) is no longer the same inode, so
when a later run finds every key unchanged, nothing about the record can have
changed: it is neither parsed nor checked again. Entries are
not made for files changed less than ``RACY_SECONDS`` before the run
(timestamps are coarse), nor by a different version of conda-integrity.
"""

from __future__ import annotations

import hashlib
import os
from array import array
from dataclasses import dataclass
from stat import S_ISDIR

from .. import __version__
from ..records.installed import PACKAGE_FIELDS, InstalledPackage, package_fields
from ..records.model import ENTRY_POINT, FILE, PYC, Record
from ..store import schema
from ..store.state_file import StateFile
from .disk import PrefixDisk, relative_lstat
from .known_hashes import RACY_SECONDS

FILE_NAME = "verdicts.json"
FORMAT = 6
_ABSENT = (0, 0)

_NAMES = ("name", "version", "build")
#: the package-level fields as :func:`package_fields` keeps them
PACKAGE_FORMAT = schema.fields(
    {key: schema.text for key in _NAMES},
    {
        key: lambda value: (
            isinstance(value, (str, int, list))
            and not isinstance(value, bool)
            and (not isinstance(value, list) or all(isinstance(item, str) for item in value))
        )
        for key in PACKAGE_FIELDS
        if key not in _NAMES
    },
)


#: one record's entry (see :meth:`CleanRecords.add`)
ENTRY_FORMAT = schema.fields(
    {
        "name": schema.text,
        "digest": schema.text,
        "record": schema.row(schema.whole, schema.whole),
        "paths": schema.path_lines,
        "keys": schema.text,
        "bytes": schema.whole,
        "package": PACKAGE_FORMAT,
    }
)


@dataclass(frozen=True)
class UnchangedRecord:
    """A record verified clean earlier, with its record file and paths untouched since."""

    stem: str
    name: str
    paths: tuple[str, ...]
    #: bytes of the files whose content was verified when it was remembered
    content_bytes: int
    #: its package-level fields, for the checks across records and for snapshots
    package: InstalledPackage
    #: the lstat of each path as this run saw it (None: absent, a .pyc)
    stats: tuple[os.stat_result | None, ...]
    #: the digest of the stat keys of its record file and paths
    digest: str


def _key(info: os.stat_result) -> tuple[int, int]:
    return info.st_ino, info.st_ctime_ns


def _digest(keys: list[int]) -> str:
    return hashlib.blake2b(array("Q", keys).tobytes(), digest_size=16).hexdigest()


def record_digest(record: Record, record_file: os.stat_result, disk: PrefixDisk) -> str:
    """The digest of the stat keys of a record file and of the paths it owns."""
    keys = list(_key(record_file))
    for owned in record.paths:
        info = disk.stats.get(owned.path)
        keys += _ABSENT if info is None else _key(info)
    return _digest(keys)


def _folders(record: Record) -> list[str]:
    """Every folder on the way to the paths of ``record`` (the prefix itself aside)."""
    folders: set[str] = set()
    for owned in record.paths:
        folder = owned.path.rpartition("/")[0]
        while folder and folder not in folders:
            folders.add(folder)
            folder = folder.rpartition("/")[0]
    return sorted(folders)


class _FolderInodes:
    """The inode of folders of the prefix, each looked at once (0: not a folder).

    ``seen`` are the inodes the walk of this run saw moments ago (every folder it
    reached, by ``lstat`` too): a folder among them is not looked at again.
    """

    def __init__(self, base: str, fd: int | None, seen: dict[str, int] | None = None) -> None:
        self.base, self.fd = base, fd
        self.inodes: dict[str, int] = dict(seen) if seen else {}

    def of(self, folder: str) -> int:
        inode = self.inodes.get(folder)
        if inode is None:
            try:
                info = os.stat(self.base + folder, dir_fd=self.fd, follow_symlinks=False)
                inode = info.st_ino if S_ISDIR(info.st_mode) else 0
            except OSError:
                inode = 0
            self.inodes[folder] = inode
        return inode


def _file(prefix: str) -> StateFile:
    return StateFile.in_prefix(prefix, FILE_NAME, FORMAT, version=__version__)


class CleanRecords:
    """The clean records of one prefix, as last verified."""

    def __init__(self, entries: dict[str, dict] | None = None) -> None:
        self.entries: dict[str, dict] = entries or {}
        self.changed = False

    @classmethod
    def load(cls, prefix: str) -> CleanRecords:
        """The clean records of the last run (none when its file is unusable)."""
        data = _file(prefix).read()
        records = data.get("records") if data is not None else None
        if not isinstance(records, dict):
            return cls()
        # an entry of another shape is dropped: its record is parsed and checked again
        return cls({stem: e for stem, e in records.items() if schema.valid(ENTRY_FORMAT, e)})

    def unchanged(
        self,
        prefix: str,
        record_files: dict[str, os.stat_result],
        trusted: dict[str, UnchangedRecord] | None = None,
        folder_inodes: dict[str, int] | None = None,
    ) -> dict[str, UnchangedRecord]:
        """The remembered records whose record file and paths are all as they were.

        The paths of a ``trusted`` record (one found unchanged moments ago, whose
        folders have not changed since) are not looked at again. ``folder_inodes``
        are those a walk of the prefix saw just before (:attr:`..walk.PrefixTree.inodes`).
        """
        with relative_lstat(prefix) as (base, fd):
            return self._unchanged(
                base, fd, record_files, trusted or {}, _FolderInodes(base, fd, folder_inodes)
            )

    def _unchanged(
        self,
        base: str,
        fd: int | None,
        record_files: dict[str, os.stat_result],
        trusted: dict[str, UnchangedRecord],
        folder_inodes: _FolderInodes,
    ) -> dict[str, UnchangedRecord]:
        found = {}
        stat = os.stat
        for stem, entry in self.entries.items():
            info = record_files.get(stem)
            if info is None or list(_key(info)) != entry.get("record"):
                continue
            if stem in trusted:
                found[stem] = trusted[stem]
                continue
            folders = entry.get("folders")
            if not isinstance(folders, str):
                continue
            paths = entry["paths"].split("\n") if entry["paths"] else []
            # the one lstat of each path that no check of a file can do without (an
            # edit in place or a chmod changes nothing but the file's own ctime);
            # this loop is the guard's largest cost, so it does nothing else
            infos: list[os.stat_result | None] = []
            append = infos.append
            for path in paths:
                try:
                    append(stat(base + path, dir_fd=fd, follow_symlinks=False))
                except OSError:
                    append(None)
            keys = [
                key
                for item in infos
                for key in (_ABSENT if item is None else (item.st_ino, item.st_ctime_ns))
            ]
            keys += (folder_inodes.of(folder) for folder in folders.split("\n") if folder)
            if _digest(keys) == entry["keys"]:
                found[stem] = UnchangedRecord(
                    stem,
                    entry["name"],
                    tuple(paths),
                    entry["bytes"],
                    InstalledPackage(stem, entry["package"]),
                    tuple(infos),
                    entry["digest"],
                )
        return found

    def add(
        self,
        prefix: str,
        record: Record,
        record_file: os.stat_result,
        disk: PrefixDisk,
        now_ns: int,
        folder_inodes: dict[str, int] | None = None,
    ) -> bool:
        """Add ``record`` (of ``prefix``) as clean, if every key is settled; say
        whether it was. ``folder_inodes`` are those the run's walk saw."""
        settled = now_ns - RACY_SECONDS * 1_000_000_000
        if record_file.st_ctime_ns >= settled:
            return False
        keys: list[int] = []
        content = 0
        for owned in record.paths:
            info = disk.stats.get(owned.path)
            if info is None:
                if owned.kind != PYC:
                    return False
                keys += _ABSENT
                continue
            if info.st_ctime_ns >= settled:
                return False
            if owned.kind in (FILE, ENTRY_POINT) and owned.sha256:
                if owned.path not in disk.sha256:
                    return False  # content not verified (--fast, or unreadable)
                content += info.st_size
            keys += _key(info)
        folders = _folders(record)
        with relative_lstat(prefix) as (base, fd):
            inodes = _FolderInodes(base, fd, folder_inodes)
            keys += (inodes.of(folder) for folder in folders)
        self.entries[record.stem] = {
            "name": record.name,
            "digest": record_digest(record, record_file, disk),
            "record": list(_key(record_file)),
            "paths": "\n".join(owned.path for owned in record.paths),
            "folders": "\n".join(folders),
            "keys": _digest(keys),
            "bytes": content,
            "package": package_fields(record.raw),
        }
        self.changed = True
        return True

    def forget(self, stem: str) -> None:
        if self.entries.pop(stem, None) is not None:
            self.changed = True

    def forget_all_but(self, stems: set[str]) -> None:
        for stem in [stem for stem in self.entries if stem not in stems]:
            self.forget(stem)

    def save(self, prefix: str) -> None:
        """Write the clean records, if they changed (OSError when that fails)."""
        if self.changed:
            _file(prefix).write({"records": self.entries})
            self.changed = False
