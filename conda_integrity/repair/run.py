"""``repair``: verify, plan, (ask,) carry the plan out, verify again.

The plan is carried out inside a journaled transaction (:mod:`.journaled`):
first everything to be replaced is moved into the backup folder (damaged
package cache entries, the damaged files of the packages to relink, debris),
then conda relinks the packages (:mod:`.transaction`). Should conda's
transaction fail, conda rolls back its own work and the files moved out of the
prefix are put back. Nothing changes when a package has no usable source: the
repair stops after planning and says what is missing.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..exceptions import IntegrityInputError
from ..findings import ERROR, Finding
from ..progress import Progress
from ..store import entry_writer, in_prefix
from ..store.in_prefix import place
from ..verify.read import VerifyOptions
from ..verify.report import Report
from ..verify.run import report_of, verify_prefix
from . import on_the_way
from .backup import Backup, new_backup
from .journaled import journaled, read_before, record_plan
from .on_the_way import LeavesPrefix, refuse_rollback
from .plan import (
    MOVE_ASIDE,
    RELINK,
    NotRepaired,
    PackageRepair,
    Plan,
    check_names,
    make_plan,
    selected,
)
from .rollback import carry_out as carry_out_snapshot
from .rollback import check_resolvable, link_paths, prefix_stub
from .solve import carry_out, changes, solve
from .sources import ARCHIVE, CACHE, FETCH
from .transaction import installed_records, last_look, relink

#: the command a repair is journaled as
COMMAND = "repair"
#: what ``--solve`` reports it did
SOLVE = "solve"
STILL_THERE = "still there after the repair"


@dataclass
class Done:
    """One thing the repair did."""

    action: str
    #: the package relinked, or the path moved aside
    target: str
    what: str

    def to_dict(self) -> dict[str, str]:
        return {"action": self.action, "target": self.target, "what": self.what}


@dataclass
class Outcome:
    """What a repair of ``prefix`` planned, did, and left."""

    prefix: str
    plan: Plan
    dry_run: bool = False
    done: list[Done] = field(default_factory=list)
    not_repaired: list[NotRepaired] = field(default_factory=list)
    #: the backup folder, when something was moved into it
    backup: str | None = None
    #: the verify report after the repair (before it, for a dry run or a repair
    #: that could not start)
    report: Report | None = None
    #: why the repair did not start (a package conda can get from nowhere)
    stopped: str | None = None
    #: what was not changed because a path of it lies below a symlink that leaves
    #: the prefix (packages by stem; the snapshot's part as ``snapshot``)
    unsafe: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        """0: nothing repairable is left; 1: something is (or the repair stopped)."""
        if self.dry_run:
            return 0
        if self.stopped is not None or self.unsafe:
            return 1
        failed = any(
            item.finding.severity == ERROR or item.reason == STILL_THERE
            for item in self.not_repaired
        )
        return 1 if failed else 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "prefix": self.prefix,
            "plan": self.plan.to_list(),
            "done": [item.to_dict() for item in self.done],
            "not_repaired": [item.to_dict() for item in self.not_repaired],
            "backup": self.backup,
            "report": self.report.to_dict() if self.report is not None else None,
            **({"stopped": self.stopped} if self.stopped else {}),
        }


def _key(code: str, package: str | None, path: str | None) -> tuple[str, str | None, str | None]:
    return code, package, path


def _left_after(plan: Plan, report: Report, names: frozenset[str]) -> list[NotRepaired]:
    """The findings of the verify after the repair (about the packages ``names``, if
    any are named), each with why it is left."""
    reasons = {
        _key(n.finding.code, n.finding.package, n.finding.path): n for n in plan.not_repaired
    }
    left = []
    for finding in report.findings:
        if not selected(finding, names):
            continue
        known = reasons.get(_key(finding.code, finding.package, finding.path))
        left.append(known or NotRepaired(finding, STILL_THERE))
    return left


def _package_record(repair: PackageRepair) -> Any:
    """conda's record of a package to link that is not installed (an interrupted
    repair unlinked it): the package cache's ``repodata_record.json``."""
    from conda.models.records import PackageRecord

    if repair.record is None:
        return None
    return PackageRecord.from_objects(repair.record.raw)


def _about(findings: list[Finding], stem: str, names: frozenset[str]) -> list[Finding]:
    return [
        f
        for f in findings
        if selected(f, names) and stem in (f.package, *(f.extra.get("packages") or ()))
    ]


