"""Look at the files of the extracted packages in the package caches, and at
their archives: one ``lstat`` each, a ``readlink`` for symlinks, the SHA-256 of
regular files whose size is right (and the digest of each archive), unless
``fast``. Judges nothing: :mod:`..checks.cache_corrupt` compares.

Large files are hashed on worker threads (:class:`.hashing.Hasher`); an inode
hashed earlier in the run is not read again (:mod:`.inodes`). Nothing outside
a package's folder is read, not even through a folder symlink inside it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from stat import S_ISLNK, S_ISREG

from ..progress import Progress
from ..records.model import FILE, SYMLINK
from .cached_packages import CachedPackage
from .disk_facts import Containment, DiskFacts
from .hashing import LARGE, Hasher, HashJob, file_digest
from .inodes import InodeHashes
from .workers import WorkerPool, worth_a_pool

ESCAPES = "is reached through a symbolic link that leaves the package's folder; not followed"


@dataclass
class CacheDisk(DiskFacts):
    """What the disk shows, by full path (package files and archives)."""

    #: sha256 of package files; sha256 (or md5, see ``archive_algorithms``) of archives
    digests: dict[str, str] = field(default_factory=dict)
    archive_algorithms: dict[str, str] = field(default_factory=dict)
    #: symlink targets as each package's archive has them (package folder -> path -> target)
    archive_links: dict[str, dict[str, str]] = field(default_factory=dict)


def archive_digest_of(package: CachedPackage) -> tuple[str, str] | None:
    """(algorithm, expected hex digest) of the archive by its record: sha256, else md5."""
    record = package.repodata_record or {}
    for algorithm, length in (("sha256", 64), ("md5", 32)):
        value = record.get(algorithm)
        if isinstance(value, str) and len(value) == length:
            return algorithm, value.lower()
    return None


def archive_size_of(package: CachedPackage) -> int | None:
    size = (package.repodata_record or {}).get("size")
    return size if isinstance(size, int) and not isinstance(size, bool) and size >= 0 else None


def _read_archive_links(archive: str) -> dict[str, str] | None:
    """Symlinks of the archive's payload and their targets; None if it cannot be read."""
    from conda_package_streaming.package_streaming import stream_conda_component

    links = {}
    try:
        for _tar, member in stream_conda_component(archive, component="pkg"):
            if member.issym():
                name = member.name[2:] if member.name.startswith("./") else member.name
                links[name] = member.linkname
    except Exception:  # a damaged archive: its own size and digest say so
        return None
    return links


class CacheObserver:
    """Looks at the packages' files and archives; ``observe`` returns the :class:`CacheDisk`."""

    def __init__(self, *, fast: bool, inode_hashes: InodeHashes | None = None) -> None:
        self.fast = fast
        self.inode_hashes = inode_hashes if inode_hashes is not None else InodeHashes()
        self.disk = CacheDisk()
        self.hasher: Hasher | WorkerPool = Hasher()
        #: files at least this large are queued for the hasher, the others hashed here
        self.queue_from = LARGE

    def observe(self, packages: list[CachedPackage], progress: Progress) -> CacheDisk:
        disk = self.disk
        total = sum(len(package.paths) for package in packages)
        pool = None
        if not self.fast and worth_a_pool(total):
            # as in a prefix (see .disk): worker processes share the per-file work out
            pool = self.hasher = WorkerPool()
            self.queue_from = 0
        try:
            for package in packages:
                self._archive(package)
            with progress.bar("Checking package cache", total) as advance:
                for package in packages:
                    self._package(package)
                    advance(len(package.paths))
            results = self.hasher.results()
        finally:
            if pool is not None:
                pool.close()
        for job, result in results:
            self._hashed(job.path, job.size, result)
        disk.verified_files += disk.hashed_files
        disk.verified_bytes += disk.hashed_bytes
        if not self.fast:
            for package in packages:
                self._links(package)
        return disk

    def _hashed(self, full: str, size: int, result: str | OSError) -> None:
        disk = self.disk
        digest = disk.add_digest(disk.digests, full, size, result, hashed=True)
        if digest is not None and full not in disk.archive_algorithms:
            self.inode_hashes.put(disk.stats[full], digest)

    def _archive(self, package: CachedPackage) -> None:
        """The archive: its size, and (unless fast) its digest, on a worker thread."""
        archive, digest = package.archive, archive_digest_of(package)
        if archive is None:
            return
        try:
            info = self.disk.stats[archive] = os.lstat(archive)
        except OSError as error:
            self.disk.cannot_examine(archive, error)
            return
        size = archive_size_of(package)
        if self.fast or digest is None or not S_ISREG(info.st_mode):
            return
        if size is not None and size != info.st_size:
            return  # damaged already; no need to read it
        self.disk.archive_algorithms[archive] = digest[0]
        self.hasher.submit(HashJob(archive, archive, info.st_ino, info.st_size, digest[0]))

    def _package(self, package: CachedPackage) -> None:
        disk, folder = self.disk, package.folder
        inside = Containment(folder).inside
        for owned in package.paths:
            full = os.path.join(folder, owned.path)
            if not inside(owned.path.rpartition("/")[0]):
                disk.errors[full] = ESCAPES
                continue
            try:
                info = disk.stats[full] = os.lstat(full)
            except (FileNotFoundError, NotADirectoryError):
                continue
            except OSError as error:
                disk.cannot_examine(full, error)
                continue
            if S_ISLNK(info.st_mode):
                try:
                    disk.link_targets[full] = os.readlink(full)
                except OSError as error:
                    disk.cannot_examine(full, error)
                continue
            if owned.kind != FILE or not S_ISREG(info.st_mode) or owned.sha256 is None:
                continue
            if owned.size is not None and owned.size != info.st_size:
                continue  # damaged already; no need to read it
            known = self.inode_hashes.get(info)
            if known is not None:
                disk.add_digest(disk.digests, full, info.st_size, known, hashed=False)
            elif self.fast:
                continue
            elif info.st_size >= self.queue_from:
                self.hasher.submit(HashJob(full, full, info.st_ino, info.st_size))
            else:
                try:
                    digest: str | OSError = file_digest(full, info.st_ino)
                except OSError as error:
                    digest = error
                self._hashed(full, info.st_size, digest)

    def _links(self, package: CachedPackage) -> None:
        """Symlink targets from the archive, for packages that have symlinks on disk."""
        folder = package.folder
        has_links = any(
            owned.kind == SYMLINK and os.path.join(folder, owned.path) in self.disk.link_targets
            for owned in package.paths
        )
        archive = self.disk.stats.get(package.archive) if package.archive is not None else None
        # only a regular file is opened (a FIFO there would never answer)
        if has_links and archive is not None and S_ISREG(archive.st_mode):
            links = _read_archive_links(package.archive)  # type: ignore[arg-type]
            if links is not None:
                self.disk.archive_links[folder] = links
