"""mode-changed: a file lost or gained its executable bit.

The expected bit is the one the newest snapshot saw (the guard takes one after
every transaction, so a mode a post-link script set is the baseline), else the
one in the package's archive in the cache (see :mod:`conda_integrity.observe.modes`);
entry points conda writes are executable. Windows has no executable bit.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator

from ..findings import WARNING, Finding
from ..observe.prefix_state import PrefixState
from ..records.fixes import reinstall
from ..records.model import ENTRY_POINT, FILE
from .base import RECORD, Check


def check(state: PrefixState) -> Iterator[Finding]:
    if os.name == "nt":
        return
    disk = state.disk
    for record in state.records:
        executables = disk.executables.get(record.stem)
        for owned in record.paths:
            known = disk.snapshot_modes.get(owned.path)
            if known is not None and owned.kind in (FILE, ENTRY_POINT):
                expected = bool(known & stat.S_IXUSR)
            elif owned.kind == ENTRY_POINT:
                expected = True
            elif owned.kind == FILE and executables is not None and owned.source:
                expected = owned.source in executables
            else:
                continue
            info = disk.stats.get(owned.path)
            if info is None or not stat.S_ISREG(info.st_mode) or len(state.owners[owned.path]) > 1:
                continue
            actual = bool(info.st_mode & stat.S_IXUSR)
            if actual == expected:
                continue
            change = "lost its executable bit" if expected else "became executable"
            how = "executable" if expected else "not executable"
            since = (
                f"it was {how} at snapshot {disk.snapshot}"
                if known is not None
                else f"{record.name}-{record.version} installed it {how}"
            )
            yield CHECK.finding(
                f"{change}; {since}",
                package=record.stem,
                path=owned.path,
                extra={
                    "expected": {"executable": expected},
                    "actual": {"executable": actual, "mode": oct(stat.S_IMODE(info.st_mode))},
                },
                fix=reinstall(state.prefix, record, state.reinstaller),
            )


CHECK = Check(code="mode-changed", severity=WARNING, scope=RECORD, order=70, run=check)
