"""missing-file: a path a record owns is not there.

Existence is judged with ``lstat``, so a dangling symlink is present. A missing
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
    stats, errors = state.disk.stats, state.disk.errors
    for record in state.records:
        for owned in record.paths:
            if owned.kind == PYC or owned.path in stats or owned.path in errors:
                continue
            yield CHECK.finding(
                f"missing; {record.name}-{record.version} installed it",
                package=record.stem,
                path=owned.path,
                fix=reinstall(state.prefix, record),
            )


CHECK = Check(code="missing-file", severity=ERROR, scope=RECORD, order=40, run=check)
