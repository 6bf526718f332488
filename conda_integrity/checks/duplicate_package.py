"""duplicate-package: two or more records of one package name.

conda keeps one record per name in memory and ignores the others, so their
files become invisible to it; this is what a transaction cut off between
writing the new record and removing the old one leaves behind.
"""

from __future__ import annotations

from collections.abc import Iterator

from ..findings import ERROR, Finding
from ..observe.prefix_state import PrefixState
from .base import RECORD, Check


def check(state: PrefixState) -> Iterator[Finding]:
    by_name: dict[str, list[str]] = {}
    for name, stem in [(r.name, r.stem) for r in state.records] + [
        (u.name, u.stem) for u in state.unchanged
    ]:
        by_name.setdefault(name, []).append(stem)
    for name, stems in sorted(by_name.items()):
        if len(stems) < 2:
            continue
        stems.sort()
        yield CHECK.finding(
            f"{len(stems)} records of package {name!r} ({', '.join(stems)}); "
            "conda sees only one of them",
            extra={"packages": stems},
        )


CHECK = Check(code="duplicate-package", severity=ERROR, scope=RECORD, order=30, run=check)
