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

These are the functions :mod:`.hooks` calls; the checks are in :mod:`.check`, the
journal entry and snapshots in :mod:`.entry`, the words in :mod:`.messages`, and
the command being watched in :mod:`.session`.

The checks run within ``integrity_timeout`` (:func:`.failsafe.within`). When
anything here fails, the guard stops watching the command and leaves a journal
that tells no false story: an entry begun before the transaction is taken back,
one whose transaction ran is closed as finished without a check; :mod:`.hooks`
says the rest.
"""

from __future__ import annotations

import gc
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ..checks import corrupt_record
from ..compat import CREATE_COMMANDS, FROM_FILE_COMMANDS, names_target, target_prefix
from ..exceptions import IntegrityInputError, IntegrityRefusal
from ..settings import OFF, REFUSE, integrity_mode, integrity_timeout
from ..store.paths import guard_dir
from . import entry, messages
from .check import check_after, check_before, refuses_in_transaction
from .failsafe import what_failed, within
from .session import WATCH, Session, finding_key

#: the environment the guard was last asked about, for the line that says it failed
last_prefix: str | None = None


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


def _target_in_file(command: str) -> bool:
    """Whether an environment file, not -n/-p, names the command's target."""
    return command in FROM_FILE_COMMANDS and not names_target(sys.argv)


def _target() -> str | None:
    try:
        return target_prefix()
    except IntegrityInputError:
        return None  # an unknown -n NAME: conda itself will say so


def _is_environment(prefix: str) -> bool:
    return os.path.isdir(os.path.join(prefix, "conda-meta"))


@contextmanager
def _stop_watching_on_error() -> Iterator[None]:
    """Before the transaction: on any error, watch nothing and take back the entry."""
    try:
        yield
    except BaseException:
        session, _ = WATCH.take()
        if session is not None:
            entry.take_back(session)
        raise


def before_command(command: str) -> None:
    """``conda_pre_commands``: check the prefix, snapshot it, start a journal entry."""
    with _quiet_gc(), _stop_watching_on_error():
        _before_command(command)


def _before_command(command: str) -> None:
    WATCH.take()
    mode = integrity_mode()
    if mode == OFF:
        return
    if command in CREATE_COMMANDS:
        _start_creation(command)  # the after-check snapshots what it made
        return
    if _target_in_file(command):
        # the environment file names the target: only conda's transaction actions
        # (25.5 and later) tell it, see watches()
        WATCH.deferred = command
        return
    prefix = _target()
    if prefix is None or not _is_environment(prefix):
        return
    _start(command, prefix, mode, in_transaction=False)


def _start_creation(command: str) -> None:
    from conda.base.context import context

    if context.dry_run or _target_in_file(command):
        return
    prefix = _target()
    if prefix is None or os.path.lexists(os.path.join(prefix, "conda-meta")):
        return  # made anew over an environment: its own journal tells the rest
    global last_prefix
    last_prefix = prefix
    WATCH.session = entry.begin_creation(command, prefix)


def _start(command: str, prefix: str, mode: str, in_transaction: bool) -> None:
    """Check the prefix, snapshot it and begin the journal entry: the session."""
    from conda.base.context import context

    global last_prefix
    last_prefix = prefix
    session = Session(prefix, mode, command, guard_dir(prefix))
    before = within(integrity_timeout(), lambda: check_before(prefix))
    session.known = {finding_key(finding) for finding in before.findings}
    session.refusal = messages.problems_before(prefix, before.problems, before.others)
    if session.refusal is not None:
        session.problems = before.problems
        if mode != REFUSE:
            messages.say("\n".join([session.refusal, messages.verify_hint(prefix)]))

    # conda reads every record before its transaction: a corrupt one may stop it, or
    # make it wait on a FIFO for ever, before the transaction action could refuse
    corrupt = any(problem.code == corrupt_record.CHECK.code for problem in before.problems)
    refuse_at_once = before.others or corrupt or not refuses_in_transaction()
    if mode == REFUSE and session.refusal and not in_transaction and refuse_at_once:
        # another conda at work, or a corrupt record: refuse at once, even a command
        # with nothing to do
        raise IntegrityRefusal(messages.refusal(session))

    if context.dry_run:
        return  # nothing will change: no snapshot, no journal
    try:
        if entry.begin(session, before):
            WATCH.session = session
    except BaseException:
        entry.take_back(session)
        raise


def before_solve(specs_to_add: Any, specs_to_remove: Any) -> None:
    """``conda_pre_solves``: the specs conda's history entry will list (conda
    without transaction actions: they tell them there)."""
    if WATCH.session is not None:
        WATCH.session.specs = entry.history_specs(
            {"remove_specs": specs_to_remove, "update_specs": specs_to_add}
        )


