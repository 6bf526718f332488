"""Rollback: make a prefix hold exactly the packages of one of its snapshots.

The plan is the difference between the prefix now and snapshot N, as named
data: packages to remove, to install, to replace, and to link again (records
the snapshot has that an interrupted transaction touched, so their files are
not trusted). Each record the snapshot holds is resolved to an exact conda
``PackageRecord`` by its URL and sha256 (md5 for records that have no sha256):
from the package cache, or fetched from its channel by conda's own fetch and
extract, as ``conda install --file explicit.txt`` does; a record without a URL
cannot be told apart from another build and is named, never guessed.

What an interrupted transaction left is part of the plan too: conda's ``.c~``
backups whose original path is free again are put back (the record of a
package it removed among them, when the snapshot has that package); every
other leftover, the files a killed link wrote without a record (for a
``noarch: python`` package, its ``.pyc`` files and entry points too; the
folders this leaves empty go, as conda's unlink removes them), and any file
no record owns where a package will be linked, are moved aside into a backup
before conda's transaction runs (conda's unlink deletes an ``X.c~`` in its
way, and would write over the rest). A record that cannot be loaded, and a
second record of a package name, are moved aside too, never deleted.

Planning only reads: it writes no state, so ``--dry-run`` changes nothing.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ..exceptions import IntegrityInputError
from ..observe.walk import CONDA_TEMP_EXTENSION, walk_prefix
from ..records.conda_verdict import CondaVerdicts
from ..records.model import MAX_RECORD_BYTES, Record, python_site_packages
from ..records.package_cache import pkgs_dirs
from ..records.reader import check_prefix, read_records, record_files
from ..safe_read import read_regular_file
from ..store import entry_writer, in_prefix, journal, snapshots
from ..store.in_prefix import place
from ..store.paths import guard_dir, guard_dirs_to_read
from ..store.snapshots import Snapshot, SnapshotRecord
from ..store.state_dir import StateDir
from .backup import Backup, new_backup
from .history import HistoryBack, describe_history_back, put_back_history
from .journaled import journaled, read_before, record_plan
from .on_the_way import refuse_rollback
from .ownership import Ownership, belongs_to_another
from .transaction import installed_records, relink

META = "conda-meta"
RECORD_SUFFIX = ".json"
NOARCH_SITE_PACKAGES = "site-packages/"


@dataclass(frozen=True)
class Installed:
    """A record in the prefix now (or one a ``.c~`` backup will give back)."""

    record: SnapshotRecord
    #: the paths it owns (relative, forward slashes)
    paths: tuple[str, ...]
    #: the record's file is ``conda-meta/<stem>.json.c~``: put back before the transaction
    restored: bool = False


@dataclass(frozen=True)
class Interrupted:
    """A guarded transaction that died: what it meant to touch."""

    command: str
    argv: tuple[str, ...]
    touched: frozenset[str]


@dataclass
class RollbackPlan:
    """What a rollback to snapshot ``number`` does, package by package."""

    prefix: str
    number: int
    snapshot: Snapshot
    #: installed now, not in the snapshot
    remove: list[SnapshotRecord] = field(default_factory=list)
    #: in the snapshot, not installed now
    install: list[SnapshotRecord] = field(default_factory=list)
    #: (installed now, in the snapshot) of one package name
    replace: list[tuple[SnapshotRecord, SnapshotRecord]] = field(default_factory=list)
    #: in the snapshot and installed, but touched by an interrupted transaction
    relink: list[SnapshotRecord] = field(default_factory=list)
    #: ``.c~`` backups put back where their path is free
    restore: list[str] = field(default_factory=list)
    #: paths moved aside into the backup, with why
    aside: dict[str, str] = field(default_factory=dict)
    #: records of the snapshot that name no URL: which build they were cannot be told
    unresolvable: list[SnapshotRecord] = field(default_factory=list)
    interrupted: list[Interrupted] = field(default_factory=list)
    #: every record in the prefix now (by stem), restorable ones included
    installed: dict[str, Installed] = field(default_factory=dict)
    #: why the ``relink`` ones are linked again
    relink_why: str = "touched by the interrupted transaction"
    #: folders of paths moved aside that conda would have removed once empty
    emptied: set[str] = field(default_factory=set)
    #: whose the environment is, when not the runner's (the files linked become theirs)
    ownership: Ownership | None = None
    #: conda-meta/history as it was before the interrupted transaction, to put back
    history: HistoryBack | None = None

    @property
    def to_link(self) -> list[SnapshotRecord]:
        """The snapshot's records conda links."""
        return self.install + [new for _, new in self.replace] + self.relink

    @property
    def to_unlink(self) -> list[SnapshotRecord]:
        """The records conda unlinks."""
        return self.remove + [old for old, _ in self.replace] + self.relink

    @property
    def empty(self) -> bool:
        """Nothing to do: the prefix holds the snapshot's records already."""
        return not (self.to_link or self.remove or self.restore or self.aside or self.history)

    def to_dict(self) -> dict[str, Any]:
        return {
            "prefix": self.prefix,
            "snapshot": self.number,
            "remove": [r.stem for r in self.remove],
            "install": [r.stem for r in self.install],
            "replace": [{"from": old.stem, "to": new.stem} for old, new in self.replace],
            "relink": [r.stem for r in self.relink],
            "restore": list(self.restore),
            "move_aside": [{"path": p, "why": why} for p, why in sorted(self.aside.items())],
            "unresolvable": [r.stem for r in self.unresolvable],
            "interrupted": [i.command for i in self.interrupted],
            "ownership": self.ownership.to_dict() if self.ownership else None,
            "history": self.history is not None,
        }