def _take_out_unsafe(
    plan: Plan, findings: list[Finding], names: frozenset[str], outcome: Outcome
) -> None:
    """Take out of the plan the packages that have a path conda would unlink or link
    below a symlink that leaves the prefix (:mod:`.on_the_way`): each finding about
    them stays, with why. Asked before the question and again once it is answered."""
    owners = [(r.package, path) for r in plan.packages for path in _paths_of(r)]
    unsafe = on_the_way.of_packages(outcome.prefix, owners)
    plan.packages = [repair for repair in plan.packages if repair.package not in unsafe]
    for stem, found in unsafe.items():
        why = found[min(found)]
        for finding in _about(findings, stem, names):
            plan.not_repaired.append(NotRepaired(finding, f"not relinked: {why}"))
        outcome.unsafe.append(stem)


def _paths_of(repair: PackageRepair) -> list[str]:
    """What conda unlinks and links for ``repair``: its record's paths."""
    recorded = [owned.path for owned in repair.record.paths] if repair.record else []
    return [*recorded, *repair.paths]


def _snapshot_unsafe(plan: Plan, error: LeavesPrefix, outcome: Outcome) -> None:
    """The snapshot's part is not carried out: its findings stay, with why."""
    why = error.found[min(error.found)]
    taken = plan.snapshot.taken if plan.snapshot else []
    plan.not_repaired += [NotRepaired(f, f"not changed: {why}") for f in taken]
    outcome.unsafe.append("snapshot")


def _carry_out(
    plan: Plan, before: Any, names: frozenset[str], outcome: Outcome, backup: Backup
) -> None:
    prefix = outcome.prefix
    snapshot = plan.snapshot.plan if plan.snapshot else None
    if snapshot is not None:
        # first: conda cannot read a prefix with a damaged record
        exact = check_resolvable(snapshot)  # before anything is written
        try:
            refuse_rollback(snapshot, link_paths(exact, snapshot.snapshot.records))
        except LeavesPrefix as error:
            _snapshot_unsafe(plan, error, outcome)
            snapshot = None
    if snapshot is not None:
        with journaled(prefix, before, COMMAND) as session:
            record_plan(session, prefix_stub(snapshot.to_unlink), prefix_stub(snapshot.to_link))
            done = carry_out_snapshot(snapshot, backup, exact)
        for path, why in sorted(done.moved.items()):
            outcome.done.append(Done(MOVE_ASIDE, path, why))
        for stem in sorted({r.stem for r in snapshot.to_link}):
            outcome.done.append(Done(RELINK, stem, "linked as the snapshot has it"))
        if not plan.packages and not plan.paths:
            return
        before = read_before(prefix)
    _take_out_unsafe(plan, before.findings, names, outcome)  # again, once asked
    if not plan.packages and not plan.paths:
        return
    stems = [repair.package for repair in plan.packages]
    installed = installed_records(prefix, stems)
    unlink = [installed[stem] for stem in stems if stem in installed]
    # what is not installed (an interrupted repair unlinked it) is linked as the
    # package cache has it
    link = [installed.get(r.package) or _package_record(r) for r in plan.packages]
    missing = [stem for stem, record in zip(stems, link) if record is None]
    if missing:
        raise IntegrityInputError(
            f"no record of {', '.join(missing)} to link, in conda-meta or the package cache"
        )
    with journaled(prefix, before, COMMAND) as session:
        record_plan(session, unlink, link)
        for debris in plan.paths:
            backup.move_aside(debris.path, debris.why)
            outcome.done.append(Done(MOVE_ASIDE, debris.path, debris.why))
        try:
            for repair in plan.packages:
                for full_path, reason in repair.source.move_aside:
                    backup.move_aside(full_path, reason)
                    outcome.done.append(Done(MOVE_ASIDE, full_path, reason))
                for damaged in repair.paths:
                    if in_prefix.lexists(place(prefix, damaged)):
                        backup.move_aside(
                            damaged, f"the damaged file, replaced by {repair.package}'s"
                        )
            relink(prefix, unlink, link)
        except BaseException:
            backup.put_back()
            raise
        for repair in plan.packages:
            what = f"linked again from {_FROM[repair.source.how]}: {'; '.join(repair.fixes)}"
            outcome.done.append(Done(RELINK, repair.package, what))


_FROM = {CACHE: "the package cache", ARCHIVE: "its archive", FETCH: "its channel"}


