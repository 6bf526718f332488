"""corrupt-record: a conda-meta record conda cannot use.

conda refuses to load a prefix with an unparseable record
(``CorruptedEnvironmentError``), or one its record model rejects, and silently
skips one whose file name is not its name-version-build, so every such file is
an error here; so is an entry that is not a regular file (conda would wait on a
FIFO, read a device without end, or read a record from outside the prefix
through a symlink) and one this user cannot read (conda cannot either).
"""

from __future__ import annotations

from collections.abc import Iterator

from ..findings import ERROR, Finding
from ..observe.prefix_state import PrefixState
from ..records.fixes import replace_record
from .base import RECORD, Check


def _name_of(stem: str) -> str | None:
    parts = stem.rsplit("-", 2)
    return parts[0] if len(parts) == 3 and parts[0] else None


def check(state: PrefixState) -> Iterator[Finding]:
    for bad in state.bad_records:
        if bad.unreadable:
            continue  # gone while it was read: reported as unreadable
        yield CHECK.finding(
            f"the record {bad.reason}",
            package=bad.stem,
            path=bad.file,
            fix=replace_record(state.prefix, bad.file, _name_of(bad.stem), state.reinstaller.pixi),
        )


CHECK = Check(code="corrupt-record", severity=ERROR, scope=RECORD, order=20, run=check)
