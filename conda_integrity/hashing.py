"""SHA-256 of files in the prefix, safely and fast.

A file is opened only after ``lstat`` said it is a regular file, with
``O_NOFOLLOW`` and ``O_NONBLOCK`` so that a path swapped for a symlink or a
FIFO in the meantime is neither followed nor waited on, and ``fstat`` must
show the same inode. Large files are hashed on worker threads: ``hashlib``
and ``read`` release the GIL, so several cores hash at once.
"""

from __future__ import annotations

import hashlib
import os
import stat
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

_OPEN_FLAGS = (
    os.O_RDONLY
    | getattr(os, "O_NOFOLLOW", 0)
    | getattr(os, "O_NONBLOCK", 0)
    | getattr(os, "O_CLOEXEC", 0)
    | getattr(os, "O_BINARY", 0)
)
CHUNK = 1 << 20
#: files at least this large go to the worker threads
LARGE = 1 << 20
_local = threading.local()


class FileChanged(OSError):
    """The path no longer is the regular file that lstat saw."""


@dataclass(frozen=True)
class HashJob:
    path: str  # prefix-relative, the key of the result
    full_path: str
    ino: int
    size: int


def _buffer() -> memoryview:
    buffer = getattr(_local, "buffer", None)
    if buffer is None:
        buffer = _local.buffer = memoryview(bytearray(CHUNK))
    return buffer


def _readinto(fd: int, buffer: memoryview) -> int:
    if hasattr(os, "readv"):
        return os.readv(fd, [buffer])
    data = os.read(fd, len(buffer))  # pragma: no cover (Windows)
    buffer[: len(data)] = data
    return len(data)


def sha256_file(full_path: str, ino: int | None = None) -> str:
    """Hex SHA-256 of a regular file; never follows a symlink or blocks on a FIFO."""
    fd = os.open(full_path, _OPEN_FLAGS)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or (ino is not None and info.st_ino != ino):
            raise FileChanged(f"{full_path} changed while it was being verified")
        digest = hashlib.sha256()
        if info.st_size < CHUNK:
            # one read of size + 1 bytes: getting exactly `size` back means EOF
            data = os.read(fd, info.st_size + 1)
            digest.update(data)
            if len(data) == info.st_size:
                return digest.hexdigest()
        buffer = _buffer()
        while True:
            count = _readinto(fd, buffer)
            if not count:
                return digest.hexdigest()
            digest.update(buffer[:count])
    finally:
        os.close(fd)


def hash_files(
    jobs: Iterable[HashJob],
    progress: Callable[[int], None] | None = None,
    workers: int | None = None,
) -> Iterator[tuple[HashJob, str | OSError]]:
    """Hash every job; yield ``(job, hexdigest or the OSError)`` as each finishes.

    Large files are spread over worker threads while the calling thread hashes
    the small ones, which cost more in per-file overhead than in hashing.
    """
    small: list[HashJob] = []
    large: list[HashJob] = []
    for job in jobs:
        (large if job.size >= LARGE else small).append(job)
    large.sort(key=lambda job: job.size, reverse=True)

    def run(job: HashJob) -> tuple[HashJob, str | OSError]:
        try:
            return job, sha256_file(job.full_path, job.ino)
        except OSError as error:
            return job, error

    if not large:
        for job in small:
            result = run(job)
            if progress is not None:
                progress(job.size)
            yield result
        return

    workers = workers or max(1, min(4, os.cpu_count() or 1))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="integrity-hash") as pool:
        futures = [pool.submit(run, job) for job in large]
        for job in small:
            result = run(job)
            if progress is not None:
                progress(job.size)
            yield result
        for future in futures:
            result = future.result()
            if progress is not None:
                progress(result[0].size)
            yield result