def default_snapshot(prefix: str) -> int:
    """The snapshot taken before the last guarded transaction: while transactions
    that did not finish are open, the one before the first of them (a command run
    after an interruption started from a damaged prefix); IntegrityInputError when
    there is none. Only the runner's own entries count: their snapshots are the
    ones looked up."""
    for guard in guard_dirs_to_read(prefix):
        unfinished = [e for e in unfinished_entries(guard) if e.before is not None]
        if unfinished:
            return unfinished[-1].before  # type: ignore[return-value]
        for entry in filter(entry_writer.by_runner, journal.newest_first(guard)):
            if entry.state != journal.CLOSED and entry.before is not None:
                return entry.before
    raise IntegrityInputError(
        f"{prefix} has no guarded transaction with a snapshot before it: "
        "name a snapshot (conda integrity log lists them)"
    )


def unfinished_entries(guard: StateDir, by_runner: bool = True) -> list[journal.Entry]:
    """The entries that did not end normally since the last one that did (newest
    first), but for one whose conda is at work now: those the runner wrote (or,
    ``by_runner`` False, those another user did)."""
    found = []
    for entry in journal.newest_first(guard):
        if entry_writer.by_runner(entry) != by_runner:
            continue
        if entry.state == journal.FINISHED:
            break
        if entry.state == journal.CLOSED:
            continue  # it changed nothing: an interruption before it still stands
        if entry.state == journal.INTERRUPTED or not journal.is_running(guard, entry):
            found.append(entry)
    return found


def plan_rollback(prefix: str, number: int | None = None) -> RollbackPlan:
    """The difference between the prefix now and snapshot ``number`` (default:
    :func:`default_snapshot`). Reads only."""
    prefix = check_prefix(prefix)
    if number is None:
        number = default_snapshot(prefix)
    target = snapshots.load(guard_dir(prefix), number)
    refuse_if_running(prefix)
    plan = RollbackPlan(prefix, number, target, ownership=belongs_to_another(prefix))
    plan.interrupted = _interrupted(prefix)
    touched = frozenset().union(*(i.touched for i in plan.interrupted))
    debris = walk_prefix(prefix).debris
    installed, bad = installed_now(prefix, debris)
    plan.installed = installed
    for record_file, why in bad.items():
        plan.aside[record_file] = why
    plan.restore = _restorable(prefix, debris, installed, target)
    for path in debris:
        if path not in plan.restore:
            plan.aside[path] = "left by a conda transaction that did not finish"
    settle(plan, target, touched)
    _files_without_record_aside(plan, touched)
    return plan


