"""Worker processes that hash files, so that every core does per-file work.

Threads only help with large files (``hashlib`` and ``read`` release Python's
lock); the cost of 40,000 small files is in the per-file work around them
(open, fstat, read, close, the digest object), which holds the lock. A worker
here is a plain Python process that imports nothing but :mod:`.hashing`: it
reads a batch of files to hash on its stdin and writes their digests (or the
``OSError`` of each file that could not be read) on its stdout. It hashes with
:func:`.hashing.file_digest`, so every rule holds as in-process: the file is
opened with ``O_NOFOLLOW | O_NONBLOCK`` (no symlink followed, no FIFO waited
on) and its inode is checked after the open against the ``lstat`` of the
caller. Workers share nothing but their inputs and results; which files to
hash, the hashes known already and the one hash per inode stay with the caller
(:mod:`.disk`).

The pool is started once per run (``verify --all`` keeps it over every
environment) and only where it pays: on a machine with more cores than verify's
own process and one hashing thread keep busy (:data:`MIN_CORES`), for work large
enough to pay for a Python start-up per worker (:data:`MIN_FILES`).
"""

from __future__ import annotations

import contextlib
import os
import struct
import subprocess
import sys
import threading
from collections import deque
from typing import IO

from .hashing import LARGE, HashJob, file_digest

#: below this many files to hash, the pool costs more than it saves: a worker
#: takes a Python start-up to come up (0.1 s on a busy 2-core machine), in which
#: verify hashes a few thousand small files itself (an estimate, not a measured
#: break-even); ``CONDA_PLUGINS_INTEGRITY_POOL_MIN_FILES`` sets another (0: always)
MIN_FILES = 2000
#: the number of worker processes: one per core this process may run on
#: (``CONDA_PLUGINS_INTEGRITY_WORKERS`` sets it; 0 or 1: no pool)
WORKERS_VARIABLE = "CONDA_PLUGINS_INTEGRITY_WORKERS"
#: the fewest cores on which verify starts workers unless told to: on two, its own
#: process (the lstat and judgement of every file, small files hashed) and its one
#: thread for large files keep both cores busy, and handing the hashing to two
#: workers made every verify slower, a full one of 44,269 files 4.23 s against
#: 3.22 s (benchmarks/pool.py); on more cores its own process is what they wait for
MIN_CORES = 3
MIN_FILES_VARIABLE = "CONDA_PLUGINS_INTEGRITY_POOL_MIN_FILES"
#: files per message to a worker: few enough that the workers share the end of
#: the queue evenly, many enough that a message costs little per file
BATCH_FILES = 256
BATCH_BYTES = 8 << 20
_HEADER = struct.Struct("<Q")
#: what a worker says once it can take files
READY = "ready"


def _int_setting(name: str, default: int) -> int:
    try:
        return max(0, int(os.environ.get(name, "")))
    except ValueError:
        return default


