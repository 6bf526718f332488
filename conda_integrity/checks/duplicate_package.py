"""duplicate-package: two or more records of one package name.

conda keeps one record per name in memory and ignores the others, so their
files become invisible to it; this is what a transaction cut off between
writing the new record and removing the old one leaves behind.
"""

from __future__ import annotations

from collections.abc import Iterator

from ..findings import DUPLICATE_PACKAGE, ERROR, Finding
from ..records import Record
from .context import PrefixState


def check(state: PrefixState) -> Iterator[Finding]:
    by_name: dict[str, list[Record]] = {}
    for record in state.records:
        by_name.setdefault(record.name, []).append(record)
    for name, records in sorted(by_name.items()):
        if len(records) < 2:
            continue
        stems = sorted(record.stem for record in records)
        yield Finding(
            DUPLICATE_PACKAGE,
            ERROR,
            f"{len(stems)} records of package {name!r} ({', '.join(stems)}); "
            "conda sees only one of them",
            extra={"packages": stems},
        )
