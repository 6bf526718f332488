"""Look at the files the records own: one ``lstat`` each, a ``readlink`` for
symlinks, and the SHA-256 of regular files whose content the records know.

This is the only step that reads the prefix's files. It reads what the checks
need and judges nothing: the checks compare. Hashes come from the known hashes
when a file's stat key is unchanged, or from the hashes of this run when the
same inode was hashed already (a hard link of the package cache shared with an
environment verified before); ``fast`` mode hashes nothing new, but for a copy
(:func:`..store.changes.copied`) of what the newest snapshot saw, whose content
alone tells whether it changed.
Nothing outside the prefix is read: a path reached through a folder symlink
that leaves the prefix is not followed.
"""

from __future__ import annotations

import errno
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from stat import S_ISLNK, S_ISREG

from ..progress import Progress, Update
from ..records import package_cache
from ..records.model import ENTRY_POINT, FILE, SYMLINK, OwnedPath, Record
from ..store.changes import copied
from ..store.snapshots import FileStat
from .disk_facts import Containment, DiskFacts
from .hashing import LARGE, Hasher, HashJob, sha256_file
from .inodes import InodeHashes, InodeKey, inode_key
from .known_hashes import KnownHashes
from .modes import ModeBaseline
from .resigned import Resigned
from .walk import PrefixTree
from .workers import WorkerPool, worth_a_pool

Owners = dict[str, list[tuple[Record, OwnedPath]]]

ESCAPES = "is reached through a symbolic link that leaves the environment; not followed"


@dataclass
class PrefixDisk(DiskFacts):
    """What the disk shows for the owned paths (prefix-relative keys)."""

    #: symlinks as the package cache has them, for owned softlink paths
    cache_link_targets: dict[str, str] = field(default_factory=dict)
    #: content hash of regular files, hashed now or taken from the known hashes
    sha256: dict[str, str] = field(default_factory=dict)
    #: package paths installed executable, per record stem (absent: unknown)
    executables: dict[str, frozenset[str]] = field(default_factory=dict)
    #: st_mode of owned paths in the newest snapshot, where the same record owned them
    snapshot_modes: dict[str, int] = field(default_factory=dict)
    #: symlink targets of owned paths in that snapshot, where the same record owned them
    snapshot_link_targets: dict[str, str] = field(default_factory=dict)
    #: the number of that snapshot
    snapshot: int | None = None
    #: owned paths that cannot exist because a folder on their way is a symlink
    #: loop (an owned folder replaced by a link to itself), with that folder
    loops: dict[str, str] = field(default_factory=dict)
    #: osx-arm64 Mach-O files conda may have signed after hashing them, whose
    #: content is not their record's (:mod:`.resigned`)
    resigned: dict[str, Resigned] = field(default_factory=dict)


def owners_of(records: tuple[Record, ...]) -> Owners:
    """Every owned path, with the records (and their entries) that own it."""
    owners: Owners = {}
    for record in records:
        for owned in record.paths:
            entry = (record, owned)
            holders = owners.get(owned.path)
            if holders is None:
                owners[owned.path] = [entry]
            else:
                holders.append(entry)
    return owners


