"""Records met earlier in one run of ``verify --all``.

Environments that conda made from one package cache hold byte-identical record
files for the packages they share (the same build, linked from the same cache
folder), so a run over many of them parses each such file, and has conda's model
judge it, once: a record file is known by the SHA-256 of its bytes, which costs
a few per cent of parsing it. What a record file is turned into also depends on
its name, the environment's site-packages (noarch python) and its file system's
path limits; those are part of the key.

The parsed records are kept up to a bound on the paths they hold, the oldest
dropped first, so that a run over many different environments holds about one
environment's records, not all of them.
"""

from __future__ import annotations

import hashlib
from typing import Any, NamedTuple

from .model import PathLimits, Record

#: the paths the kept records may hold in all (the benchmark environment has 44,269)
MAX_PATHS = 60_000


class RecordKey(NamedTuple):
    """What a record file is turned into depends on."""

    digest: bytes
    stem: str
    site_packages: str | None
    limits: PathLimits


def digest_of(data: bytes) -> bytes:
    """The key of a record file's bytes."""
    return hashlib.sha256(data).digest()


class SeenRecords:
    """The record files parsed, built and judged earlier in this run."""

    def __init__(self, max_paths: int = MAX_PATHS) -> None:
        self.max_paths = max_paths
        self._raws: dict[bytes, dict[str, Any]] = {}
        self._records: dict[RecordKey, Record] = {}
        self._paths = 0
        #: the record files conda's model loaded
        self._loadable: set[bytes] = set()

    def raw(self, digest: bytes) -> dict[str, Any] | None:
        """The parsed content of a record file with these bytes, if one was kept."""
        return self._raws.get(digest)

    def record(self, key: RecordKey) -> Record | None:
        """The record built from these bytes for this name and environment."""
        return self._records.get(key)

    def keep(self, key: RecordKey, record: Record) -> None:
        """Keep ``record``, built from the record file of ``key``."""
        if key in self._records or len(record.paths) > self.max_paths:
            return
        self._records[key] = record
        self._raws[key.digest] = record.raw
        self._paths += len(record.paths)
        while self._paths > self.max_paths:
            oldest = next(iter(self._records))
            dropped = self._records.pop(oldest)
            self._paths -= len(dropped.paths)
            if not any(kept.digest == oldest.digest for kept in self._records):
                self._raws.pop(oldest.digest, None)

    def loadable(self, digest: bytes) -> bool:
        """Whether conda's model loaded a record file with these bytes in this run."""
        return digest in self._loadable

    def judged_loadable(self, digest: bytes) -> None:
        self._loadable.add(digest)
