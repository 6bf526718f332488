"""What the checks across records (dependencies, history, pip) cost, in one run.

    .venv/bin/python benchmarks/envchecks.py [--repeat N] [--work DIR] [--small]

On the big environment of ``verify.py`` (built once by ``bigenv.py``; only
verify's own state in ``conda-meta/integrity`` is written), times in-process,
as the median of N runs:

- the steady state: the remembered results reused (what every verify of an
  unchanged environment pays), next to a whole ``verify`` with the cache;
- the same steps with nothing remembered (after any record changed);
- the dependency judgement alone on a made-up 300-package environment with
  about 3,000 depends and constrains entries (no environment on disk needed).
"""

from __future__ import annotations

import statistics
import sys
import time

from bigenv import arguments, build_environment, work_folder

from tests.support.real_conda import ensure_conda

ensure_conda()

from conda_integrity.observe.clean_records import CleanRecords  # noqa: E402
from conda_integrity.observe.conda_history import read_history  # noqa: E402
from conda_integrity.observe.dependencies import find_unmet, unmet_specs  # noqa: E402
from conda_integrity.observe.known_hashes import RACY_SECONDS  # noqa: E402
from conda_integrity.progress import Progress  # noqa: E402
from conda_integrity.records.installed import InstalledPackage, records_key  # noqa: E402
from conda_integrity.records.reader import record_files  # noqa: E402
from conda_integrity.verify.read import VerifyOptions, _site_packages  # noqa: E402
from conda_integrity.verify.run import verify_prefix  # noqa: E402


def median_ms(run, repeat: int) -> float:  # type: ignore[no-untyped-def]
    run()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def across_records(prefix: str, reuse: bool):  # type: ignore[no-untyped-def]
    """The steps verify adds for the checks across records, as verify runs them
    (the record files and the remembered records are what verify reads anyway)."""
    files = record_files(prefix)
    unchanged = CleanRecords.load(prefix).unchanged(prefix, files)
    packages = tuple(u.package for u in unchanged.values())

    def run() -> None:
        settled = time.time_ns() - RACY_SECONDS * 1_000_000_000
        key = records_key(files)
        unmet_specs(prefix, packages, key, reuse, True)
        read_history(prefix, settled, reuse, True)
        _site_packages(prefix, packages, [], unchanged, key, settled, reuse=reuse, save=True)

    return run


def made_up_environment(count: int = 300) -> tuple[InstalledPackage, ...]:
    packages = []
    for i in range(count):
        depends = [f"pkg{(i * 7 + k) % count} >={k}.0,<{k + 5}.0a0" for k in range(8)]
        depends += ["__glibc >=2.17,<3.0.a0", "python >=3.9,<3.12.0a0"]
        fields = {
            "name": f"pkg{i}",
            "version": f"{i % 5 + 2}.1",
            "build": "h0_0",
            "build_number": 0,
            "channel": "https://conda.anaconda.org/conda-forge/linux-64",
            "subdir": "linux-64",
            "depends": depends,
            "constrains": [f"pkg{(i + 3) % count} <99"],
        }
        packages.append(InstalledPackage(f"pkg{i}-{fields['version']}-h0_0", fields))
    return tuple(packages)


class _NoVirtual:
    known = True

    def get(self, name: str) -> None:
        return None


def main() -> int:
    parser = arguments(__doc__, repeat=21)
    args = parser.parse_args()
    _, env = build_environment(work_folder(args.work, args.small))
    prefix = str(env)
    progress = Progress(enabled=False)
    verify_prefix(prefix, VerifyOptions(), progress)  # remember everything once
    whole = median_ms(lambda: verify_prefix(prefix, VerifyOptions(), progress), args.repeat)
    steady = median_ms(across_records(prefix, reuse=True), args.repeat)
    cold = median_ms(across_records(prefix, reuse=False), max(3, args.repeat // 4))
    made_up = made_up_environment()
    entries = sum(len(p.depends) + len(p.constrains) for p in made_up)
    judged = median_ms(lambda: find_unmet(made_up, _NoVirtual()), 5)
    print(f"environment: {prefix} ({len(record_files(prefix))} records)")
    print(f"median of {args.repeat} runs, in-process (conda's start-up not included)")
    print(f"  verify with the cache, whole run:                 {whole:8.2f} ms")
    print(f"  checks across records, remembered (steady state): {steady:8.2f} ms")
    print(f"  checks across records, nothing remembered:        {cold:8.2f} ms")
    print(f"  judging {entries} entries of 300 made-up packages:   {judged:8.2f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
