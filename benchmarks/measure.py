"""What the benchmarks share: a conda command's wall time and peak memory, on all
cores or on one, and the machine's own SHA-256 rate over a set of files."""

from __future__ import annotations

import hashlib
import json
import os
import stat
import statistics
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.support.conda_cli import Conda

CHUNK = 1 << 20


@dataclass
class Run:
    """One command, measured."""

    seconds: float
    #: the peak resident memory of the command's process, in MB
    peak_mb: float
    stdout: str
    returncode: int
    #: the CPU time (user and system) of the command's process and the processes it
    #: waited for, in seconds
    cpu_seconds: float = 0.0


def all_cores() -> set[int]:
    return os.sched_getaffinity(0)


@contextmanager
def on_cores(cores: set[int] | None) -> Iterator[None]:
    """Run what is started inside on ``cores`` only (a child inherits the set)."""
    if cores is None:
        yield
        return
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, cores)
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


def _high_water_kb(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return None


def run(conda: Conda, args: list[str], cores: set[int] | None = None, **env: str) -> Run:
    """``conda ARGS``: its wall time, and the peak memory of its process (that
    process, not its worker processes, which are far smaller).

    The peak is the process's own high-water mark (``VmHWM``), read every few
    milliseconds while it runs: the ``ru_maxrss`` that ``wait4`` gives counts the
    memory of the process that started it (this benchmark), which Linux carries
    over a fork and an exec.
    """
    with on_cores(cores):
        start = time.perf_counter()
        process = conda.popen(*args, env=env or None)
    errors: list[str] = []
    peak = [0]
    assert process.stdout is not None and process.stderr is not None
    reader = threading.Thread(target=lambda: errors.append(process.stderr.read()))  # type: ignore[union-attr]
    reader.start()

    def watch() -> None:
        while process.returncode is None:
            kilobytes = _high_water_kb(process.pid)
            if kilobytes is None:
                return
            peak[0] = max(peak[0], kilobytes)
            time.sleep(0.005)

    watcher = threading.Thread(target=watch)
    watcher.start()
    stdout = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    reader.join()
    watcher.join()
    cpu = usage.ru_utime + usage.ru_stime
    return Run(seconds, peak[0] / 1024, stdout, process.returncode, cpu)


@dataclass
class Timed:
    """The median of several runs of one command."""

    seconds: float
    peak_mb: float
    last: Run
    #: median CPU time (user and system), in seconds
    cpu_seconds: float = 0.0


def timed(
    conda: Conda, commands: list[list[str]], repeat: int, cores: set[int] | None = None
) -> list[Timed]:
    """Each command run ``repeat`` times after one warm-up run, the commands taking
    turns (the noise of a shared machine falls on all alike): median time, highest
    peak memory, and the last run."""
    runs: list[list[Run]] = [[] for _ in commands]
    for args in commands:
        run(conda, args, cores)  # warm the page cache and verify's state
    for _ in range(repeat):
        for number, args in enumerate(commands):
            runs[number].append(run(conda, args, cores))
    return [
        Timed(
            statistics.median(r.seconds for r in done),
            max(r.peak_mb for r in done),
            done[-1],
            statistics.median(r.cpu_seconds for r in done),
        )
        for done in runs
    ]


def _sha256(path: str) -> int:
    digest = hashlib.sha256()
    with open(path, "rb", buffering=0) as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return os.path.getsize(path)


def hashing_ceiling(files: list[Path], cores: int, repeat: int) -> float:
    """Bytes per second at which this machine reads and hashes ``files`` with
    SHA-256 on ``cores`` processes, nothing else done (median of ``repeat``): the
    most a verify of the same files could reach."""
    paths = sorted((str(path) for path in files), key=os.path.getsize, reverse=True)
    rates = []
    with ProcessPoolExecutor(cores) as pool:
        list(pool.map(_sha256, paths[:cores]))  # the workers started
        for _ in range(repeat + 1):
            start = time.perf_counter()
            total = sum(pool.map(_sha256, paths, chunksize=64))
            rates.append(total / (time.perf_counter() - start))
    return statistics.median(rates[1:])


def owned_paths(prefix: Path) -> list[str]:
    """Every path the records own, as verify's ``lstat`` sweep meets them."""
    found: dict[str, None] = {}
    for record in sorted((prefix / "conda-meta").glob("*.json")):
        for path in json.loads(record.read_text()).get("files", []):
            found.setdefault(str(prefix / path))
    return list(found)


def _lstat_all(paths: list[str]) -> int:
    for path in paths:
        os.lstat(path)
    return len(paths)


def stat_ceiling(paths: list[str], cores: int, repeat: int) -> float:
    """Seconds this machine takes to ``lstat`` every one of ``paths`` on ``cores``
    processes already running, nothing else done (median of ``repeat``): the least
    a check of every file's stat could cost."""
    chunk = -(-len(paths) // cores)
    parts = [paths[start : start + chunk] for start in range(0, len(paths), chunk)]
    times = []
    with ProcessPoolExecutor(cores) as pool:
        list(pool.map(_lstat_all, [part[:1] for part in parts]))  # the workers started
        for _ in range(repeat + 1):
            start = time.perf_counter()
            sum(pool.map(_lstat_all, parts))
            times.append(time.perf_counter() - start)
    return statistics.median(times[1:])


def _look_and_hash(jobs: list[tuple[str, bool]]) -> int:
    hashed = 0
    for path, to_hash in jobs:
        info = os.lstat(path)
        if to_hash and stat.S_ISREG(info.st_mode):
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
            try:
                os.fstat(fd)
                digest = hashlib.sha256()
                while chunk := os.read(fd, CHUNK):
                    digest.update(chunk)
                    hashed += len(chunk)
            finally:
                os.close(fd)
    return hashed


def per_file_floor(jobs: list[tuple[str, bool]], cores: int, repeat: int) -> float:
    """Seconds this machine takes for the per-file work of a full verify and
    nothing else, on ``cores`` processes already running (median of ``repeat``):
    an ``lstat`` of every path of ``jobs``, and for those marked, an open, an
    ``fstat``, the reads and SHA-256. No records parsed, nothing judged: the
    least a full verify could cost."""
    largest_first = sorted(jobs, key=lambda job: os.path.getsize(job[0]) if job[1] else 0)[::-1]
    parts = [largest_first[start : start + 64] for start in range(0, len(largest_first), 64)]
    times = []
    with ProcessPoolExecutor(cores) as pool:
        list(pool.map(_lstat_all, [[path] for path, _ in jobs[:cores]]))  # the workers started
        for _ in range(repeat + 1):
            start = time.perf_counter()
            sum(pool.map(_look_and_hash, parts))
            times.append(time.perf_counter() - start)
    return statistics.median(times[1:])
