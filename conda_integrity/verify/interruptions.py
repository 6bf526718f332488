"""Guarded transactions that did not end normally, judged against the prefix now.

An entry of the journal still open ("started", or "failed" when conda reported
an error) belongs either to a conda that is at work right now (its lock is
held: another transaction, not an interruption) or to one that is gone. A gone
one that left the prefix as the snapshot before it shows was a clean failure
(a failed solve, a refused download) and is closed without a word; one that
changed it was interrupted, and what it left is written into its entry at once,
before the next ``conda install`` deletes the ``.c~`` backups that tell it. An
interruption is reported until a later guarded transaction finishes.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from typing import Any

from ..exceptions import IntegrityInputError
from ..observe.prefix_state import PrefixState
from ..observe.snapshot import snapshot_of
from ..observe.walk import CONDA_TEMP_EXTENSION
from ..records.package_cache import pkgs_dirs
from ..store import journal, snapshots
from ..store.changes import REMOVED, compare
from ..store.state_dir import StateDir

NOARCH_SOURCES = ("site-packages/", "python-scripts/")


def review(
    guard_dirs: tuple[StateDir, ...], state: PrefixState, capture: bool
) -> list[journal.OpenTransaction]:
    """The open and interrupted transactions of the prefix ``state`` describes (a
    whole-prefix read), from the journals in ``guard_dirs``; with ``capture``,
    judge and write back gone ones. A transaction that ended, in any of them,
    supersedes every one that started before it."""
    open_entries: list[tuple[StateDir, journal.Entry]] = []
    last_ended = ""
    for guard_dir in guard_dirs:
        for entry in journal.newest_first(guard_dir):
            if entry.state in (journal.FINISHED, journal.CLOSED):
                last_ended = max(last_ended, entry.id)  # ids start with the time
                break
            open_entries.append((guard_dir, entry))
    found = []
    for guard_dir, entry in open_entries:
        if entry.id < last_ended:
            continue
        if entry.state == journal.INTERRUPTED:
            found.append(journal.OpenTransaction(entry, running=False))
            continue
        if journal.is_running(guard_dir, entry):
            if entry.pid != os.getpid():
                found.append(journal.OpenTransaction(entry, running=True))
            continue
        evidence = _evidence(guard_dir, entry, state)
        entry.state = journal.INTERRUPTED if evidence else journal.CLOSED
        entry.outcome = evidence or {"changed": False}
        entry.ended = time.time()
        if capture:
            # a prefix this user may not write to is simply judged again next time
            with contextlib.suppress(OSError):
                journal.save(guard_dir, entry)
        if evidence:
            found.append(journal.OpenTransaction(entry, running=False))
    return found


def _evidence(guard_dir: StateDir, entry: journal.Entry, state: PrefixState) -> dict[str, Any]:
    """What the gone transaction left, or {} when the prefix is as it was before it."""
    now = snapshot_of(state, snapshots.MANUAL, None, None)
    backups = [
        p for p in (state.tree.debris if state.tree else []) if p.endswith(CONDA_TEMP_EXTENSION)
    ]
    try:
        before = snapshots.load(guard_dir, entry.before) if entry.before else None
    except IntegrityInputError:
        before = None
    changes = compare(before, now) if before is not None else None
    recorded = {record.stem for record in now.records}
    plan = entry.plan or {}
    link, unlink = plan.get("link", []), plan.get("unlink", [])
    not_recorded = [stem for stem in link if stem not in recorded]
    progress: dict[str, Any] = {
        "unlinked": [stem for stem in unlink if stem not in recorded],
        "still_recorded": [stem for stem in unlink if stem in recorded],
        "linked": [stem for stem in link if stem in recorded],
        "not_recorded": not_recorded,
        "files_without_record": _files_present(state.prefix, not_recorded),
        "backups": backups,
        "history_written": _written_since(state.prefix, "conda-meta/history", entry.started),
    }
    if changes is not None:
        if not changes and not backups:
            return {}
        progress["records_added"] = [record.stem for record in changes.records_added]
        progress["records_removed"] = [record.stem for record in changes.records_removed]
        progress["files_gone"] = sum(1 for c in changes.files if c.change == REMOVED)
        progress["files_changed"] = sum(1 for c in changes.files if c.change != REMOVED)
    elif not (
        backups or progress["unlinked"] or progress["linked"] or progress["files_without_record"]
    ):
        return {}  # no snapshot before it, and no trace of it: nothing to tell
    return progress


def _written_since(prefix: str, path: str, since: float) -> bool:
    try:
        return os.stat(os.path.join(prefix, path)).st_mtime >= since
    except OSError:
        return False


def _files_present(prefix: str, stems: list[str]) -> int:
    """How many files of these packages (per their archive's paths.json) are in the prefix."""
    count = 0
    for stem in stems:
        for pkgs_dir in pkgs_dirs():
            paths_json = os.path.join(pkgs_dir, stem, "info", "paths.json")
            try:
                with open(paths_json, "rb") as handle:
                    paths = json.loads(handle.read()).get("paths", [])
            except (OSError, ValueError):
                continue
            for item in paths:
                relative = item.get("_path") if isinstance(item, dict) else None
                # noarch python paths move into site-packages; counting the others is enough
                if isinstance(relative, str) and not relative.startswith(NOARCH_SOURCES):
                    count += os.path.lexists(os.path.join(prefix, relative))
            break
    return count
