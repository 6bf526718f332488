"""Snapshots taken now, and what changed between two of them.

The functions behind ``conda integrity snapshot`` and ``diff``; the guard takes
the first snapshot of an environment it saw created through here too.
"""

from __future__ import annotations

from ..exceptions import IntegrityInputError
from ..observe.snapshot import snapshot_of
from ..progress import Progress
from ..records.reader import check_prefix
from ..settings import snapshots_to_keep
from ..store import snapshots
from ..store.changes import Changes, compare
from ..store.paths import guard_dir
from .read import VerifyOptions, read_state, state_digests
from .run import remember, run_checks


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
    return snapshot_of(state, kind, label, command, digests, base=base)


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
