"""cache-corrupt: a cached package that differs from its own metadata.

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
from typing import Any, NamedTuple

from ..checks.altered_file import content_difference, kind_of
from ..findings import CACHE_CORRUPT, ERROR, UNREADABLE, WARNING, Finding
from ..records.model import DIRECTORY, FILE, SYMLINK, OwnedPath
from .observe import CacheDisk, archive_digest_of, archive_size_of
from .scan import CachedPackage

_EXPECTED_KIND = {FILE: "file", SYMLINK: "symlink", DIRECTORY: "directory"}


class Damage(NamedTuple):
    """One way a cached package differs from its metadata."""

    package: CachedPackage
    #: relative to the package's folder; the archive's name for the archive
    path: str
    detail: str
    #: the words, without the package's name
    what: str
    expected: dict[str, Any]
    actual: dict[str, Any]
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
        return not self.in_archive and self.detail in ("size", "sha256")


def _judge_path(
    package: CachedPackage, owned: OwnedPath, disk: CacheDisk
) -> tuple[str, str, dict, dict] | None:
    full = os.path.join(package.folder, owned.path)
    info = disk.stats.get(full)
    if info is None:
        if full in disk.errors:
            return None  # reported as unreadable
        return "missing", "missing", {}, {}
    actual_kind = kind_of(info.st_mode)
    expected_kind = _EXPECTED_KIND.get(owned.kind)
    if expected_kind is not None and actual_kind != expected_kind:
        return (
            "type",
            f"is a {actual_kind}, not a {expected_kind}",
            {"type": expected_kind},
            {"type": actual_kind},
        )
    if owned.kind == SYMLINK:
        expected_target = disk.archive_links.get(package.folder, {}).get(owned.path)
        target = disk.link_targets.get(full)
        if expected_target is not None and target is not None and target != expected_target:
            return (
                "symlink-target",
                f"points to {target}, not {expected_target}",
                {"target": expected_target},
                {"target": target},
            )
        return None
    if owned.kind != FILE:
        return None
    differs = "content differs from info/paths.json"
    return content_difference(owned, info.st_size, disk.digests.get(full), differs)


def _judge_archive(package: CachedPackage, disk: CacheDisk) -> Damage | None:
    archive = package.archive
    if archive is None or package.repodata_record is None:
        return None
    name = os.path.basename(archive)
    info = disk.stats.get(archive)
    if info is None:
        return None  # gone since the scan, or unreadable (reported as such)
    size = archive_size_of(package)
    if size is not None and info.st_size != size:
        return Damage(
            package,
            name,
            "size",
            f"is {info.st_size} bytes, not {size} (info/repodata_record.json)",
            {"size": size},
            {"size": info.st_size},
            in_archive=True,
        )
    expected = archive_digest_of(package)
    actual = disk.digests.get(archive)
    if expected is not None and actual is not None and actual != expected[1]:
        algorithm = expected[0]
        return Damage(
            package,
            name,
            algorithm,
            f"{algorithm} differs from info/repodata_record.json",
            {algorithm: expected[1], "size": size},
            {algorithm: actual, "size": info.st_size},
            in_archive=True,
        )
    return None


def damages(packages: list[CachedPackage], disk: CacheDisk) -> list[Damage]:
    """Every way the cached packages differ from their own metadata."""
    found = []
    for package in packages:
        if package.metadata_problem is not None:
            file, reason = package.metadata_problem
            found.append(Damage(package, file, "metadata", reason, {}, {}))
        for owned in package.paths:
            judged = _judge_path(package, owned, disk)
            if judged is not None:
                found.append(Damage(package, owned.path, *judged))
        archive = _judge_archive(package, disk)
        if archive is not None:
            found.append(archive)
    return found


def unreadable(packages: list[CachedPackage], disk: CacheDisk) -> list[Finding]:
    """A warning for each cached path that could not be examined."""
    found = []
    for package in packages:
        places = [(owned.path, os.path.join(package.folder, owned.path)) for owned in package.paths]
        if package.archive is not None:
            places.append((os.path.basename(package.archive), package.archive))
        for path, full in places:
            reason = disk.errors.get(full)
            if reason is not None:
                found.append(
                    Finding(
                        UNREADABLE,
                        WARNING,
                        f"could not be examined: {reason}",
                        package=package.name,
                        path=path,
                        extra={"pkgs_dir": package.pkgs_dir},
                    )
                )
    return found


def finding(damage: Damage, environments: list[str], fix: str) -> Finding:
    """The cache-corrupt finding for one damage, naming the environments that share it."""
    package = damage.package
    message = damage.what
    if damage.detail == "missing":
        message = "missing from the extracted package: conda cannot install it from this cache"
    elif damage.in_archive:
        message += ": conda extracts this archive again whenever the extracted folder is gone"
    elif damage.detail == "metadata":
        message = f"{damage.what}: conda cannot install the package from this cache"
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
    if damage.expected or damage.actual:
        extra["expected"] = {k: v for k, v in damage.expected.items() if v is not None}
        extra["actual"] = damage.actual
    extra["fix"] = fix
    return Finding(
        CACHE_CORRUPT,
        ERROR,
        message,
        package=package.name,
        path=damage.path,
        detail=damage.detail,
        extra=extra,
    )
