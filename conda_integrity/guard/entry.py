"""The guarded command's journal entry and the snapshots around it.

The entry is begun before the transaction (with the snapshot before it), given
the plan once conda knows it, and closed when the command ends: finished (with
the snapshot after it) or failed. An entry never closed is what the next run
judges as an interruption (:mod:`conda_integrity.verify.interruptions`).
"""

from __future__ import annotations

import contextlib
import logging
import sys
from typing import Any

from ..exceptions import IntegrityInputError
from ..findings import Finding
from ..observe.prefix_state import PrefixState
from ..observe.snapshot import snapshot_of
from ..settings import integrity_mode, snapshots_to_keep
from ..store import journal, snapshots
from ..store.changes import compare
from ..store.paths import guard_dir, users_dir
from ..verify.read import EarlierRead, state_digests
from ..verify.snapshot import current, verified
from . import messages
from .check import Before
from .session import Session, command_line

log = logging.getLogger(__name__)


def begin_creation(command: str, prefix: str) -> Session | None:
    """Journal a ``conda create`` of the new prefix, so that an interruption is seen.

    The entry goes to the user's folder for the prefix: writing into the prefix
    before conda makes it would leave a folder behind when the command fails.
    """
    session = Session(prefix, integrity_mode(), command, users_dir(prefix), creating=True)
    try:
        session.entry, session.lock = journal.begin(
            session.guard_dir, command, list(sys.argv), None
        )
    except OSError as error:
        log.debug("cannot journal the creation of %s: %s", prefix, error)
        return None
    return session


def begin(session: Session, before: Before) -> bool:
    """Snapshot the prefix (unless the newest snapshot shows it as it is) and begin
    the journal entry; False, said on stderr, when that cannot be written."""
    state, memory = before.state, before.memory
    digests = state_digests(state, memory)
    newest = snapshots.latest_summary(session.guard_dir)
    try:
        if newest is not None and newest.get("digests") == digests:
            before_number = newest["number"]  # nothing changed since: that one is "before"
        else:
            last = snapshots.latest(session.guard_dir)
            # no transaction linked anything since the last snapshot: every record keeps
            # the modes it saw (a chmod by hand is no new baseline of mode-changed)
            stems = frozenset(digests)
            now = snapshot_of(
                state, snapshots.BEFORE, None, command_line(), digests, base=last, base_modes=stems
            )
            _report_changes(state, before.findings, last, now)
            session.before = snapshots.save(session.guard_dir, now, snapshots_to_keep())
            before_number = session.before.number
        session.entry, session.lock = journal.begin(
            session.guard_dir, session.command, list(sys.argv), before_number, session.prefix
        )
    except OSError as error:
        messages.say(
            f"conda-integrity: cannot keep a snapshot of {session.prefix} ({error}); not guarded"
        )
        return False
    session.earlier = EarlierRead.of(state, memory)
    return True


def _report_changes(
    state: PrefixState,
    findings: list[Finding],
    last: snapshots.Snapshot | None,
    now: snapshots.Snapshot,
) -> None:
    """Say which files of conda packages changed since the newest snapshot (pip, an
    editor...), unless a finding, an interrupted transaction or a change of records
    already tells it."""
    if last is None or any(not t.running for t in state.transactions):
        return
    reported = {finding.path for finding in findings}
    try:
        changes = compare(last, now, verified(state, findings))
    except IntegrityInputError as error:  # our own damaged snapshot: nothing to tell
        log.debug("%s", error)
        return
    # files of records added or removed since are conda's doing (a transaction the
    # guard did not watch: plugins off, or its own check failed)
    moved = {r.stem for r in changes.records_added} | {r.stem for r in changes.records_removed}
    unexplained = [c for c in changes.files if c.path not in reported and c.package not in moved]
    if unexplained:
        messages.say(messages.changed_since(state.prefix, last.number, unexplained))


def history_specs(specs: dict[str, Any]) -> dict[str, list[str]]:
    """The spec lists conda's history entry will hold, by kind, as conda writes
    them (``str(MatchSpec(spec))``); the empty ones left out, as conda leaves out
    their lines."""
    from conda.models.match_spec import MatchSpec

    return {
        kind: [str(MatchSpec(spec)) for spec in listed]
        for kind, listed in specs.items()
        if listed and kind in journal.SPEC_KINDS
    }


def record_plan(
    session: Session,
    unlink: list[str],
    link: list[str],
    specs: dict[str, list[str]] | None = None,
) -> None:
    """The plan of the transaction, once conda knows it, with the specs its history
    entry will list."""
    if session.entry is None:
        return
    session.entry.plan = {"unlink": sorted(unlink), "link": sorted(link), **(specs or {})}
    try:
        journal.save(session.guard_dir, session.entry)
    except OSError as error:
        log.debug("cannot write the plan into the journal: %s", error)


def finish(session: Session) -> None:
    """Keep the snapshot after the transaction and close the entry as finished.

    Raises OSError when they cannot be written.
    """
    after = session.after
    if after is not None:
        after = snapshots.save(session.guard_dir, after, snapshots_to_keep())
    if session.entry is not None:
        session.entry.after = after.number if after else None
        session.entry.state = journal.FINISHED
        session.entry.outcome = {"findings": sorted({f.code for f in session.after_findings})}
        journal.end(session.guard_dir, session.entry, session.lock)


def finish_creation(session: Session) -> None:
    """Close the entry of a ``conda create`` that ended normally."""
    if session.entry is None:
        return
    session.entry.state = journal.FINISHED
    with contextlib.suppress(OSError):
        journal.end(session.guard_dir, session.entry, session.lock)


def first_snapshot(prefix: str) -> None:
    """The first snapshot of a prefix the command created, and its journal entry."""
    folder = guard_dir(prefix)
    try:
        now = current(prefix, snapshots.AFTER, None, command_line())
        snapshot = snapshots.save(folder, now, snapshots_to_keep())
        journal.write_finished(folder, "create", list(sys.argv), snapshot.number)
    except OSError as error:
        log.debug("cannot snapshot the new environment %s: %s", prefix, error)


def fail(session: Session, exception: BaseException) -> None:
    """The command raised: mark the entry failed (the next run judges what it left)."""
    if session.entry is None:
        return
    session.entry.state = journal.FAILED
    session.entry.outcome = {"error": type(exception).__name__}
    with contextlib.suppress(OSError):
        journal.save(session.guard_dir, session.entry)
    journal.release(session.entry, session.lock)


def take_back(session: Session) -> None:
    """Remove the entry of a command the guard stopped watching before its
    transaction: conda goes on as if the plugin were absent."""
    if session.entry is not None:
        with contextlib.suppress(Exception):
            journal.discard(session.guard_dir, session.entry, session.lock)
        session.entry = None
    if session.lock is not None:
        session.lock.close()


def close_unchecked(session: Session, reason: str) -> None:
    """Close the entry of a transaction that ran but that the guard could not check
    (an error of its own, or its time bound): finished, not interrupted."""
    if session.entry is None:
        return
    session.entry.state = journal.FINISHED
    session.entry.outcome = {"unchecked": reason}
    with contextlib.suppress(Exception):
        journal.end(session.guard_dir, session.entry, session.lock)
    if session.lock is not None:
        session.lock.close()
