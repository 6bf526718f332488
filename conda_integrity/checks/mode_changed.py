"""mode-changed: a file lost or gained its executable bit.

The expected bit comes from the package's archive in the cache (see
:mod:`conda_integrity.modes`); entry points conda writes are always executable.
Windows has no executable bit, so nothing is compared there.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator

from ..findings import MODE_CHANGED, WARNING, Finding
from ..fixes import reinstall
from ..records import ENTRY_POINT, FILE
from .context import PrefixState


def check(state: PrefixState) -> Iterator[Finding]:
    if os.name == "nt":
        return
    disk = state.disk
    for record in state.records:
        executables = disk.executables.get(record.stem)
        for owned in record.paths:
            if owned.kind == ENTRY_POINT:
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
            yield Finding(
                MODE_CHANGED,
                WARNING,
                f"{change}; {record.name}-{record.version} installed it "
                + ("executable" if expected else "not executable"),
                package=record.stem,
                path=owned.path,
                extra={
                    "expected": {"executable": expected},
                    "actual": {"executable": actual, "mode": oct(stat.S_IMODE(info.st_mode))},
                    "fix": reinstall(state.prefix, record),
                },
            )
