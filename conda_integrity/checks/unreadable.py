"""unreadable: a path the check could not examine; the run goes on without it."""

from __future__ import annotations

from collections.abc import Iterator

from ..findings import UNREADABLE, WARNING, Finding
from ..observe.prefix_state import PrefixState


def check(state: PrefixState) -> Iterator[Finding]:
    for bad in state.bad_records:
        if bad.unreadable:
            yield Finding(
                UNREADABLE, WARNING, f"the record {bad.reason}", package=bad.stem, path=bad.file
            )
    owners = state.owners
    for path, reason in sorted(state.disk.errors.items()):
        holders = owners.get(path, ())
        package = holders[0][0].stem if len(holders) == 1 else None
        yield Finding(
            UNREADABLE, WARNING, f"cannot be checked: {reason}", package=package, path=path
        )
    if state.tree is not None:
        for folder, reason in sorted(state.tree.errors.items()):
            yield Finding(
                UNREADABLE, WARNING, f"folder cannot be listed: {reason}", path=folder or "."
            )