def _solve(
    prefix: str,
    specs: list[str],
    confirm: Callable[[Any], None] | None,
    outcome: Outcome,
) -> None:
    """Let conda's solver meet ``specs``, journaled as part of the repair."""
    transaction = solve(prefix, specs)
    if transaction.nothing_to_do:
        return
    if confirm is not None:
        confirm(transaction)
    unlink, link = changes(transaction, prefix)
    transaction.download_and_extract()  # what it links: its paths are known once extracted
    unsafe = on_the_way.of_packages(prefix, _solver_paths(unlink, link))
    if unsafe:
        why = next(found[min(found)] for found in unsafe.values())
        left = [item for item in outcome.plan.not_repaired if item.spec in specs]
        for item in left:
            reason = f"not solved: {why}"
            outcome.plan.not_repaired.append(NotRepaired(item.finding, reason, item.spec))
        outcome.unsafe.append(SOLVE)
        return
    last_look(prefix, transaction)
    with journaled(prefix, read_before(prefix), COMMAND) as session:
        record_plan(session, unlink, link)
        carry_out(transaction)
    what = f"conda's solver installed what {', '.join(specs)} needs"
    outcome.done.append(Done(SOLVE, " ".join(specs), what))


def _solver_paths(unlink: list[Any], link: list[Any]) -> list[tuple[str, str]]:
    """``(stem, path)`` of what the solver's transaction unlinks and links (the latter
    from the package cache, where it is extracted by now)."""
    from conda.core.package_cache_data import PackageCacheData

    owners = [(f"{r.name}-{r.version}-{r.build}", path) for r in unlink for path in r.files]
    extracted = [PackageCacheData.get_entry_to_link(record) for record in link]
    owners += [(stem, path) for path, stem in link_paths(extracted, link).items()]
    return owners


def repair(
    prefix: str,
    names: tuple[str, ...] = (),
    dry_run: bool = False,
    confirm: Callable[[Plan], None] | None = None,
    progress: Progress | None = None,
    solve_specs: bool = False,
    confirm_solve: Callable[[Any], None] | None = None,
) -> Outcome:
    """Repair ``prefix`` (only the packages ``names``, when given).

    ``confirm(plan)`` is called before anything changes; it raises to stop the
    repair (conda's confirmation does). With ``solve_specs``, conda's solver then
    meets the specs of what only it can fix, after ``confirm_solve(transaction)``.
    IntegrityInputError when the repair cannot run (no environment, another conda
    at work, no journal).
    """
    from conda.exceptions import CondaError

    progress = progress or Progress(enabled=False)
    started = time.perf_counter()
    before = read_before(prefix, progress, write=not dry_run)
    if before.others and not dry_run:
        other = before.others[0].entry
        raise IntegrityInputError(
            f"another conda is changing {before.state.prefix} now "
            f"({entry_writer.running_command(other)}, pid {other.pid}); "
            "run the repair again once it has finished"
        )
    chosen = frozenset(names)
    check_names(before.state, chosen)
    plan = make_plan(before.state, before.findings, chosen)
    outcome = Outcome(before.state.prefix, plan, dry_run=dry_run)
    _take_out_unsafe(plan, before.findings, chosen, outcome)
    report_before = report_of(before.state, VerifyOptions(), before.findings, started)
    blocked = plan.blocked
    specs = plan.solver_specs if solve_specs else []
    if dry_run or (plan.empty and not specs) or blocked:
        outcome.report = report_before
        outcome.not_repaired = (
            _left_after(plan, report_before, chosen) if not dry_run else list(plan.not_repaired)
        )
        if blocked and not dry_run:
            missing = "; ".join(f"{r.package}: {r.source.why}" for r in blocked)
            outcome.stopped = f"Nothing was changed: {missing}"
        return outcome
    if confirm is not None:
        confirm(plan)
    backup = new_backup(outcome.prefix)
    try:
        if not plan.empty:
            _carry_out(plan, before, chosen, outcome, backup)
        if specs:
            _solve(outcome.prefix, specs, confirm_solve, outcome)
    except IntegrityInputError:
        raise
    except CondaError as error:  # conda rolled its transaction back; ours went back too
        outcome.stopped = f"conda's transaction failed and was rolled back: {str(error).strip()}"
    finally:
        outcome.backup = backup.path if backup.items else None
    outcome.report = verify_prefix(outcome.prefix, VerifyOptions(), Progress(enabled=False))
    outcome.not_repaired = _left_after(plan, outcome.report, chosen)
    return outcome
