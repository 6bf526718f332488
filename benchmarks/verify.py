"""How fast ``conda integrity verify`` is, next to ``conda doctor`` and to the
machine's own hashing rate, in one run.

    .venv/bin/python benchmarks/verify.py [--repeat N] [--work DIR] [--small]

Builds (once) a large environment with real conda from real PyPI wheels (see
``bigenv.py``; ``--small``: the test suite's small one, to check that this script
runs), then times, as the median of N runs each with a warm page cache: conda's bare
start-up (``conda --version``), ``conda doctor`` (its altered-files and
missing-files checks), ``verify`` with an empty hash cache (``--no-cache``) on all
cores and on one, ``verify`` with the cache, and ``verify --fast``; each with the
peak memory of its process. The commands on all cores take turns with the start-up
and doctor, those on one core with each other. Start-up is subtracted; rates are of
the content each command actually checked: the files doctor hashes (entries with
``sha256_in_prefix`` whose path exists, which leaves out every noarch python file)
and the files verify reports in ``checked``; "cores busy" is the CPU time (user and
system) of each, start-up's subtracted, over its net time. The ceiling is SHA-256 of
the files verify hashes read by one process per core, nothing else done, in the same
run; the stat floor is one ``lstat`` of every path the records own, the same way, on
all cores and on one: the least a cached verify could cost; the per-file floor is
that ``lstat`` and the open, ``fstat``, reads and SHA-256 of every file verify
hashes, the same way: the least a full verify could cost.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from stat import S_ISREG

from bigenv import arguments, build_environment, work_folder
from measure import (
    all_cores,
    hashing_ceiling,
    per_file_floor,
    run,
    stat_ceiling,
    timed,
)

from tests.support.helpers import CONDA_VERSION


def doctor_content(prefix: Path) -> tuple[int, int]:
    """(files, bytes) conda doctor's altered-files check hashes."""
    files = size = 0
    for record in (prefix / "conda-meta").glob("*.json"):
        data = json.loads(record.read_text())
        for entry in data.get("paths_data", {}).get("paths", []):
            path = prefix / entry["_path"]
            if entry.get("sha256_in_prefix") and path.is_file():
                files += 1
                size += path.stat().st_size
    return files, size


def verified_files(prefix: Path) -> tuple[list[Path], list[tuple[str, bool]]]:
    """The regular files a full verify hashes, each inode once (noarch python
    files at the path they were installed to), and every path the records own,
    each marked with whether it is one of those: read as verify reads them."""
    # here: importing tests.support.helpers first makes the test suite's conda importable
    from conda_integrity.records.reader import read_records, record_files

    records, _ = read_records(str(prefix), record_files(str(prefix)))
    seen: set[int] = set()
    hashed: list[Path] = []
    jobs: dict[str, bool] = {}
    for record in records:
        for owned in record.paths:
            path = prefix / owned.path
            if str(path) in jobs:
                continue
            try:
                info = path.lstat()
            except OSError:
                continue
            to_hash = bool(owned.sha256) and S_ISREG(info.st_mode) and info.st_ino not in seen
            if to_hash:
                seen.add(info.st_ino)
                hashed.append(path)
            jobs[str(path)] = to_hash
    return hashed, list(jobs.items())


