"""Where verify's worker processes start to pay: the break-even of the pool.

    .venv/bin/python benchmarks/pool.py [--repeat N] [--work DIR] [--small]

``verify --no-cache`` hands the hashing to worker processes when it has at least
``MIN_FILES`` files to hash on at least ``MIN_CORES`` cores
(``conda_integrity/observe/workers.py``); else it hashes in its own process (large
files on threads). This script times, on the
benchmark environment of ``bigenv.py``, ``verify -p ENV PKG --no-cache`` of each
package alone (from a few hundred files to 14,000), and of the whole environment,
with the pool forced (``CONDA_PLUGINS_INTEGRITY_POOL_MIN_FILES=0``, one worker per
core) and without it (``CONDA_PLUGINS_INTEGRITY_WORKERS=1``), the two taking turns,
median of N runs, and prints where the pool starts to win.
"""

from __future__ import annotations

import json
import statistics
import sys

from bigenv import arguments, build_environment, work_folder
from measure import all_cores, run

from conda_integrity.observe.workers import (
    MIN_CORES,
    MIN_FILES,
    MIN_FILES_VARIABLE,
    WORKERS_VARIABLE,
)


def main() -> int:
    parser = arguments(__doc__)
    args = parser.parse_args()
    conda, prefix = build_environment(work_folder(args.work, args.small))
    packages = []
    for record in (prefix / "conda-meta").glob("*.json"):
        data = json.loads(record.read_text())
        packages.append((len(data.get("files", [])), data["name"]))
    packages.sort()
    cores = len(all_cores())
    # the pool forced, one worker per core (verify itself starts none on 2 cores)
    ways = {
        "pool": {MIN_FILES_VARIABLE: "0", WORKERS_VARIABLE: str(cores)},
        "no pool": {WORKERS_VARIABLE: "1"},
    }
    print(f"{cores} cores; median of {args.repeat} runs, the two taking turns")
    print(f"{'package':<16}{'files':>7}{'MB':>8}{'no pool s':>11}{'pool s':>9}{'pool/no':>9}")
    wins = []
    # each package alone, then the whole environment
    for name in [name for _, name in packages] + [None]:
        command = ["integrity", "verify", "-p", str(prefix), "--no-cache", "--json", "-q"]
        if name is not None:
            command.insert(4, name)
        times: dict[str, list[float]] = {way: [] for way in ways}
        for env in ways.values():  # warm
            run(conda, command, **env)
        last = None
        for _ in range(args.repeat):
            for way, env in ways.items():
                last = run(conda, command, **env)
                times[way].append(last.seconds)
        assert last is not None
        checked = json.loads(last.stdout)["checked"]
        pool, alone = (statistics.median(times[way]) for way in ("pool", "no pool"))
        if name is not None:
            wins.append((checked["hashed_files"], pool < alone))
        print(
            f"{name or '(all of them)':<16}{checked['hashed_files']:>7}"
            f"{checked['hashed_bytes'] / 1e6:>8.0f}"
            f"{alone:>11.3f}{pool:>9.3f}{pool / alone:>9.2f}"
        )
    losing = [files for files, won in wins if not won]
    above = [files for files, won in wins if won and files > max(losing, default=0)]
    print()
    print(
        f"the pool wins from {min(above)} files hashed on"
        if above
        else "the pool does not win on any package here"
    )
    print(
        f"the threshold verify uses: {MIN_FILES} files ({MIN_FILES_VARIABLE} sets another), "
        f"on at least {MIN_CORES} cores ({WORKERS_VARIABLE} sets the workers)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
