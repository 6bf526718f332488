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
import stat
import time
from dataclasses import dataclass, field

from . import packagecache
from .hashcache import HashCache
from .hashing import HashJob, hash_files
from .modes import ModeBaseline
from .progress import Progress
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


def observe(
    prefix: str,
    records: tuple[Record, ...],
    owners: Owners,
    tree: PrefixTree | None,
    *,
    fast: bool,
    hash_cache: HashCache,
    modes: ModeBaseline,
    progress: Progress,
) -> DiskState:
    """Stat, readlink and hash the paths of ``owners``; see the module docstring.

    ``owners`` maps each path to look at to all of its owners, ``records`` are
    the records whose executable bits are needed.
    """
    disk = DiskState()
    containment = _Containment(prefix, tree)
    lstat = os.lstat
    stats, errors = disk.stats, disk.errors
    join = os.path.join

    with progress.bar("Checking files", len(owners)) as advance:
        done = 0
        for path in owners:
            done += 1
            if done % 4096 == 0:
                advance(4096)
            folder = path.rpartition("/")[0]
            if not containment.inside(folder):
                errors[path] = ESCAPES
                continue
            try:
                stats[path] = lstat(join(prefix, path))
            except (FileNotFoundError, NotADirectoryError):
                pass
            except OSError as error:
                errors[path] = error.strerror or str(error)

    jobs: list[HashJob] = []
    for path, holders in owners.items():
        info = stats.get(path)
        if info is None:
            continue
        mode = info.st_mode
        if stat.S_ISLNK(mode):
            try:
                disk.link_targets[path] = os.readlink(join(prefix, path))
            except OSError as error:
                errors[path] = error.strerror or str(error)
        if any(owned.kind == SYMLINK for _, owned in holders):
            target = _cache_link_target(holders)
            if target is not None:
                disk.cache_link_targets[path] = target
        if stat.S_ISREG(mode) and _content_needed(holders, info.st_size):
            known = hash_cache.get(path, info)
            if known is not None:
                disk.sha256[path] = known
                disk.verified_files += 1
                disk.verified_bytes += info.st_size
            elif not fast:
                jobs.append(HashJob(path, join(prefix, path), info.st_ino, info.st_size))

    if jobs:
        now_ns = time.time_ns()
        total = sum(job.size for job in jobs)
        with progress.bar("Hashing", total, unit="B") as advance:
            for job, result in hash_files(jobs, progress=advance):
                if isinstance(result, OSError):
                    errors[job.path] = result.strerror or str(result)
                    continue
                disk.sha256[job.path] = result
                disk.hashed_files += 1
                disk.hashed_bytes += job.size
                hash_cache.put(job.path, stats[job.path], result, now_ns)
        disk.verified_files += disk.hashed_files
        disk.verified_bytes += disk.hashed_bytes

    for record in records:
        if any(owned.kind in (FILE, ENTRY_POINT) for owned in record.paths):
            executables = modes.executables(record, read_cache=not fast)
            if executables is not None:
                disk.executables[record.stem] = executables
    return disk


def _content_needed(holders: list[tuple[Record, OwnedPath]], size: int) -> bool:
    """Whether the file's hash can tell anything: some owner knows its content,
    and (for a single owner) the size already matches."""
    if len(holders) > 1:
        return any(owned.sha256 for _, owned in holders)
    owned = holders[0][1]
    return bool(owned.sha256) and (owned.size is None or owned.size == size)


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