def cores() -> int:
    """The cores this process may run on (``taskset`` and cgroups' cpusets count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows (tests/test_platforms.py runs it here)
        return os.cpu_count() or 1


def worth_a_pool(files: int) -> bool:
    """Whether hashing ``files`` files is worth starting worker processes: on at
    least :data:`MIN_CORES` cores, or as many workers as the setting asks for."""
    available = cores()
    workers = _int_setting(WORKERS_VARIABLE, available if available >= MIN_CORES else 1)
    return workers > 1 and files >= _int_setting(MIN_FILES_VARIABLE, MIN_FILES)


def send(stream: IO[bytes], value: object) -> None:
    """Write one message (a pickled value) on a pipe to a process of ours."""
    import pickle  # here: the guard imports this module, and seldom needs a pool

    data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_HEADER.pack(len(data)) + data)
    stream.flush()


def receive(stream: IO[bytes]) -> object | None:
    """The next message, or None at the end of the stream."""
    import pickle

    header = stream.read(_HEADER.size)
    if len(header) < _HEADER.size:
        return None
    (size,) = _HEADER.unpack(header)
    data = stream.read(size)
    if len(data) < size:
        return None
    # only ever our own worker's answer, or our own request, on a pipe of ours
    return pickle.loads(data)


def _hash(job: tuple[str, int, str]) -> str | OSError:
    try:
        return file_digest(*job)
    except OSError as error:
        return error


def _run(job: HashJob) -> str | OSError:
    return _hash((job.full_path, job.ino, job.algorithm))


class _Worker:
    """One worker process and the thread of ours that feeds it."""

    def __init__(self, pool: WorkerPool, number: int) -> None:
        self.pool = pool
        package_parent = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))
        env = dict(os.environ)
        # the worker runs this very copy of the package, whatever sys.path says
        env["PYTHONPATH"] = os.pathsep.join(
            part for part in (package_parent, env.get("PYTHONPATH")) if part
        )
        self.process = subprocess.Popen(
            [sys.executable, "-m", __name__],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,  # a worker that fails says it by dying
            env=env,
            close_fds=True,
        )
        self.thread: threading.Thread | None = None
        self.number = number
        #: the worker said it can take files
        self.ready = False

    def start_feeding(self) -> None:
        self.thread = threading.Thread(
            target=self._feed, name=f"integrity-worker-{self.number}", daemon=True
        )
        self.thread.start()

    def _feed(self) -> None:
        pool, process = self.pool, self.process
        assert process.stdin is not None and process.stdout is not None
        # take no file before the worker is up: until then, this process hashes them
        if not self.ready:
            with contextlib.suppress(OSError):
                self.ready = receive(process.stdout) == READY
            if not self.ready:
                return
        while True:
            batch = pool.take_batch(wait=True)
            if batch is None:
                return
            try:
                send(process.stdin, [(job.full_path, job.ino, job.algorithm) for job in batch])
                results = receive(process.stdout)
            except OSError:
                results = None
            if not isinstance(results, list) or len(results) != len(batch):
                # the worker died (killed, out of memory): the caller hashes the batch
                pool.give_back(batch)
                return
            with pool.lock:
                pool.done.extend(zip(batch, results))
                pool.hashed_by_workers += len(batch)

    def join(self) -> None:
        """Wait for the feeding thread, if it may hold files (a worker not up yet
        holds none, and its thread takes none once the pool is closing)."""
        if self.thread is not None and self.ready:
            self.thread.join()
            self.thread = None

    def close(self) -> None:
        """Tell the worker to end (the end of its input), without waiting for it."""
        streams = [self.process.stdin]
        if self.thread is None:  # else its thread still reads it, and ends by itself
            streams.append(self.process.stdout)
        for stream in streams:
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()


def _reap(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:  # pragma: no cover (a worker stuck in a read)
            process.kill()
            process.wait()


class WorkerPool:
    """Hashes files in worker processes; the same interface as :class:`.hashing.Hasher`.

    ``submit`` queues a file; the workers take batches from the queue once they
    are up; ``results`` waits for them to finish the queue (or, when none is up
    yet, hashes it in this process) and returns every result. The pool serves
    several prefixes one after another; ``close`` ends the workers.
    """

    def __init__(self, workers: int | None = None) -> None:
        self.workers = workers or _int_setting(WORKERS_VARIABLE, cores()) or 1
        #: the files to hash (a deque: appends and pops need no lock of ours)
        self.queue: deque[HashJob] = deque()
        self.done: list[tuple[HashJob, str | OSError]] = []
        self.lock = threading.Lock()
        #: set when files were queued; the feeding threads wait on it
        self.more = threading.Event()
        self.closing = False
        self.processes: list[_Worker] = []
        #: files the worker processes hashed (the rest, this process did)
        self.hashed_by_workers = 0

    def _start(self) -> None:
        if not self.processes:
            try:
                while len(self.processes) < self.workers:
                    self.processes.append(_Worker(self, len(self.processes)))
            except OSError:  # no interpreter to start: the workers there are, or none
                self.workers = len(self.processes)
        for worker in self.processes:
            if worker.thread is None and worker.process.poll() is None:
                worker.start_feeding()

    def submit(self, job: HashJob) -> None:
        # once per file of a large environment: as little as can be
        self.queue.append(job)
        if not self.more.is_set():
            self.more.set()
            if self.workers and (not self.processes or self.processes[0].thread is None):
                self._start()

    def take_batch(self, wait: bool) -> list[HashJob] | None:
        """Up to :data:`BATCH_FILES` files (one large file alone); None when the
        queue is empty and nothing more will come (or, without ``wait``, empty)."""
        queue = self.queue
        while True:
            batch: list[HashJob] = []
            size = 0
            try:
                while len(batch) < BATCH_FILES and size < BATCH_BYTES:
                    job = queue.popleft()
                    batch.append(job)
                    size += job.size
                    if job.size >= LARGE:
                        break
            except IndexError:
                pass
            if batch:
                return batch
            if self.closing or not wait:
                return None
            self.more.clear()
            if not queue:  # a file queued after the clear set it again
                self.more.wait(0.01)

    def give_back(self, batch: list[HashJob]) -> None:
        self.queue.extendleft(reversed(batch))

    def start(self, wait: bool = False) -> None:
        """Start the workers now (else the first file queued does), and with ``wait``,
        wait until they can take files."""
        self._start()
        if wait:
            for worker in self.processes:
                while worker.thread is not None and worker.thread.is_alive() and not worker.ready:
                    worker.thread.join(0.01)

    def results(self) -> list[tuple[HashJob, str | OSError]]:
        """Finish the queued files and return their results: the workers finish them
        if any is up, else this process does."""
        self.closing = True
        self.more.set()
        try:
            if not any(worker.ready for worker in self.processes):
                self._hash_the_rest()
            for worker in self.processes:
                worker.join()  # a worker that is up takes files until none is left
            self._hash_the_rest()  # those a worker that died gave back
        finally:
            self.closing = False  # ready for the next prefix
            self.more.clear()
        done, self.done = self.done, []
        return done

    def _hash_the_rest(self) -> None:
        while True:
            batch = self.take_batch(wait=False)
            if batch is None:
                return
            results = [(job, _run(job)) for job in batch]
            with self.lock:
                self.done.extend(results)

    def close(self) -> None:
        """End the worker processes."""
        self.closing = True
        self.queue.clear()
        self.more.set()
        for worker in self.processes:
            worker.join()
            worker.close()
        # a worker ends at once, but Python's own exit takes a while: reaped aside
        processes = [worker.process for worker in self.processes]
        if processes:
            threading.Thread(target=_reap, args=(processes,), daemon=True).start()
        self.processes = []


def main() -> int:
    """The worker: batches of (path, inode, algorithm) in, digests or errors out."""
    source = os.fdopen(sys.stdin.fileno(), "rb", buffering=1 << 16, closefd=False)
    sink = os.fdopen(sys.stdout.fileno(), "wb", closefd=False)
    sys.stdout = sys.stderr  # nothing else may write into the answers
    send(sink, READY)
    while True:
        jobs = receive(source)
        if jobs is None:
            return 0
        assert isinstance(jobs, list)
        send(sink, [_hash(job) for job in jobs])


if __name__ == "__main__":
    sys.exit(main())
