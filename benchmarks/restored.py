"""What the guard costs the first conda commands after an environment is restored by copy.

    .venv/bin/python benchmarks/restored.py [--repeat N] [--work DIR] [--small]

An environment of every package of ``bigenv.py`` (its own, beside the others), verified
once and changed by one guarded command so that it has snapshots, is moved away and
copied back (``cp -a``: every byte, mode and mtime kept, every inode and ctime new), N
times for each of two orders. After a restore it times, with the guard on
(``integrity_mode: warn``): the first ``conda install`` of one tiny package (its check
hashes the files that are copies of what the newest snapshot saw), then its ``conda
remove``, a second install and remove (which must hash nothing again); after another
restore, ``conda integrity verify`` first (which hashes everything) and then the install.
It prints the medians beside the same commands on the environment as it was, and stops
if the guard says anything (after a restore it must say nothing). ``--small``: the test
suite's small environment instead, to check that this script runs.
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bigenv import arguments, content_of, work_folder
from guard import TINY, copy_of_big

from tests.support.conda_cli import Conda
from tests.support.helpers import CONDA_VERSION

WARN = {"CONDA_PLUGINS_INTEGRITY_MODE": "warn"}


def timed(conda: Conda, *args: str) -> float:
    """The wall time of one guarded conda command, which must succeed and from which
    the guard must say nothing."""
    start = time.perf_counter()
    result = conda.run(*args, env=WARN, timeout=1800)
    seconds = time.perf_counter() - start
    assert "conda-integrity" not in result.stderr, result.stderr
    return seconds


def install(conda: Conda, prefix: Path) -> float:
    return timed(conda, "install", "-p", str(prefix), "--yes", "--quiet", TINY.name)


def remove(conda: Conda, prefix: Path) -> float:
    return timed(conda, "remove", "-p", str(prefix), "--yes", "--quiet", TINY.name)


def restore(prefix: Path) -> float:
    """Move the environment away and copy it back in place; the seconds that took."""
    aside = prefix.with_name(prefix.name + ".aside")
    start = time.perf_counter()
    prefix.rename(aside)
    subprocess.run(["cp", "-a", str(aside), str(prefix)], check=True)
    seconds = time.perf_counter() - start
    shutil.rmtree(aside)
    # a command run later than this sees settled ctimes, which its caches keep
    time.sleep(2.1)
    return seconds


def main() -> int:
    parser = arguments(__doc__, repeat=2)
    args = parser.parse_args()
    args.work = work_folder(args.work, args.small)
    conda, prefix = copy_of_big(args.work, "restore-env", verified=True)
    conda.remove(prefix, TINY.name, check=False, env=WARN)

    before = {"install": [], "remove": []}
    for _ in range(args.repeat + 1):  # the first round warms caches and is dropped
        before["install"].append(install(conda, prefix))
        before["remove"].append(remove(conda, prefix))
    copies, first, later, verifies, after_verify = [], [], [], [], []
    for _ in range(args.repeat):
        copies.append(restore(prefix))
        first.append(install(conda, prefix))
        later += [remove(conda, prefix), install(conda, prefix), remove(conda, prefix)]
        copies.append(restore(prefix))
        start = time.perf_counter()
        conda.run("integrity", "verify", "-p", str(prefix), timeout=1800)
        verifies.append(time.perf_counter() - start)
        after_verify.append(install(conda, prefix))
        remove(conda, prefix)

    files, size = content_of(prefix)
    median = statistics.median
    print(f"environment: {prefix} ({files} files, {size / 1e9:.2f} GB), conda {CONDA_VERSION}")
    print(
        f"restored {len(copies)} times by mv and cp -a (every byte, mode and mtime kept, "
        f"every inode and ctime new), {median(copies):.1f} s each"
    )
    print(f"guarded conda install / remove of {TINY.name} (integrity_mode=warn), medians:")
    print(
        f"  as it was (no restore, {args.repeat} runs)        install "
        f"{median(before['install'][1:]):7.2f} s   remove {median(before['remove'][1:]):7.2f} s"
    )
    print(f"  first install after a restore ({len(first)} runs)      {median(first):7.2f} s")
    print(f"  the {len(later)} commands after it (install, remove)  {median(later):7.2f} s")
    print(f"  verify after a restore ({len(verifies)} runs)          {median(verifies):7.2f} s")
    print(f"  first install after that verify        {median(after_verify):7.2f} s")
    print("the guard said nothing after any restore")
    return 0


if __name__ == "__main__":
    sys.exit(main())