def settle(plan: RollbackPlan, target: Snapshot, touched: frozenset[str]) -> None:
    """Fill ``plan`` (whose ``installed`` is read) with the difference to ``target``:
    packages to remove, install, replace, link again (``touched`` ones), and the
    second records of a package name moved aside."""
    _compare(plan, target, plan.installed, touched)
    for stem in _duplicates(plan.installed, target):
        # a second record of one name: conda sees one; the snapshot says which is right
        plan.aside[f"{META}/{stem}{RECORD_SUFFIX}"] = "a second record of its package name"
    _files_of_records_aside(plan)


def _files_without_record_aside(plan: RollbackPlan, touched: frozenset[str]) -> None:
    """Files an interrupted transaction linked for a package whose record it never
    wrote (found by the package's own paths.json in the cache) go aside: no record
    owns them, and conda's transaction would not remove them."""
    orphans = [stem for stem in sorted(touched) if stem not in plan.installed]
    if not orphans:
        return
    folders = []
    for stem in orphans:
        for pkgs_dir in pkgs_dirs():
            folder = os.path.join(pkgs_dir, stem)
            index = _read_record(os.path.join(folder, "info", "index.json"))
            if index is not None:
                folders.append((folder, str(index.get("noarch") or "")))
                break
    owned = set().union(*(entry.paths for entry in plan.installed.values()))
    site_packages = _site_packages(plan.snapshot.records)
    linked = _paths_of(folders, site_packages)
    python = next((r.version for r in plan.snapshot.records if r.name == "python"), None)
    linked.update(_made_for_noarch(folders, linked, site_packages, python))
    for path, stem in linked.items():
        if path not in owned and os.path.lexists(os.path.join(plan.prefix, path)):
            plan.aside.setdefault(path, f"linked for {stem} by the interrupted transaction")
            plan.emptied.add(os.path.dirname(path))


def _made_for_noarch(
    folders: list[tuple[str, str]],
    linked: dict[str, str],
    site_packages: str | None,
    python: str | None,
) -> dict[str, str]:
    """What conda writes for a ``noarch: python`` package beyond its paths.json: the
    ``.pyc`` of each module it linked, and its entry points (info/link.json)."""
    from conda.common.compat import on_win
    from conda.common.path import (
        get_major_minor_version,
        get_python_noarch_target_path,
        parse_entry_point_def,
        pyc_path,
    )

    version = get_major_minor_version(python) if python else None
    made = {}
    for folder, noarch_kind in folders:
        if not noarch_kind.endswith("python") or version is None or site_packages is None:
            continue
        stem = os.path.basename(folder)
        for path in [p for p, owner in linked.items() if owner == stem and p.endswith(".py")]:
            if path.startswith(site_packages + "/"):
                made[pyc_path(path, version)] = stem
        link_json = _read_record(os.path.join(folder, "info", "link.json")) or {}
        noarch = link_json.get("noarch")
        entry_points = noarch.get("entry_points") if isinstance(noarch, dict) else None
        for definition in entry_points if isinstance(entry_points, list) else []:
            try:
                command = parse_entry_point_def(str(definition))[0]
            except (ValueError, IndexError):
                continue
            script = get_python_noarch_target_path(f"python-scripts/{command}", site_packages)
            for path in (f"{script}-script.py", f"{script}.exe") if on_win else (script,):
                made[path] = stem
    return made


def refuse_if_running(prefix: str) -> None:
    for guard in guard_dirs_to_read(prefix):
        for entry in journal.newest_first(guard):
            open_now = entry.state in journal.OPEN_STATES and not journal.is_own(entry)
            if open_now and journal.is_running(guard, entry):
                raise IntegrityInputError(
                    f"another conda is at work on {prefix} (pid {entry.pid}, "
                    f"{entry_writer.running_command(entry)}): try again once it has finished"
                )


def _interrupted(prefix: str) -> list[Interrupted]:
    """The guarded transactions of the runner's that died since the last one that
    ended normally (another user's plan never chooses what is relinked or moved)."""
    found = []
    for guard in guard_dirs_to_read(prefix):
        for entry in unfinished_entries(guard):
            plan = entry.plan or {}
            touched = frozenset(plan.get("link", [])) | frozenset(plan.get("unlink", []))
            args = list(entry.argv[1:]) or [entry.command]
            found.append(Interrupted("conda " + shlex.join(args), tuple(entry.argv), touched))
    return found


