"""From verify's findings to a repair plan: what will be done, to what, and why.

Each finding is planned by its code:

- the files of a package (missing-file, altered-file, mode-changed, clobbered-file):
  relink that exact build, from a verified source (:mod:`.sources`); a clobbered
  path goes to the package that conda's ``path_conflict: clobber`` rule makes
  win, the one linked last by the history;
- transaction-debris: moved aside into the backup;
- a repair that was interrupted: finished, by relinking what it planned;
- a transaction another user's journal tells of: nothing in their entry (its
  command, plan, snapshot) is acted on; the damage it left is repaired as found;
- what a solver or the user must decide (unsatisfied-dependency,
  constraint-violation, spec-drift, pip-overlap, history-mismatch) and the rest:
  not changed; the plan gives the command that would fix it.

The plan is plain data: the CLI shows it, :mod:`.run` carries it out.
"""

from __future__ import annotations

import os
import shlex
from dataclasses import asdict, dataclass, field
from typing import Any

from ..checks import (
    altered_file,
    clobbered_file,
    constraint_violation,
    history_mismatch,
    interrupted_transaction,
    missing_file,
    mode_changed,
    pip_overlap,
    spec_drift,
    transaction_debris,
    unsatisfied_dependency,
)
from ..exceptions import IntegrityInputError
from ..findings import Finding
from ..observe.prefix_state import PrefixState
from ..records import package_cache
from ..records.fixes import from_wheel
from ..records.model import Record, build_record, read_raw
from ..records.reader import read_records
from ..store.paths import user_name
from .from_snapshot import SnapshotRows, plan_snapshot_rows
from .ownership import Ownership, belongs_to_another
from .sources import Source, check_source

#: findings about the files of one package: relinking it puts them back
FILE_CODES = frozenset(
    check.CHECK.code for check in (missing_file, altered_file, mode_changed, clobbered_file)
)
#: findings whose fix is the solver's or the user's choice
LEFT_TO_THE_USER = {
    unsatisfied_dependency.CHECK.code: "conda's solver chooses what to install for it",
    constraint_violation.CHECK.code: "conda's solver chooses which package to change",
    spec_drift.CHECK.code: "conda's solver chooses what meets the specs again",
    pip_overlap.CHECK.code: "whether pip's or conda's files should stay is the user's choice",
    history_mismatch.CHECK.code: "conda-meta/history is conda's log; repair does not rewrite it",
}
#: findings conda's solver can fix by meeting their spec (``repair --solve``)
SOLVER_CODES = frozenset(
    check.CHECK.code for check in (unsatisfied_dependency, constraint_violation, spec_drift)
)
#: what repair says it did or will do
RELINK, MOVE_ASIDE = "relink", "move-aside"


@dataclass
class PackageRepair:
    """One package to relink: the findings it fixes and where it comes from."""

    package: str
    name: str
    #: the findings it puts right, each as "code path"
    fixes: list[str]
    source: Source
    #: words for a choice the plan made (which owner of a clobbered path wins)
    notes: list[str] = field(default_factory=list)
    #: the paths its findings name (prefix-relative)
    paths: list[str] = field(default_factory=list)
    #: its record is in conda-meta (False: an interrupted repair unlinked it)
    recorded: bool = True
    #: its record (for one not installed, the package cache's)
    record: Record | None = field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        source = asdict(self.source)
        return {
            "action": RELINK,
            "package": self.package,
            "why": self.fixes,
            "notes": self.notes,
            "source": {key: source[key] for key in ("how", "why", "shared_with")},
            "moves_aside": [path for path, _ in self.source.move_aside],
        }


@dataclass
class PathRepair:
    """One path of the prefix to move aside."""

    path: str
    code: str
    why: str

    def to_dict(self) -> dict[str, Any]:
        return {"action": MOVE_ASIDE, "path": self.path, "code": self.code, "why": self.why}


@dataclass(frozen=True)
class NotRepaired:
    """A finding repair leaves as it is, and why."""

    finding: Finding
    reason: str
    #: the spec conda's solver would have to meet (``repair --solve``)
    spec: str | None = None

    def to_dict(self) -> dict[str, Any]:
        finding = self.finding
        document = {
            "code": finding.code,
            "severity": finding.severity,
            "message": finding.message,
            "reason": self.reason,
            "package": finding.package,
            "path": finding.path,
            # the command that would fix it
            "command": finding.fix,
            "spec": self.spec,
        }
        return {key: value for key, value in document.items() if value is not None}


