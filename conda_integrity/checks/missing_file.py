"""missing-file: a path a record owns is not there.

Existence is judged with ``lstat``, so a dangling symlink is present. A path
below a folder that became a symlink loop (an owned folder replaced by a link to
itself) is missing too: nothing can be reached through it. A missing
``.pyc`` is not a finding: conda does not fail when compiling one fails, and
Python writes it again on import.
"""

from __future__ import annotations

from collections.abc import Iterator

from ..findings import ERROR, Finding
from ..observe.prefix_state import PrefixState
from ..records.fixes import reinstall
from ..records.model import PYC
from .base import RECORD, Check


def check(state: PrefixState) -> Iterator[Finding]:
    stats, errors, loops = state.disk.stats, state.disk.errors, state.disk.loops
    for record in state.records:
        for owned in record.paths:
            if owned.kind == PYC or owned.path in stats or owned.path in errors:
                continue
            loop = loops.get(owned.path)
            why = f": {loop} is a symbolic link loop" if loop is not None else ""
            yield CHECK.finding(
                f"missing{why}; {record.name}-{record.version} installed it",
                package=record.stem,
                path=owned.path,
                fix=reinstall(state.prefix, record, state.reinstaller),
            )


CHECK = Check(code="missing-file", severity=ERROR, scope=RECORD, order=40, run=check)
