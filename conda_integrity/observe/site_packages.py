"""The Python distributions in the environment's site-packages, and which of
them conda did not install.

A distribution is conda's when a conda record owns its metadata (the files of
its ``*.dist-info`` or ``*.egg-info``); any other one was put there by pip, uv,
``setup.py install`` or by hand. For those, verify reads ``INSTALLER``,
``METADATA`` (or ``PKG-INFO``) and the list of files they installed (``RECORD``,
or an egg's ``installed-files.txt``), and notes which of those files conda
records own: that is what the pip-overlap check reports.

conda's own reading of site-packages (``PrefixData`` with pip interoperability)
is never used: when pip removed a conda package's metadata it deletes that
package's record (conda issue #14423).

The result is kept in a memo (``conda-meta/integrity/site-packages.json``) with the
key of the record files, of the site-packages folder (any distribution added,
removed or renamed changes its ctime) and of each foreign distribution's folder.
"""

from __future__ import annotations

import csv
import io
import os
import posixpath
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from ..store import memo

MEMO = "site-packages.json"
_METADATA_DIRS = (".dist-info", ".egg-info")


def canonical_name(name: str) -> str:
    """A project name normalized as PEP 503 says (``Foo_Bar.baz`` -> ``foo-bar-baz``)."""
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass(frozen=True)
class Distribution:
    """One ``*.dist-info`` or ``*.egg-info`` of site-packages."""

    #: the metadata folder (or egg-info file), relative to the prefix
    path: str
    #: the project name as its metadata writes it
    name: str
    version: str
    #: the stem of the conda record that owns its metadata; None: not installed by conda
    conda_record: str | None = None
    #: the first line of INSTALLER ("pip", "uv", "conda"); None when there is none
    installer: str | None = None
    #: files it lists (RECORD, installed-files.txt) that conda records own, by record
    #: stem; only for distributions conda did not install
    conda_files: dict[str, list[str]] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return canonical_name(self.name)


@dataclass(frozen=True)
class SitePackages:
    """The distributions of the environment's site-packages."""

    path: str
    distributions: tuple[Distribution, ...] = ()

    @property
    def foreign(self) -> tuple[Distribution, ...]:
        return tuple(d for d in self.distributions if d.conda_record is None)


def _key(info: os.stat_result) -> list[int]:
    return [info.st_ino, info.st_ctime_ns]


def observe_site_packages(
    prefix: str,
    site_packages: str,
    owners: Callable[[], dict[str, str]],
    records_key: str,
    settled_ns: int,
    reuse: bool,
    save: bool,
) -> SitePackages | None:
    """The distributions of ``site_packages`` (relative to the prefix); None when
    there is no such folder. ``owners`` gives each path conda records own, with
    the stem of its record; it is called only when the folder must be read."""
    full = os.path.join(prefix, site_packages)
    try:
        info = os.lstat(full)
    except OSError:
        return None
    kept = memo.load(prefix, MEMO, [records_key, _key(info)]) if reuse else None
    if isinstance(kept, dict):
        found = _from_json(site_packages, kept, prefix)
        if found is not None:
            return found
    found, settled = _scan(prefix, site_packages, owners(), settled_ns)
    if save and settled and info.st_ctime_ns < settled_ns:
        memo.save(prefix, MEMO, [records_key, _key(info)], _to_json(found, prefix))
    return found


def _scan(
    prefix: str, site_packages: str, owners: dict[str, str], settled_ns: int
) -> tuple[SitePackages, bool]:
    full = os.path.join(prefix, site_packages)
    distributions = []
    settled = True
    try:
        names = sorted(os.listdir(full))
    except OSError:
        return SitePackages(site_packages), False
    for name in names:
        if not name.endswith(_METADATA_DIRS):
            continue
        path = f"{site_packages}/{name}"
        owner = _conda_owner(path, owners)
        project, version = _from_folder_name(name)
        if owner is not None:
            distributions.append(Distribution(path, project, version, conda_record=owner))
            continue
        try:
            settled = settled and os.lstat(os.path.join(prefix, path)).st_ctime_ns < settled_ns
        except OSError:
            continue
        distributions.append(_foreign(prefix, site_packages, path, project, version, owners))
    return SitePackages(site_packages, tuple(distributions)), settled


