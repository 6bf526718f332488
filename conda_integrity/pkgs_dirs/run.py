"""``verify --pkgs-dirs``: the package caches against their packages' own metadata.

Each of conda's ``pkgs_dirs`` is listed (:mod:`..observe.cached_packages`), its
extracted packages and archives are looked at (:mod:`..observe.cached_files`) and
compared with their metadata (:mod:`..checks.cache_corrupt`). For each damaged
file that environments may hold by hard link, the environments conda knows
(:mod:`..observe.known_envs`) that do hold it are named (:mod:`.sharing`).

Nothing is written: no state is kept in a package cache, and every run reads
the files again (hashing each inode once, :mod:`..observe.inodes`). By default the
archives are hashed too: a damaged archive is what conda extracts again the
next time the extracted folder is gone. ``--fast`` compares sizes only.
"""

from __future__ import annotations

import os
import time

from ..checks import transaction_debris, unreadable
from ..checks.cache_corrupt import Damage, damages, finding
from ..findings import Finding
from ..observe.cached_files import CacheObserver
from ..observe.cached_packages import CachedPackage, read_package_metadata, scan_pkgs_dir
from ..observe.inodes import InodeHashes
from ..observe.known_envs import known_prefixes
from ..progress import Progress
from ..records import fixes
from ..verify.read import VerifyOptions
from ..verify.report import Report, Skipped
from .sharing import CachedInode, environments_sharing


def _pkgs_dirs() -> list[str]:
    from conda.base.context import context

    return list(dict.fromkeys(os.path.abspath(folder) for folder in context.pkgs_dirs))


def _environments_sharing(
    found: list[Damage], disk_stats: dict[str, os.stat_result]
) -> list[list[str]]:
    """For each damage, the environments holding the damaged file by hard link."""
    inodes: list[CachedInode | None] = []
    for damage in found:
        info = disk_stats.get(damage.full_path) if damage.shared_content else None
        inodes.append(
            None
            if info is None
            else CachedInode(damage.package.name, damage.path, info.st_dev, info.st_ino)
        )
    wanted = [inode for inode in inodes if inode is not None]
    if not wanted:
        return [[] for _ in found]
    prefixes = [os.path.abspath(known.path) for known in known_prefixes()]
    sharing = environments_sharing(wanted, prefixes)
    return [[] if inode is None else sharing[inode] for inode in inodes]


def _fix(damage: Damage, environments: list[str]) -> str:
    if damage.in_archive:
        return fixes.remove_cached(damage.full_path)
    return fixes.repair_shared(damage.package.folder, damage.package.package_name, environments)


def _leftover(pkgs_dir: str, name: str) -> Finding:
    return transaction_debris.CHECK.finding(
        "left behind by a conda download or extraction that did not finish "
        "(conda moves the old copy aside while it replaces it)",
        path=name,
        extra={"pkgs_dir": pkgs_dir},
        fix=fixes.remove_cached(os.path.join(pkgs_dir, name)),
    )


def verify_pkgs_dirs(
    options: VerifyOptions, progress: Progress, inode_hashes: InodeHashes | None = None
) -> Report:
    """Verify every package cache of ``context.pkgs_dirs``."""
    started = time.perf_counter()
    pkgs_dirs = _pkgs_dirs()
    findings: list[Finding] = []
    skipped: list[Skipped] = []
    packages: list[CachedPackage] = []
    seen: dict[tuple[int, int], str] = {}
    for pkgs_dir in pkgs_dirs:
        if not os.path.lexists(pkgs_dir):
            skipped.append(Skipped(pkgs_dir, "it does not exist"))
            continue
        if not os.path.isdir(pkgs_dir):
            skipped.append(Skipped(pkgs_dir, "it is not a folder"))
            continue
        info = os.stat(pkgs_dir)
        same = seen.setdefault((info.st_dev, info.st_ino), pkgs_dir)
        if same != pkgs_dir:  # listed twice, under two paths
            skipped.append(Skipped(pkgs_dir, f"it is the package cache {same}, verified above"))
            continue
        scan = scan_pkgs_dir(pkgs_dir)
        if scan.unreadable is not None:
            findings.append(
                unreadable.CHECK.finding(
                    f"the package cache cannot be listed: {scan.unreadable}",
                    extra={"pkgs_dir": pkgs_dir},
                )
            )
        findings += [_leftover(pkgs_dir, name) for name in scan.holds]
        skipped += [Skipped(os.path.join(pkgs_dir, n), reason) for n, reason in scan.skipped]
        packages += scan.packages
    for package in packages:
        read_package_metadata(package)

    observer = CacheObserver(fast=options.fast, inode_hashes=inode_hashes)
    disk = observer.observe(packages, progress)
    found = damages(packages, disk)
    sharing = _environments_sharing(found, disk.stats)
    for damage, environments in zip(found, sharing):
        findings.append(finding(damage, environments, _fix(damage, environments)))
    findings += unreadable.in_package_caches(packages, disk)

    return Report(
        prefix="",
        mode="fast" if options.fast else "full",
        packages=len(packages),
        files=sum(len(package.paths) for package in packages),
        bytes=disk.verified_bytes,
        hashed_files=disk.hashed_files,
        hashed_bytes=disk.hashed_bytes,
        findings=findings,
        elapsed_s=time.perf_counter() - started,
        pkgs_dirs=pkgs_dirs,
        skipped=skipped,
    )
