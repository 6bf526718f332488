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
from collections import deque
from typing import NamedTuple

from ..safe_read import OPEN_FLAGS

CHUNK = 1 << 24
#: files at least this large go to the worker threads (measured best on 2 cores)
LARGE = 1 << 18
_local = threading.local()


class FileChanged(OSError):
    """The path no longer is the regular file that lstat saw."""


class HashJob(NamedTuple):
    path: str  # prefix-relative, the key of the result
    full_path: str
    ino: int
    size: int
    algorithm: str = "sha256"


def _buffer() -> memoryview:
    buffer = getattr(_local, "buffer", None)
    if buffer is None:
        buffer = _local.buffer = memoryview(bytearray(CHUNK))
    return buffer


def _readinto(fd: int, buffer: memoryview) -> int:
    if hasattr(os, "readv"):
        return os.readv(fd, [buffer])
    data = os.read(fd, len(buffer))  # Windows (tests/test_platforms.py runs it here)
    buffer[: len(data)] = data
    return len(data)


def sha256_file(full_path: str, ino: int | None = None) -> str:
    """Hex SHA-256 of a regular file; never follows a symlink or blocks on a FIFO."""
    return file_digest(full_path, ino)


def file_digest(full_path: str, ino: int | None = None, algorithm: str = "sha256") -> str:
    """Hex digest (``sha256`` or ``md5``) of a regular file, as :func:`sha256_file`."""
    fd = os.open(full_path, OPEN_FLAGS)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or (ino is not None and info.st_ino != ino):
            raise FileChanged(f"{full_path} changed while it was being verified")
        digest = (
            hashlib.sha256()
            if algorithm == "sha256"
            else hashlib.new(algorithm, usedforsecurity=False)  # md5 names an archive
        )
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


def _run(job: HashJob) -> tuple[HashJob, str | OSError]:
    try:
        return job, file_digest(job.full_path, job.ino, job.algorithm)
    except OSError as error:
        return job, error


class Hasher:
    """Hashes large files on worker threads, and gives their results back.

    Large files are pure reading and hashing, which release the GIL, so the
    workers keep the other cores busy while the calling thread goes on with
    everything else (small files cost more in per-file overhead, which holds
    the GIL, than in hashing: the caller hashes them itself). At the end the
    caller helps with what is left.
    """

    def __init__(self, workers: int | None = None) -> None:
        self.workers = workers or max(1, min(8, (os.cpu_count() or 2) - 1))
        self.queue: deque[HashJob] = deque()
        self.done: list[tuple[HashJob, str | OSError]] = []
        self.threads: list[threading.Thread] = []

    def submit(self, job: HashJob) -> None:
        self.queue.append(job)
        if not self.threads:
            for number in range(self.workers):
                thread = threading.Thread(
                    target=self._work, name=f"integrity-hash-{number}", daemon=True
                )
                thread.start()
                self.threads.append(thread)

    def _work(self) -> None:
        queue, done = self.queue, self.done
        while True:
            try:
                job = queue.popleft()
            except IndexError:
                return
            done.append(_run(job))

    def results(self) -> list[tuple[HashJob, str | OSError]]:
        """Finish the queued files (helping the workers) and return their results."""
        try:
            self._work()
            for thread in self.threads:
                thread.join()
        finally:
            self.queue.clear()  # on Ctrl-C, let the workers stop after their file
            self.threads = []
        done, self.done = self.done, []
        return done