def main() -> int:
    parser = arguments(__doc__)
    args = parser.parse_args()
    conda, prefix = build_environment(work_folder(args.work, args.small))
    state = prefix / "conda-meta" / "integrity"
    verify = ["integrity", "verify", "-p", str(prefix), "--json", "-q"]
    cores = all_cores()
    one_core = {min(cores)}

    doctor_args = ["doctor", "-p", str(prefix)]
    if CONDA_VERSION.major >= 25:
        doctor_args += ["altered-files", "missing-files"]

    shutil.rmtree(state, ignore_errors=True)
    first_run = run(conda, verify)
    first = json.loads(first_run.stdout)

    # the anchors and the commands measured against them take turns: this machine's
    # speed moves within minutes, and so it moves for all of them alike
    doctor_label = "conda doctor (altered+missing)"
    on_all = [
        ("start-up", ["--version"]),
        (doctor_label, doctor_args),
        (f"verify --no-cache ({len(cores)} cores)", [*verify, "--no-cache"]),
        (f"verify, with the cache ({len(cores)} cores)", verify),
        ("verify --fast", [*verify, "--fast"]),
    ]
    on_one = [
        ("verify --no-cache (1 core)", [*verify, "--no-cache"]),
        ("verify, with the cache (1 core)", verify),
    ]
    measured = dict(
        zip([label for label, _ in on_all], timed(conda, [c for _, c in on_all], args.repeat))
    )
    measured.update(
        zip(
            [label for label, _ in on_one],
            timed(conda, [c for _, c in on_one], args.repeat, one_core),
        )
    )
    startup = measured["start-up"]

    rows = []
    d_files, d_bytes = doctor_content(prefix)
    rows.append((doctor_label, measured[doctor_label], d_files, d_bytes))
    order = [on_all[2][0], on_one[0][0], on_all[3][0], on_one[1][0], on_all[4][0]]
    for label in order:
        report = json.loads(measured[label].last.stdout)
        assert report["findings"] == [], report["findings"][:5]
        checked = report["checked"]
        rows.append((label, measured[label], checked["files"], checked["bytes"]))
    files, jobs = verified_files(prefix)
    ceiling = hashing_ceiling(files, len(cores), args.repeat)
    ceiling_one = hashing_ceiling(files, 1, args.repeat)
    floor = per_file_floor(jobs, len(cores), args.repeat)
    floor_one = per_file_floor(jobs, 1, args.repeat)
    owned = [path for path, _ in jobs]  # every owned path, as verify reads them
    stat_all = stat_ceiling(owned, len(cores), args.repeat)
    stat_one = stat_ceiling(owned, 1, args.repeat)

    print(f"environment: {prefix}")
    print(
        f"  {first['checked']['packages']} packages, {first['checked']['files']} files, "
        f"{first['checked']['bytes'] / 1e9:.2f} GB of content with a known hash"
    )
    print(f"conda {CONDA_VERSION}, Python {sys.version.split()[0]}, {len(cores)} cores")
    print(
        f"median of {args.repeat} runs, warm page cache; conda start-up "
        f"{startup.seconds:.3f} s subtracted"
    )
    print()
    columns = ("wall s", "net s", "files", "MB")
    header = f"{'command':<34}" + "".join(f"{c:>8}" for c in columns)
    print(
        header + f"{'files/s':>10}{'MB/s':>8}{'vs doctor':>11}{'of ceiling':>12}"
        f"{'s/50k files':>13}{'peak MB':>9}{'cores busy':>12}"
    )
    doctor_rate = d_bytes / max(measured[doctor_label].seconds - startup.seconds, 1e-9)
    net = {}
    for label, result, count, size in rows:
        net[label] = max(result.seconds - startup.seconds, 1e-9)
        rate = size / net[label]
        is_doctor = label == doctor_label
        ratio = "" if is_doctor else f"{rate / doctor_rate:.2f}x"
        of_ceiling = "" if is_doctor else f"{rate / ceiling:.0%}"
        print(
            f"{label:<34}{result.seconds:>8.3f}{net[label]:>8.3f}{count:>8}{size / 1e6:>8.0f}"
            f"{count / net[label]:>10.0f}{rate / 1e6:>8.0f}{ratio:>11}{of_ceiling:>12}"
            f"{net[label] / count * 50000:>13.3f}{result.peak_mb:>9.0f}"
            f"{(result.cpu_seconds - startup.cpu_seconds) / net[label]:>12.2f}"
        )
    print()
    total = sum(path.stat().st_size for path in files)
    print(
        f"hashing ceiling (SHA-256 of the same {len(files)} files, {total / 1e9:.2f} GB, "
        f"read and hashed by one process per core, nothing else): "
        f"{ceiling / 1e6:.0f} MB/s on {len(cores)} cores, {ceiling_one / 1e6:.0f} MB/s on 1"
    )
    print(
        f"stat floor (lstat of the {len(owned)} paths the records own, by processes already "
        f"running, nothing else): {stat_all:.3f} s on {len(cores)} cores, {stat_one:.3f} s "
        f"on 1 ({stat_all / len(owned) * 50000:.3f} and {stat_one / len(owned) * 50000:.3f} "
        f"s per 50k files)"
    )
    total_hashed = sum(1 for _, to_hash in jobs if to_hash)
    print(
        f"per-file floor (lstat of the {len(jobs)} paths, open, fstat, read and SHA-256 of "
        f"the {total_hashed} files, by processes already running, nothing else): "
        f"{floor:.3f} s on {len(cores)} cores, {total / floor / 1e6:.0f} MB/s, "
        f"{total / floor / ceiling:.0%} of the ceiling (the most a full verify could "
        f"reach here); {floor_one:.3f} s on 1"
    )
    full = rows[1]
    full_rate = full[3] / net[full[0]]
    print(
        f"targets: --no-cache at least 2x doctor's rate ({full_rate / doctor_rate:.2f}x) and "
        f"70 % of the ceiling ({full_rate / ceiling:.0%}); cached and --fast at most 0.080 s "
        f"per 50k files ({net[rows[3][0]] / rows[3][2] * 50000:.3f} s, "
        f"{net[rows[5][0]] / rows[5][2] * 50000:.3f} s)"
    )
    print(
        f"first verify of the environment (reads every package archive for its modes): "
        f"{first_run.seconds:.2f} s, peak {first_run.peak_mb:.0f} MB"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
