"""Where conda will link a package from, verified before repair relinks it.

conda links a package from its extracted copy in the package cache, extracts
the archive again when that copy is gone, and downloads the archive when that
is gone too. A damaged extracted copy would be linked as it is (a file edited
in place in an environment is the cache's file too: one inode), so before a
package is relinked its source is checked:

- the extracted copy against its ``info/paths.json`` (and ``repodata_record.json``
  for the archive), as ``verify --pkgs-dirs`` does; a file of the environment
  that is damaged and is one inode with the cache's copy damages that copy too
  (its mode, which paths.json does not give, included);
- a damaged extracted copy is moved aside (into the repair's backup), so that
  conda extracts the archive again, if the archive is whole, or downloads it;
  a damaged archive is moved aside too;
- when conda could get the package from nowhere (no usable copy, and the channel
  file gone or conda offline), the source says exactly what is missing.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from urllib.parse import unquote, urlparse

from ..checks.cache_corrupt import damages
from ..observe.cached_files import CacheObserver
from ..observe.cached_packages import ARCHIVE_EXTENSIONS, CachedPackage, read_package_metadata
from ..observe.known_envs import known_prefixes
from ..pkgs_dirs.sharing import CachedInode, environments_sharing
from ..progress import Progress
from ..records import package_cache
from ..records.model import Record

#: how conda will get the package to link
CACHE = "cache"  # its extracted copy, verified
ARCHIVE = "archive"  # its archive, verified: conda extracts it again
FETCH = "fetch"  # its URL: conda downloads it again
MISSING = "missing"  # nowhere: the repair stops before it changes anything


@dataclass
class Source:
    """Where the package ``package`` will be linked from, and what must be moved
    out of the package cache first."""

    package: str
    how: str
    #: in words, for the plan
    why: str
    #: (absolute path, reason) of the package cache entries to move aside first
    move_aside: list[tuple[str, str]] = field(default_factory=list)
    #: other environments holding a damaged file of the cache by hard link
    shared_with: list[str] = field(default_factory=list)

    @property
    def usable(self) -> bool:
        return self.how != MISSING


def _same_inode(first: str, second: str) -> bool:
    try:
        a, b = os.lstat(first), os.lstat(second)
    except OSError:
        return False
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


def _archive_matches(path: str, record: Record) -> bool:
    """Whether the archive at ``path`` is the one the record names (sha256, else md5)."""
    for algorithm in ("sha256", "md5"):
        expected = record.raw.get(algorithm)
        if isinstance(expected, str) and expected:
            digest = hashlib.new(algorithm)
            try:
                with open(path, "rb") as handle:
                    for block in iter(lambda: handle.read(1 << 20), b""):
                        digest.update(block)
            except OSError:
                return False
            return digest.hexdigest() == expected.lower()
    return False  # nothing to check it against: not trusted


def _fetchable(record: Record) -> str | None:
    """Why conda cannot download the package again (None: it can try)."""
    from conda.base.context import context

    url = record.raw.get("url")
    if not isinstance(url, str) or not url:
        return "its record names no URL to download it from"
    if url.startswith("file://"):
        path = unquote(urlparse(url).path)
        return None if os.path.isfile(path) else f"its channel file {path} is gone"
    if context.offline:
        return f"conda is offline (offline: true) and would have to download {url}"
    return None


def _damaged_by_environment(
    prefix: str, record: Record, folder: str, damaged_paths: set[str]
) -> list[tuple[str, int, int]]:
    """The package's files in the cache that are one inode with a damaged file of
    the environment: (path in the package, dev, inode)."""
    shared = []
    for owned in record.paths:
        if owned.path not in damaged_paths or owned.source is None:
            continue
        cached = os.path.join(folder, owned.source)
        if _same_inode(os.path.join(prefix, owned.path), cached):
            info = os.lstat(cached)
            shared.append((owned.source, info.st_dev, info.st_ino))
    return shared


def _others_sharing(prefix: str, package: str, inodes: list[tuple[str, int, int]]) -> list[str]:
    wanted = [CachedInode(package, path, dev, ino) for path, dev, ino in inodes]
    if not wanted:
        return []
    prefixes = [os.path.abspath(known.path) for known in known_prefixes()]
    sharing = environments_sharing(wanted, prefixes)
    here = os.path.realpath(prefix)
    others = {p for found in sharing.values() for p in found if os.path.realpath(p) != here}
    return sorted(others)


def check_source(prefix: str, record: Record, damaged_paths: set[str]) -> Source:
    """Where conda would link ``record`` from, verified; ``damaged_paths`` are the
    environment's damaged paths of it (prefix-relative)."""
    stem = record.stem
    folder = package_cache.extracted_dir(record)
    moves: list[tuple[str, str]] = []
    shared_with: list[str] = []
    archive: str | None = None
    if folder is not None:
        cached = CachedPackage(os.path.dirname(folder), os.path.basename(folder))
        read_package_metadata(cached)
        if cached.archive is None:
            cached.archive = next(
                (folder + ext for ext in ARCHIVE_EXTENSIONS if os.path.isfile(folder + ext)), None
            )
        found = damages([cached], CacheObserver(fast=False).observe([cached], Progress(False)))
        in_folder = [d for d in found if not d.in_archive]
        inodes = _damaged_by_environment(prefix, record, folder, damaged_paths)
        inodes += [
            (d.path, info.st_dev, info.st_ino)
            for d in in_folder
            if d.shared_content and (info := _lstat(d.full_path)) is not None
        ]
        shared_with = _others_sharing(prefix, stem, inodes)
        if not in_folder and not inodes:
            return Source(stem, CACHE, f"its copy in {cached.pkgs_dir} is whole")
        what = (
            f"{in_folder[0].path}: {in_folder[0].difference.what}"
            if in_folder
            else f"{inodes[0][0]} is one file (hard link) with the environment's damaged copy"
        )
        moves.append((folder, f"the extracted package is damaged ({what})"))
        if cached.archive is not None:
            if any(d.in_archive for d in found) or not _archive_matches(cached.archive, record):
                moves.append((cached.archive, "the archive is damaged (sha256 differs)"))
            else:
                archive = cached.archive
    else:
        tarball = package_cache.tarball(record)
        if tarball is not None:
            if _archive_matches(tarball, record):
                archive = tarball
            else:
                moves.append((tarball, "the archive is damaged (sha256 differs)"))
    if archive is not None:
        why = f"its archive {archive} is whole: conda extracts it again"
        if moves:
            why = f"{moves[0][1]}; {why}"
        return Source(stem, ARCHIVE, why, moves, shared_with)
    problem = _fetchable(record)
    damaged = "; ".join(reason for _, reason in moves) or "it is not in the package cache"
    if problem is not None:
        return Source(stem, MISSING, f"{damaged}, and {problem}", moves, shared_with)
    return Source(stem, FETCH, f"{damaged}: conda downloads it again", moves, shared_with)


def _lstat(path: str) -> os.stat_result | None:
    try:
        return os.lstat(path)
    except OSError:
        return None
