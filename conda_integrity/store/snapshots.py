"""Snapshots of a prefix: its exact records and a stat index of every owned file.

A snapshot holds what a later roll-back or diff needs: each record (channel,
subdir, name, version, build, the archive's sha256) and, for every path the
records own, its kind and permission bits, size, mtime, inode and symlink
target. The guard takes one before and one after every transaction (the one
after is what verify compares modes against); ``conda integrity snapshot``
takes one by hand. Snapshots are numbered per prefix, stored compressed and
durably, and only the newest ``integrity_snapshots`` are kept.

The stat index is kept per record, each compressed on its own, with the digest
of the record's stat keys (``verify.read.state_digests``). A record whose digest is
the same as in an earlier snapshot has the same stats, so a new snapshot copies
its compressed block from that one: a snapshot after a transaction costs what
the transaction changed, not what the environment holds.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sys
import zlib
from array import array
from dataclasses import dataclass, field
from functools import cached_property
from stat import S_IFMT, S_ISLNK
from typing import Any, NamedTuple

from ..exceptions import IntegrityInputError
from . import schema
from .atomic_write import write_atomic
from .paths import SNAPSHOTS
from .state_dir import StateDir
from .state_file import StateFile

FORMAT = 3
FOLDER = SNAPSHOTS
INDEX = "index.json"
SUFFIX = ".snapshot"
#: snapshot files of this and of earlier formats (``NNNNNN.json.gz``)
_SNAPSHOT_FILE = re.compile(r"(\d{6,})\.(snapshot|json\.gz)")
MANUAL, BEFORE, AFTER = "manual", "before", "after"
#: bounds on what one header or block decompresses to (a damaged or hostile file
#: must not make us allocate without end)
MAX_HEADER = 256 * 1024 * 1024
MAX_BLOCK = 256 * 1024 * 1024


def _number(value: Any) -> bool:
    return schema.whole(value) and value >= 1


#: a snapshot as the index lists it (:meth:`Snapshot.summary`)
SUMMARY_FORMAT = schema.fields(
    {
        "number": _number,
        "created": schema.timestamp,
        "kind": schema.text,
        "label": schema.optional(schema.text),
        "command": schema.optional(schema.text),
        "packages": schema.whole,
        "files": schema.whole,
    },
    {"digests": schema.dict_of(schema.text)},
)
_RECORD_FORMAT = schema.row(*(schema.text,) * 4, *(schema.optional(schema.text),) * 5)
#: the header of a snapshot file (see ``_encode``)
HEADER_FORMAT = schema.fields(
    {
        "number": _number,
        "created": schema.timestamp,
        "kind": schema.text,
        "label": schema.optional(schema.text),
        "command": schema.optional(schema.text),
        "records": schema.list_of(_RECORD_FORMAT),
        "blocks": schema.dict_of(schema.row(schema.whole, schema.whole)),
        "files": schema.whole,
    },
    {"digests": schema.dict_of(schema.text)},
)


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
    #: per record, its paths and their stats, compressed (see ``_encode_block``)
    blocks: dict[str, bytes]
    #: how many paths the records own (each counted once)
    file_count: int
    #: per record, a digest of the stat keys of its record file and paths: equal
    #: digests, nothing changed (see ``verify.read.state_digests``)
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
            "files": self.file_count,
            "digests": self.digests,
        }

    def files_of(self, stem: str) -> dict[str, FileStat]:
        """The paths record ``stem`` owns, with their stats (empty: no such record)."""
        block = self.blocks.get(stem)
        if block is None:
            return {}
        try:
            return _decode_block(block)
        except (ValueError, TypeError, zlib.error) as error:
            raise IntegrityInputError(f"snapshot {self.number} cannot be read: {error}") from None

    @cached_property
    def files(self) -> dict[str, FileStat]:
        """Every owned path with its stat."""
        return {path: item for path, item, _ in self._owned}

    @cached_property
    def owners(self) -> dict[str, str]:
        """Every owned path with the stem of (the first of) its owners."""
        return {path: stem for path, _, stem in self._owned}

    @cached_property
    def _owned(self) -> list[tuple[str, FileStat, str]]:
        seen: set[str] = set()
        owned = []
        for record in self.records:
            for path, item in self.files_of(record.stem).items():
                if path not in seen:
                    seen.add(path)
                    owned.append((path, item, record.stem))
        return owned


def snapshot_record(stem: str, fields: dict[str, Any]) -> SnapshotRecord:
    """The snapshot's view of a record with these fields."""

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


# A block is zlib of: the paths (UTF-8, newline-separated), a NUL, the symlink
# targets (JSON, path -> target), a NUL, then mode, size, mtime_ns and inode of
# every path (unsigned 64-bit each, machine byte order; all 0: absent).
_STATS = "Q"


def _encode_block(paths: list[str], stats: array, targets: dict[str, str]) -> bytes:
    body = b"".join(
        (
            "\n".join(paths).encode("utf-8", "surrogateescape"),
            b"\0",
            json.dumps(targets, separators=(",", ":")).encode() if targets else b"",
            b"\0",
            stats.tobytes(),
        )
    )
    return zlib.compress(body, 1)


