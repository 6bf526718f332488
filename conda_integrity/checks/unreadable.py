"""unreadable: a path the check could not examine; the run goes on without it.

That includes the Python metadata other installers wrote in site-packages
(``RECORD``, ``METADATA``, ``INSTALLER``, ``*.egg-info``) when it is not a regular
file inside the environment, is too large, or is not what pip could parse: the
distribution is then judged from what could be read.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

from ..findings import WARNING, Finding
from ..observe.cached_files import CacheDisk
from ..observe.cached_packages import CachedPackage
from ..observe.prefix_state import PrefixState
from .base import RECORD, Check


def check(state: PrefixState) -> Iterator[Finding]:
    for bad in state.bad_records:
        if bad.unreadable:
            yield CHECK.finding(f"the record {bad.reason}", package=bad.stem, path=bad.file)
    owners = state.owners
    for path, reason in sorted(state.disk.errors.items()):
        holders = owners.get(path, ())
        package = holders[0][0].stem if len(holders) == 1 else None
        yield CHECK.finding(f"cannot be checked: {reason}", package=package, path=path)
    if state.tree is not None:
        for folder, reason in sorted(state.tree.errors.items()):
            yield CHECK.finding(f"folder cannot be listed: {reason}", path=folder or ".")
    if state.site_packages is not None and state.whole:
        for path, reason in sorted(state.site_packages.unread.items()):
            yield CHECK.finding(f"not read: it {reason}", path=path)


def in_package_caches(packages: list[CachedPackage], disk: CacheDisk) -> list[Finding]:
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
                    CHECK.finding(
                        f"could not be examined: {reason}",
                        package=package.name,
                        path=path,
                        extra={"pkgs_dir": package.pkgs_dir},
                    )
                )
    return found


CHECK = Check(code="unreadable", severity=WARNING, scope=RECORD, order=90, run=check)
