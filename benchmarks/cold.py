"""How fast ``conda integrity verify`` is with a cold page cache (the first verify
after a reboot, on a fresh CI runner, of an environment nobody read for a week),
next to ``conda doctor`` and to what the disk allows, in one run.

    sudo .venv/bin/python benchmarks/cold.py [--repeat N] [--work DIR] [--small]

Before every timed run the page cache is dropped (``sync``, then ``3`` written to
``/proc/sys/vm/drop_caches``, which needs root); where that cannot be done the script
says so and exits 0 without figures. Measured, each as the median of N cold runs:
conda's bare start-up (``conda --version``), ``conda doctor`` (altered-files and
missing-files), ``verify --no-cache``, a cached ``verify`` (its state written by a warm
run first); with the peak memory of each. The floors, cold too and in the same run:
the read ceiling (every file verify hashes read and SHA-256'd by 1, 8 and 16 threads,
nothing else) and the ``lstat`` floor (one ``lstat`` of every path the records own, by
1 and 8 threads). Start-up is subtracted from the commands; the targets (issue 29):
cold ``--no-cache`` at most 1.1x the best read ceiling and faster than cold doctor,
cold cached verify at most 1.5x the best ``lstat`` floor.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bigenv import arguments, build_environment, work_folder
from measure import CHUNK, run
from verify import doctor_content, verified_files

from tests.support.helpers import CONDA_VERSION

DROP = Path("/proc/sys/vm/drop_caches")
READ_THREADS = (1, 8, 16)
STAT_THREADS = (1, 8)


def drop_page_cache() -> str | None:
    """Empty the page cache (and the dentry and inode caches); the reason it could
    not, or None."""
    subprocess.run(["sync"], check=False)
    try:
        DROP.write_text("3\n")
    except OSError as error:
        return f"cannot write {DROP}: {error.strerror or error}"
    return None


def _read_and_hash(path: str) -> int:
    digest = hashlib.sha256()
    size = 0
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    try:
        while chunk := os.read(fd, CHUNK):
            digest.update(chunk)
            size += len(chunk)
    finally:
        os.close(fd)
    return size


def cold_read(paths: list[str], threads: int) -> float:
    """Seconds to read and hash every one of ``paths`` on ``threads`` threads,
    starting from a dropped page cache."""
    drop_page_cache()
    start = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        sum(pool.map(_read_and_hash, paths, chunksize=16))
    return time.perf_counter() - start


def _lstat_part(paths: list[str]) -> int:
    for path in paths:
        with contextlib.suppress(OSError):
            os.lstat(path)
    return len(paths)


def cold_lstat(paths: list[str], threads: int) -> float:
    """Seconds to ``lstat`` every one of ``paths`` on ``threads`` threads, starting
    from dropped caches (folders in the order verify meets them)."""
    chunk = -(-len(paths) // threads)
    parts = [paths[start : start + chunk] for start in range(0, len(paths), chunk)]
    drop_page_cache()
    start = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        sum(pool.map(_lstat_part, parts))
    return time.perf_counter() - start


def median_of(repeat: int, measure) -> float:  # type: ignore[no-untyped-def]
    return statistics.median(measure() for _ in range(repeat))


def main() -> int:
    parser = arguments(__doc__, repeat=3)
    args = parser.parse_args()
    reason = drop_page_cache()
    if reason is not None:
        print(f"skipped: the page cache cannot be dropped here ({reason}); run as root")
        return 0
    conda, prefix = build_environment(work_folder(args.work, args.small))
    verify = ["integrity", "verify", "-p", str(prefix), "--json", "-q"]
    doctor = ["doctor", "-p", str(prefix)]
    if CONDA_VERSION.major >= 25:
        doctor += ["altered-files", "missing-files"]
    commands = {
        "start-up": ["--version"],
        "conda doctor (altered+missing)": doctor,
        "verify --no-cache": [*verify, "--no-cache"],
        "verify, with the cache": verify,
    }
    run(conda, verify)  # verify's state is in place for the cached runs

    runs: dict[str, list] = {label: [] for label in commands}
    for _ in range(args.repeat):
        for label, command in commands.items():  # taking turns, each run cold
            drop_page_cache()
            runs[label].append(run(conda, command))
    seconds = {label: statistics.median(r.seconds for r in done) for label, done in runs.items()}
    peaks = {label: max(r.peak_mb for r in done) for label, done in runs.items()}
    for label, done in runs.items():
        assert all(r.returncode == 0 for r in done), (label, done[-1].stdout[-2000:])

    files, jobs = verified_files(prefix)
    hashed = [str(path) for path in files]
    owned = [path for path, _ in jobs]
    total = sum(path.stat().st_size for path in files)
    reads = {n: median_of(args.repeat, lambda n=n: cold_read(hashed, n)) for n in READ_THREADS}
    stats = {n: median_of(args.repeat, lambda n=n: cold_lstat(owned, n)) for n in STAT_THREADS}
    read_floor = min(reads.values())
    stat_floor = min(stats.values())

    startup = seconds["start-up"]
    net = {label: max(s - startup, 1e-9) for label, s in seconds.items()}
    print(f"environment: {prefix}")
    print(f"  {len(owned)} owned paths; {len(hashed)} files hashed, {total / 1e9:.2f} GB")
    d_files, d_bytes = doctor_content(prefix)
    print(f"  conda doctor hashes {d_files} files, {d_bytes / 1e9:.2f} GB")
    print(f"conda {CONDA_VERSION}, Python {sys.version.split()[0]}, {os.cpu_count()} cores")
    print(
        f"median of {args.repeat} runs, page cache dropped before each; conda start-up "
        f"(cold) {startup:.3f} s subtracted"
    )
    print()
    print(f"{'command':<34}{'wall s':>8}{'net s':>8}{'peak MB':>9}")
    for label in commands:
        if label != "start-up":
            print(f"{label:<34}{seconds[label]:>8.3f}{net[label]:>8.3f}{peaks[label]:>9.0f}")
    print()
    for threads, spent in reads.items():
        print(
            f"read ceiling, {threads:>2} threads (read and SHA-256 of the {len(hashed)} files, "
            f"nothing else): {spent:.3f} s, {total / spent / 1e6:.0f} MB/s"
        )
    for threads, spent in stats.items():
        print(
            f"lstat floor, {threads:>2} threads (the {len(owned)} owned paths, nothing else): "
            f"{spent:.3f} s"
        )
    print()
    full = net["verify --no-cache"]
    cached = net["verify, with the cache"]
    doctor_net = net["conda doctor (altered+missing)"]
    print(
        f"targets: cold --no-cache at most 1.1x the read ceiling ({full / read_floor:.2f}x) "
        f"and faster than cold doctor ({full:.3f} s against {doctor_net:.3f} s: "
        f"{'met' if full < doctor_net else 'missed'}); cold cached verify at most 1.5x the "
        f"lstat floor ({cached / stat_floor:.2f}x)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