def _inflate(data: bytes, limit: int) -> bytes:
    """zlib ``data`` decompressed, or ValueError beyond ``limit`` bytes or when cut short."""
    inflater = zlib.decompressobj()
    try:
        body = inflater.decompress(data, limit)
    except zlib.error as error:
        raise ValueError(str(error)) from None
    if inflater.unconsumed_tail:
        raise ValueError("it holds more than it may")
    if not inflater.eof:
        raise ValueError("it is cut short")
    return body


def _json(data: bytes) -> Any:
    try:
        return json.loads(data)
    except RecursionError:
        raise ValueError("it is nested too deep") from None


_TARGETS = schema.dict_of(schema.text)


def _decode_block(block: bytes) -> dict[str, FileStat]:
    body = _inflate(block, MAX_BLOCK)
    first = body.index(b"\0")
    second = body.index(b"\0", first + 1)
    text = body[:first].decode("utf-8", "surrogateescape")
    paths = text.split("\n") if text else []
    targets = _json(body[first + 1 : second]) if second > first + 1 else {}
    if not schema.valid(_TARGETS, targets):
        raise ValueError("its symlink targets are not text")
    stats = array(_STATS)
    stats.frombytes(body[second + 1 :])
    if len(stats) != 4 * len(paths):
        raise ValueError("snapshot block is cut short")
    found = {}
    for index, path in enumerate(paths):
        mode, size, mtime_ns, ino = stats[4 * index : 4 * index + 4]
        found[path] = FileStat(mode, size, mtime_ns, ino, targets.get(path))
    return found


def stats_block(
    prefix: str,
    paths: tuple[str, ...],
    infos: list[os.stat_result | None],
    known: dict,
    modes: dict[str, int] | None = None,
) -> bytes:
    """The block of paths with their lstat (None: absent); ``known`` symlink targets;
    ``modes``, the modes to keep instead of the lstat's for paths still of that kind."""
    stats = array(_STATS)
    targets = {}
    for path, info in zip(paths, infos):
        if info is None:
            stats.extend((0, 0, 0, 0))
            continue
        mode = info.st_mode
        kept = modes.get(path) if modes else None
        if kept is not None and S_IFMT(kept) == S_IFMT(mode):
            mode = kept
        stats.extend((mode, info.st_size, info.st_mtime_ns, info.st_ino))
        if S_ISLNK(info.st_mode):
            target = known.get(path)
            if target is None:
                with contextlib.suppress(OSError):
                    target = os.readlink(os.path.join(prefix, path))
            if target is not None:
                targets[path] = target
    return _encode_block(list(paths), stats, targets)


def _folder(guard_dir: StateDir) -> StateDir:
    return guard_dir.sub(FOLDER)


def _file_name(number: int) -> str:
    return f"{number:06d}{SUFFIX}"


# A snapshot file is: the length of its header (8 bytes, little-endian), the
# header (zlib of JSON: summary, records, and the offset and length of each
# record's block after it), then the blocks.


def _encode(snapshot: Snapshot) -> bytes:
    offsets, offset = {}, 0
    for stem, block in snapshot.blocks.items():
        offsets[stem] = [offset, len(block)]
        offset += len(block)
    header = {
        "format": FORMAT,
        "byteorder": sys.byteorder,
        **snapshot.summary(),
        "records": [list(record) for record in snapshot.records],
        "blocks": offsets,
    }
    head = zlib.compress(json.dumps(header, separators=(",", ":")).encode(), 1)
    return b"".join((len(head).to_bytes(8, "little"), head, *snapshot.blocks.values()))


def _header(data: bytes) -> dict[str, Any]:
    """The header of a snapshot file, checked; ValueError when it is not usable."""
    size = int.from_bytes(data[:8], "little")
    header = _json(_inflate(data[8 : 8 + size], MAX_HEADER))
    if not isinstance(header, dict):
        raise ValueError("its header is not an object")
    if header.get("format") != FORMAT or header.get("byteorder") != sys.byteorder:
        raise ValueError(f"snapshot format {header.get('format')!r}")
    if not schema.valid(HEADER_FORMAT, header):
        raise ValueError("its header is not what a snapshot holds")
    return header


def _decode(data: bytes) -> Snapshot:
    header = _header(data)
    start = 8 + int.from_bytes(data[:8], "little")
    blocks = {}
    for stem, (offset, length) in header["blocks"].items():
        block = data[start + offset : start + offset + length]
        if len(block) != length:
            raise ValueError("snapshot is cut short")
        blocks[stem] = block
    return Snapshot(
        header["number"],
        header["created"],
        header["kind"],
        header["label"],
        header["command"],
        [SnapshotRecord(*fields) for fields in header["records"]],
        blocks,
        header["files"],
        header.get("digests") or {},
    )


