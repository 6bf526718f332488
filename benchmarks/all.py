"""How ``conda integrity verify --all`` scales over environments that share a package cache.

    .venv/bin/python benchmarks/all.py [--repeat N] [--work DIR] [--count 20] [--small]

Builds (once) COUNT copies of the big environment of ``bigenv.py``, made by real
conda from one channel into one package cache, so that their files are hard links of
the same cached files; conda knows exactly these environments (they are in its envs
dir and its environments.txt). Then times, as the median of N runs each with a warm
page cache and conda's start-up (``conda --version``, timed in turns with them)
subtracted: ``verify`` of one of them and ``verify --all``, each with an empty hash
cache (``--no-cache``) and with the cache, on all cores and on one; and ``verify
--pkgs-dirs`` of their package cache (with and without ``--fast``); each with the
peak memory of its process. ``--small``: the test suite's small environment instead,
to check that this script runs. A file shared by hard link is one inode, hashed once
per run for all the environments (the target: ``--all --no-cache`` at most 1.5x one
environment); what each further environment still costs is its own records, one
``lstat`` per file, the walk of its folders and the checks.
"""

from __future__ import annotations

import json
import shutil
import sys
import time

from bigenv import arguments, build_shared_environments, work_folder
from measure import all_cores, owned_paths, stat_ceiling, timed

from tests.support.helpers import CONDA_VERSION


def reports(document: dict) -> list[dict]:
    """The per-environment reports of one run (``--all`` or a single prefix)."""
    if "environments" not in document:
        return [document]
    return [entry for entry in document["environments"] if "skipped" not in entry]


def main() -> int:
    parser = arguments(__doc__)
    parser.add_argument("--count", type=int, default=20)
    args = parser.parse_args()
    conda, prefixes = build_shared_environments(work_folder(args.work, args.small), args.count)
    one = ["integrity", "verify", "-p", str(prefixes[0]), "--json", "-q"]
    every = ["integrity", "verify", "--all", "--json", "-q"]
    cache = ["integrity", "verify", "--pkgs-dirs", "--json", "-q"]
    cores = all_cores()
    one_core = {min(cores)}

    for prefix in prefixes:  # what a first run finds: no state of verify's yet
        shutil.rmtree(prefix / "conda-meta" / "integrity", ignore_errors=True)
    start = time.perf_counter()
    conda.run(*every, check=False, timeout=3600)
    first_all = time.perf_counter() - start
    commands = [
        ("verify -p env01 --no-cache", [*one, "--no-cache"]),
        (f"verify --all --no-cache ({args.count} envs)", [*every, "--no-cache"]),
        ("verify -p env01 (cached)", one),
        (f"verify --all (cached, {args.count} envs)", every),
        ("verify --pkgs-dirs (their cache)", cache),
        ("verify --pkgs-dirs --fast", [*cache, "--fast"]),
    ]
    rows = []
    startups: dict[str, float] = {}
    for on, where in ((None, f"{len(cores)} cores"), (one_core, "1 core")):
        # start-up takes turns with the commands: this machine's speed moves within
        # minutes, and so it moves for all of them alike
        startup, *measured = timed(
            conda, [["--version"], *(command for _, command in commands)], args.repeat, on
        )
        startups[where] = startup.seconds
        for (label, command), result in zip(commands, measured):
            document = json.loads(result.last.stdout) if result.last.stdout.startswith("{") else {}
            done = reports(document)
            expected = args.count if "--all" in command else 1
            assert len(done) == expected, document.get("environments")
            assert all(report["findings"] == [] for report in done), done
            files = sum(report["checked"]["files"] for report in done)
            hashed = sum(report["checked"]["hashed_bytes"] for report in done)
            content = sum(report["checked"]["bytes"] for report in done)
            rows.append((f"{label}, {where}", where, result, len(done), files, content, hashed))
        if len(cores) == 1:
            break

    first = reports(json.loads(conda.run(*one, check=False).stdout))[0]["checked"]
    print(f"{args.count} environments made by conda {CONDA_VERSION} from one package cache")
    print(
        f"  each: {first['packages']} packages, {first['files']} files, "
        f"{first['bytes'] / 1e9:.2f} GB of content with a known hash"
    )
    print(f"Python {sys.version.split()[0]}, {len(cores)} cores")
    print(
        f"median of {args.repeat} runs, warm page cache, taking turns with conda's "
        f"start-up, which is subtracted ("
        + ", ".join(f"{seconds:.3f} s on {where}" for where, seconds in startups.items())
        + ")"
    )
    print()
    print(
        f"{'command':<48}{'wall s':>8}{'net s':>8}{'envs':>6}{'files':>9}{'GB':>7}"
        f"{'hashed GB':>11}{'peak MB':>9}"
    )
    net, peak = {}, {}
    for label, where, result, envs, files, content, hashed in rows:
        net[label] = max(result.seconds - startups[where], 1e-9)
        peak[label] = result.peak_mb
        print(
            f"{label:<48}{result.seconds:>8.3f}{net[label]:>8.3f}{envs:>6}{files:>9}"
            f"{content / 1e9:>7.2f}{hashed / 1e9:>11.2f}{result.peak_mb:>9.0f}"
        )
    labels = [row[0] for row in rows]
    stat_floor = stat_ceiling(owned_paths(prefixes[0]), len(cores), args.repeat)
    least = (net[labels[0]] + (args.count - 1) * stat_floor) / net[labels[0]]
    full = net[labels[1]] / net[labels[0]]
    cached = net[labels[3]] / net[labels[2]]
    extra = (net[labels[1]] - net[labels[0]]) / max(args.count - 1, 1)
    print()
    print(
        f"--all --no-cache over {args.count} environments: {full:.2f}x one environment "
        f"(target 1.5x; without shared hashing about {args.count}x); "
        f"each further environment {extra:.3f} s"
    )
    print(
        f"  the least it could cost: one environment, and for each further one the "
        f"lstat of its {first['files']} paths, nothing else, on {len(cores)} cores "
        f"({stat_floor:.3f} s): {least:.2f}x one environment"
    )
    print(
        f"--all with the cache: {cached:.2f}x one environment with the cache "
        f"(target {args.count}x / {len(cores)} cores = {args.count / len(cores):.1f}x)"
    )
    print(
        f"peak memory: --all --no-cache {peak[labels[1]] / peak[labels[0]]:.2f}x one "
        f"environment's, cached --all {peak[labels[3]] / peak[labels[2]]:.2f}x (target 2x)"
    )
    print(
        f"first verify --all, no state in any environment yet (reads each package "
        f"archive once for the executable bits): {first_all:.2f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
