"""The guard's two checks of a prefix: a fast one before the command, and one of
what the transaction touched after it, while conda can still roll it back."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

from ..checks import transaction_debris
from ..compat import has_transaction_actions
from ..exceptions import IntegrityInputError
from ..findings import ERROR, Finding
from ..observe.prefix_state import PrefixState
from ..observe.snapshot import snapshot_of
from ..progress import Progress
from ..store import snapshots
from ..store.journal import OpenTransaction
from ..verify.read import Memory, VerifyOptions, read_state, state_digests
from ..verify.run import remember, run_checks
from ..verify.snapshot import READ_NOW
from .session import Session, command_line, finding_key

#: findings that describe the moment, not damage, while conda is mid-transaction
TRANSIENT = frozenset({transaction_debris.CHECK.code})


@dataclass(frozen=True)
class Before:
    """What the check before a command found."""

    state: PrefixState
    memory: Memory
    findings: list[Finding]
    #: the error findings among them
    problems: list[Finding]
    #: other conda processes changing the prefix right now
    others: list[OpenTransaction]


def check_before(prefix: str) -> Before:
    """The fast check of ``prefix`` before a command changes it (files by stat, and
    the copies of what the newest snapshot saw by content)."""
    return judge_before(prefix, READ_NOW, Progress(enabled=False))


def judge_before(prefix: str, options: VerifyOptions, progress: Progress) -> Before:
    """Read ``prefix`` with ``options`` and judge it: what a change is checked
    against (kept for the next run unless ``options.write`` is off)."""
    state, memory = read_state(prefix, options, progress)
    findings = run_checks(state)
    if options.write:
        remember(state, memory, findings)
    return Before(
        state,
        memory,
        findings,
        problems=[f for f in findings if f.severity == ERROR],
        others=[t for t in state.transactions if t.running],
    )


def refuses_in_transaction() -> bool:
    """Whether a refusal can come from the pre-transaction action's verify().

    conda skips every verify() under ``safety_checks: disabled``; the
    pre-command refuses then, as on conda before 25.5.
    """
    from conda.base.context import context

    return has_transaction_actions() and str(context.safety_checks) != "disabled"


def check_after(session: Session, in_transaction: bool) -> list[Finding]:
    """What the transaction left wrong that was not wrong before it; also builds the
    snapshot after it (``session.after``)."""
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
    session.after = _snapshot_after(session, state, memory)
    fresh = [
        finding
        for finding in findings
        if finding_key(finding) not in session.known
        and not (in_transaction and finding.code in TRANSIENT)
        and finding.severity == ERROR
    ]
    session.after_findings = fresh
    session.others_after = [t for t in state.transactions if t.running]
    session.checked_in_transaction = in_transaction
    return fresh


def _snapshot_after(session: Session, state: PrefixState, memory: Memory) -> snapshots.Snapshot:
    """The snapshot after the transaction, with the blocks of records it did not
    touch taken from the one before."""
    before = session.before
    if before is None and session.entry is not None and session.entry.before:
        with contextlib.suppress(IntegrityInputError):
            before = snapshots.load(session.guard_dir, session.entry.before)
    digests = state_digests(state, memory)
    # modes are the baseline of mode-changed: the records the transaction did not link
    # keep theirs (a post-link script may set the modes of what it linked)
    plan = session.entry.plan if session.entry is not None else None
    linked = set(plan["link"]) if plan else None
    kept = frozenset(
        stem
        for stem in (*(r.stem for r in state.records), *(u.stem for u in state.unchanged))
        if linked is not None and stem not in linked
    )
    return snapshot_of(
        state, snapshots.AFTER, None, command_line(), digests, base=before, base_modes=kept
    )
