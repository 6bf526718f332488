"""Guarded transactions that did not end normally, judged against the prefix now.

An entry of the journal still open ("started", or "failed" when conda reported
an error) belongs either to a conda that is at work right now (its lock is
held: another transaction, not an interruption) or to one that is gone. A gone
one that left the prefix as the snapshot before it shows was a clean failure
(a failed solve, a refused download) and is closed without a word; so is one
that did all of conda's work (every planned record written, every planned
unlink done, the history written) and died in the guard's own step after it:
that one is closed as finished, with the prefix as it is now for its snapshot
after. Any other that changed the prefix was interrupted, and what it left is
written into its entry at once, before the next ``conda install`` deletes the
``.c~`` backups that tell it. An interruption is reported until a later guarded
transaction finishes; what it left is not taken for the work of a later command
that changed nothing (refuse mode stopped it, or its solve failed).

What an interruption can leave without changing a record is looked for too:
files of a planned package linked before conda wrote its record (``noarch:
python`` ones under ``site-packages`` and ``bin``, and the ``.pyc`` files conda
compiled for them, which conda 24.7's roll-back after Ctrl-C leaves behind), and
for a ``conda create``, any start of the new prefix's ``conda-meta``.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import re
import time
from dataclasses import dataclass
from typing import Any

from ..compat import CREATE_COMMANDS
from ..exceptions import IntegrityInputError
from ..observe.conda_history import HISTORY, MAX_HISTORY_BYTES, read_last_revision_specs
from ..observe.prefix_state import PrefixState
from ..observe.snapshot import snapshot_of
from ..observe.walk import CONDA_TEMP_EXTENSION
from ..records.package_cache import pkgs_dirs
from ..safe_read import read_file
from ..store import entry_writer, journal, snapshots
from ..store.changes import REMOVED, compare
from ..store.state_dir import StateDir

#: where conda links the paths of a ``noarch: python`` package: site-packages/X
#: under each lib/pythonX.Y, python-scripts/X under bin
NOARCH_SITE_PACKAGES, NOARCH_SCRIPTS = "site-packages/", "python-scripts/"
_PYTHON_VERSION = re.compile(r"python(\d+\.\d+)")
#: the outcome of a transaction whose conda work was complete when it died
COMPLETED = {"changed": True, "completed": True}


def review(
    guard_dirs: tuple[StateDir, ...], state: PrefixState, capture: bool
) -> list[journal.OpenTransaction]:
    """The open and interrupted transactions of the prefix ``state`` describes (a
    whole-prefix read), newest first, from the journals in ``guard_dirs``; with
    ``capture``, judge and write back gone ones. A transaction that finished, in
    any of them, supersedes every one that started before it; one closed as having
    changed nothing (a failed solve, a command refuse mode stopped) does not.
    Another user's entries are ranked by when their files last changed at the
    latest (:func:`.entry_writer.trusted_start`), not by the times they claim."""
    open_entries: list[tuple[StateDir, journal.Entry]] = []
    last_ended = float("-inf")
    for guard_dir in guard_dirs:
        for entry in journal.newest_first(guard_dir):
            if entry.state == journal.FINISHED:
                last_ended = max(last_ended, entry_writer.trusted_start(entry))
                break
            if entry.state != journal.CLOSED:
                open_entries.append((guard_dir, entry))
    found = []
    # judged oldest first: what an earlier interruption left is not evidence of a
    # later command that changed nothing (refuse mode stopped it, say)
    earlier = Leftovers(set(), set())
    for guard_dir, entry in sorted(
        open_entries, key=lambda pair: entry_writer.trusted_start(pair[1])
    ):
        if entry_writer.trusted_start(entry) < last_ended:
            continue
        if entry.state == journal.INTERRUPTED:
            earlier.add(entry.outcome)
            found.append(journal.OpenTransaction(entry, running=False))
            continue
        if journal.is_running(guard_dir, entry):
            if not journal.is_own(entry):
                found.append(journal.OpenTransaction(entry, running=True))
            continue
        evidence = _evidence(guard_dir, entry, state, earlier)
        if evidence is COMPLETED:
            entry.state, entry.outcome = journal.FINISHED, dict(COMPLETED)
        else:
            entry.state = journal.INTERRUPTED if evidence else journal.CLOSED
            entry.outcome = evidence or {"changed": False}
        entry.ended = time.time()
        if capture:
            # a prefix this user may not write to is simply judged again next time
            with contextlib.suppress(OSError):
                if entry.state == journal.FINISHED and entry.before is not None:
                    entry.after = _snapshot_after(guard_dir, state)
                journal.save(guard_dir, entry)
        if entry.state == journal.INTERRUPTED:
            earlier.add(entry.outcome)
            found.append(journal.OpenTransaction(entry, running=False))
    found.reverse()
    return found


@dataclass
class Leftovers:
    """What the interruptions judged so far left: conda's ``.c~`` backups, and the
    packages whose files they linked without writing a record."""

    backups: set[str]
    unrecorded: set[str]

    def add(self, outcome: dict[str, Any] | None) -> None:
        outcome = outcome or {}
        self.backups.update(str(path) for path in outcome.get("backups") or ())
        if outcome.get("files_without_record"):
            self.unrecorded.update(str(stem) for stem in outcome.get("not_recorded") or ())


def _snapshot_after(guard_dir: StateDir, state: PrefixState) -> int:
    """Keep the prefix as it is now as the snapshot after a transaction closed as
    finished, as its own after-step would have: the next guarded command compares
    with it, not with the one before. Raises OSError."""
    from ..settings import snapshots_to_keep

    now = snapshot_of(state, snapshots.AFTER, None, None)
    return snapshots.save(guard_dir, now, snapshots_to_keep()).number


def _evidence(
    guard_dir: StateDir, entry: journal.Entry, state: PrefixState, earlier: Leftovers
) -> dict[str, Any]:
    """What the gone transaction left: {} when the prefix is as it was before it
    (``earlier`` interruptions' leftovers aside), :data:`COMPLETED` when conda's
    work was done."""
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
    # a package unlinked and linked again (a reinstall) has its record either way
    still_recorded = [stem for stem in unlink if stem in recorded and stem not in link]
    history_written = _written_since(state.prefix, HISTORY, entry.started)
    specs_missing = _specs_missing(state.prefix, plan) if history_written else []
    progress: dict[str, Any] = {
        "unlinked": [stem for stem in unlink if stem not in recorded],
        "still_recorded": still_recorded,
        "linked": [stem for stem in link if stem in recorded],
        "not_recorded": not_recorded,
        "files_without_record": _files_present(state.prefix, not_recorded, set(now.owners)),
        "backups": backups,
        "history_written": history_written,
    }
    if specs_missing:
        progress["history_specs_missing"] = specs_missing
    # conda 26 does not take back a history write that failed half-way (Ctrl-C in
    # it): its roll-back puts back the rest, and the history no longer matches
    history_apart = history_written and _history_apart(state)
    if history_apart:
        progress["history_out_of_step"] = True
    # a disk that filled up under conda: the record it was writing stays half-written,
    # and conda 24.7's roll-back puts its half-made copy of the history over it
    half_written = [b.stem for b in state.bad_records if b.stem in link]
    if half_written:
        progress["half_written"] = half_written
    emptied = history_written and _history_emptied(state)
    if emptied:
        progress["history_emptied"] = True
    creating = entry.command in CREATE_COMMANDS and entry.before is None
    if changes is not None:
        changed = bool(changes)
        progress["records_added"] = [record.stem for record in changes.records_added]
        progress["records_removed"] = [record.stem for record in changes.records_removed]
        progress["files_gone"] = sum(1 for c in changes.files if c.change == REMOVED)
        progress["files_changed"] = sum(1 for c in changes.files if c.change != REMOVED)
    else:
        # no snapshot before it: its plan tells what changed; a create changed the
        # prefix once it began its conda-meta (conda's first step there)
        changed = bool(progress["unlinked"] or progress["linked"]) or (
            creating and os.path.lexists(os.path.join(state.prefix, "conda-meta"))
        )
    own_backups = [
        path
        for path in backups
        if path not in earlier.backups and not _history_copy_unused(state.prefix, path)
    ]
    if not (changed or own_backups or history_apart or half_written or emptied) and (
        not progress["files_without_record"]
        or not _files_present(
            state.prefix,
            [stem for stem in not_recorded if stem not in earlier.unrecorded],
            set(now.owners),
        )
    ):
        return {}
    records_moved = changes is None or changes.records_added or changes.records_removed
    if half_written:
        step: str | None = journal.RECORDS
    elif (history_apart or emptied) and not records_moved:
        step = journal.HISTORY  # the rest was rolled back
    else:
        step = _cut_off_at(progress, history_written, specs_missing)
    if entry.plan is not None and step is None:
        return COMPLETED
    if step is not None:
        progress["step"] = step
    return progress


def _cut_off_at(
    progress: dict[str, Any], history_written: bool, specs_missing: list[str]
) -> str | None:
    """The first of conda's own steps (:data:`journal.STEPS`) the transaction did
    not finish; None: it did them all."""
    if progress["still_recorded"]:
        return journal.UNLINK
    if progress["not_recorded"]:
        return journal.RECORDS if progress["linked"] else journal.LINK
    if not history_written:
        return journal.HISTORY
    if specs_missing:
        return journal.HISTORY_SPECS
    return None


def _history_copy_unused(prefix: str, path: str) -> bool:
    """Whether ``path`` is conda's copy of the history (``history.c~``) and the
    history is that copy still: conda 26 leaves it so when Ctrl-C cut its history
    step off before it wrote anything, and rolled the rest back."""
    if path != HISTORY + CONDA_TEMP_EXTENSION:
        return False
    copy = read_file(os.path.join(prefix, path), MAX_HISTORY_BYTES).data
    return (
        copy is not None
        and copy == read_file(os.path.join(prefix, HISTORY), MAX_HISTORY_BYTES).data
    )


def _history_apart(state: PrefixState) -> bool:
    """Whether the state the history ends in is not the records' (the packages)."""
    history = state.history
    if history is None or not history.exists or not history.revisions:
        return False
    recorded = {p.stem for p in state.packages} | {b.stem for b in state.bad_records}
    return set(history.installed) != recorded


def _history_emptied(state: PrefixState) -> bool:
    """Whether the history tells no revision while there are records."""
    history = state.history
    return (
        history is not None
        and history.exists
        and not history.revisions
        and not history.problems
        and bool(state.packages or state.bad_records)
    )


def _specs_missing(prefix: str, plan: dict[str, Any]) -> list[str]:
    """The spec lists of the plan that the history's last revision has no line for
    (conda writes them last, in an append of their own)."""
    wanted = [kind for kind in journal.SPEC_KINDS if plan.get(kind)]
    if not wanted:
        return []
    written = read_last_revision_specs(prefix)
    if written is None:
        return []  # no revision to judge (or unreadable): history-mismatch tells
    return [kind for kind in wanted if kind not in written]


def _written_since(prefix: str, path: str, since: float) -> bool:
    try:
        return os.stat(os.path.join(prefix, path)).st_mtime >= since
    except OSError:
        return False


def _files_present(prefix: str, stems: list[str], owned: set[str]) -> int:
    """How many files of these packages (per their archive's paths.json) are in the
    prefix, those of ``noarch: python`` packages where conda links them, but for
    paths a record has (the version a package replaces ships most of its paths)."""
    site_packages = [
        os.path.relpath(folder, prefix)
        for folder in glob.glob(
            os.path.join(glob.escape(prefix), "lib", "python*", "site-packages")
        )
    ]
    count = 0
    for stem in stems:
        for pkgs_dir in pkgs_dirs():
            paths_json = os.path.join(pkgs_dir, stem, "info", "paths.json")
            try:
                with open(paths_json, "rb") as handle:
                    paths = json.loads(handle.read()).get("paths", [])
            except (OSError, ValueError, AttributeError):
                continue
            for item in paths if isinstance(paths, list) else []:
                relative = item.get("_path") if isinstance(item, dict) else None
                if isinstance(relative, str):
                    count += any(
                        linked not in owned and os.path.lexists(os.path.join(prefix, linked))
                        for linked in _linked_as(relative, site_packages)
                    )
            break
    return count


def _linked_as(path: str, site_packages: list[str]) -> list[str]:
    """Where conda may have linked a package's ``path`` in the prefix (and, for a
    noarch python module, where it compiled it)."""
    if path.startswith(NOARCH_SITE_PACKAGES):
        from conda.common.path import pyc_path

        inside = path[len(NOARCH_SITE_PACKAGES) :]
        linked = [path] + [os.path.join(folder, inside) for folder in site_packages]
        for folder in site_packages if path.endswith(".py") else ():
            version = _PYTHON_VERSION.search(folder)
            if version is not None:
                linked.append(pyc_path(os.path.join(folder, inside), version.group(1)))
        return linked
    if path.startswith(NOARCH_SCRIPTS):
        return [path, os.path.join("bin", path[len(NOARCH_SCRIPTS) :])]
    return [path]
