"""Read a prefix for ``verify``: its records, its walk, what the disk shows.

Data flows one way: records from ``conda-meta`` (:mod:`..records.reader`), a
walk of the prefix (:mod:`..observe.walk`), what the disk shows for every owned
path (:mod:`..observe.disk`), then the checks across records; the result is a
:class:`~..observe.prefix_state.PrefixState`, which the checks only compare.

What earlier runs learned is kept in ``conda-meta/integrity`` (or, for a prefix
this user does not own, in their cache: :func:`..store.paths.guard_dir`) and makes a read
of an unchanged environment cheap: records verified clean whose files are
untouched are not parsed again (:mod:`..observe.clean_records`), hashes of
unchanged files are not computed again (:mod:`..observe.known_hashes`),
unchanged folders are not listed again (:mod:`..observe.walk`).
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from ..exceptions import IntegrityInputError
from ..observe.clean_records import CleanRecords, UnchangedRecord, record_digest
from ..observe.conda_history import read_history
from ..observe.dependencies import unmet_specs
from ..observe.disk import Observer, Owners, PrefixDisk, owners_of
from ..observe.environment_file import read_environment_file
from ..observe.inodes import InodeHashes
from ..observe.known_hashes import RACY_SECONDS, KnownHashes
from ..observe.managers import reinstaller
from ..observe.modes import ModeBaseline
from ..observe.prefix_state import PrefixState
from ..observe.resigned import observe_resigned
from ..observe.site_packages import SitePackages, observe_site_packages
from ..observe.walk import UNTRUSTED, Remembered, load_remembered, walk_prefix
from ..progress import Progress
from ..records.conda_verdict import CondaVerdicts
from ..records.installed import InstalledPackage, package_fields, records_key, records_settled
from ..records.model import Record, python_site_packages
from ..records.reader import check_prefix, read_records, readable, record_files
from ..records.seen import SeenRecords
from ..records.selection import select
from ..store.paths import guard_dir, guard_dirs_to_read, untrusted_state
from ..store.snapshots import FileStat, Snapshot, latest
from .interruptions import review

if TYPE_CHECKING:
    from ..observe.workers import WorkerPool

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class VerifyOptions:
    """How deep and how wide ``verify`` looks."""

    #: match specs of the packages to verify; empty: the whole prefix
    packages: tuple[str, ...] = ()
    #: stat only, no new hashing
    fast: bool = False
    #: use what earlier runs learned (``--no-cache`` hashes everything again)
    use_cache: bool = True
    #: also report files no record owns
    untracked: bool = False
    #: compare modes with the newest snapshot (else only with the package archives)
    snapshot_modes: bool = True
    #: an environment.yml, explicit file or spec list the prefix should still meet
    environment_file: str | None = None
    #: keep what the read learned (caches, what an interruption left); False: write
    #: nothing at all (``repair --dry-run``)
    write: bool = True
    #: with ``fast``, still hash the copies of files the newest snapshot saw (a
    #: restored backup): a diff against it judges them by their content
    copies: bool = False


def _sharing(records: list[Record], unchanged: dict[str, UnchangedRecord]) -> set[str]:
    """Unchanged records that own a path some parsed record owns too."""
    owner_of = {path: stem for stem, u in unchanged.items() for path in u.paths}
    return {
        owner_of[owned.path]
        for record in records
        for owned in record.paths
        if owned.path in owner_of
    }


def _snapshot_files(
    snapshot: Snapshot | None, records: list[Record]
) -> dict[str, dict[str, FileStat]]:
    """What ``snapshot`` saw of the paths of each of ``records`` (same owner)."""
    if snapshot is None:
        return {}
    try:
        return {record.stem: snapshot.files_of(record.stem) for record in records}
    except IntegrityInputError as error:  # our own state: the archives still tell modes
        log.debug("%s", error)
        return {}


def _snapshot_modes(
    number: int, seen: dict[str, dict[str, FileStat]], records: list[Record], disk: PrefixDisk
) -> None:
    """The modes and symlink targets snapshot ``number`` saw (``seen``) for the
    paths of ``records``."""
    disk.snapshot = number
    for record in records:
        files = seen[record.stem]
        for owned in record.paths:
            item = files.get(owned.path)
            if item is not None and item.mode:
                disk.snapshot_modes[owned.path] = item.mode
                if item.target is not None:
                    disk.snapshot_link_targets[owned.path] = item.target


def _site_packages(
    prefix: str,
    packages: tuple[InstalledPackage, ...],
    records: list[Record],
    unchanged: dict[str, UnchangedRecord],
    key: str,
    settled_ns: int,
    *,
    reuse: bool,
    save: bool,
) -> SitePackages | None:
    """The distributions of the environment's site-packages (None without python)."""
    python = [p.fields for p in packages if p.name == "python"]
    site_packages = python_site_packages(python) if python else None
    if site_packages is None:
        return None

    def owners() -> dict[str, str]:
        owned = {path: stem for stem, u in unchanged.items() for path in u.paths}
        owned.update((owned_path.path, r.stem) for r in records for owned_path in r.paths)
        return owned

    def installers() -> dict[str, str]:
        # records remembered clean have their INSTALLER as installed: only parsed ones
        return {
            owned.path: owned.sha256
            for record in records
            for owned in record.paths
            if owned.sha256 and owned.path.endswith(".dist-info/INSTALLER")
        }

    return observe_site_packages(
        prefix, site_packages, owners, key, settled_ns, reuse, save, installers
    )