def _read_record(path: str) -> dict[str, Any] | None:
    data = read_regular_file(path, MAX_RECORD_BYTES)
    try:
        raw = json.loads(data) if data is not None else None
    except (ValueError, RecursionError):
        return None
    return raw if isinstance(raw, dict) else None


def installed_now(prefix: str, debris: list[str]) -> tuple[dict[str, Installed], dict[str, str]]:
    """The usable records now, and the record files that are not (to move aside)."""
    files = record_files(prefix)
    records, bad_records = read_records(prefix, list(files), CondaVerdicts(files, 0))
    installed = {r.stem: _installed(r) for r in records}
    bad = {b.file: f"the record {b.reason}" for b in bad_records if not b.unreadable}
    # records an unlink renamed to .c~: put back when their package belongs there
    for path in debris:
        if not (
            path.startswith(META + "/") and path.endswith(RECORD_SUFFIX + CONDA_TEMP_EXTENSION)
        ):
            continue
        stem = path[len(META) + 1 : -len(RECORD_SUFFIX + CONDA_TEMP_EXTENSION)]
        if stem in installed or "/" in stem:
            continue
        raw = _read_record(os.path.join(prefix, path))
        if raw is None:
            continue
        record = snapshots.snapshot_record(stem, raw)
        paths = (
            raw.get("paths_data", {}).get("paths", [])
            if isinstance(raw.get("paths_data"), dict)
            else []
        )
        owned = tuple(
            p["_path"] for p in paths if isinstance(p, dict) and isinstance(p.get("_path"), str)
        )
        installed[stem] = Installed(record, owned, restored=True)
    return installed, bad


def _installed(record: Record) -> Installed:
    return Installed(
        snapshots.snapshot_record(record.stem, record.raw),
        tuple(owned.path for owned in record.paths),
    )


def _restorable(
    prefix: str, debris: list[str], installed: dict[str, Installed], target: Snapshot
) -> list[str]:
    """The ``.c~`` backups to put back: their path is free, and a record file among
    them only for a package the snapshot holds."""
    wanted = {record.stem for record in target.records}
    restore = []
    for path in debris:
        if not path.endswith(CONDA_TEMP_EXTENSION):
            continue
        original = path[: -len(CONDA_TEMP_EXTENSION)]
        if os.path.lexists(os.path.join(prefix, original)):
            continue
        if original.startswith(META + "/"):
            stem = original[len(META) + 1 : -len(RECORD_SUFFIX)]
            entry = installed.get(stem)
            if entry is None or not entry.restored or stem not in wanted:
                continue
        restore.append(path)
    # a record whose .c~ is not put back is not installed after all
    kept = {p[len(META) + 1 : -len(RECORD_SUFFIX + CONDA_TEMP_EXTENSION)] for p in restore}
    for stem in [s for s, i in installed.items() if i.restored and s not in kept]:
        del installed[stem]
    return restore


def _same(now: SnapshotRecord, then: SnapshotRecord) -> bool:
    if now.stem != then.stem:
        return False
    for ours, theirs in ((now.sha256, then.sha256), (now.md5, then.md5)):
        if ours and theirs:
            return ours.lower() == theirs.lower()
    return True


def _compare(
    plan: RollbackPlan,
    target: Snapshot,
    installed: dict[str, Installed],
    touched: frozenset[str],
) -> None:
    by_name: dict[str, list[SnapshotRecord]] = {}
    for entry in installed.values():
        by_name.setdefault(entry.record.name, []).append(entry.record)
    wanted_names = set()
    for then in target.records:
        wanted_names.add(then.name)
        now = by_name.get(then.name, [])
        same = next((r for r in now if _same(r, then)), None)
        if same is not None:
            if then.stem in touched:
                plan.relink.append(then)
        elif now:
            plan.replace.append((sorted(now)[0], then))
        else:
            plan.install.append(then)
        if then.url is None and (same is None or then.stem in touched):
            plan.unresolvable.append(then)
    for name, records in sorted(by_name.items()):
        if name not in wanted_names:
            plan.remove.extend(sorted(records))


