"""A repair (or rollback) journaled as a guarded transaction is.

Before it changes anything: the snapshot before, and a journal entry whose
lock the process holds while it works (:mod:`..guard.entry`); the plan once it
is known; after it, the snapshot after and the entry closed as finished. So a
repair killed half-way is reported by the next verify as an interrupted
transaction (whose fix is to run it again), and a repair that finishes ends
the report of an interruption before it, as any guarded transaction does.
Another conda at work on the prefix (its entry's lock held) stops the repair
before it begins.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from ..exceptions import IntegrityInputError
from ..guard import entry
from ..guard.check import Before, check_after, judge_before
from ..guard.session import Session, finding_key
from ..progress import Progress
from ..settings import integrity_mode
from ..store import entry_writer
from ..store.paths import guard_dir
from ..verify.read import VerifyOptions


def _stems(records: list[object]) -> list[str]:
    stems = []
    for record in records:
        fn = str(getattr(record, "fn", "") or "")
        for extension in (".conda", ".tar.bz2"):
            fn = fn.removesuffix(extension)
        stems.append(fn or f"{record.name}-{record.version}-{record.build}")  # type: ignore[attr-defined]
    return stems


def read_before(prefix: str, progress: Progress | None = None, write: bool = True) -> Before:
    """A whole read of ``prefix`` as it is now (content hashed, as verify does by
    default), with its findings: what a repair plans from and journals against.
    ``write=False`` keeps nothing of it (a dry run writes nothing at all)."""
    return judge_before(prefix, VerifyOptions(write=write), progress or Progress(enabled=False))


@contextmanager
def journaled(prefix: str, before: Before, command: str) -> Iterator[Session]:
    """Journal the work done inside as transaction ``command`` of ``prefix``.

    ``before`` is a whole read of the prefix as it is now (with its findings).
    IntegrityInputError when another conda is changing the prefix now, or when
    the journal cannot be written (nothing has changed then).
    """
    if before.others:
        other = before.others[0].entry
        raise IntegrityInputError(
            f"another conda is changing {prefix} now ({entry_writer.running_command(other)}, "
            f"pid {other.pid}); run this again once it has finished"
        )
    session = Session(prefix, integrity_mode(), command, guard_dir(prefix))
    # the entry's outcome names what the work left wrong that was not wrong before
    session.known = {finding_key(finding) for finding in before.findings}
    if not entry.begin(session, before):
        raise IntegrityInputError(f"cannot journal the {command} of {prefix}: nothing was changed")
    try:
        yield session
    except BaseException as error:
        entry.fail(session, error)
        raise
    try:
        check_after(session, in_transaction=False)  # builds the snapshot after
    except Exception as error:  # the work is done: the entry must not tell otherwise
        entry.close_unchecked(session, f"{type(error).__name__}: {error}")
        return
    entry.finish(session)


def record_plan(session: Session, unlink: list[object], link: list[object]) -> None:
    """Write what the transaction will unlink and link (conda records) into the
    entry, before it starts: what the next run judges an interruption by."""
    entry.record_plan(session, _stems(unlink), _stems(link))
