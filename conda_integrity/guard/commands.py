"""The automatic guard around conda's commands that change an environment.

Before the command (``conda_pre_commands``): a fast check of the target prefix
(records, files by stat, transactions that never finished, another conda at
work), a snapshot, and a journal entry that says a transaction started. After
the solve (``conda_post_solves``) or in the transaction (``conda_pre_transaction
_actions``, conda >= 25.5): the plan goes into the entry. After it
(``conda_post_commands``, or ``conda_post_transaction_actions`` on conda >= 25.5,
while conda can still roll back): a check of what the transaction touched
against the snapshot, a snapshot, and the entry is closed. What the guard finds
goes to stderr; with ``integrity_mode: refuse`` it stops the command instead.

Everything here runs in the conda process, once per command: the state of the
one command being guarded is kept in ``_session``.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import IO, Any

from conda.exceptions import CondaError

from ..checks import transaction_debris
from ..compat import has_transaction_actions
from ..exceptions import IntegrityInputError
from ..findings import ERROR, Finding
from ..observe.snapshot import snapshot_of
from ..progress import Progress
from ..settings import OFF, REFUSE, integrity_mode, snapshots_to_keep
from ..store import journal, snapshots
from ..store.changes import FileChange, compare
from ..store.paths import guard_dir, users_dir
from ..verify import snapshot as timeline
from ..verify.read import EarlierRead, VerifyOptions, read_state, state_digests
from ..verify.report import printable
from ..verify.run import remember, run_checks
from .messages import problem_lines

log = logging.getLogger(__name__)

#: findings that describe the moment, not damage, while conda is mid-transaction
TRANSIENT = frozenset({transaction_debris.CHECK.code})
#: commands whose target conda may take from an environment file, not from -n/-p
FROM_FILE = frozenset({"env_create", "env_update"})
PREFIX_OPTIONS = ("-n", "--name", "-p", "--prefix")


class IntegrityRefusal(CondaError):
    """conda-integrity refuses to let conda change a damaged environment."""

    def __init__(self, message: str) -> None:
        super().__init__(message.replace("%", "%%"))


@dataclass
class Session:
    """The command being guarded in this process."""

    prefix: str
    mode: str
    command: str
    guard_dir: str
    entry: journal.Entry | None = None
    lock: IO | None = None
    #: (code, package, path) of what was wrong before the transaction
    known: set[tuple[str, str | None, str | None]] = field(default_factory=set)
    #: the problems that make refuse mode stop the command, in words
    refusal: str | None = None
    #: the error findings among them (their fix commands go into the refusal)
    problems: list[Finding] = field(default_factory=list)
    #: the post-check ran inside the transaction, where conda can roll back (>= 25.5)
    checked_in_transaction: bool = False
    after_findings: list[Finding] = field(default_factory=list)
    #: the pre-check's read, which the reads after the transaction build on
    earlier: EarlierRead | None = None
    #: the snapshot before the transaction, once built or loaded
    before: snapshots.Snapshot | None = None
    #: the snapshot the post-check built
    after: snapshots.Snapshot | None = None
    #: a ``conda create`` of a new prefix: journaled in the user's folder, not checked
    creating: bool = False


_session: Session | None = None
#: a command whose target only its transaction tells (``conda env update -f FILE``)
_deferred: str | None = None


def _key(finding: Finding) -> tuple[str, str | None, str | None]:
    return finding.code, finding.package, finding.path


def _say(text: str) -> None:
    sys.stderr.write(printable(text) + "\n")
    sys.stderr.flush()


def _verify_hint(prefix: str) -> str:
    return f"Run `conda integrity verify -p {prefix}` for details."


def _report_changes(
    state: Any,
    findings: list[Finding],
    last: snapshots.Snapshot | None,
    now: snapshots.Snapshot,
) -> None:
    """Say which files of conda packages changed since the newest snapshot (pip, an
    editor...), unless a finding or an interrupted transaction already tells it."""
    if last is None or any(not t.running for t in state.transactions):
        return
    reported = {finding.path for finding in findings}
    try:
        changes = compare(last, now)
    except IntegrityInputError as error:  # our own damaged snapshot: nothing to tell
        log.debug("%s", error)
        return
    unexplained = [c for c in changes.files if c.path not in reported]
    if unexplained:
        _say(
            "\n".join(
                [
                    f"conda-integrity: files of conda packages in {state.prefix} changed "
                    f"since conda's last transaction (snapshot {last.number}):",
                    *_changes_lines(unexplained),
                ]
            )
        )


def _changes_lines(files: list[FileChange]) -> list[str]:
    lines = [f"  {change.change:<15} {change.path}" for change in files[:5]]
    if len(files) > 5:
        lines.append(f"  ... and {len(files) - 5} more files")
    return lines


def _target_in_file(command: str) -> bool:
    """Whether an environment file, not -n/-p, names the command's target."""
    return command in FROM_FILE and not any(arg.startswith(PREFIX_OPTIONS) for arg in sys.argv)