def _duplicates(installed: dict[str, Installed], target: Snapshot) -> list[str]:
    """Stems of the records beyond the one conda should keep of a package name."""
    by_name: dict[str, list[str]] = {}
    for stem, entry in installed.items():
        by_name.setdefault(entry.record.name, []).append(stem)
    wanted = {record.stem for record in target.records}
    extra: list[str] = []
    for stems in by_name.values():
        if len(stems) > 1:
            keep = next((s for s in sorted(stems) if s in wanted), sorted(stems)[0])
            extra.extend(s for s in sorted(stems) if s != keep)
    return extra


def _files_of_records_aside(plan: RollbackPlan) -> None:
    """A record moved aside as a duplicate leaves its files to nobody: those no
    other record keeps go aside with it, and it is not unlinked by conda."""
    gone = {
        path[len(META) + 1 : -len(RECORD_SUFFIX)]
        for path in plan.aside
        if path.startswith(META + "/") and path.endswith(RECORD_SUFFIX)
    }
    if not gone:
        return
    kept: set[str] = set()
    for stem, entry in plan.installed.items():
        if stem not in gone:
            kept.update(entry.paths)
    for stem in gone:
        gone_entry = plan.installed.pop(stem, None)
        if gone_entry is None:
            continue
        for path in gone_entry.paths:
            if path not in kept and os.path.lexists(os.path.join(plan.prefix, path)):
                plan.aside.setdefault(path, f"a file of {stem}, whose record is moved aside")
        plan.remove = [r for r in plan.remove if r.stem != stem]
        plan.replace = [(old, new) for old, new in plan.replace if old.stem != stem]
    # a package whose only record went aside is installed anew
    names_now = {entry.record.name for entry in plan.installed.values()}
    for old, new in list(plan.replace):
        if old.name not in names_now:
            plan.replace.remove((old, new))
            plan.install.append(new)


def describe(plan: RollbackPlan) -> list[str]:
    """The plan in words, one line each: packages, backups put back, paths moved aside."""
    from ..verify.report import terminal_safe as safe

    lines = [
        f"  (undoing what `{safe(c)}` left half done)"
        for c in dict.fromkeys(i.command for i in plan.interrupted)
    ]
    rows = (
        [("remove", r.stem) for r in plan.remove]
        + [("install", r.stem) for r in plan.install]
        + [("replace", f"{old.stem} -> {new.stem}") for old, new in plan.replace]
        + [("relink", f"{r.stem} ({plan.relink_why})") for r in plan.relink]
    )
    lines += [f"  {action:<8} {safe(what)}" for action, what in rows]
    for path in plan.restore:
        original = path[: -len(CONDA_TEMP_EXTENSION)]
        lines.append(f"  put back {safe(original)} (from conda's backup {safe(path)})")
    if plan.history is not None:
        lines.append(safe(describe_history_back(plan.history)))
    for path, why in sorted(plan.aside.items()):
        lines.append(f"  move aside {safe(path)} ({safe(why)})")
    for record in plan.unresolvable:
        lines.append(f"  cannot   {safe(record.stem)}: the snapshot names no URL for it")
    if plan.empty:
        lines.append("  nothing to do: the environment holds exactly these packages")
    return lines


# -- resolving the snapshot's records to conda's exact records --------------------------


def spec_of(record: SnapshotRecord) -> Any:
    """conda's MatchSpec for exactly this archive: its URL, with its sha256 (or md5)."""
    from conda.models.match_spec import MatchSpec

    if record.url is None:
        raise IntegrityInputError(f"{record.stem}: the snapshot names no URL for it")
    checksums = {}
    if record.sha256:
        checksums["sha256"] = record.sha256
    elif record.md5:
        checksums["md5"] = record.md5
    return MatchSpec(record.url, **checksums)


def cached(record: SnapshotRecord) -> Any | None:
    """The package cache's extracted record of exactly this archive, or None."""
    from conda.core.package_cache_data import PackageCacheData

    spec = spec_of(record)
    return next((r for r in PackageCacheData.query_all(spec) if r.is_extracted), None)


