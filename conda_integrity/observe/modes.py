"""Which files each package installed with an executable bit.

conda records no permissions, and a ``chmod`` in the environment also changes
the package cache's copy when the two are hard links of one inode, so the
baseline comes from the package's archive in the cache. Reading an archive
means decompressing it, so the result is kept per prefix
(``conda-meta/integrity/modes.json``) and read again only when the record
changes. When the archive is gone, the extracted folder in the cache stands in:
a hard-linked file then matches itself, so a change to it goes unseen, but a
copied or prefix-replaced file still has its own baseline.

Only the owner's executable bit is compared: the extraction umask may clear
the group and other bits, never the owner's.

An archive is read at most once per run (``verify --all`` meets the same
archive in every environment made from one package cache).
"""

from __future__ import annotations

import os
import stat
from functools import cache
from typing import Any

from ..records import package_cache
from ..records.model import FILE, Record
from ..store import schema
from ..store.state_file import StateFile

FILE_NAME = "modes.json"
FORMAT = 2  # 2: noarch paths of mamba and rattler records map to their package paths
#: one package's entry (see :meth:`ModeBaseline.executables`)
ENTRY_FORMAT = schema.fields(
    {"id": schema.text, "executables": schema.list_of(schema.text)}, {"source": schema.text}
)


def _read_archive(path: str) -> frozenset[str] | None:
    """Package paths that the archive marks executable for the owner."""
    from conda_package_streaming.package_streaming import stream_conda_component

    executables = set()
    try:
        for _tar, member in stream_conda_component(path, component="pkg"):
            if (
                member.isfile()
                and member.mode & stat.S_IXUSR
                and not member.name.startswith("info/")
            ):
                executables.add(member.name)
    except Exception:  # a damaged archive gives no baseline; --pkgs-dirs reports it
        return None
    return frozenset(executables)


def _archive_executables(path: str) -> frozenset[str] | None:
    """:func:`_read_archive`, once per run for each version of the archive."""
    try:
        info = os.stat(path)
    except OSError:
        return None
    return _read_archive_once(path, info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns)


@cache
def _read_archive_once(path: str, *_key: int) -> frozenset[str] | None:
    return _read_archive(path)


def _read_extracted(folder: str, record: Record) -> frozenset[str]:
    executables = set()
    for owned in record.paths:
        if owned.kind != FILE or owned.source is None:
            continue
        try:
            info = os.lstat(os.path.join(folder, owned.source))
        except OSError:
            continue
        if stat.S_ISREG(info.st_mode) and info.st_mode & stat.S_IXUSR:
            executables.add(owned.source)
    return frozenset(executables)


def _record_id(record: Record) -> str:
    sha256, md5 = (record.raw.get(key) for key in ("sha256", "md5"))
    return f"{record.stem}:{sha256 or md5 or ''}"


def _file(prefix: str) -> StateFile:
    return StateFile.in_prefix(prefix, FILE_NAME, FORMAT)


class ModeBaseline:
    """Expected executable bits, per package, remembered across runs."""

    def __init__(self, packages: dict[str, Any] | None = None) -> None:
        self.packages: dict[str, Any] = packages or {}
        self.changed = False

    @classmethod
    def load(cls, prefix: str) -> ModeBaseline:
        """The baseline of the last runs (none when its file is unusable)."""
        data = _file(prefix).read()
        packages = data.get("packages") if data is not None else None
        if not isinstance(packages, dict):
            return cls()
        # an entry of another shape is dropped: the archive is read again
        return cls({stem: e for stem, e in packages.items() if schema.valid(ENTRY_FORMAT, e)})

    def executables(self, record: Record, read_cache: bool) -> frozenset[str] | None:
        """Package paths of ``record`` installed executable, or None when unknown.

        Without ``read_cache`` only what earlier runs remembered is used.
        """
        key = _record_id(record)
        known = self.packages.get(record.stem)
        if known is not None and known["id"] == key:
            return frozenset(known["executables"])
        if not read_cache:
            return None
        archive = package_cache.tarball(record)
        executables = _archive_executables(archive) if archive else None
        source = "archive"
        if executables is None:
            folder = package_cache.extracted_dir(record)
            if folder is None:
                return None
            executables, source = _read_extracted(folder, record), "extracted"
        self.packages[record.stem] = {
            "id": key,
            "source": source,
            "executables": sorted(executables),
        }
        self.changed = True
        return executables

    def forget_all_but(self, stems: set[str]) -> None:
        stale = [stem for stem in self.packages if stem not in stems]
        for stem in stale:
            del self.packages[stem]
        self.changed = self.changed or bool(stale)

    def save(self, prefix: str) -> None:
        """Write the baseline, if it changed (OSError when that fails)."""
        if self.changed:
            _file(prefix).write({"packages": self.packages})
            self.changed = False
