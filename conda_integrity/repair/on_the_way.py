"""Before conda's transaction: no folder on the way of a path it touches leaves the prefix.

conda unlinks and links by path: a folder of the prefix that its owner swapped
for a symlink to a folder elsewhere (``share -> /root/share``) would have conda
delete and write there. So every folder on the way of every path a transaction
will unlink or link, and of every path our own moves touch, is looked at from
the prefix down (``lstat``, one folder at a time): a symlink whose target lies
outside the prefix is a reason not to go on, unless that symlink is itself one
of the package's own recorded paths. A symlink that stays inside the prefix is
followed in the look (what it reaches is still the prefix's).

This is asked when the plan is made and again once the question is answered,
right before anything changes; what happens between the last look and conda's
own calls is conda's (our own moves are made through folder handles instead:
:mod:`..store.in_prefix`).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Collection, Iterable
from typing import Any

from ..exceptions import IntegrityInputError
from ..observe.walk import CONDA_TEMP_EXTENSION

#: the file conda writes for every transaction, beside the packages' own
CONDA_META = ("conda-meta/history",)


class LeavesPrefix(IntegrityInputError):
    """A transaction would touch paths below a symlink that leaves the prefix."""

    def __init__(self, prefix: str, found: dict[str, str]) -> None:
        self.found = found
        shown = "; ".join(f"{path}: {why}" for path, why in sorted(found.items())[:3])
        more = f" (and {len(found) - 3} more)" if len(found) > 3 else ""
        super().__init__(f"{prefix}: {shown}{more}; nothing was changed")


def leaving(
    prefix: str,
    paths: Iterable[str],
    own: Collection[str] = (),
    seen: dict[str, str | None] | None = None,
) -> dict[str, str]:
    """The ``paths`` (relative, ``/``) below a symlink that leaves ``prefix`` (the
    path itself included), each with why; a symlink among ``own`` does not count.
    ``seen`` keeps what was looked at, for the next call on the same prefix."""
    root = os.path.realpath(prefix)
    seen = {} if seen is None else seen
    found = {}
    for path in paths:
        parts = path.split("/")
        for end in range(1, len(parts) + 1):
            step = "/".join(parts[:end])
            if step not in seen:
                seen[step] = _look(prefix, step)
            target = seen[step]
            if target is None or (target and step in own):
                break  # absent (conda makes it), or the package's own symlink
            if target and target != root and not target.startswith(root + os.sep):
                found[path] = (
                    f"{step} is a symbolic link to {target}, which leaves the environment; "
                    "nothing is unlinked or linked through it"
                )
                break
    return found


def _look(prefix: str, step: str) -> str | None:
    """What is at ``step``: None, nothing; ``""``, anything but a symlink; else the
    symlink's target, resolved."""
    path = os.path.join(prefix, step)
    try:
        info = os.lstat(path)
    except OSError:
        return None
    return os.path.realpath(path) if stat.S_ISLNK(info.st_mode) else ""


def of_packages(prefix: str, owners: Iterable[tuple[str, str]]) -> dict[str, dict[str, str]]:
    """For each package (``(stem, path)`` pairs of what conda unlinks and links) the
    paths below a symlink that leaves ``prefix``: stem -> path -> why (only the
    packages that have any)."""
    by_stem: dict[str, set[str]] = {}
    for stem, path in owners:
        by_stem.setdefault(stem, set()).add(path)
    found: dict[str, dict[str, str]] = {}
    seen: dict[str, str | None] = {}
    for stem, paths in sorted(by_stem.items()):
        bad = leaving(prefix, [*sorted(paths), f"conda-meta/{stem}.json"], paths, seen)
        if bad:
            found[stem] = bad
    return found


def refuse_rollback(plan: Any, linked: dict[str, str]) -> None:
    """LeavesPrefix when the rollback ``plan`` (a RollbackPlan, whose packages link
    ``linked``: path -> stem) would touch a path below a symlink that leaves the
    prefix: what it moves aside, puts back or removes, what conda unlinks or links."""
    stems = {record.stem for record in plan.to_unlink} & set(plan.installed)
    owners = [(stem, path) for stem in stems for path in plan.installed[stem].paths]
    owners += [(stem, path) for path, stem in linked.items()]
    found = {}
    for bad in of_packages(plan.prefix, owners).values():
        found.update(bad)
    restored = [path[: -len(CONDA_TEMP_EXTENSION)] for path in plan.restore]
    loose = [*plan.aside, *plan.restore, *restored, *plan.emptied, *CONDA_META]
    found.update(leaving(plan.prefix, loose))
    if found:
        raise LeavesPrefix(plan.prefix, found)