@dataclass
class Plan:
    """What a repair of ``prefix`` will do."""

    prefix: str
    packages: list[PackageRepair] = field(default_factory=list)
    paths: list[PathRepair] = field(default_factory=list)
    not_repaired: list[NotRepaired] = field(default_factory=list)
    #: what the snapshots decide: an interrupted transaction taken back, damaged
    #: records rebuilt (:mod:`.from_snapshot`); carried out first
    snapshot: SnapshotRows | None = None
    #: whose the environment is, when not the runner's (the files relinked become theirs)
    ownership: Ownership | None = None

    @property
    def empty(self) -> bool:
        return not (self.packages or self.paths or (self.snapshot and self.snapshot.plan))

    @property
    def blocked(self) -> list[PackageRepair]:
        """The packages conda could get from nowhere: the repair cannot start."""
        return [repair for repair in self.packages if not repair.source.usable]

    @property
    def shared_with(self) -> list[str]:
        """Other environments that hold a damaged cache file by hard link."""
        return sorted({p for repair in self.packages for p in repair.source.shared_with})

    @property
    def solver_specs(self) -> list[str]:
        """The specs of what only conda's solver can fix, in order, once each."""
        return list(dict.fromkeys(item.spec for item in self.not_repaired if item.spec))

    def to_list(self) -> list[dict[str, Any]]:
        snapshot = self.snapshot.to_list() if self.snapshot else []
        return (
            snapshot
            + [repair.to_dict() for repair in self.packages]
            + [path.to_dict() for path in self.paths]
        )


def _line(finding: Finding) -> str:
    return f"{finding.code} {finding.path}" if finding.path else finding.code


def _left(finding: Finding, reason: str) -> NotRepaired:
    spec = finding.extra.get("spec") if finding.code in SOLVER_CODES else None
    return NotRepaired(finding, reason, spec if isinstance(spec, str) and spec else None)


def _linked_last(prefix: str, stems: list[str]) -> str | None:
    """Which of the packages conda-meta/history shows linked last (None: it does not
    tell: one of them is in no revision, or the history cannot be read)."""
    from conda.history import History

    try:
        revisions = History(prefix).parse()
    except Exception:
        return None
    last: dict[str, int] = {}
    for number, (_, dists, _) in enumerate(revisions):
        for dist in dists:
            if dist.startswith("+"):
                stem = dist[1:].rsplit("::", 1)[-1]
                if stem in stems:
                    last[stem] = number
    if len(last) != len(stems) or len(set(last.values())) != len(stems):
        return None
    return max(last, key=last.__getitem__)


def _clobber_winner(prefix: str, finding: Finding) -> tuple[str | None, str]:
    """The owner of a clobbered path that should win, and why (or None and why not)."""
    from conda.base.context import context

    stems = list(finding.extra.get("packages") or ())
    policy = str(context.path_conflict)
    if not policy.endswith("clobber"):
        return None, f"path_conflict is {policy}: conda would not let both packages own it"
    winner = _linked_last(prefix, stems)
    if winner is None:
        return None, "conda-meta/history does not tell which of them conda linked last"
    if finding.extra.get("owner") == winner:
        return None, (
            f"it holds {winner}'s content, which conda linked last; removing either "
            "package deletes it for both: only removing one of them ends the conflict"
        )
    return winner, (
        f"{winner} wins: conda linked it last (conda-meta/history) and path_conflict is clobber"
    )


def check_names(state: PrefixState, names: frozenset[str]) -> None:
    """IntegrityInputError for a name that no installed package has."""
    known = {p.stem for p in state.packages} | {p.name for p in state.packages}
    unknown = sorted(names - known)
    if unknown:
        raise IntegrityInputError(f"no installed package is named {unknown[0]!r}")


def selected(finding: Finding, names: frozenset[str]) -> bool:
    """Whether ``finding`` is about one of the packages ``names`` (all: none named)."""
    if not names:
        return True
    stems = {finding.package, *(finding.extra.get("packages") or ())}
    return any(stem and (stem in names or stem.rsplit("-", 2)[0] in names) for stem in stems)