def after_solve(repodata_fn: str, unlink_precs: Any, link_precs: Any) -> None:
    """``conda_post_solves``: learn the plan (conda without transaction actions)."""
    session = WATCH.session
    if session is not None:
        with _stop_watching_on_error():
            entry.record_plan(session, _stems(unlink_precs), _stems(link_precs), session.specs)


def _stems(records: Any) -> list[str]:
    return [f"{record.name}-{record.version}-{record.build}" for record in records]


def watches(target_prefix: Any) -> bool:
    """Whether the guard watches the command that changes ``target_prefix``; for a
    command that named no target, the guard starts watching it here."""
    if WATCH.session is None and WATCH.deferred is not None:
        command, WATCH.deferred = WATCH.deferred, None
        prefix = str(target_prefix)
        if _is_environment(prefix):
            with _quiet_gc(), _stop_watching_on_error():
                _start(command, prefix, integrity_mode(), in_transaction=True)
    session = WATCH.session
    return session is not None and os.path.realpath(str(target_prefix)) == os.path.realpath(
        session.prefix
    )


def before_transaction(
    unlink_precs: Any, link_precs: Any, specs: dict[str, Any]
) -> Exception | None:
    """The pre-transaction action: learn the plan (with the specs conda's history
    entry will list); the refusal, if refuse mode stops it."""
    session = WATCH.session
    if session is None:
        return None
    with _stop_watching_on_error():
        plan_specs = entry.history_specs(specs)
        entry.record_plan(session, _stems(unlink_precs), _stems(link_precs), plan_specs)
    if session.mode != REFUSE or not session.refusal:
        return None
    return IntegrityRefusal(messages.refusal(session))


def after_transaction() -> None:
    """``conda_post_transaction_actions``: check while conda can still roll back."""
    with _quiet_gc():
        _after_transaction()


def _after_transaction() -> None:
    session = WATCH.session
    if session is None or session.creating:
        return
    try:
        fresh = within(integrity_timeout(), lambda: check_after(session, in_transaction=True))
    except Exception as error:
        if session.mode != REFUSE:  # conda goes on: the transaction stands, unchecked
            WATCH.take()
            entry.close_unchecked(session, what_failed(error))
        # else conda rolls the transaction back; the next run judges the open entry
        raise
    if fresh and session.mode == REFUSE:
        raise IntegrityRefusal(messages.rolled_back(session.prefix, fresh, session.others_after))


def after_command(command: str) -> None:
    """``conda_post_commands``: check what the command did, snapshot, close the entry."""
    try:
        with _quiet_gc():
            _after_command(command)
    except BaseException as error:
        session, _ = WATCH.take()  # still watched if it failed before taking it
        if session is not None:
            entry.close_unchecked(session, what_failed(error))
        raise


def _after_command(command: str) -> None:
    session, _ = WATCH.take()
    if session is not None and session.creating:
        entry.finish_creation(session)
    if session is None or session.creating:
        creates = command in CREATE_COMMANDS and not _target_in_file(command)
        if creates and integrity_mode() != OFF:
            prefix = _target()
            if prefix and _is_environment(prefix):
                global last_prefix
                last_prefix = prefix
                within(integrity_timeout(), lambda: entry.first_snapshot(prefix))
        return
    if not _is_environment(session.prefix):
        if session.lock is not None:
            session.lock.close()
        return  # removed with `--all`: its journal went with it
    try:
        if not session.checked_in_transaction:
            within(integrity_timeout(), lambda: check_after(session, in_transaction=False))
        entry.finish(session)
    except OSError as error:
        entry.close_unchecked(session, str(error))
        messages.say(f"conda-integrity: cannot close the journal of {session.prefix} ({error})")
        return
    except Exception as error:  # the transaction ran: close its entry, unchecked
        entry.close_unchecked(session, what_failed(error))
        raise
    fresh = session.after_findings
    if not fresh:
        return
    message = messages.left_behind(session.prefix, fresh, session.others_after)
    if session.mode == REFUSE and not session.checked_in_transaction:
        raise IntegrityRefusal(message + messages.NO_ROLLBACK)
    messages.say(message)


def on_failure(exception: BaseException) -> None:
    """The command raised: mark the entry failed (the next run judges what it left)."""
    session, WATCH.session = WATCH.session, None
    if session is not None:
        try:
            entry.fail(session, exception)
        finally:
            if session.lock is not None:
                session.lock.close()
