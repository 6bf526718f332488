"""Which environments share a file of the package cache by hard link.

conda hard-links a package's files from the package cache into each
environment, so the cache and those environments hold one inode: a file edited
in place in any of them is edited in all of them. For a damaged cached file,
only the environments that have that package installed can share it, and only
at the path their record gives it: that path is looked at (one ``lstat``), not
every file of every environment.
"""

from __future__ import annotations

import os
from typing import NamedTuple

from ..records.reader import not_an_environment, read_records


class CachedInode(NamedTuple):
    """A file of the package cache: which package, which path in it, which inode."""

    package: str  # the extracted folder's name: the record stem in an environment
    path: str  # relative to the extracted folder (the package's own path)
    dev: int
    ino: int


def environments_sharing(
    files: list[CachedInode], prefixes: list[str]
) -> dict[CachedInode, list[str]]:
    """For each cached file, the prefixes whose file at that path is the same inode."""
    sharing: dict[CachedInode, list[str]] = {file: [] for file in files}
    by_package: dict[str, list[CachedInode]] = {}
    for file in files:
        by_package.setdefault(file.package, []).append(file)
    for prefix in prefixes:
        if not_an_environment(prefix) is not None:
            continue
        meta = os.path.join(prefix, "conda-meta")
        for package, cached in by_package.items():
            if not os.path.isfile(os.path.join(meta, package + ".json")):
                continue  # not installed here: nothing of it can be linked here
            records, _ = read_records(prefix, [package])
            where = {
                owned.source: owned.path
                for record in records
                for owned in record.paths
                if owned.source is not None
            }
            for file in cached:
                path = where.get(file.path)
                if path is None:
                    continue
                try:
                    info = os.lstat(os.path.join(prefix, path))
                except OSError:
                    continue
                if (info.st_dev, info.st_ino) == (file.dev, file.ino):
                    sharing[file].append(prefix)
    return sharing
