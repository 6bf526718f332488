"""``verify``: read the prefix, run the checks, remember, hand back a report."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from ..checks.registry import CHECKS, ENVIRONMENT_CODES
from ..findings import Finding
from ..observe.inodes import InodeHashes
from ..observe.prefix_state import PrefixState
from ..observe.walk import save_remembered
from ..progress import Progress
from ..records.seen import SeenRecords
from ..store.paths import guard_dir
from .read import Memory, VerifyOptions, read_state
from .report import Report

if TYPE_CHECKING:
    from ..observe.workers import WorkerPool

log = logging.getLogger(__name__)


def _mentioned(findings: list[Finding]) -> set[str]:
    """The records a finding about their own files names: not remembered as clean."""
    stems = set()
    for finding in findings:
        if finding.code in ENVIRONMENT_CODES:
            continue
        stems.add(finding.package or "")
        stems.update(finding.extra.get("packages") or ())
        stems.add(finding.extra.get("owner") or "")
    return stems


def run_checks(state: PrefixState) -> list[Finding]:
    """Every check's findings."""
    return [finding for check in CHECKS if check.run for finding in check.run(state)]


def remember(state: PrefixState, memory: Memory, findings: list[Finding]) -> str | None:
    """Keep what this run learned for the next ones, in this user's state folder of
    the prefix (:func:`..store.paths.guard_dir`); where it could not be kept, and
    why (None: it was, or there was nothing to keep)."""
    prefix = state.prefix
    folder = guard_dir(prefix)
    if not folder.writable:
        return None
    now_ns = time.time_ns()
    mentioned = _mentioned(findings)
    folder_inodes = state.tree.inodes if state.tree is not None else None
    clean_records, known_hashes, modes = memory.clean_records, memory.known_hashes, memory.modes
    for record in state.records:
        if record.stem in mentioned or not clean_records.add(
            prefix, record, memory.record_files[record.stem], state.disk, now_ns, folder_inodes
        ):
            clean_records.forget(record.stem)
    if memory.whole:
        clean_records.forget_all_but(set(memory.record_files))
        kept_paths = set(state.owners).union(*(u.paths for u in state.unchanged))
        known_hashes.forget_all_but(kept_paths)
        modes.forget_all_but(
            {record.stem for record in state.records} | {u.stem for u in state.unchanged}
        )
    try:
        if state.records:
            known_hashes.save(prefix)
        modes.save(prefix)
        clean_records.save(prefix)
        if state.tree is not None and memory.use_cache:
            save_remembered(prefix, state.tree, memory.remembered)
    except OSError as error:  # this is a cache: the verification still stands
        log.debug("cannot save conda-integrity state in %s: %s", prefix, error)
        return f"{folder.path}: {error.strerror or error}"
    return None


def verify_prefix(
    prefix: str,
    options: VerifyOptions,
    progress: Progress,
    inode_hashes: InodeHashes | None = None,
    pool: WorkerPool | None = None,
    seen: SeenRecords | None = None,
) -> Report:
    """Verify one prefix. Raises IntegrityInputError when it is no environment.

    ``inode_hashes``, ``pool`` and ``seen`` are shared by the prefixes of one run
    (see :func:`read_state`).
    """
    started = time.perf_counter()
    state, memory = read_state(
        prefix, options, progress, inode_hashes=inode_hashes, pool=pool, seen=seen
    )
    findings = run_checks(state)
    not_kept = remember(state, memory, findings)
    report = report_of(state, options, findings, started)
    report.not_kept = not_kept
    return report


def report_of(
    state: PrefixState, options: VerifyOptions, findings: list[Finding], started: float
) -> Report:
    """The report of a read of ``state`` begun at ``started`` (``time.perf_counter``)."""
    disk, unchanged = state.disk, state.unchanged
    return Report(
        prefix=state.prefix,
        mode="fast" if options.fast else "full",
        packages=len(state.records) + len(unchanged),
        files=len(state.owners) + sum(len(u.paths) for u in unchanged),
        bytes=disk.verified_bytes + sum(u.content_bytes for u in unchanged),
        hashed_files=disk.hashed_files,
        hashed_bytes=disk.hashed_bytes,
        findings=findings,
        elapsed_s=time.perf_counter() - started,
    )
