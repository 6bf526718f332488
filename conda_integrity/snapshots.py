"""Snapshots of a prefix: its exact records and a stat index of every owned file.

A snapshot holds what a later roll-back or diff needs: each record (channel,
subdir, name, version, build, the archive's sha256) and, for every path the
records own, its kind and permission bits, size, mtime, inode and symlink
target. The guard takes one before and one after every transaction (the one
after is what verify compares modes against); ``conda integrity snapshot``
takes one by hand. Snapshots are numbered per prefix, stored compressed and
durably, and only the newest ``integrity_snapshots`` are kept.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import sys
import time
from array import array
from dataclasses import dataclass, field
from stat import S_ISLNK
from typing import Any, NamedTuple

from .checks import PrefixState
from .exceptions import IntegrityInputError
from .state import read_json, write_atomic, write_json

FORMAT = 2
FOLDER = "snapshots"
INDEX = "index.json"
MANUAL, BEFORE, AFTER = "manual", "before", "after"


class SnapshotRecord(NamedTuple):
    """An installed record, as exactly as a roll-back needs it."""

    stem: str
    name: str
    version: str
    build: str
    channel: str | None
    subdir: str | None
    sha256: str | None
    md5: str | None
    url: str | None


class FileStat(NamedTuple):
    """What a snapshot knows of one owned path (mode 0: it was absent)."""

    mode: int
    size: int
    mtime_ns: int
    ino: int
    target: str | None = None


@dataclass
class Snapshot:
    number: int
    created: float
    kind: str
    label: str | None
    command: str | None
    records: list[SnapshotRecord]
    #: every owned path, with its stat and the stem of (one of) its owners
    files: dict[str, FileStat]
    owners: dict[str, str]
    #: per record, a digest of the stat keys of its record file and paths: equal
    #: digests, nothing changed (see ``verify.state_digests``)
    digests: dict[str, str] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """The snapshot without its files, as ``log`` and the index show it."""
        return {
            "number": self.number,
            "created": self.created,
            "kind": self.kind,
            "label": self.label,
            "command": self.command,
            "packages": len(self.records),
            "files": len(self.files),
            "digests": self.digests,
        }


def _record(stem: str, fields: dict[str, Any]) -> SnapshotRecord:
    def text(key: str) -> str | None:
        value = fields.get(key)
        return value if isinstance(value, str) else None

    return SnapshotRecord(
        stem,
        text("name") or "",
        text("version") or "",
        text("build") or "",
        text("channel"),
        text("subdir"),
        text("sha256"),
        text("md5"),
        text("url"),
    )


def _file_stat(info: os.stat_result | None, target: str | None) -> FileStat:
    if info is None:
        return FileStat(0, 0, 0, 0)
    return FileStat(info.st_mode, info.st_size, info.st_mtime_ns, info.st_ino, target)


def from_state(state: PrefixState, kind: str, label: str | None, command: str | None) -> Snapshot:
    """A snapshot of the prefix as ``state`` (a whole-prefix read) saw it."""
    records: list[SnapshotRecord] = []
    files: dict[str, FileStat] = {}
    owners: dict[str, str] = {}
    disk = state.disk
    for record in state.records:
        records.append(_record(record.stem, record.raw))
        for owned in record.paths:
            path = owned.path
            if path not in files:
                info = disk.stats.get(path)
                files[path] = _file_stat(info, disk.link_targets.get(path))
                owners[path] = record.stem
    for unchanged in state.unchanged:
        records.append(_record(unchanged.stem, unchanged.package.fields))
        for path, info in zip(unchanged.paths, unchanged.stats):
            if path in files:
                continue
            target = None
            if info is not None and S_ISLNK(info.st_mode):
                try:
                    target = os.readlink(os.path.join(state.prefix, path))
                except OSError:
                    target = None
            files[path] = _file_stat(info, target)
            owners[path] = unchanged.stem
    records.sort()
    return Snapshot(0, time.time(), kind, label, command, records, files, owners)


def _folder(guard_dir: str) -> str:
    return os.path.join(guard_dir, FOLDER)


def _file_name(number: int) -> str:
    return f"{number:06d}.json.gz"


# A snapshot file is gzip of: the length of a JSON header (8 bytes), the header
# (summary, records, symlink targets), the paths (UTF-8, newline-separated), then
# the stats (mode, size, mtime_ns, inode: unsigned 64-bit each) and the owners
# (index of a record, 32-bit) of every path, in the machine's byte order. Packed
# columns write and read several times faster than JSON.
_STATS, _OWNER = "Q", "l"


def _encode(snapshot: Snapshot) -> bytes:
    stems = {record.stem: index for index, record in enumerate(snapshot.records)}
    paths = list(snapshot.files)
    stats: list[int] = []
    for item in snapshot.files.values():
        stats += (item.mode, item.size, item.mtime_ns, item.ino)
    owners = snapshot.owners
    header = {
        "format": FORMAT,
        "byteorder": sys.byteorder,
        **snapshot.summary(),
        "records": [list(record) for record in snapshot.records],
        "targets": {p: s.target for p, s in snapshot.files.items() if s.target is not None},
    }
    head = json.dumps(header, separators=(",", ":")).encode()
    body = b"".join(
        (
            len(head).to_bytes(8, "little"),
            head,
            "\n".join(paths).encode("utf-8", "surrogateescape"),
            b"\0",
            array(_STATS, stats).tobytes(),
            array(_OWNER, [stems.get(owners.get(path, ""), -1) for path in paths]).tobytes(),
        )
    )
    return gzip.compress(body, compresslevel=1)


def _decode(data: bytes) -> Snapshot:
    body = gzip.decompress(data)
    size = int.from_bytes(body[:8], "little")
    header = json.loads(body[8 : 8 + size])
    if header.get("format") != FORMAT or header.get("byteorder") != sys.byteorder:
        raise ValueError(f"snapshot format {header.get('format')!r}")
    end = body.index(b"\0", 8 + size)
    text = body[8 + size : end].decode("utf-8", "surrogateescape")
    paths = text.split("\n") if text else []
    stats = array(_STATS)
    stats.frombytes(body[end + 1 : end + 1 + 32 * len(paths)])
    owner = array(_OWNER)
    owner.frombytes(body[end + 1 + 32 * len(paths) :])
    if len(stats) != 4 * len(paths) or len(owner) != len(paths):
        raise ValueError("snapshot is cut short")
    records = [SnapshotRecord(*fields) for fields in header["records"]]
    targets = header["targets"]
    files = {}
    for index, path in enumerate(paths):
        mode, size_, mtime_ns, ino = stats[4 * index : 4 * index + 4]
        files[path] = FileStat(mode, size_, mtime_ns, ino, targets.get(path))
    owners = {
        path: records[owner[index]].stem
        for index, path in enumerate(paths)
        if 0 <= owner[index] < len(records)
    }
    return Snapshot(
        header["number"],
        header["created"],
        header["kind"],
        header["label"],
        header["command"],
        records,
        files,
        owners,
    )


def listing(guard_dir: str) -> list[dict[str, Any]]:
    """Summaries of the snapshots kept, oldest first."""
    data = read_json(os.path.join(_folder(guard_dir), INDEX))
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        return []
    entries = data.get("snapshots")
    return [e for e in entries if isinstance(e, dict)] if isinstance(entries, list) else []


def save(guard_dir: str, snapshot: Snapshot, keep: int) -> Snapshot:
    """Store ``snapshot`` under the next number; drop the oldest beyond ``keep``."""
    kept = listing(guard_dir)
    snapshot.number = max((entry["number"] for entry in kept), default=0) + 1
    folder = _folder(guard_dir)
    write_atomic(os.path.join(folder, _file_name(snapshot.number)), _encode(snapshot), durable=True)
    kept.append(snapshot.summary())
    dropped, kept = kept[:-keep], kept[-keep:]
    write_json(os.path.join(folder, INDEX), {"format": FORMAT, "snapshots": kept}, durable=True)
    for entry in dropped:
        with contextlib.suppress(OSError):
            os.unlink(os.path.join(folder, _file_name(entry["number"])))
    return snapshot


def load(guard_dir: str, number: int) -> Snapshot:
    """Snapshot ``number``; IntegrityInputError when there is no such (usable) one."""
    path = os.path.join(_folder(guard_dir), _file_name(number))
    try:
        with open(path, "rb") as handle:
            return _decode(handle.read())
    except FileNotFoundError:
        raise IntegrityInputError(f"there is no snapshot {number}") from None
    except (OSError, ValueError, KeyError, TypeError, EOFError) as error:
        raise IntegrityInputError(f"snapshot {number} cannot be read: {error}") from None


def latest_summary(guard_dir: str) -> dict[str, Any] | None:
    """The index entry of the newest snapshot (cheap: no snapshot is read)."""
    kept = listing(guard_dir)
    return kept[-1] if kept else None


def latest(guard_dir: str, kind: str | None = None) -> Snapshot | None:
    """The newest usable snapshot (of ``kind``, if given), or None."""
    for entry in reversed(listing(guard_dir)):
        if kind is None or entry.get("kind") == kind:
            try:
                return load(guard_dir, entry["number"])
            except IntegrityInputError:
                continue
    return None