def _index(guard_dir: StateDir) -> StateFile:
    """The index of the snapshots kept (written durably: ``log`` and ``rollback``
    find snapshots through it)."""
    return StateFile.in_folder(_folder(guard_dir), INDEX, FORMAT, durable=True)


def listing(guard_dir: StateDir) -> list[dict[str, Any]]:
    """Summaries of the snapshots kept, oldest first."""
    return read_listing(guard_dir)[0]


def read_listing(guard_dir: StateDir) -> tuple[list[dict[str, Any]], list[str]]:
    """:func:`listing`, and what it had to skip, in words.

    An index entry of another shape is skipped; an index that cannot be used at
    all is rebuilt from the headers of the snapshot files.
    """
    data = _index(guard_dir).read()
    entries = data.get("snapshots") if data is not None else None
    if not isinstance(entries, list):
        return _rebuilt_listing(guard_dir, unusable=data is not None or _has_index(guard_dir))
    kept, skipped, numbers = [], [], set()
    for position, entry in enumerate(entries, 1):
        if schema.valid(SUMMARY_FORMAT, entry) and entry["number"] not in numbers:
            numbers.add(entry["number"])
            kept.append(entry)
        else:
            skipped.append(f"entry {position} of {FOLDER}/{INDEX}: not a snapshot summary")
    return kept, skipped


def _has_index(guard_dir: StateDir) -> bool:
    return _folder(guard_dir).exists(INDEX)


def _rebuilt_listing(guard_dir: StateDir, unusable: bool) -> tuple[list[dict[str, Any]], list[str]]:
    """The summaries read from the snapshot files themselves (the index is unusable)."""
    folder = _folder(guard_dir)
    kept, skipped = [], []
    if unusable:
        skipped.append(f"{FOLDER}/{INDEX}: unusable; listed from the snapshot files instead")
    for number, name in sorted(_numbers_on_disk(folder).items()):
        try:
            header = _header(_read(folder, name, number))
        except (IntegrityInputError, ValueError) as error:
            skipped.append(f"{FOLDER}/{name}: {error}")
            continue
        summary = {key: header[key] for key in SUMMARY_KEYS if key in header}
        summary["packages"] = len(header["records"])
        kept.append(summary)
    return kept, skipped


SUMMARY_KEYS = ("number", "created", "kind", "label", "command", "files", "digests")


def save(guard_dir: StateDir, snapshot: Snapshot, keep: int) -> Snapshot:
    """Store ``snapshot`` under the next number; drop the oldest beyond ``keep``."""
    kept = listing(guard_dir)
    folder = _folder(guard_dir)
    on_disk = _numbers_on_disk(folder)
    # numbers go on after files an index of another format no longer lists
    snapshot.number = max([entry["number"] for entry in kept] + list(on_disk), default=0) + 1
    write_atomic(folder, _file_name(snapshot.number), _encode(snapshot), durable=True)
    kept.append(snapshot.summary())
    kept = kept[-keep:]
    _index(guard_dir).write({"snapshots": kept})
    listed = {entry["number"] for entry in kept}
    for number, name in on_disk.items():
        if number not in listed:
            with contextlib.suppress(OSError):
                folder.remove(name)
    return snapshot


def _numbers_on_disk(folder: StateDir) -> dict[int, str]:
    """Snapshot files in ``folder``: number -> file name."""
    found = {}
    for name in folder.names():
        match = _SNAPSHOT_FILE.fullmatch(name)
        if match:
            found[int(match.group(1))] = name
    return found


def _read(folder: StateDir, name: str, number: int) -> bytes:
    """The bytes of a snapshot file: a regular file of the folder's owner, read
    without blocking and without following a symlink."""
    data = folder.read(name)
    if data is None:
        if not folder.exists(name):
            raise IntegrityInputError(f"there is no snapshot {number}")
        raise IntegrityInputError(
            f"snapshot {number} cannot be read: not a regular file we can read, "
            "another user's, or too large"
        )
    return data


def load(guard_dir: StateDir, number: int) -> Snapshot:
    """Snapshot ``number``; IntegrityInputError when there is no such (usable) one."""
    if not _number(number):
        raise IntegrityInputError(f"there is no snapshot {number}")
    data = _read(_folder(guard_dir), _file_name(number), number)
    try:
        return _decode(data)
    except (ValueError, KeyError, TypeError, zlib.error) as error:
        raise IntegrityInputError(f"snapshot {number} cannot be read: {error}") from None


def latest_summary(guard_dir: StateDir) -> dict[str, Any] | None:
    """The index entry of the newest snapshot (cheap: no snapshot is read)."""
    kept = listing(guard_dir)
    return kept[-1] if kept else None


def latest(guard_dir: StateDir, kind: str | None = None) -> Snapshot | None:
    """The newest usable snapshot (of ``kind``, if given), or None."""
    for entry in reversed(listing(guard_dir)):
        if kind is None or entry.get("kind") == kind:
            try:
                return load(guard_dir, entry["number"])
            except IntegrityInputError:
                continue
    return None