def _conda_owner(path: str, owners: dict[str, str]) -> str | None:
    if path in owners:  # an egg-info file
        return owners[path]
    for anchor in ("RECORD", "METADATA", "INSTALLER", "PKG-INFO", "WHEEL"):
        owner = owners.get(f"{path}/{anchor}")
        if owner is not None:
            return owner
    return None


def _from_folder_name(name: str) -> tuple[str, str]:
    stem = name.rsplit(".", 1)[0]
    project, _, rest = stem.partition("-")
    return project, rest.split("-", 1)[0]


def _read_text(path: str, limit: int = 16 * 1024 * 1024) -> str | None:
    try:
        with open(path, "rb") as handle:
            return handle.read(limit).decode("utf-8", "replace")
    except OSError:
        return None


def _foreign(
    prefix: str,
    site_packages: str,
    path: str,
    project: str,
    version: str,
    owners: dict[str, str],
) -> Distribution:
    full = os.path.join(prefix, path)
    is_folder = os.path.isdir(full)
    metadata = (
        _read_text(os.path.join(full, "METADATA" if path.endswith(".dist-info") else "PKG-INFO"))
        if is_folder
        else _read_text(full)
    )
    if metadata:
        headers = _headers(metadata)
        project = headers.get("name", project)
        version = headers.get("version", version)
    installer = None
    listed: list[str] = []
    if is_folder:
        text = _read_text(os.path.join(full, "INSTALLER"))
        installer = text.strip().splitlines()[0].strip() if text and text.strip() else None
        if path.endswith(".dist-info"):
            listed = _record_paths(_read_text(os.path.join(full, "RECORD")) or "", site_packages)
        else:
            listed = _egg_paths(_read_text(os.path.join(full, "installed-files.txt")) or "", path)
    conda_files: dict[str, list[str]] = {}
    for item in listed:
        if item.endswith(".pyc"):
            continue  # bytecode follows its source: the source is what counts
        owner = owners.get(item)
        if owner is not None:
            conda_files.setdefault(owner, []).append(item)
    return Distribution(path, project, version, None, installer, conda_files)


def _headers(metadata: str) -> dict[str, str]:
    headers: dict[str, str] = {}
    for line in metadata.splitlines():
        if not line.strip():
            break  # the body (the long description) starts here
        key, sep, value = line.partition(":")
        if sep and key.lower() in ("name", "version") and key.lower() not in headers:
            headers[key.lower()] = value.strip()
    return headers


def _inside(base: str, relative: str) -> str | None:
    path = posixpath.normpath(posixpath.join(base, relative.replace("\\", "/")))
    if path.startswith(("../", "/")) or path in ("..", "."):
        return None
    return path


def _record_paths(record: str, site_packages: str) -> list[str]:
    paths = []
    for row in csv.reader(io.StringIO(record)):
        if row and row[0]:
            path = _inside(site_packages, row[0])
            if path is not None:
                paths.append(path)
    return paths


def _egg_paths(listing: str, egg_info: str) -> list[str]:
    paths = []
    for line in listing.splitlines():
        if line.strip():
            path = _inside(egg_info, line.strip())
            if path is not None:
                paths.append(path)
    return paths


def _to_json(found: SitePackages, prefix: str) -> dict[str, Any]:
    foreign = {}
    for distribution in found.foreign:
        try:
            foreign[distribution.path] = _key(os.lstat(os.path.join(prefix, distribution.path)))
        except OSError:
            foreign[distribution.path] = [0, 0]
    return {"distributions": [asdict(d) for d in found.distributions], "foreign": foreign}


def _from_json(site_packages: str, data: dict[str, Any], prefix: str) -> SitePackages | None:
    """The remembered distributions, unless a foreign one's folder changed since."""
    try:
        for path, key in data["foreign"].items():
            try:
                if _key(os.lstat(os.path.join(prefix, path))) != key:
                    return None
            except OSError:
                return None
        return SitePackages(
            site_packages, tuple(Distribution(**item) for item in data["distributions"])
        )
    except (TypeError, KeyError, AttributeError):
        return None