@dataclass
class Memory:
    """What earlier runs taught this run, to be updated with what it learns."""

    clean_records: CleanRecords
    known_hashes: KnownHashes
    modes: ModeBaseline
    remembered: Remembered
    #: the record files (stem -> lstat) this run saw
    record_files: dict[str, os.stat_result]
    #: whether the run covers the whole prefix (not only named packages)
    whole: bool
    use_cache: bool
    #: the run's start, less the time a file's stat key needs to settle
    settled_ns: int = 0


@dataclass(frozen=True)
class EarlierRead:
    """What a whole-prefix read in this process saw moments ago (the guard's check
    before a transaction), for the read after it."""

    unchanged: dict[str, UnchangedRecord]
    #: the folder keys of its walk (UNTRUSTED: changed too recently to compare)
    folders: dict[str, list[int]]
    #: the clean records it loaded and updated (what it saved, or failed to): the
    #: read after it does not load and check the same file again
    clean_records: CleanRecords | None = None
    #: the folders of its walk, as the next walk would load them
    remembered: Remembered | None = None
    #: files changed after this were changed after it began (or just before)
    settled_ns: int = 0

    @classmethod
    def of(cls, state: PrefixState, memory: Memory | None = None) -> EarlierRead | None:
        if state.tree is None:
            return None
        tree = state.tree
        if memory is None or not memory.use_cache:
            return cls({u.stem: u for u in state.unchanged}, dict(tree.folders))
        return cls(
            {u.stem: u for u in state.unchanged},
            dict(tree.folders),
            memory.clean_records,
            Remembered(dict(tree.folders), dict(tree.folder_debris)),
            memory.settled_ns,
        )

    def trusted(self, folders: dict[str, list[int]]) -> dict[str, UnchangedRecord]:
        """The records unchanged then whose folders all have the same key now.

        conda links, unlinks and replaces files: each of those changes the folder's
        key. A file rewritten in place (a link script editing another package's
        file) does not, and is left to the next verify.
        """
        earlier = self.folders
        same = {
            folder
            for folder, key in folders.items()
            if key != UNTRUSTED and earlier.get(folder) == key
        }
        return {
            stem: record
            for stem, record in self.unchanged.items()
            if all(path.rpartition("/")[0] in same for path in record.paths)
        }


