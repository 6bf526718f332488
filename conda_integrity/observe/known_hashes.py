"""The verified hashes of a prefix, kept to be reused by the next runs.

An entry says: the file at this path, while its ``lstat`` showed this inode,
size, mtime and ctime, had this SHA-256. Any write to a file changes its ctime
(which, unlike mtime, cannot be set back), and replacing it changes its inode,
so a matching key means unchanged content. A file changed less than
``RACY_SECONDS`` before the run is not kept: timestamps are coarse, and a
write in the same tick as the hash would otherwise go unseen.

The file (``conda-meta/integrity/hash-cache.json``) is stored by columns, the
paths as one string, the keys as one list of integers and the digests as one
string, which JSON reads several times faster than one object per path.
"""

from __future__ import annotations

import os

from ..store.state_file import StateFile

FILE_NAME = "hash-cache.json"
FORMAT = 2
RACY_SECONDS = 2
_KEY = 4  # inode, size, mtime_ns, ctime_ns
_HEX = 64


def _file(prefix: str) -> StateFile:
    return StateFile.in_prefix(prefix, FILE_NAME, FORMAT)


class KnownHashes:
    """Verified hashes of one prefix, keyed by path and stat key."""

    def __init__(
        self, paths: list[str] | None = None, keys: list[int] | None = None, digests: str = ""
    ) -> None:
        self._reset(paths or [], keys or [], digests)
        #: the prefix whose file is read on demand (see :meth:`on_demand`), until it is
        self._unread: str | None = None
        self._changed_since_ns = 0
        #: while unread: paths whose entries are to be dropped, and the paths to keep
        self._dropped: set[str] = set()
        self._keep: set[str] | None = None

    def _reset(self, paths: list[str], keys: list[int], digests: str) -> None:
        self.index = {path: number for number, path in enumerate(paths)}
        self.keys = keys
        self.digests = digests
        #: entries added, replaced (a list) or dropped (None) since loading
        self.updates: dict[str, tuple[list[int], str] | None] = {}

    @classmethod
    def load(cls, prefix: str) -> KnownHashes:
        """The hashes of the last runs (none when their file is unusable)."""
        data = _file(prefix).read()
        if data is None:
            return cls()
        paths, keys, digests = data.get("paths"), data.get("keys"), data.get("digests")
        if not (isinstance(paths, str) and isinstance(keys, list) and isinstance(digests, str)):
            return cls()
        split = paths.split("\n") if paths else []
        if len(keys) != _KEY * len(split) or len(digests) != _HEX * len(split):
            return cls()
        return cls(split, keys, digests)

    @classmethod
    def on_demand(cls, prefix: str, changed_since_ns: int) -> KnownHashes:
        """The hashes of the last runs, read only when a file changed before
        ``changed_since_ns`` is looked up, or when new ones are saved.

        For the guard's check after a transaction: the files it looks at are
        mostly those conda has just written, which no earlier run can have hashed
        under their present key, and the file of a large environment's hashes
        takes longer to read than theirs.
        """
        known = cls()
        known._unread, known._changed_since_ns = prefix, changed_since_ns
        return known

    def _read(self) -> None:
        """Read the file of an :meth:`on_demand` map, keeping what changed meanwhile."""
        if self._unread is None:
            return
        loaded = KnownHashes.load(self._unread)
        self._unread = None
        updates = self.updates
        self._reset(list(loaded.index), loaded.keys, loaded.digests)
        for path in self._dropped:
            if path in self.index:
                self.updates[path] = None
        if self._keep is not None:
            self.forget_all_but(self._keep)
        self.updates.update(updates)

    @property
    def empty(self) -> bool:
        """Whether no hash is known (an unread file may hold some)."""
        return self._unread is None and not self.index and not self.updates

    @property
    def changed(self) -> bool:
        return bool(self.updates)

    def get(self, path: str, info: os.stat_result) -> str | None:
        if path in self.updates:
            entry = self.updates[path]
            if entry is None or entry[0] != _key(info):
                return None
            return entry[1]
        if self._unread is not None:
            if info.st_ctime_ns >= self._changed_since_ns:
                return None  # changed since: no entry can hold its present key
            self._read()
        number = self.index.get(path)
        if number is None:
            return None
        at = _KEY * number
        keys = self.keys
        if (
            keys[at + 3] == info.st_ctime_ns
            and keys[at] == info.st_ino
            and keys[at + 1] == info.st_size
            and keys[at + 2] == info.st_mtime_ns
        ):
            return self.digests[_HEX * number : _HEX * (number + 1)]
        return None

    def put(self, path: str, info: os.stat_result, sha256: str, now_ns: int) -> None:
        if now_ns - info.st_ctime_ns < RACY_SECONDS * 1_000_000_000:
            if self._unread is not None:
                self._dropped.add(path)
                self.updates.pop(path, None)
            elif path in self.index or self.updates.get(path):
                self.updates[path] = None
            return
        self.updates[path] = (_key(info), sha256)

    def forget_all_but(self, paths: set[str]) -> None:
        """Drop entries of paths no record owns any more."""
        if self._unread is not None:
            self._keep = paths  # for the entries of the file, once it is read
        for path in [*self.index, *self.updates]:
            if path not in paths:
                self.updates[path] = None

    def save(self, prefix: str) -> None:
        """Write the hashes, if they changed (OSError when that fails)."""
        nothing_new = not any(entry is not None for entry in self.updates.values())
        if nothing_new and (self._unread is not None or not self.updates):
            return  # (while the file is unread, entries to drop wait for a later save)
        self._read()
        paths, keys, digests = [], [], []
        for path, number in self.index.items():
            if path in self.updates:
                continue
            paths.append(path)
            keys += self.keys[_KEY * number : _KEY * (number + 1)]
            digests.append(self.digests[_HEX * number : _HEX * (number + 1)])
        for path, entry in self.updates.items():
            if entry is not None:
                paths.append(path)
                keys += entry[0]
                digests.append(entry[1])
        joined = "".join(digests)
        _file(prefix).write({"paths": "\n".join(paths), "keys": keys, "digests": joined})
        self._reset(paths, keys, joined)


def _key(info: os.stat_result) -> list[int]:
    return [info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns]
