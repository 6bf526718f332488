"""What the benchmarks share: a conda command's wall time and peak memory, on all
cores or on one, and the machine's own SHA-256 rate over a set of files."""

from __future__ import annotations

import hashlib
import os
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


def run(conda: Conda, args: list[str], cores: set[int] | None = None, **env: str) -> Run:
    """``conda ARGS``: its wall time, and the peak memory of its process (from
    ``wait4``: that process, not its worker processes, which are far smaller)."""
    with on_cores(cores):
        start = time.perf_counter()
        process = conda.popen(*args, env=env or None)
    errors: list[str] = []
    assert process.stdout is not None and process.stderr is not None
    reader = threading.Thread(target=lambda: errors.append(process.stderr.read()))  # type: ignore[union-attr]
    reader.start()
    stdout = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    reader.join()
    process.returncode = os.waitstatus_to_exitcode(status)
    return Run(seconds, usage.ru_maxrss / 1024, stdout, process.returncode)


@dataclass
class Timed:
    """The median of several runs of one command."""

    seconds: float
    peak_mb: float
    last: Run


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
        Timed(statistics.median(r.seconds for r in done), max(r.peak_mb for r in done), done[-1])
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