def _target() -> str | None:
    from conda.base.context import context

    try:
        return str(context.target_prefix)
    except CondaError:
        return None  # an unknown -n NAME: conda itself will say so


@contextmanager
def _quiet_gc() -> Iterator[None]:
    """Pause Python's cyclic garbage collector during the guard's work.

    Inside conda's process the collector also walks every object conda holds (the
    records of a large environment: hundreds of thousands), each time our
    allocations trigger it; what the guard allocates makes no cycles to collect.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def before_command(command: str) -> None:
    """``conda_pre_commands``: check the prefix, snapshot it, start a journal entry."""
    with _quiet_gc():
        _before_command(command)


def _before_command(command: str) -> None:
    global _session, _deferred
    _session, _deferred = None, None
    mode = integrity_mode()
    if mode == OFF:
        return
    if command in ("create", "env_create"):
        _start_creation(command)  # the after-check snapshots what it made
        return
    if _target_in_file(command):
        # the environment file names the target: only conda's transaction actions
        # (25.5 and later) tell it, see watches()
        _deferred = command
        return
    prefix = _target()
    if prefix is None or not os.path.isdir(os.path.join(prefix, "conda-meta")):
        return
    _start(command, prefix, mode, in_transaction=False)


def _start_creation(command: str) -> None:
    """Journal a ``conda create`` of a new prefix, so that an interruption is seen.

    The entry goes to the user's folder for the prefix: writing into the prefix
    before conda makes it would leave a folder behind when the command fails.
    """
    global _session
    from conda.base.context import context

    if context.dry_run or _target_in_file(command):
        return
    prefix = _target()
    if prefix is None or os.path.lexists(os.path.join(prefix, "conda-meta")):
        return  # made anew over an environment: its own journal tells the rest
    session = Session(prefix, integrity_mode(), command, users_dir(prefix), creating=True)
    try:
        session.entry, session.lock = journal.begin(
            session.guard_dir, command, list(sys.argv), None
        )
    except OSError as error:
        log.debug("cannot journal the creation of %s: %s", prefix, error)
        return
    _session = session


def _start(command: str, prefix: str, mode: str, in_transaction: bool) -> None:
    """Check the prefix, snapshot it and begin the journal entry: the session."""
    global _session
    from conda.base.context import context

    session = Session(prefix, mode, command, guard_dir(prefix))
    state, memory = read_state(prefix, VerifyOptions(fast=True), Progress(enabled=False))
    findings = run_checks(state)
    remember(state, memory, findings)
    session.known = {_key(finding) for finding in findings}

    problems = [f for f in findings if f.severity == ERROR]
    others = [t for t in state.transactions if t.running]
    lines = []
    if others:
        for other in others:
            lines.append(
                f"  another conda process (pid {other.entry.pid}, `conda {other.entry.command}`) "
                "is changing this environment right now"
            )
    lines += problem_lines(problems)
    if lines:
        head = f"conda-integrity: {len(problems) + len(others)} problem(s) in {prefix}:"
        session.refusal = "\n".join([head, *lines])
        session.problems = problems
        if mode != REFUSE:
            _say("\n".join([head, *lines, _verify_hint(prefix)]))

    refuse_at_once = others or not _refuses_in_transaction()
    if mode == REFUSE and session.refusal and not in_transaction and refuse_at_once:
        # another conda at work: refuse at once, even a command with nothing to do
        raise IntegrityRefusal(_refusal_message(session))

    if context.dry_run:
        return  # nothing will change: no snapshot, no journal
    digests = state_digests(state, memory)
    newest = snapshots.latest_summary(session.guard_dir)
    try:
        if newest is not None and newest.get("digests") == digests:
            before_number = newest["number"]  # nothing changed since: that one is "before"
        else:
            last = snapshots.latest(session.guard_dir)
            now = snapshot_of(state, snapshots.BEFORE, None, _command_line(), digests, base=last)
            _report_changes(state, findings, last, now)
            session.before = snapshots.save(session.guard_dir, now, snapshots_to_keep())
            before_number = session.before.number
        session.entry, session.lock = journal.begin(
            session.guard_dir, command, list(sys.argv), before_number
        )
    except OSError as error:
        _say(f"conda-integrity: cannot keep a snapshot of {prefix} ({error}); not guarded")
        return
    session.earlier = EarlierRead.of(state)
    _session = session


def _command_line() -> str:
    return "conda " + " ".join(sys.argv[1:])


def _refusal_message(session: Session) -> str:
    fixes = []
    for finding in session.problems:
        fix = finding.fix
        if fix and fix not in fixes:
            fixes.append(fix)
    lines = [session.refusal or "", _verify_hint(session.prefix)]
    if fixes:
        lines.append("To repair (with the guard set to warn for that command):")
        lines += [f"  CONDA_PLUGINS_INTEGRITY_MODE=warn {fix}" for fix in fixes[:5]]
    lines.append("(plugins.integrity_mode is refuse: conda-integrity stopped this command)")
    return "\n".join(lines)


def record_plan(unlink: list[str], link: list[str]) -> None:
    """The plan of the transaction, once conda knows it."""
    session = _session
    if session is None or session.entry is None:
        return
    session.entry.plan = {"unlink": sorted(unlink), "link": sorted(link)}
    try:
        journal.save(session.guard_dir, session.entry)
    except OSError as error:
        log.debug("cannot write the plan into the journal: %s", error)


def after_solve(repodata_fn: str, unlink_precs: Any, link_precs: Any) -> None:
    """``conda_post_solves``: learn the plan (conda without transaction actions)."""
    record_plan([_stem(p) for p in unlink_precs], [_stem(p) for p in link_precs])


def _stem(record: Any) -> str:
    return f"{record.name}-{record.version}-{record.build}"


def check_transaction(session: Session, in_transaction: bool) -> list[Finding]:
    """What the transaction left wrong that was not wrong before it."""
    # new packages are in no snapshot yet: their modes compare with their archives
    options = VerifyOptions(snapshot_modes=False)
    state, memory = read_state(
        session.prefix, options, Progress(enabled=False), earlier=session.earlier
    )
    findings = run_checks(state)
    if not in_transaction:  # the prefix is as conda leaves it: worth keeping
        remember(state, memory, findings)
    # after the transaction actions, conda only deletes its own debris (backups,
    # trash): the files the records own, all a snapshot holds, are final here
    session.after = _after_snapshot(session, state, memory)
    fresh = [
        finding
        for finding in findings
        if _key(finding) not in session.known
        and not (in_transaction and finding.code in TRANSIENT)
        and finding.severity == ERROR
    ]
    session.after_findings = fresh
    session.checked_in_transaction = in_transaction
    return fresh


def _after_snapshot(session: Session, state: Any, memory: Any) -> snapshots.Snapshot:
    """The snapshot after the transaction, with the blocks of records it did not
    touch taken from the one before."""
    before = session.before
    if before is None and session.entry is not None and session.entry.before:
        with contextlib.suppress(IntegrityInputError):
            before = snapshots.load(session.guard_dir, session.entry.before)
    digests = state_digests(state, memory)
    return snapshot_of(state, snapshots.AFTER, None, _command_line(), digests, base=before)


def refuse_now() -> Exception | None:
    """For the pre-transaction action: the refusal, if refuse mode stops this one."""
    session = _session
    if session is None or session.mode != REFUSE or not session.refusal:
        return None
    return IntegrityRefusal(_refusal_message(session))


def after_transaction() -> None:
    """``conda_post_transaction_actions``: check while conda can still roll back."""
    with _quiet_gc():
        _after_transaction()


def _after_transaction() -> None:
    session = _session
    if session is None or session.creating:
        return
    fresh = check_transaction(session, in_transaction=True)
    if fresh and session.mode == REFUSE:
        raise IntegrityRefusal(
            "\n".join(
                [
                    f"conda-integrity: this transaction left {len(fresh)} problem(s) in "
                    f"{session.prefix}; conda rolls it back:",
                    *problem_lines(fresh),
                ]
            )
        )


def after_command(command: str) -> None:
    """``conda_post_commands``: check what the command did, snapshot, close the entry."""
    with _quiet_gc():
        _after_command(command)


def _after_command(command: str) -> None:
    global _session, _deferred
    session, _session, _deferred = _session, None, None
    if session is not None and session.creating and session.entry is not None:
        session.entry.state = journal.FINISHED
        with contextlib.suppress(OSError):
            journal.end(session.guard_dir, session.entry, session.lock)
    if session is None or session.creating:
        creates = command in ("create", "env_create") and not _target_in_file(command)
        if creates and integrity_mode() != OFF:
            prefix = _target()
            if prefix and os.path.isdir(os.path.join(prefix, "conda-meta")):
                _first_snapshot(prefix)
        return
    if not os.path.isdir(os.path.join(session.prefix, "conda-meta")):
        if session.lock is not None:
            session.lock.close()
        return  # removed with `--all`: its journal went with it
    try:
        if not session.checked_in_transaction:
            check_transaction(session, in_transaction=False)
        fresh, after = session.after_findings, session.after
        if after is not None:
            after = snapshots.save(session.guard_dir, after, snapshots_to_keep())
        if session.entry is not None:
            session.entry.after = after.number if after else None
            session.entry.state = journal.FINISHED
            session.entry.outcome = {"findings": sorted({f.code for f in fresh})}
            journal.end(session.guard_dir, session.entry, session.lock)
    except OSError as error:
        _say(f"conda-integrity: cannot close the journal of {session.prefix} ({error})")
        return
    if not fresh:
        return
    message = "\n".join(
        [
            f"conda-integrity: this transaction left {len(fresh)} problem(s) in {session.prefix}:",
            *problem_lines(fresh),
            _verify_hint(session.prefix),
        ]
    )
    if session.mode == REFUSE and not session.checked_in_transaction:
        raise IntegrityRefusal(
            message + "\n(conda before 25.5 cannot roll a finished transaction back)"
        )
    _say(message)


def _first_snapshot(prefix: str) -> None:
    """The first snapshot of a prefix the command created, and its journal entry."""
    folder = guard_dir(prefix)
    try:
        now = timeline.current(prefix, snapshots.AFTER, None, _command_line())
        snapshot = snapshots.save(folder, now, snapshots_to_keep())
        entry, lock = journal.begin(folder, "create", list(sys.argv), None)
        entry.state, entry.after, entry.ended = journal.FINISHED, snapshot.number, time.time()
        journal.end(folder, entry, lock)
    except OSError as error:
        log.debug("cannot snapshot the new environment %s: %s", prefix, error)


def on_failure(exception: BaseException) -> None:
    """The command raised: mark the entry failed (the next run judges what it left)."""
    global _session
    session, _session = _session, None
    if session is None or session.entry is None:
        return
    session.entry.state = journal.FAILED
    session.entry.outcome = {"error": type(exception).__name__}
    with contextlib.suppress(OSError):
        journal.save(session.guard_dir, session.entry)
    if session.lock is not None:
        session.lock.close()


def _refuses_in_transaction() -> bool:
    """Whether a refusal can come from the pre-transaction action's verify().

    conda skips every verify() under ``safety_checks: disabled``; the
    pre-command refuses then, as on conda before 25.5.
    """
    from conda.base.context import context

    return has_transaction_actions() and str(context.safety_checks) != "disabled"


def watches(target_prefix: Any) -> bool:
    """Whether the guard watches the command that changes ``target_prefix``; for a
    command that named no target, the guard starts watching it here."""
    global _deferred
    if _session is None and _deferred is not None:
        command, _deferred = _deferred, None
        prefix = str(target_prefix)
        if os.path.isdir(os.path.join(prefix, "conda-meta")):
            with _quiet_gc():
                _start(command, prefix, integrity_mode(), in_transaction=True)
    session = _session
    return session is not None and os.path.realpath(str(target_prefix)) == os.path.realpath(
        session.prefix
    )


def before_transaction(unlink_precs: Any, link_precs: Any) -> Exception | None:
    """The pre-transaction action: learn the plan; the refusal, if refuse mode stops it."""
    record_plan([_stem(p) for p in unlink_precs], [_stem(p) for p in link_precs])
    return refuse_now()