def resolve(records: Iterable[SnapshotRecord]) -> list[Any]:
    """Exact conda records for ``records``, from the package cache, fetching and
    extracting those it lacks from their URL with conda's own machinery (offline:
    IntegrityInputError naming them, before anything changed)."""
    from conda.base.context import context
    from conda.core.package_cache_data import PackageCacheData, ProgressiveFetchExtract
    from conda.exceptions import CondaError

    records = list(records)
    missing = [r for r in records if cached(r) is None]
    # offline, conda still reads file:// channels
    remote = [r for r in missing if not (r.url or "").startswith("file:")]
    if remote and context.offline:
        raise IntegrityInputError(
            "offline, and the package cache lacks "
            + ", ".join(f"{r.stem} ({r.url})" for r in remote)
            + ": nothing was changed"
        )
    if missing:
        try:
            ProgressiveFetchExtract([spec_of(r) for r in missing]).execute()
        except CondaError as error:
            raise IntegrityInputError(
                f"cannot get {', '.join(r.stem for r in missing)} from the package cache or "
                f"{'their channels' if len(missing) > 1 else 'its channel'} "
                f"({str(error).strip().splitlines()[0] if str(error).strip() else error!r}): "
                "nothing was changed"
            ) from None
    found = []
    for record in records:
        spec = spec_of(record)
        match = next(PackageCacheData.query_all(spec), None)
        if match is None:
            raise IntegrityInputError(
                f"{record.stem} could not be had from {record.url}: nothing was changed"
            )
        found.append(match)
    return found


def link_paths(package_records: Iterable[Any], target: Iterable[Any] = ()) -> dict[str, str]:
    """Where conda will link each resolved package's files: path -> package stem
    (``target``: the records the prefix will hold, whose python may not be relinked)."""
    package_records = list(package_records)
    site_packages = _site_packages([*package_records, *target])
    return _paths_of(
        [(r.extracted_package_dir, str(getattr(r, "noarch", "") or "")) for r in package_records],
        site_packages,
    )


def _paths_of(folders: list[tuple[str, str]], site_packages: str | None) -> dict[str, str]:
    """The paths the extracted packages in ``folders`` (with their ``noarch``) link."""
    from conda.common.path import get_python_noarch_target_path

    found = {}
    for folder, noarch_kind in folders:
        data = _read_record(os.path.join(folder, "info", "paths.json")) or {}
        paths = data.get("paths", [])
        noarch = noarch_kind.endswith("python")
        stem = os.path.basename(folder)
        for item in paths if isinstance(paths, list) else []:
            path = item.get("_path") if isinstance(item, dict) else None
            if not isinstance(path, str):
                continue
            if noarch and (site_packages or not path.startswith(NOARCH_SITE_PACKAGES)):
                path = get_python_noarch_target_path(path, site_packages)
            found[path] = stem
    return found


def _site_packages(records: Iterable[Any]) -> str | None:
    """The site-packages folder of the python among ``records`` (conda's rule)."""
    return python_site_packages([{"name": r.name, "version": str(r.version)} for r in records])


def in_the_way(plan: RollbackPlan, package_records: list[Any]) -> dict[str, str]:
    """Files where a package will be linked that no record owns: conda would write
    over them; they go aside first."""
    owned = {path for entry in plan.installed.values() for path in entry.paths}
    found = {}
    for path, stem in link_paths(package_records, plan.snapshot.records).items():
        if path in owned or path in plan.aside:
            continue
        if os.path.lexists(os.path.join(plan.prefix, path)):
            found[path] = f"no record owns it; {stem} links it"
    return found


# -- carrying it out --------------------------------------------------------------------


def restore_backups(prefix: str, paths: list[str]) -> list[str]:
    """Put conda's ``.c~`` backups back where their path is still free."""
    restored = []
    for path in paths:
        original = path[: -len(CONDA_TEMP_EXTENSION)]
        source, target = place(prefix, path), place(prefix, original)
        if in_prefix.lexists(source) and not in_prefix.lexists(target):
            in_prefix.move(source, target)
            restored.append(original)
    return restored


