"""untrusted-state: conda-integrity's own state folder in the prefix is not used.

``conda-meta/integrity`` (or its ``journal`` or ``snapshots`` folder) that is a
symlink, something else than a folder, or a folder of another user than the
one who owns the environment could make us read what someone else wrote, or
write where they point: it is ignored, nothing is written there, and this user
keeps their state of the prefix in their cache folder instead. The
verification itself does not depend on it.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Iterator

from ..findings import WARNING, Finding
from ..observe.prefix_state import PrefixState
from .base import ENVIRONMENT, Check


def check(state: PrefixState) -> Iterator[Finding]:
    for folder in state.untrusted_state:
        reason = folder.reason
        if folder.target is not None:
            reason = f"{reason} to {folder.target}"
        fix = None
        if folder.target is not None:  # removing the link leaves its target as it is
            fix = "rm " + shlex.quote(os.path.join(state.prefix, folder.path))
        yield CHECK.finding(
            f"conda-integrity's state folder {reason}: it is ignored and nothing is written there",
            path=folder.path,
            fix=fix,
            extra={"target": folder.target} if folder.target is not None else None,
        )


CHECK = Check(code="untrusted-state", severity=WARNING, scope=ENVIRONMENT, order=85, run=check)
