"""Snapshots taken now, and what changed between two of them.

The functions behind ``conda integrity snapshot`` and ``diff``; the guard takes
the first snapshot of an environment it saw created through here too.
"""

from __future__ import annotations

from ..exceptions import IntegrityInputError
from ..findings import ERROR, Finding
from ..observe.prefix_state import PrefixState
from ..observe.snapshot import snapshot_of
from ..progress import Progress
from ..records.reader import check_prefix
from ..settings import snapshots_to_keep
from ..store import snapshots
from ..store.changes import Changes, ContentJudge, compare
from ..store.paths import guard_dir
from .read import VerifyOptions, read_state, state_digests
from .run import remember, run_checks

#: how the guard's check and a snapshot now read the prefix: files by stat, and the
#: copies of what the newest snapshot saw by their content
READ_NOW = VerifyOptions(fast=True, copies=True)


def verified(state: PrefixState, findings: list[Finding]) -> ContentJudge:
    """Whether the read (``state``, and its ``findings``) found the file at a path
    as its package installed it: no error names it, and its content was verified
    (hashed, or its record clean under the file's present keys), or its records
    give no hash of it (verify could say nothing about its content either)."""
    named = {finding.path for finding in findings if finding.severity == ERROR}
    clean: set[str] = set()

    def same(path: str) -> bool:
        if path in named:
            return False
        if path in state.disk.sha256:
            return True
        holders = state.owners.get(path)
        if holders is not None:
            return not any(owned.sha256 for _, owned in holders)
        if not clean:
            clean.update(path for record in state.unchanged for path in record.paths)
        return path in clean

    return same


def current(
    prefix: str,
    kind: str = snapshots.MANUAL,
    label: str | None = None,
    command: str | None = None,
) -> snapshots.Snapshot:
    """A snapshot of the prefix as it is now (not saved)."""
    return _now(prefix, kind, label, command)[0]


def _now(
    prefix: str, kind: str, label: str | None, command: str | None
) -> tuple[snapshots.Snapshot, ContentJudge]:
    """:func:`current`, and the judge of its read (:func:`verified`)."""
    state, memory = read_state(prefix, READ_NOW, Progress(enabled=False))
    findings = run_checks(state)
    remember(state, memory, findings)
    digests = state_digests(state, memory)
    base = snapshots.latest(guard_dir(state.prefix))
    snapshot = snapshot_of(state, kind, label, command, digests, base=base)
    return snapshot, verified(state, findings)


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
    if second is not None:  # two snapshots: no read of the second to judge a copy by
        new = snapshots.load(folder, second)
        return _name(old), _name(new), compare(old, new)
    new, same_content = _now(prefix, snapshots.MANUAL, None, None)
    return _name(old), "now", compare(old, new, same_content)


def _name(snapshot: snapshots.Snapshot) -> str:
    return f"snapshot {snapshot.number}"
