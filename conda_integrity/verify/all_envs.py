"""``verify --all``: every environment conda knows, one report each.

The environments are verified one after the other, with one map of the hashes
computed in this run (:mod:`..observe.inodes`): the files they share with the package
cache by hard link are one inode, hashed once for all of them; and with one pool of
worker processes (:mod:`..observe.workers`), started once for all of them. A prefix conda
lists that is gone or is no environment is reported as skipped, and does not
make the run fail.
"""

from __future__ import annotations

import os
import time

from ..exceptions import IntegrityInputError
from ..observe.inodes import InodeHashes
from ..observe.known_envs import known_prefixes
from ..observe.workers import WorkerPool
from ..progress import Progress
from ..records.reader import not_an_environment
from .read import VerifyOptions
from .report import EnvironmentsReport, Report, Skipped
from .run import verify_prefix


def verify_all(options: VerifyOptions, progress: Progress) -> EnvironmentsReport:
    """Verify every environment ``conda env list`` knows."""
    started = time.perf_counter()
    inode_hashes = InodeHashes()
    pool = WorkerPool()  # its processes start with the first prefix that needs them
    quiet = Progress(enabled=False)  # one bar, over environments
    seen: dict[tuple[int, int], str] = {}
    entries: list[Report | Skipped] = []
    prefixes = known_prefixes()
    try:
        with progress.bar("Verifying environments", len(prefixes), unit="env") as advance:
            for known in prefixes:
                entries.append(_verify_one(known.path, options, quiet, inode_hashes, seen, pool))
                advance(1)
    finally:
        pool.close()
    return EnvironmentsReport(entries, elapsed_s=time.perf_counter() - started)


def _verify_one(
    path: str,
    options: VerifyOptions,
    progress: Progress,
    inode_hashes: InodeHashes,
    seen: dict[tuple[int, int], str],
    pool: WorkerPool,
) -> Report | Skipped:
    prefix = os.path.abspath(path)
    reason = not_an_environment(prefix)
    if reason is not None:
        return Skipped(prefix, reason)
    try:
        info = os.stat(prefix)
    except OSError as error:
        return Skipped(prefix, f"it cannot be examined: {error.strerror or error}")
    same = seen.setdefault((info.st_dev, info.st_ino), prefix)
    if same != prefix:  # listed twice, under two paths (a symlink on the way)
        return Skipped(prefix, f"it is the environment {same}, verified above")
    try:
        return verify_prefix(prefix, options, progress, inode_hashes, pool)
    except IntegrityInputError as error:  # e.g. conda-meta cannot be listed
        return Skipped(prefix, str(error))
