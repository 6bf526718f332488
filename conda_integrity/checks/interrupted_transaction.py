"""interrupted-transaction: a guarded transaction started and never finished.

The journal entry says what the command meant to do (its plan) and the review
(:mod:`conda_integrity.verify.interruptions`) what it left: packages unlinked, linked
without a record, files renamed to ``.c~``, a history not written. Running the
same command again lets conda finish the job; a ``conda create`` after removing
the half-made prefix, which conda does not create over.

An entry another user wrote (root reading the journal of an environment a user
owns) is reported as theirs: neither its message nor its fix repeats the
command it names, which the runner must never be led to run unread.
"""

from __future__ import annotations

import shlex
import time
from collections.abc import Iterator
from typing import Any

from ..compat import CREATE_COMMANDS, names_target
from ..findings import ERROR, Finding
from ..observe.prefix_state import PrefixState
from ..store import entry_writer
from ..store.journal import Entry
from .base import ENVIRONMENT, Check


def _again(entry: Entry, prefix: str) -> str:
    """The command line that ran, with the prefix made explicit."""
    args = list(entry.argv[1:]) or [entry.command]
    if not names_target(args):
        args[1:1] = ["-p", prefix]
    return "conda " + shlex.join(args)


def _listed(stems: list[str]) -> str:
    return ", ".join(stems[:5]) + (f" and {len(stems) - 5} more" if len(stems) > 5 else "")


def _what_it_left(progress: dict[str, Any]) -> str:
    parts = []
    if progress.get("unlinked"):
        parts.append(f"removed {_listed(progress['unlinked'])}")
    if progress.get("not_recorded"):
        count = progress.get("files_without_record", 0)
        parts.append(
            f"linked {count} files of {_listed(progress['not_recorded'])} without writing "
            "their records"
            if count
            else f"did not install {_listed(progress['not_recorded'])}"
        )
    if progress.get("linked"):
        parts.append(f"installed {_listed(progress['linked'])}")
    if progress.get("backups"):
        parts.append(f"left {len(progress['backups'])} backups (*.c~) of the files it removed")
    if progress.get("history_written") is False:
        parts.append("did not write conda-meta/history")
    elif progress.get("history_specs_missing"):
        lines = ", ".join(
            f"# {kind.removesuffix('_specs')} specs" for kind in progress["history_specs_missing"]
        )
        parts.append(f"wrote conda-meta/history without its spec lines ({lines})")
    if progress.get("half_written"):
        records = ", ".join(f"conda-meta/{stem}.json" for stem in progress["half_written"])
        parts.append(f"left {records} half-written (conda refuses the environment so)")
    if progress.get("history_emptied"):
        parts.append("emptied conda-meta/history (its roll-back put a half-made copy over it)")
    if progress.get("history_out_of_step"):
        parts.append("left conda-meta/history out of step with the records")
    return "; ".join(parts) or "changed the environment"


def _another_users(entry: Entry, prefix: str, started: str) -> Finding:
    """The finding of an entry the runner did not write: whose it is and where, what
    it left; the fix is the runner's own repair, never the entry's command."""
    where = entry_writer.where(entry)
    return CHECK.finding(
        f"a guarded transaction of {entry_writer.writer_name(entry)} (pid {entry.pid}, "
        f"{started}) did not finish: "
        f"{_what_it_left(entry.outcome)}; its journal entry ({where}) is theirs, not "
        "yours: nothing in it is run or acted on",
        extra={
            "transaction": {
                "id": entry.id,
                "pid": entry.pid,
                "started": entry.started,
                "plan": entry.plan,
                "progress": entry.outcome,
                "written_by": entry_writer.writer(entry),
                "entry": where,
            },
        },
        fix=f"conda integrity repair -p {shlex.quote(prefix)}",
    )


def check(state: PrefixState) -> Iterator[Finding]:
    for transaction in state.transactions:
        if transaction.running:
            continue  # another conda at work now: not an interruption
        entry = transaction.entry
        started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(entry.started))
        if not entry_writer.by_runner(entry):
            yield _another_users(entry, state.prefix, started)
            continue
        again = _again(entry, state.prefix)
        fix = again
        if entry.command in CREATE_COMMANDS:
            fix = f"rm -rf {shlex.quote(state.prefix)} && {again}"
        yield CHECK.finding(
            f"`{again}` (pid {entry.pid}, {started}) did not finish: "
            f"{_what_it_left(entry.outcome)}",
            extra={
                "transaction": {
                    "id": entry.id,
                    "command": entry.command,
                    "argv": entry.argv,
                    "pid": entry.pid,
                    "started": entry.started,
                    "plan": entry.plan,
                    "progress": entry.outcome,
                },
            },
            fix=fix,
        )


def of_another_user(finding: Finding) -> bool:
    """Whether ``finding`` tells of an entry the runner did not write."""
    return finding.code == CHECK.code and "written_by" in (finding.extra.get("transaction") or {})


CHECK = Check(
    code="interrupted-transaction", severity=ERROR, scope=ENVIRONMENT, order=10, run=check
)
