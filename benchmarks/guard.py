"""What the guard costs a `conda install`, in one run.

    .venv/bin/python benchmarks/guard.py [--repeat N] [--work DIR] [--small]

In a large environment made by real conda from real PyPI wheels (the packages of
``bigenv.py``, in an environment of its own so that the installs here change
nothing the other benchmarks use), it times ``conda install`` of one small
package with the plugin active (``integrity_mode: warn``) and with the plugin
blocked (``conda_without_integrity.py``), alternately, removing the package
after each install, and prints the medians and the guard's overhead. The target: at most
5 % of the install's wall time or 0.15 s, whichever is larger. ``--small``: the test
suite's small environment instead, to check that this script runs.
"""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bigenv import arguments, build_environment, work_folder
from measure import owned_paths, stat_ceiling

from tests.support import packages
from tests.support.conda_cli import RUNNER, Conda
from tests.support.helpers import CONDA_VERSION
from tests.support.packages import File, Package

WITHOUT = Path(__file__).with_name("conda_without_integrity.py")
TINY = Package(name="tinypkg", version="1.0", files=[File("share/tinypkg/README", b"tiny\n")])


def copy_of_big(work: Path, name: str, verified: bool = False) -> tuple[Conda, Path]:
    """A copy of the big environment made by conda (once, unguarded) as ``work/NAME``,
    with the channel offering ``tinypkg`` to install into it; ``verified``: verify it
    once when made."""
    conda, big = build_environment(work)
    if not (conda.channel / "linux-64" / TINY.fn).exists():
        packages.build(TINY, conda.channel)
        packages.write_repodata(conda.channel)
    prefix = work / name
    done = work / f"{name}.done"
    if not done.exists():
        shutil.rmtree(prefix, ignore_errors=True)
        names = sorted(json.loads(p.read_text())["name"] for p in big.glob("conda-meta/*.json"))
        print(f"creating {prefix} with {len(names)} packages", file=sys.stderr)
        conda.create(prefix, *names, env={"CONDA_PLUGINS_INTEGRITY_MODE": "off"})
        if verified:
            conda.run("integrity", "verify", "-p", str(prefix))
        done.touch()
    return conda, prefix


def main() -> int:
    parser = arguments(__doc__)
    args = parser.parse_args()
    args.work = work_folder(args.work, args.small)
    conda, prefix = copy_of_big(args.work, "guard-env")
    conda.remove(prefix, "tinypkg", check=False, env={"CONDA_PLUGINS_INTEGRITY_MODE": "off"})

    times: dict[str, list[float]] = {"guard": [], "without": []}
    env = conda.environ(CONDA_PLUGINS_INTEGRITY_MODE="warn")
    # as installed by conda or pip, conda-integrity runs from compiled bytecode (the
    # warm-up round writes it), not from source compiled anew in every process
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    runners = {"guard": RUNNER, "without": WITHOUT}
    for _ in range(args.repeat + 1):  # the first round warms caches and is dropped
        for label, runner in runners.items():
            install = [sys.executable, str(runner), "install", "-p", str(prefix), "--yes"]
            install.append("tinypkg")
            start = time.perf_counter()
            result = subprocess.run(install, env=env, capture_output=True, text=True, check=True)
            times[label].append(time.perf_counter() - start)
            assert "conda-integrity" not in result.stderr, result.stderr
            remove = [sys.executable, str(runner), "remove", "-p", str(prefix), "--yes", "tinypkg"]
            subprocess.run(remove, env=env, capture_output=True, check=True)
    with_guard = statistics.median(times["guard"][1:])
    without = statistics.median(times["without"][1:])
    files = sum(len(json.loads(p.read_text())["files"]) for p in prefix.glob("conda-meta/*.json"))
    overhead = with_guard - without
    budget = max(0.05 * without, 0.15)
    print(f"environment: {prefix} ({files} files), conda {CONDA_VERSION}")
    print(f"conda install tinypkg, median of {args.repeat} runs each, alternating:")
    print(f"  conda-integrity blocked              {without:7.3f} s")
    print(f"  with the guard (integrity_mode=warn) {with_guard:7.3f} s")
    print(
        f"  guard overhead {overhead:+.3f} s ({overhead / without:+.1%}); "
        f"budget {budget:.3f} s (5 % or 0.15 s): {'met' if overhead <= budget else 'MISSED'}"
    )
    owned = owned_paths(prefix)
    print(
        f"  the least its check before the transaction could cost: one lstat of each of "
        f"the {len(owned)} paths the records own, nothing else, on one core (the guard "
        f"runs in conda's own process): {stat_ceiling(owned, 1, args.repeat):.3f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
