"""Hashes computed during this run, by inode: each file is read once per run.

conda hard-links the files of a package from the package cache into every
environment that installs it, so twenty environments made from one cache hold
one inode per file, twenty times over. ``verify --all`` (and verify of one
prefix whose files are hard links of each other) looks a file's SHA-256 up here
by the full stat key of the inode before it reads the file, and adds what it
hashed. The map lives in memory for one run and is never written anywhere.

Why a stat key is enough within a run: any write changes the inode's ctime, so
a key that still matches means the same content, unless the write came within
one tick of the file system's clock of an earlier change that was before the
hash. Then this run reports that inode as it was when it was read, in every
environment alike; the next run reads it again, because the persistent hash
cache (:mod:`.known_hashes`) never keeps a hash of a file changed that recently.
"""

from __future__ import annotations

import os

#: (st_dev, st_ino, st_size, st_mtime_ns, st_ctime_ns)
InodeKey = tuple[int, int, int, int, int]


def inode_key(info: os.stat_result) -> InodeKey:
    """What identifies one version of one file's content during a run."""
    return (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns)


class InodeHashes:
    """SHA-256 of the files hashed so far in this run, by :func:`inode_key`."""

    def __init__(self) -> None:
        self._sha256: dict[InodeKey, str] = {}

    def __len__(self) -> int:
        return len(self._sha256)

    def get(self, info: os.stat_result) -> str | None:
        return self._sha256.get(inode_key(info))

    def put(self, info: os.stat_result, sha256: str) -> None:
        self._sha256[inode_key(info)] = sha256

    def copy(self) -> InodeHashes:
        """The hashes so far, apart from those added to this map later."""
        copied = InodeHashes()
        copied._sha256 = dict(self._sha256)
        return copied
