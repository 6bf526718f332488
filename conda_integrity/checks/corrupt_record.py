"""corrupt-record: a conda-meta record conda cannot use.

conda refuses to load a prefix with an unparseable record
(``CorruptedEnvironmentError``) and silently skips one whose file name is not
its name-version-build, so every such file is an error here.
"""

from __future__ import annotations

from collections.abc import Iterator

from ..findings import CORRUPT_RECORD, ERROR, Finding
from ..observe.prefix_state import PrefixState
from ..records.fixes import replace_record


def _name_of(stem: str) -> str | None:
    parts = stem.rsplit("-", 2)
    return parts[0] if len(parts) == 3 and parts[0] else None


def check(state: PrefixState) -> Iterator[Finding]:
    for bad in state.bad_records:
        if bad.unreadable:
            continue  # reported as unreadable
        yield Finding(
            CORRUPT_RECORD,
            ERROR,
            f"the record {bad.reason}",
            package=bad.stem,
            path=bad.file,
            extra={"fix": replace_record(state.prefix, bad.file, _name_of(bad.stem))},
        )
