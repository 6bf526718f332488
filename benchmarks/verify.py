"""How fast ``conda integrity verify`` is, next to ``conda doctor``, in one run.

    .venv/bin/python benchmarks/verify.py [--repeat N] [--work DIR]

Builds (once) a large environment with real conda from real PyPI wheels (see
``bigenv.py``), then times, as the median of N runs each with a warm page
cache: conda's bare start-up (``conda --version``), ``conda doctor`` (its
altered-files and missing-files checks), ``verify`` with an empty hash cache,
``verify`` with the cache, and ``verify --fast``. Start-up is subtracted;
rates are of the content each command actually checked: the files doctor
hashes (entries with ``sha256_in_prefix`` whose path exists, which leaves out
every noarch python file) and the files verify reports in ``checked``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import time
from pathlib import Path

from bigenv import ROOT, build_environment

from tests.support.conda_cli import Conda
from tests.support.helpers import CONDA_VERSION


def timed(conda: Conda, args: list[str], repeat: int) -> tuple[float, list[str]]:
    """Median wall time of ``conda ARGS`` and the stdout of the last run."""
    times, out = [], ""
    conda.run(*args, check=False)  # warm the page cache and conda's own caches
    for _ in range(repeat):
        start = time.perf_counter()
        result = conda.run(*args, check=False)
        times.append(time.perf_counter() - start)
        out = result.stdout
    return statistics.median(times), out.splitlines()


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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--work", type=Path, default=ROOT / "benchmarks" / ".work")
    args = parser.parse_args()
    conda, prefix = build_environment(args.work)
    state = prefix / "conda-meta" / "integrity"
    verify = ["integrity", "verify", "-p", str(prefix), "--json", "-q"]

    startup, _ = timed(conda, ["--version"], args.repeat)
    doctor_args = ["doctor", "-p", str(prefix)]
    if CONDA_VERSION.major >= 25:
        doctor_args += ["altered-files", "missing-files"]
    doctor, _ = timed(conda, doctor_args, args.repeat)

    shutil.rmtree(state, ignore_errors=True)
    start = time.perf_counter()
    first = json.loads(conda.run(*verify, check=False).stdout)
    first_run = time.perf_counter() - start

    rows = []
    d_files, d_bytes = doctor_content(prefix)
    rows.append(("conda doctor (altered+missing)", doctor, d_files, d_bytes))
    for label, extra in (
        ("verify, empty hash cache", ["--no-cache"]),
        ("verify, with the cache", []),
        ("verify --fast", ["--fast"]),
    ):
        seconds, lines = timed(conda, [*verify, *extra], args.repeat)
        report = json.loads("\n".join(lines))
        assert report["findings"] == [], report["findings"][:5]
        rows.append((label, seconds, report["checked"]["files"], report["checked"]["bytes"]))

    print(f"environment: {prefix}")
    print(
        f"  {first['checked']['packages']} packages, {first['checked']['files']} files, "
        f"{first['checked']['bytes'] / 1e9:.2f} GB of content with a known hash"
    )
    print(f"conda {CONDA_VERSION}, Python {sys.version.split()[0]}, {os.cpu_count()} cores")
    print(
        f"median of {args.repeat} runs, warm page cache; conda start-up {startup:.3f} s subtracted"
    )
    print()
    columns = ("wall s", "net s", "files", "MB")
    header = f"{'command':<32}" + "".join(f"{c:>8}" for c in columns)
    print(header + f"{'files/s':>10}{'MB/s':>8}{'vs doctor':>11}{'s/50k files':>13}")
    doctor_rate = d_bytes / max(doctor - startup, 1e-9)
    for label, seconds, files, size in rows:
        net = max(seconds - startup, 1e-9)
        rate = size / net
        ratio = "" if label.startswith("conda doctor") else f"{rate / doctor_rate:.1f}x"
        print(
            f"{label:<32}{seconds:>8.3f}{net:>8.3f}{files:>8}{size / 1e6:>8.0f}"
            f"{files / net:>10.0f}{rate / 1e6:>8.0f}{ratio:>11}{net / files * 50000:>13.3f}"
        )
    print()
    print(
        f"first verify of the environment (reads every package archive for its modes): "
        f"{first_run:.2f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
