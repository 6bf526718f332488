"""What happened to a prefix, newest first: its snapshots and guarded transactions
(``conda integrity log``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..records.reader import check_prefix
from ..store import journal, snapshots
from ..store.paths import guard_dir


@dataclass(frozen=True)
class Event:
    """One line of the log: a snapshot or a guarded transaction."""

    time: float
    kind: str  # "snapshot" or "transaction"
    details: dict[str, Any]


def events(prefix: str, skipped: list[str] | None = None) -> list[Event]:
    """The snapshots kept and the guarded transactions of the prefix, newest first;
    what could not be read goes into ``skipped``, in words."""
    prefix = check_prefix(prefix)
    folder = guard_dir(prefix)
    kept, unread = snapshots.read_listing(folder)
    found = [Event(s["created"], "snapshot", s) for s in kept]
    for entry in journal.newest_first(folder, unread):
        details = vars(entry).copy()
        if entry.state in journal.OPEN_STATES:
            details["state"] = "running" if journal.is_running(folder, entry) else "not finished"
        found.append(Event(entry.started, "transaction", details))
    found.sort(key=lambda event: event.time, reverse=True)
    if skipped is not None:
        skipped.extend(unread)
    return found