@contextmanager
def relative_lstat(prefix: str) -> Iterator[tuple[str, int | None]]:
    """``(base, fd)`` so that ``os.stat(base + path, dir_fd=fd, follow_symlinks=False)``
    is the lstat of a prefix-relative path: relative to the open prefix where the
    platform allows, which spares the kernel the prefix's own path on every call."""
    if os.stat not in os.supports_dir_fd:  # Windows (tests/test_platforms.py runs it here)
        yield prefix + os.sep, None
        return
    fd = os.open(prefix, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        yield "", fd
    finally:
        os.close(fd)


class Observer:
    """Looks at the owned paths of a prefix.

    ``start`` queues the large files of the records, largest first, for hashing
    on worker threads, which then hash while verify walks the prefix (not while
    it parses records: JSON parsing holds the GIL for long stretches and stalls
    them); ``finish`` looks at every other path once all owners are known, and
    collects the :class:`PrefixDisk`.
    """

    def __init__(
        self,
        prefix: str,
        *,
        fast: bool,
        known_hashes: KnownHashes,
        inode_hashes: InodeHashes | None = None,
        pool: WorkerPool | None = None,
        snapshot: dict[str, FileStat] | None = None,
    ) -> None:
        self.prefix = prefix
        self.fast = fast
        #: what the newest snapshot saw of the paths (fast mode hashes their copies)
        self.snapshot = snapshot or {}
        self.known_hashes = known_hashes
        self.inode_hashes = inode_hashes if inode_hashes is not None else InodeHashes()
        #: inodes queued for the worker threads, with every path waiting for them
        self.queued: dict[InodeKey, list[str]] = {}
        self.disk = PrefixDisk()
        self.hasher: Hasher | WorkerPool = Hasher()
        #: the run's worker processes, used when there is much to hash (see start)
        self.pool = pool
        #: this observer started the pool (and ends it)
        self.own_pool = False
        #: every file to hash goes to the pool, not only large ones
        self.pooled = False
        self.containment = Containment(prefix)
        self.now_ns = time.time_ns()
        self.started: set[str] = set()
        #: folders known to be, or not to be, a symlink loop
        self.loop_memo: dict[str, bool] = {}

    def start(self, records: list[Record]) -> None:
        """Queue the large files of ``records`` for hashing, largest first."""
        if self.fast:
            return
        if self.known_hashes.empty and worth_a_pool(
            sum(1 for record in records for owned in record.paths if owned.sha256)
        ):
            # nothing hashed before (--no-cache, a first run): the per-file work of
            # small files is most of the run, and worker processes share it out
            if self.pool is None:
                self.pool, self.own_pool = WorkerPool(), True
            self.hasher, self.pooled = self.pool, True
        large = sorted(
            (
                (owned.size, owned.path, record, owned)
                for record in records
                for owned in record.paths
                if owned.kind == FILE and owned.sha256 and (owned.size or 0) >= LARGE
            ),
            key=lambda item: item[0] or 0,
            reverse=True,
        )
        owners: Owners = {path: [(record, owned)] for _, path, record, owned in large}
        self.started.update(owners)
        self._look(list(owners), owners, None)

    def finish(
        self,
        owners: Owners,
        tree: PrefixTree | None,
        records: tuple[Record, ...],
        modes: ModeBaseline,
        progress: Progress,
    ) -> PrefixDisk:
        """Look at the paths of ``owners`` not looked at yet; ``records`` are those
        whose modes are needed."""
        if tree is not None:
            self.containment.known = tree.directories
        disk, started = self.disk, self.started
        # a path started as one record's may have other owners: look again unless hashed
        rest = [
            path
            for path in owners
            if path not in started or (len(owners[path]) > 1 and path not in disk.sha256)
        ]
        try:
            with progress.bar("Checking files", len(rest)) as advance:
                self._look(rest, owners, advance)
            results = self.hasher.results()
        finally:
            if self.own_pool and self.pool is not None:
                self.pool.close()
        for job, result in results:
            self._hashed(job.path, job.size, result)
            for path in self.queued.pop(inode_key(disk.stats[job.path]), ())[1:]:
                self._known(path, disk.stats[path], result)
        disk.verified_files += disk.hashed_files
        disk.verified_bytes += disk.hashed_bytes
        for record in records:
            if any(owned.kind in (FILE, ENTRY_POINT) for owned in record.paths):
                executables = modes.executables(record, read_cache=not self.fast)
                if executables is not None:
                    disk.executables[record.stem] = executables
        return disk

    def _hashed(self, path: str, size: int, result: str | OSError) -> None:
        disk = self.disk
        digest = disk.add_digest(disk.sha256, path, size, result, hashed=True)
        if digest is not None:
            info = disk.stats[path]
            self.known_hashes.put(path, info, digest, self.now_ns)
            self.inode_hashes.put(info, digest)

    def _known(self, path: str, info: os.stat_result, result: str | OSError) -> None:
        """``path`` is an inode hashed earlier in this run (under another path)."""
        digest = self.disk.add_digest(self.disk.sha256, path, info.st_size, result, hashed=False)
        if digest is not None:
            self.known_hashes.put(path, info, digest, self.now_ns)

    def _look(self, paths: list[str], owners: Owners, advance: Update | None) -> None:
        with relative_lstat(self.prefix) as (relative_base, fd):
            self._look_at(paths, owners, advance, relative_base, fd, self.prefix + os.sep)

    def _look_at(
        self,
        paths: list[str],
        owners: Owners,
        advance: Update | None,
        relative_base: str,
        fd: int | None,
        base: str,
    ) -> None:
        disk, known_hashes, hasher = self.disk, self.known_hashes, self.hasher
        inode_hashes, queued = self.inode_hashes, self.queued
        stats, errors, hashes, stat = disk.stats, disk.errors, disk.sha256, os.stat
        inside, fast, snapshot = self.containment.inside, self.fast, self.snapshot
        # with worker processes, small files are queued like large ones
        queue_from = 0 if self.pooled else LARGE
        for count, path in enumerate(paths, 1):
            if advance is not None and not count & 4095:
                advance(4096)
            holders = owners[path]
            if not inside(path.rpartition("/")[0]):
                errors[path] = ESCAPES
                continue
            try:
                info = stats[path] = stat(relative_base + path, dir_fd=fd, follow_symlinks=False)
            except (FileNotFoundError, NotADirectoryError):
                continue
            except OSError as error:
                loop = self._loop_on_the_way(path) if error.errno == errno.ELOOP else None
                if loop is not None:  # no path through it leads anywhere: missing
                    disk.loops[path] = loop
                else:
                    disk.cannot_examine(path, error)
                continue
            owned = holders[0][1]
            if owned.kind == SYMLINK or (len(holders) > 1 and _any_symlink(holders)):
                target = _cache_link_target(holders)
                if target is not None:
                    disk.cache_link_targets[path] = target
            mode = info.st_mode
            if S_ISREG(mode):
                size = info.st_size
                if len(holders) == 1:
                    if owned.sha256 is None or (owned.size is not None and owned.size != size):
                        continue  # nothing to learn from the content
                elif not any(other.sha256 for _, other in holders):
                    continue
                known = known_hashes.get(path, info)
                if known is not None:  # inline, not add_digest: once per file of a cached run
                    hashes[path] = known
                    disk.verified_files += 1
                    disk.verified_bytes += size
                    continue
                known = inode_hashes.get(info)
                if known is not None:
                    self._known(path, info, known)
                elif fast and not (snapshot and self._copy(path, info)):
                    continue
                elif size >= queue_from:
                    key = inode_key(info)
                    waiting = queued.get(key)
                    if waiting is None:
                        queued[key] = [path]
                        hasher.submit(HashJob(path, base + path, info.st_ino, size))
                    elif path not in waiting:
                        waiting.append(path)
                else:
                    try:
                        digest: str | OSError = sha256_file(base + path, info.st_ino)
                    except OSError as error:
                        digest = error
                    self._hashed(path, size, digest)
            elif S_ISLNK(mode):
                try:
                    disk.link_targets[path] = os.readlink(base + path)
                except OSError as error:
                    disk.cannot_examine(path, error)

    def _copy(self, path: str, info: os.stat_result) -> bool:
        """Whether ``path`` is a copy of what the newest snapshot saw there."""
        then = self.snapshot.get(path)
        now = FileStat(info.st_mode, info.st_size, info.st_mtime_ns, info.st_ino)
        return then is not None and copied(then, now)

    def _loop_on_the_way(self, path: str) -> str | None:
        """The first folder on the way to ``path`` that is a symlink loop, if any."""
        folder = ""
        for name in path.split("/")[:-1]:
            folder = f"{folder}/{name}" if folder else name
            if folder not in self.loop_memo:
                self.loop_memo[folder] = _is_loop(os.path.join(self.prefix, folder))
            if self.loop_memo[folder]:
                return folder
        return None


def _is_loop(path: str) -> bool:
    """Whether ``path`` is a symlink that never leads to anything."""
    try:
        if not S_ISLNK(os.lstat(path).st_mode):
            return False
        os.stat(path)
    except OSError as error:
        return error.errno == errno.ELOOP
    return False


def _any_symlink(holders: list[tuple[Record, OwnedPath]]) -> bool:
    return any(owned.kind == SYMLINK for _, owned in holders)


def _cache_link_target(holders: list[tuple[Record, OwnedPath]]) -> str | None:
    for record, owned in holders:
        if owned.kind != SYMLINK or owned.source is None:
            continue
        folder = package_cache.extracted_dir(record)
        if folder is None:
            continue
        try:
            return os.readlink(os.path.join(folder, owned.source))
        except OSError:
            continue
    return None
