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
import shlex
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
    if not any(finding.code in CODES for finding in findings):
        return repairs  # reading every record (conda's model) costs seconds in a large prefix
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
    plan.relink_why = "a second record of its name may have written over its files"
    plan.aside.update(aside)
    settle(plan, snapshot, frozenset(touched))
    repairs.plan = plan
    return repairs


# -- the rows of a repair plan that the snapshots decide ---------------------------------

INTERRUPTED_TRANSACTION, TRANSACTION_DEBRIS = "interrupted-transaction", "transaction-debris"


@dataclass
class SnapshotRows:
    """The part of a repair the snapshots decide: an interrupted transaction taken
    back to the snapshot before it (with the debris it left and any damaged
    record), or else the corrupt and duplicate records rebuilt."""

    prefix: str
    plan: RollbackPlan | None = None
    #: the findings this part handles (repaired or left with a reason)
    taken: list[Finding] = field(default_factory=list)
    left: list[tuple[Finding, str]] = field(default_factory=list)
    #: the way forward instead, when an interrupted transaction is taken back
    forward: str | None = None

    def takes(self, finding: Finding) -> bool:
        return any(finding is taken for taken in self.taken)

    @property
    def stems(self) -> set[str]:
        """The packages this part unlinks or links."""
        if self.plan is None:
            return set()
        aside = {
            os.path.basename(path)[: -len(RECORD_SUFFIX)]
            for path in self.plan.aside
            if path.startswith("conda-meta/") and path.endswith(RECORD_SUFFIX)
        }
        return aside | {r.stem for r in self.plan.to_link + self.plan.to_unlink}

    def lines(self) -> list[str]:
        """The plan in words (the repair's plan lines)."""
        if self.plan is None:
            return []
        from .rollback import describe

        lines = describe(self.plan)
        if self.forward:
            lines.append(f"    or forward instead: {self.forward}")
        return lines

    def to_list(self) -> list[dict[str, object]]:
        if self.plan is None:
            return []
        return [{"action": "from-snapshot", **self.plan.to_dict(), "forward": self.forward}]


def plan_snapshot_rows(prefix: str, findings: list[Finding]) -> SnapshotRows:
    """The repair of ``findings`` the snapshots decide (reads only): with an
    interrupted transaction (not a repair's own), a rollback to the snapshot before
    it, which also takes the debris and any damaged record; else the corrupt and
    duplicate records from the newest snapshot that tells."""
    from .interrupted import plan_interruption

    rows = SnapshotRows(prefix)
    interrupted = [
        f
        for f in findings
        if f.code == INTERRUPTED_TRANSACTION
        and (f.extra.get("transaction") or {}).get("command") != "repair"
    ]
    if interrupted:
        interruption = plan_interruption(prefix)
        if interruption is not None and interruption.back is not None:
            rows.plan = interruption.back
            rows.forward = f"conda integrity rollback --forward -p {shlex.quote(prefix)}"
            rows.taken = [
                f
                for f in findings
                if f.code in (INTERRUPTED_TRANSACTION, TRANSACTION_DEBRIS) or f.code in CODES
            ]
            return rows
        for finding in interrupted:
            rows.taken.append(finding)
            rows.left.append((finding, "no snapshot before it: run its command again"))
    repairs = plan_record_repairs(prefix, [f for f in findings if f.code in CODES])
    rows.plan = repairs.plan
    rows.taken += [f for f in findings if f.code in CODES]
    rows.left += repairs.left
    return rows
