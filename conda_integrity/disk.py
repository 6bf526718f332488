"""Look at the files the records own: one ``lstat`` each, a ``readlink`` for
symlinks, and the SHA-256 of regular files whose content the records know.

This is the only step that reads the prefix's files. It reads what the checks
need and judges nothing: the checks compare. Hashes come from the hash cache
when a file's stat key is unchanged; ``fast`` mode hashes nothing new.
Nothing outside the prefix is read: a path reached through a folder symlink
that leaves the prefix is not followed.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from stat import S_ISLNK, S_ISREG

from . import packagecache
from .hashcache import HashCache
from .hashing import LARGE, Hasher, HashJob
from .modes import ModeBaseline
from .progress import Progress, Update
from .records import ENTRY_POINT, FILE, SYMLINK, OwnedPath, Record
from .tree import PrefixTree

Owners = dict[str, list[tuple[Record, OwnedPath]]]

ESCAPES = "is reached through a symbolic link that leaves the environment; not followed"


@dataclass
class DiskState:
    """What the disk shows for the owned paths (prefix-relative keys)."""

    #: lstat of every owned path that exists
    stats: dict[str, os.stat_result] = field(default_factory=dict)
    #: owned paths that could not be examined, with the reason
    errors: dict[str, str] = field(default_factory=dict)
    #: owned paths that are symlinks on disk, and where they point
    link_targets: dict[str, str] = field(default_factory=dict)
    #: symlinks as the package cache has them, for owned softlink paths
    cache_link_targets: dict[str, str] = field(default_factory=dict)
    #: content hash of regular files, hashed now or taken from the hash cache
    sha256: dict[str, str] = field(default_factory=dict)
    #: package paths installed executable, per record stem (absent: unknown)
    executables: dict[str, frozenset[str]] = field(default_factory=dict)
    hashed_files: int = 0
    hashed_bytes: int = 0
    verified_files: int = 0
    verified_bytes: int = 0


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


class _Containment:
    """Is a folder of the prefix inside it once symlinks are resolved?"""

    def __init__(self, prefix: str, tree: PrefixTree | None) -> None:
        self.real_prefix = os.path.realpath(prefix)
        self.prefix = prefix
        self.known = tree.directories if tree is not None else {""}
        self.memo: dict[str, bool] = {}

    def inside(self, folder: str) -> bool:
        if folder in self.known:
            return True
        answer = self.memo.get(folder)
        if answer is None:
            real = os.path.realpath(os.path.join(self.prefix, folder))
            answer = real == self.real_prefix or real.startswith(self.real_prefix + os.sep)
            self.memo[folder] = answer
        return answer


class Observer:
    """Looks at the paths of ``owners`` (each path with all of its owners).

    ``start`` looks at the files the records say are large, largest first, so
    that their hashing runs on worker threads while the rest of verify goes on
    (parsing is done by then; the walk of the prefix is not); ``finish`` looks
    at all the others and collects everything into a :class:`DiskState`.
    """

    def __init__(self, prefix: str, owners: Owners, *, fast: bool, hash_cache: HashCache) -> None:
        self.prefix = prefix
        self.owners = owners
        self.fast = fast
        self.hash_cache = hash_cache
        self.disk = DiskState()
        self.hasher = Hasher()
        self.containment = _Containment(prefix, None)
        self.now_ns = time.time_ns()
        self.large = _large(owners)

    def start(self) -> None:
        self._look(self.large, None)

    def finish(
        self,
        tree: PrefixTree | None,
        records: tuple[Record, ...],
        modes: ModeBaseline,
        progress: Progress,
    ) -> DiskState:
        """Look at the remaining paths; ``records`` are those whose modes are needed."""
        if tree is not None:
            self.containment.known = tree.directories
        large = set(self.large)
        rest = [path for path in self.owners if path not in large] if large else list(self.owners)
        with progress.bar("Checking files", len(rest)) as advance:
            self._look(rest, advance)
        for job, result in self.hasher.results():
            self._hashed(job, result)
        disk = self.disk
        disk.verified_files += disk.hashed_files
        disk.verified_bytes += disk.hashed_bytes
        for record in records:
            if any(owned.kind in (FILE, ENTRY_POINT) for owned in record.paths):
                executables = modes.executables(record, read_cache=not self.fast)
                if executables is not None:
                    disk.executables[record.stem] = executables
        return disk

    def _hashed(self, job: HashJob, result: str | OSError) -> None:
        disk = self.disk
        if isinstance(result, OSError):
            disk.errors[job.path] = result.strerror or str(result)
            return
        disk.sha256[job.path] = result
        disk.hashed_files += 1
        disk.hashed_bytes += job.size
        self.hash_cache.put(job.path, disk.stats[job.path], result, self.now_ns)

    def _look(self, paths: list[str], advance: Update | None) -> None:
        disk, owners, hash_cache, hasher = self.disk, self.owners, self.hash_cache, self.hasher
        stats, errors, hashes = disk.stats, disk.errors, disk.sha256
        inside, fast = self.containment.inside, self.fast
        lstat, base = os.lstat, self.prefix + os.sep
        for count, path in enumerate(paths, 1):
            if advance is not None and not count & 4095:
                advance(4096)
            holders = owners[path]
            if not inside(path.rpartition("/")[0]):
                errors[path] = ESCAPES
                continue
            full = base + path
            try:
                info = stats[path] = lstat(full)
            except (FileNotFoundError, NotADirectoryError):
                continue
            except OSError as error:
                errors[path] = error.strerror or str(error)
                continue
            if any(owned.kind == SYMLINK for _, owned in holders):
                target = _cache_link_target(holders)
                if target is not None:
                    disk.cache_link_targets[path] = target
            if S_ISREG(info.st_mode):
                if not _content_needed(holders, info.st_size):
                    continue
                known = hash_cache.get(path, info)
                if known is not None:
                    hashes[path] = known
                    disk.verified_files += 1
                    disk.verified_bytes += info.st_size
                elif not fast:
                    done = hasher.submit(HashJob(path, full, info.st_ino, info.st_size))
                    if done is not None:
                        self._hashed(*done)
            elif S_ISLNK(info.st_mode):
                try:
                    disk.link_targets[path] = os.readlink(full)
                except OSError as error:
                    errors[path] = error.strerror or str(error)


def _large(owners: Owners) -> list[str]:
    """The paths recorded as large files, largest first."""
    large = [
        (holders[0][1].size, path)
        for path, holders in owners.items()
        if (holders[0][1].size or 0) >= LARGE
    ]
    large.sort(reverse=True)
    return [path for _, path in large]


def _content_needed(holders: list[tuple[Record, OwnedPath]], size: int) -> bool:
    """Whether the file's hash can tell anything: some owner knows its content,
    and (for a single owner) the size does not already tell it differs."""
    if len(holders) == 1:
        owned = holders[0][1]
        return owned.sha256 is not None and (owned.size is None or owned.size == size)
    return any(owned.sha256 for _, owned in holders)


def _cache_link_target(holders: list[tuple[Record, OwnedPath]]) -> str | None:
    for record, owned in holders:
        if owned.kind != SYMLINK or owned.source is None:
            continue
        folder = packagecache.extracted_dir(record)
        if folder is None:
            continue
        try:
            return os.readlink(os.path.join(folder, owned.source))
        except OSError:
            continue
    return None
