"""Repairs that need to know which build a package was: the snapshots tell.

- corrupt-record: the record cannot be read, so it cannot say which build it
  was; the newest snapshot that holds a record of that name-version-build does
  (channel, URL, sha256). The damaged record is moved aside (never deleted), the
  files in the package's way too, and that exact build is linked again by
  conda, from the package cache or its URL.
- duplicate-package: of two or more records of one package name, the newest
  snapshot that holds one of them says which is right. The others are moved
  aside with the files only they owned, and the right one is linked again (the
  other may have written over its files).

Where no snapshot tells which build it was, the finding is left as it is, and
the reason says so. The plans are :class:`~.rollback.RollbackPlan`\\ s, carried
out by :func:`.rollback.carry_out`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from ..exceptions import IntegrityInputError
from ..findings import Finding
from ..store import snapshots
from ..store.paths import guard_dir
from ..store.snapshots import Snapshot, SnapshotRecord
from .rollback import RECORD_SUFFIX, RollbackPlan, installed_now, settle

CORRUPT_RECORD, DUPLICATE_PACKAGE = "corrupt-record", "duplicate-package"
CODES = frozenset({CORRUPT_RECORD, DUPLICATE_PACKAGE})


@dataclass
class RecordRepairs:
    """The plan for the corrupt-record and duplicate-package findings given."""

    #: None: nothing to do
    plan: RollbackPlan | None
    #: findings left as they are, each with the reason
    left: list[tuple[Finding, str]] = field(default_factory=list)
    #: per finding repaired, what the snapshot says it was
    found: list[tuple[Finding, SnapshotRecord]] = field(default_factory=list)


def _snapshots_newest_first(prefix: str) -> Iterator[Snapshot]:
    folder = guard_dir(prefix)
    for entry in reversed(snapshots.listing(folder)):
        try:
            yield snapshots.load(folder, entry["number"])
        except IntegrityInputError:
            continue


def newest_record(prefix: str, wanted: Callable[[SnapshotRecord], bool]) -> SnapshotRecord | None:
    """The record of the newest snapshot that has one ``wanted`` picks."""
    for snapshot in _snapshots_newest_first(prefix):
        found = next((record for record in snapshot.records if wanted(record)), None)
        if found is not None:
            return found
    return None


def _stem_of(record_file: str) -> str | None:
    name = os.path.basename(record_file)
    return name[: -len(RECORD_SUFFIX)] if name.endswith(RECORD_SUFFIX) else None


def plan_record_repairs(prefix: str, findings: list[Finding]) -> RecordRepairs:
    """The plan that puts back the exact records of the corrupt-record and
    duplicate-package ``findings`` of ``prefix`` (reads only)."""
    repairs = RecordRepairs(None)
    installed, _ = installed_now(prefix, [])
    target = {stem: entry.record for stem, entry in installed.items()}
    touched: set[str] = set()
    aside: dict[str, str] = {}
    for finding in findings:
        if finding.code == CORRUPT_RECORD and finding.path:
            stem = _stem_of(finding.path)
            found = newest_record(prefix, lambda r, stem=stem: r.stem == stem)  # type: ignore[misc]
            if found is None:
                repairs.left.append(
                    (finding, "no snapshot holds it: nothing tells which build it was")
                )
                continue
            if found.url is None:
                repairs.left.append((finding, "its snapshot names no URL for it"))
                continue
            aside[finding.path] = finding.message
            target[found.stem] = found
            repairs.found.append((finding, found))
        elif finding.code == DUPLICATE_PACKAGE:
            stems = set(finding.extra.get("packages") or ())
            found = newest_record(prefix, lambda r, stems=stems: r.stem in stems)  # type: ignore[misc]
            if found is None:
                repairs.left.append(
                    (finding, "no snapshot holds any of them: nothing tells which is right")
                )
                continue
            for stem in stems:
                target.pop(stem, None)
            target[found.stem] = found
            touched.add(found.stem)
            repairs.found.append((finding, found))
    if not repairs.found:
        return repairs
    snapshot = Snapshot(0, 0.0, snapshots.MANUAL, None, None, sorted(target.values()), {}, 0)
    plan = RollbackPlan(prefix, 0, snapshot, installed=installed)
    plan.aside.update(aside)
    settle(plan, snapshot, frozenset(touched))
    repairs.plan = plan
    return repairs