def read_state(
    prefix: str,
    options: VerifyOptions,
    progress: Progress,
    earlier: EarlierRead | None = None,
    inode_hashes: InodeHashes | None = None,
    pool: WorkerPool | None = None,
    seen: SeenRecords | None = None,
) -> tuple[PrefixState, Memory]:
    """Read the prefix: its records, its walk, what the disk shows of its files.

    With an ``earlier`` read, records it found unchanged whose folders have not
    changed since are taken as it saw them. ``inode_hashes`` holds the hashes
    computed earlier in the same run (several prefixes sharing the package cache's
    files by hard link); it is filled too. ``pool`` holds the run's worker
    processes, if it has any (they hash when much is to be hashed; without a
    pool, such a read starts its own). ``seen`` holds the record files parsed and
    judged earlier in the run (another environment's identical ones). Raises
    IntegrityInputError when the prefix is no conda environment.
    """
    settled_ns = time.time_ns() - RACY_SECONDS * 1_000_000_000
    prefix = check_prefix(prefix)
    wanted = read_environment_file(options.environment_file) if options.environment_file else None
    whole = not options.packages
    files = record_files(prefix)

    clean_records, remembered = CleanRecords(), Remembered()
    if options.use_cache and whole and earlier is not None and earlier.clean_records is not None:
        clean_records = earlier.clean_records
        remembered = earlier.remembered or Remembered()
    elif options.use_cache:
        clean_records = CleanRecords.load(prefix)
        remembered = load_remembered(prefix) if whole else Remembered()
    tree = None
    trusted = {}
    if whole and (earlier is not None or clean_records.entries):
        # walk first: which folders changed since the earlier read decides which
        # records it can vouch for, and the walk's lstat of every folder spares the
        # check of the remembered records a second one
        tree = walk_prefix(prefix, options.untracked, remembered, settled_ns)
        if earlier is not None:
            trusted = earlier.trusted(tree.folders)
    unchanged = (
        clean_records.unchanged(prefix, files, trusted, tree.inodes if tree else None)
        if whole
        else {}
    )
    # a record this user cannot read is reported, though it verified clean before
    meta = os.path.join(prefix, "conda-meta")
    unchanged = {
        stem: record
        for stem, record in unchanged.items()
        if readable(os.path.join(meta, stem + ".json"))
    }
    to_parse = [stem for stem in files if stem not in unchanged]
    known_hashes = KnownHashes()
    if options.use_cache and to_parse:
        known_hashes = (
            KnownHashes.on_demand(prefix, earlier.settled_ns)
            if earlier is not None
            else KnownHashes.load(prefix)
        )
    # kept by the record file's own stat key, conda's verdicts hold under --no-cache too
    # (which hashes files again): judging a record costs four times parsing it
    verdicts = (
        CondaVerdicts.load(prefix, files, settled_ns)
        if to_parse
        else CondaVerdicts(files, settled_ns)
    )
    records, bad_records = read_records(prefix, to_parse, verdicts, seen)
    shared = _sharing(records, unchanged) if unchanged and records else set()
    if shared:
        more, more_bad = read_records(prefix, sorted(shared), verdicts, seen)
        records, bad_records = records + more, bad_records + more_bad
        unchanged = {stem: u for stem, u in unchanged.items() if stem not in shared}
    checked = select(records, options.packages) if options.packages else records
    copies = options.fast and options.copies
    newest = latest(guard_dir(prefix)) if checked and (options.snapshot_modes or copies) else None
    then = _snapshot_files(newest, checked)
    # a fast read still hashes what it sees is a copy of what that snapshot saw
    copied_from = (
        {path: item for files in then.values() for path, item in files.items()} if copies else None
    )
    observer = Observer(
        prefix,
        fast=options.fast,
        known_hashes=known_hashes,
        inode_hashes=inode_hashes,
        pool=pool,
        snapshot=copied_from,
    )
    observer.start(checked)  # large files hash on worker threads during the walk

    if whole and tree is None:
        tree = walk_prefix(prefix, options.untracked, remembered, settled_ns)
    all_owners = owners_of(tuple(records))
    owners: Owners = (
        all_owners
        if whole
        else {owned.path: all_owners[owned.path] for record in checked for owned in record.paths}
    )
    modes = ModeBaseline.load(prefix) if checked else ModeBaseline()
    disk = observer.finish(owners, tree, tuple(checked), modes, progress)
    disk.resigned = observe_resigned(prefix, checked, owners, disk.stats, disk.sha256)
    if newest is not None and then and options.snapshot_modes:
        _snapshot_modes(newest.number, then, checked, disk)

    # the checks across records: what they need is remembered with the key of what
    # it was computed from, so an unchanged environment costs a few stats here
    writable, reuse = guard_dir(prefix).writable and options.write, options.use_cache
    if writable and to_parse:
        verdicts.save(prefix)
    packages = tuple(InstalledPackage(r.stem, package_fields(r.raw)) for r in records) + tuple(
        u.package for u in unchanged.values()
    )
    key = records_key(files)
    keep = writable and records_settled(files, settled_ns)
    site_packages = _site_packages(
        prefix, packages, records, unchanged, key, settled_ns, reuse=reuse, save=keep
    )
    state = PrefixState(
        prefix=prefix,
        records=tuple(checked),
        bad_records=tuple(bad_records) if whole else (),
        owners=owners,
        disk=disk,
        tree=tree,
        unchanged=tuple(unchanged.values()),
        untracked=options.untracked,
        packages=packages,
        selection=None if whole else frozenset(record.stem for record in checked),
        unmet_specs=unmet_specs(prefix, packages, key, reuse, keep),
        history=read_history(prefix, settled_ns, reuse, writable),
        site_packages=site_packages,
        environment_file=wanted,
        untrusted_state=tuple(untrusted_state(prefix)),
        reinstaller=reinstaller(prefix, tuple(checked)),
    )
    if whole:
        # judging an interrupted transaction writes what it left into the journal
        found = review(guard_dirs_to_read(prefix), state, capture=options.write)
        state = replace(state, transactions=tuple(found))
    memory = Memory(
        clean_records, known_hashes, modes, remembered, files, whole, options.use_cache, settled_ns
    )
    return state, memory


def state_digests(state: PrefixState, memory: Memory) -> dict[str, str]:
    """Per record, the digest of the stat keys of its record file and paths (a
    whole-prefix read): two reads with equal digests saw the same prefix."""
    digests = {u.stem: u.digest for u in state.unchanged}
    for record in state.records:
        digests[record.stem] = record_digest(record, memory.record_files[record.stem], state.disk)
    return dict(sorted(digests.items()))
