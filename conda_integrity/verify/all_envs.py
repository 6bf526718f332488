"""``verify --all``: every environment conda knows, one report each.

The first environment is verified first, with one map of the hashes
computed in this run (:mod:`..observe.inodes`): the files they share with the
package cache by hard link are one inode, hashed once for all of them; the record
files they share byte for byte are parsed and judged once (:mod:`..records.seen`);
and with one pool of worker processes (:mod:`..observe.workers`, where it pays),
started once for all of them; the others are then spread over the cores
(:mod:`.spread`). A prefix conda lists that is gone or is no environment is
reported as skipped, and does not make the run fail.
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
from ..records.seen import SeenRecords
from .read import VerifyOptions
from .report import EnvironmentsReport, Report, Skipped
from .run import verify_prefix
from .spread import fork_helpers, run_spread


def verify_all(options: VerifyOptions, progress: Progress) -> EnvironmentsReport:
    """Verify every environment ``conda env list`` knows."""
    started = time.perf_counter()
    inode_hashes = InodeHashes()
    quiet = Progress(enabled=False)  # one bar, over environments
    pool = WorkerPool()  # its processes start with the first prefix that needs them
    records = SeenRecords()  # each forked process goes on with its own copy
    seen: dict[tuple[int, int], str] = {}
    entries: list[Report | Skipped | None] = []
    to_verify: list[str] = []
    for known in known_prefixes():
        entry = _skipped(known.path, seen)
        entries.append(entry)
        if entry is None:
            to_verify.append(os.path.abspath(known.path))

    def verify(prefix: str, hashes: InodeHashes) -> Report | Skipped:
        try:
            return verify_prefix(prefix, options, quiet, hashes, pool, records)
        except IntegrityInputError as error:  # e.g. conda-meta cannot be listed
            return Skipped(prefix, str(error))

    # the largest first: the inodes it hashes are what the others are given
    first = max(range(len(to_verify)), key=lambda n: _records(to_verify[n]), default=0)
    rest = to_verify[:first] + to_verify[first + 1 :]
    # forked before any thread of this run starts: see .spread
    helpers = fork_helpers(min(pool.workers, len(rest)) - 1, verify)
    try:
        with progress.bar("Verifying environments", len(entries), unit="env") as advance:
            advance(len(entries) - len(to_verify))
            results: list[Report | Skipped] = []
            if to_verify:
                results.append(verify(to_verify[first], inode_hashes))
                advance(1)
            results += run_spread(rest, verify, inode_hashes, helpers, lambda: advance(1))  # type: ignore[arg-type]
    finally:
        for helper in helpers:
            helper.close()
        pool.close()
    if to_verify:  # back in the order conda lists them
        results.insert(first, results.pop(0))
    verified = iter(results)
    return EnvironmentsReport(
        [entry if entry is not None else next(verified) for entry in entries],
        elapsed_s=time.perf_counter() - started,
    )


def _records(prefix: str) -> int:
    try:
        return sum(
            1 for name in os.listdir(os.path.join(prefix, "conda-meta")) if name.endswith(".json")
        )
    except OSError:
        return 0


def _skipped(path: str, seen: dict[tuple[int, int], str]) -> Skipped | None:
    """Why the environment at ``path`` is not verified, if it is not."""
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
    return None
