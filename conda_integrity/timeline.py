"""What happened to a prefix: its snapshots, its guarded transactions, their diffs.

The functions behind ``conda integrity snapshot``, ``log`` and ``diff``; the
guard takes its snapshots through here too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from . import journal, snapshots
from .changes import Changes, compare
from .exceptions import IntegrityInputError
from .prefix import check_prefix
from .progress import Progress
from .settings import snapshots_to_keep
from .state import guard_dir
from .verify import VerifyOptions, read_state, remember, run_checks, state_digests


def current(
    prefix: str,
    kind: str = snapshots.MANUAL,
    label: str | None = None,
    command: str | None = None,
) -> snapshots.Snapshot:
    """A snapshot of the prefix as it is now (not saved)."""
    state, memory = read_state(prefix, VerifyOptions(fast=True), Progress(enabled=False))
    remember(state, memory, run_checks(state))
    digests = state_digests(state, memory)
    base = snapshots.latest(guard_dir(state.prefix))
    return snapshots.from_state(state, kind, label, command, digests, base=base)


def take(
    prefix: str, kind: str, label: str | None = None, command: str | None = None
) -> snapshots.Snapshot:
    """Take a snapshot of the prefix now and keep it."""
    prefix = check_prefix(prefix)
    snapshot = current(prefix, kind, label, command)
    try:
        return snapshots.save(guard_dir(prefix), snapshot, snapshots_to_keep())
    except OSError as error:
        raise IntegrityInputError(f"cannot keep a snapshot of {prefix}: {error}") from None


@dataclass(frozen=True)
class Event:
    """One line of the log: a snapshot or a guarded transaction."""

    time: float
    kind: str  # "snapshot" or "transaction"
    details: dict[str, Any]


def events(prefix: str) -> list[Event]:
    """The snapshots kept and the guarded transactions of the prefix, newest first."""
    prefix = check_prefix(prefix)
    folder = guard_dir(prefix)
    found = [Event(s["created"], "snapshot", s) for s in snapshots.listing(folder)]
    for entry in journal.newest_first(folder):
        details = vars(entry).copy()
        if entry.state in journal.OPEN_STATES:
            details["state"] = "running" if journal.is_running(folder, entry) else "not finished"
        found.append(Event(entry.started, "transaction", details))
    found.sort(key=lambda event: event.time, reverse=True)
    return found


def diff(prefix: str, first: int | None, second: int | None) -> tuple[str, str, Changes]:
    """What changed from snapshot ``first`` (default: the newest) to ``second``
    (default: now); the two sides named, and the changes."""
    prefix = check_prefix(prefix)
    folder = guard_dir(prefix)
    if first is None:
        old = snapshots.latest(folder)
        if old is None:
            raise IntegrityInputError(f"{prefix} has no snapshot yet (conda integrity snapshot)")
    else:
        old = snapshots.load(folder, first)
    new = snapshots.load(folder, second) if second is not None else current(prefix)
    return _name(old), "now" if second is None else _name(new), compare(old, new)


def _name(snapshot: snapshots.Snapshot) -> str:
    return f"snapshot {snapshot.number}"