def remove_emptied(prefix: str, folders: set[str]) -> None:
    """Remove the folders (relative to ``prefix``) that moving files aside left
    empty, and their parents left empty in turn, as conda's unlink does; a folder
    with anything in it stays."""
    for folder in sorted(folders, key=lambda f: f.count("/"), reverse=True):
        while folder and folder != META:
            try:
                in_prefix.remove_folder(place(prefix, folder))
            except OSError:
                break
            folder = os.path.dirname(folder)


def prefix_records(prefix: str, stems: Iterable[str]) -> list[Any]:
    """conda's PrefixRecords of these installed records, loaded by conda's model."""
    stems = list(stems)
    found = installed_records(prefix, stems)
    for stem in stems:
        if stem not in found:
            raise IntegrityInputError(f"the record of {stem} cannot be read any more")
    return [found[stem] for stem in stems]


@dataclass
class RollbackResult:
    backup: str | None
    restored: list[str]
    moved: dict[str, str]


def check_resolvable(plan: RollbackPlan) -> list[Any]:
    """conda's exact records of everything the plan links, had before anything
    changes (fetched into the package cache where it lacks them); IntegrityInputError
    when a record cannot be told apart or had."""
    if plan.unresolvable:
        raise IntegrityInputError(
            "cannot tell which build these were (the snapshot names no URL): "
            + ", ".join(r.stem for r in plan.unresolvable)
            + "; nothing was changed"
        )
    return resolve(plan.to_link)


def carry_out(plan: RollbackPlan, backup: Backup, link: list[Any] | None = None) -> RollbackResult:
    """Make the prefix hold exactly the plan's snapshot: resolve every record to link
    (unless ``link`` has them already) before anything changes, then move aside into
    ``backup``, put back ``.c~`` backups, and run conda's transaction. Should conda's
    transaction fail (conda rolls its own work back), what was moved or put back goes
    back where it was."""
    if link is None:
        link = check_resolvable(plan)
    moved = {**plan.aside, **in_the_way(plan, link)}
    refuse_rollback(plan, link_paths(link, plan.snapshot.records))  # after the question
    restored: list[str] = []
    try:
        for path, why in sorted(moved.items()):
            if in_prefix.lexists(place(plan.prefix, path)):
                backup.move_aside(path, why)
        remove_emptied(plan.prefix, plan.emptied)
        restored = restore_backups(plan.prefix, plan.restore)
        if plan.history is not None:  # before conda's transaction: it diffs from it
            put_back_history(plan.prefix, plan.history, backup)
        unlink_stems = [r.stem for r in plan.to_unlink if r.stem in plan.installed]
        unlink = prefix_records(plan.prefix, unlink_stems)
        if unlink or link:
            relink(plan.prefix, unlink, link)
    except BaseException:
        for original in restored:
            with contextlib.suppress(OSError):
                back = place(plan.prefix, original + CONDA_TEMP_EXTENSION)
                in_prefix.move(place(plan.prefix, original), back)
        backup.put_back()
        raise
    return RollbackResult(backup.path if backup.items else None, restored, moved)


def rollback(plan: RollbackPlan, command: str) -> RollbackResult:
    """:func:`carry_out`, journaled as a guarded transaction is (a snapshot before,
    so a rollback can itself be rolled back; an entry a kill leaves open, which the
    next verify reports; the snapshot after): a rollback that finishes ends the
    report of an interrupted transaction before it. Nothing is written, not even
    our state, when a package cannot be had."""
    link = check_resolvable(plan)
    refuse_rollback(plan, link_paths(link, plan.snapshot.records))  # before the journal
    before = read_before(plan.prefix)
    with journaled(plan.prefix, before, command) as session:
        record_plan(session, prefix_stub(plan.to_unlink), prefix_stub(plan.to_link))
        return carry_out(plan, new_backup(plan.prefix), link)


@dataclass(frozen=True)
class _Named:
    """What the journal needs of a record: its name, version and build."""

    name: str
    version: str
    build: str


def prefix_stub(records: list[SnapshotRecord]) -> list[object]:
    return [_Named(r.name, r.version, r.build) for r in records]