def make_plan(
    state: PrefixState, findings: list[Finding], names: frozenset[str] = frozenset()
) -> Plan:
    """The plan for ``findings`` of the prefix ``state`` read (only those about the
    packages ``names``, when given)."""
    prefix = state.prefix
    plan = Plan(prefix, ownership=belongs_to_another(prefix))
    plan.snapshot = plan_snapshot_rows(
        prefix,
        [
            f
            for f in findings
            if selected(f, names) and not interrupted_transaction.of_another_user(f)
        ],
    )
    plan.not_repaired += [_left(finding, why) for finding, why in plan.snapshot.left]
    records = {record.stem: record for record in state.records}
    wanted: dict[str, list[Finding]] = {}
    notes: dict[str, list[str]] = {}
    for finding in findings:
        if not selected(finding, names) or plan.snapshot.takes(finding):
            continue
        code = finding.code
        if code == clobbered_file.CHECK.code:
            winner, why = _clobber_winner(prefix, finding)
            if winner is None:
                plan.not_repaired.append(_left(finding, why))
                continue
            wanted.setdefault(winner, []).append(finding)
            notes.setdefault(winner, []).append(f"{finding.path}: {why}")
        elif code in FILE_CODES:
            record = records.get(finding.package or "")
            if record is None:
                plan.not_repaired.append(_left(finding, "its record was not read"))
            elif from_wheel(record) or (finding.fix or "").startswith("pixi "):
                plan.not_repaired.append(
                    _left(finding, "conda cannot fetch this package again: its own tool can")
                )
            else:
                wanted.setdefault(record.stem, []).append(finding)
        elif code == transaction_debris.CHECK.code and finding.path:
            plan.paths.append(PathRepair(finding.path, code, finding.message))
        elif interrupted_transaction.of_another_user(finding):
            plan.not_repaired.append(_left(finding, _another_users(prefix, finding)))
        elif code == interrupted_transaction.CHECK.code and _is_repair(finding):
            for stem in _planned(finding):
                wanted.setdefault(stem, []).append(finding)
        elif code in LEFT_TO_THE_USER:
            plan.not_repaired.append(_left(finding, LEFT_TO_THE_USER[code]))
        else:
            plan.not_repaired.append(_left(finding, "repair does not change this"))
    installed = {package.stem for package in state.packages}
    for stem, fixed in wanted.items():
        if stem in plan.snapshot.stems:
            continue  # linked again as the snapshot has it
        record = records.get(stem) or _installed_record(prefix, stem, installed)
        record = record or _cached_record(stem)
        if record is None:
            for finding in fixed:
                plan.not_repaired.append(_left(finding, f"{stem} has no record to relink"))
            continue
        paths = sorted({f.path for f in fixed if f.path and os.path.lexists(f"{prefix}/{f.path}")})
        source = check_source(prefix, record, set(paths))
        plan.packages.append(
            PackageRepair(
                stem,
                record.name,
                sorted({_line(f) for f in fixed}),
                source,
                notes.get(stem, []),
                paths,
                recorded=stem in installed,
                record=record,
            )
        )
    plan.packages.sort(key=lambda repair: repair.package)
    return plan


def _installed_record(prefix: str, stem: str, installed: set[str]) -> Record | None:
    """The record of an installed package the read took as verified earlier."""
    if stem not in installed:
        return None
    found, _ = read_records(prefix, [stem])
    return found[0] if found else None


def _cached_record(stem: str) -> Record | None:
    """The record of a package that is not installed, from its extracted copy in
    the package cache (``info/repodata_record.json``, what conda links it with)."""
    for pkgs_dir in package_cache.pkgs_dirs():
        path = os.path.join(pkgs_dir, stem, "info", "repodata_record.json")
        raw = read_raw(path)
        if isinstance(raw, dict):
            record = build_record(stem, raw, None)
            if isinstance(record, Record):
                return record
    return None


def _another_users(prefix: str, finding: Finding) -> str:
    """Why an interruption another user's journal tells of is left as it is."""
    uid = (finding.extra.get("transaction") or {}).get("written_by")
    who = user_name(uid) if isinstance(uid, int) else "another user"
    return (
        f"its journal entry is {who}'s: repair runs nothing it names and takes no plan "
        "or snapshot from it; the damage it left that verify finds is repaired as any "
        f"other, and `conda integrity rollback -p {shlex.quote(prefix)} N` goes back to a "
        "snapshot of yours"
    )


def _is_repair(finding: Finding) -> bool:
    transaction = finding.extra.get("transaction") or {}
    return transaction.get("command") == "repair"


def _planned(finding: Finding) -> list[str]:
    """The packages an interrupted repair meant to relink."""
    plan = (finding.extra.get("transaction") or {}).get("plan") or {}
    return list(plan.get("link") or [])
