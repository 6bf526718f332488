"""cache-corrupt (with ``--pkgs-dirs``): a cached package that differs from its own metadata.

An extracted package is compared with its ``info/paths.json``: each path is
there, of the kind it says (file, symlink, folder), each regular file has the
size and SHA-256 it gives, and each symlink points where the package's archive
says (when the archive is in the cache). Packages older than ``paths.json``
have only ``info/files``: each path listed must be there. The archive is
compared with ``info/repodata_record.json``: size, then sha256 (md5 for records
without one).

``detail`` says how: ``missing``, ``type``, ``size``, ``sha256``, ``md5``,
``symlink-target``, or ``metadata`` (the package's own ``info/`` files cannot
be used). ``path`` is relative to the package's folder; for an archive it is
the archive's file name, next to the folder.
"""

from __future__ import annotations

import os
from stat import S_ISREG
from typing import Any, NamedTuple

from ..findings import ERROR, Finding
from ..observe.cached_files import CacheDisk, archive_digest_of, archive_size_of
from ..observe.cached_packages import CachedPackage
from ..records.model import DIRECTORY, FILE, SYMLINK, OwnedPath
from ..safe_read import not_regular
from .base import PACKAGE_CACHE, Check
from .difference import Difference, difference, kind_of

_EXPECTED_KIND = {FILE: "file", SYMLINK: "symlink", DIRECTORY: "directory"}


class Damage(NamedTuple):
    """One way a cached package differs from its metadata."""

    package: CachedPackage
    #: relative to the package's folder; the archive's name for the archive
    path: str
    #: how it differs (detail ``missing`` or ``metadata`` too, in a package cache)
    difference: Difference
    #: the damage is the archive's, not the extracted folder's
    in_archive: bool = False

    @property
    def full_path(self) -> str:
        if self.in_archive and self.package.archive is not None:
            return self.package.archive
        return os.path.join(self.package.folder, self.path)

    @property
    def shared_content(self) -> bool:
        """A content change of a file that environments may hold by hard link."""
        return not self.in_archive and self.difference.detail in ("size", "sha256")


def _judge_path(package: CachedPackage, owned: OwnedPath, disk: CacheDisk) -> Difference | None:
    full = os.path.join(package.folder, owned.path)
    info = disk.stats.get(full)
    if info is None:
        if full in disk.errors:
            return None  # reported as unreadable
        return Difference("missing", "missing", {}, {})
    expected_kind = _EXPECTED_KIND.get(owned.kind)
    # only a symlink's own target is compared (not a listed path that is a link)
    archive_target = (
        disk.archive_links.get(package.folder, {}).get(owned.path)
        if owned.kind == SYMLINK
        else None
    )
    return difference(
        owned,
        info,
        kinds=(expected_kind,) if expected_kind is not None else None,
        target=disk.link_targets.get(full),
        expected_target=archive_target,
        sha256=disk.digests.get(full),
        differs="content differs from info/paths.json",
    )


def _judge_archive(package: CachedPackage, disk: CacheDisk) -> Damage | None:
    archive = package.archive
    if archive is None:
        return None
    name = os.path.basename(archive)
    info = disk.stats.get(archive)
    if info is None:
        return None  # gone since the scan, or unreadable (reported as such)
    if not S_ISREG(info.st_mode):  # a folder, a FIFO, a symlink: never opened, never conda's
        actual_kind = {"type": kind_of(info.st_mode)}
        return Damage(
            package,
            name,
            Difference("type", not_regular(info.st_mode), {"type": "file"}, actual_kind),
            in_archive=True,
        )
    if package.repodata_record is None:
        return None  # nothing to compare it with
    size = archive_size_of(package)
    if size is not None and info.st_size != size:
        what = f"is {info.st_size} bytes, not {size} (info/repodata_record.json)"
        return Damage(
            package,
            name,
            Difference("size", what, {"size": size}, {"size": info.st_size}),
            in_archive=True,
        )
    expected = archive_digest_of(package)
    actual = disk.digests.get(archive)
    if expected is not None and actual is not None and actual != expected[1]:
        algorithm = expected[0]
        return Damage(
            package,
            name,
            Difference(
                algorithm,
                f"{algorithm} differs from info/repodata_record.json",
                {algorithm: expected[1], "size": size},
                {algorithm: actual, "size": info.st_size},
            ),
            in_archive=True,
        )
    return None


def damages(packages: list[CachedPackage], disk: CacheDisk) -> list[Damage]:
    """Every way the cached packages differ from their own metadata."""
    found = []
    for package in packages:
        if package.metadata_problem is not None:
            file, reason = package.metadata_problem
            found.append(Damage(package, file, Difference("metadata", reason, {}, {})))
        for owned in package.paths:
            judged = _judge_path(package, owned, disk)
            if judged is not None:
                found.append(Damage(package, owned.path, judged))
        archive = _judge_archive(package, disk)
        if archive is not None:
            found.append(archive)
    return found


def finding(damage: Damage, environments: list[str], fix: str) -> Finding:
    """The cache-corrupt finding for one damage, naming the environments that share it."""
    package = damage.package
    detail, what, expected, actual = damage.difference
    message = what
    if detail == "missing":
        message = "missing from the extracted package: conda cannot install it from this cache"
    elif damage.in_archive:
        message += ": conda extracts this archive again whenever the extracted folder is gone"
    elif detail == "metadata":
        message = f"{what}: the package in this cache cannot be checked, nor repaired from"
    if damage.shared_content:
        if environments:
            count = len(environments)
            message += (
                f"; {count} environment{'s' if count != 1 else ''} share{'' if count != 1 else 's'}"
                " this file by hard link and hold the same damaged content"
            )
        else:
            message += "; no environment shares this file by hard link"
        message += (
            " (a file edited in place in one environment damages the package cache"
            " and every environment linked to it)"
        )
    extra: dict[str, Any] = {"pkgs_dir": package.pkgs_dir, "environments": environments}
    if expected or actual:
        extra["expected"] = {k: v for k, v in expected.items() if v is not None}
        extra["actual"] = actual
    return CHECK.finding(
        message, package=package.name, path=damage.path, detail=detail, extra=extra, fix=fix
    )


# run by ``verify --pkgs-dirs`` (:mod:`conda_integrity.pkgs_dirs.run`) on what it read
CHECK = Check(code="cache-corrupt", severity=ERROR, scope=PACKAGE_CACHE, order=160)
