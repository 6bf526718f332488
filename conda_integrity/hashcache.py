"""The per-prefix cache of verified hashes.

An entry says: the file at this path, while its ``lstat`` showed this inode,
size, mtime and ctime, had this SHA-256. Any write to a file changes its ctime
(which, unlike mtime, cannot be set back), and replacing it changes its inode,
so a matching key means unchanged content. A file changed less than
``RACY_SECONDS`` before the run is not cached: timestamps are coarse, and a
write in the same tick as the hash would otherwise go unseen.
"""

from __future__ import annotations

import os
from typing import Any

from .state import read_json, state_path, write_json

FILE_NAME = "hash-cache.json"
FORMAT = 1
RACY_SECONDS = 2


def stat_key(info: os.stat_result) -> list[int]:
    return [info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns]


class HashCache:
    """Verified hashes of one prefix, keyed by path and stat key."""

    def __init__(self, entries: dict[str, list[Any]] | None = None) -> None:
        self.entries: dict[str, list[Any]] = entries or {}
        self.changed = False

    @classmethod
    def load(cls, prefix: str) -> HashCache:
        data = read_json(state_path(prefix, FILE_NAME))
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            return cls()
        entries = data.get("entries")
        return cls(entries if isinstance(entries, dict) else None)

    def get(self, path: str, info: os.stat_result) -> str | None:
        entry = self.entries.get(path)
        if (
            entry is not None
            and len(entry) == 5
            and entry[3] == info.st_ctime_ns
            and entry[0] == info.st_ino
            and entry[1] == info.st_size
            and entry[2] == info.st_mtime_ns
        ):
            return str(entry[4])
        return None

    def put(self, path: str, info: os.stat_result, sha256: str, now_ns: int) -> None:
        if now_ns - info.st_ctime_ns < RACY_SECONDS * 1_000_000_000:
            if self.entries.pop(path, None) is not None:
                self.changed = True
            return
        self.entries[path] = [*stat_key(info), sha256]
        self.changed = True

    def forget_all_but(self, paths: set[str]) -> None:
        """Drop entries of paths no record owns any more."""
        stale = [path for path in self.entries if path not in paths]
        for path in stale:
            del self.entries[path]
        self.changed = self.changed or bool(stale)

    def save(self, prefix: str) -> None:
        if self.changed:
            write_json(state_path(prefix, FILE_NAME), {"format": FORMAT, "entries": self.entries})
            self.changed = False
