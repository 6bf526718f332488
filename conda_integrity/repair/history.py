"""conda-meta/history put back as it was before an interrupted transaction.

The guard keeps the history as it is before each transaction (a hard link in
the journal, and its size: :func:`..store.journal.keep_history`). Taking an
interruption back puts that history back when the one in the prefix differs:
a revision half-written, or a history conda 24.7's roll-back emptied when the
disk was full (it renames its half-made copy over the history). The history
in the prefix is moved aside into the backup first, never deleted; the one put
back is written beside it and renamed over it, so a reader sees one or the other.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from ..observe.conda_history import HISTORY, MAX_HISTORY_BYTES
from ..safe_read import read_file
from ..store import journal
from ..store.atomic_write import write_atomic
from ..store.state_dir import StateDir, running_user
from .backup import Backup

WHY = "conda-meta/history as the interrupted transaction left it"


@dataclass(frozen=True)
class HistoryBack:
    """The history to put back, and the command it was kept before."""

    content: bytes
    command: str


def plan_history_back(prefix: str, guard: StateDir, entry: journal.Entry) -> HistoryBack | None:
    """The history kept before ``entry``'s transaction, when the prefix's is another
    now (None: not kept, or the same). Reads only."""
    kept = journal.kept_history(guard, entry, MAX_HISTORY_BYTES)
    if kept is None:
        return None
    now = read_file(os.path.join(prefix, HISTORY), MAX_HISTORY_BYTES).data
    if now == kept:
        return None
    return HistoryBack(kept, "conda " + " ".join(entry.argv[1:]) if entry.argv else entry.command)


def put_back_history(prefix: str, back: HistoryBack, backup: Backup) -> None:
    """Move the prefix's history aside into ``backup`` and write the kept one in its
    place (OSError when that fails: the disk may still be full)."""
    if os.path.lexists(os.path.join(prefix, HISTORY)):
        backup.move_aside(HISTORY, WHY)
    meta = StateDir(prefix, ("conda-meta",), running_user())
    write_atomic(meta, os.path.basename(HISTORY), back.content, durable=True)


def describe_history_back(back: HistoryBack) -> str:
    """The plan's line for it."""
    return f"  put back conda-meta/history (as it was before `{back.command}`)"
