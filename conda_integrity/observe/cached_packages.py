"""What a package cache (one of conda's ``pkgs_dirs``) holds, read without writing.

conda's own ``PackageCacheData`` is not used: loading it creates missing
caches, deletes archives it finds damaged and re-extracts half-extracted
packages, and this check writes nothing outside a prefix. The same rules are
followed here, read-only:

- an extracted package is a folder with ``info/index.json`` (conda ignores
  other folders, and symlinks); what it should hold is ``info/paths.json``, or
  for packages older than ``paths.json``, the list ``info/files``;
- its archive is ``<folder>.conda`` or ``<folder>.tar.bz2`` next to it;
  ``info/repodata_record.json``, which conda writes once the extraction is
  complete, says its size, sha256 and md5;
- ``*.c~`` entries are what conda moves aside while it replaces an archive or
  a folder; one left behind is debris of a conda run that did not finish;
- ``*.partial`` files are downloads in progress or interrupted (conda resumes
  them): not packages, nothing to check;
- a folder with an ``info/`` folder (or an archive of its name) but no
  ``info/index.json`` was cut off early in extraction: conda ignores it, or
  deletes it and extracts the archive again; nothing to check either.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

from ..records.model import DIRECTORY, FILE, LISTED, SYMLINK, OwnedPath, unsafe_path

ARCHIVE_EXTENSIONS = (".conda", ".tar.bz2")
HOLD_EXTENSION = ".c~"  # conda.base.constants.CONDA_TEMP_EXTENSION
PARTIAL_EXTENSION = ".partial"
_HEX = frozenset("0123456789abcdef")
_KINDS = {"hardlink": FILE, "softlink": SYMLINK, "directory": DIRECTORY}


@dataclass(eq=False)
class CachedPackage:
    """One extracted package of a cache, and what its ``info/`` says it holds."""

    pkgs_dir: str
    #: the folder's name: the package's name-version-build
    name: str
    #: what the package holds (``path`` relative to the folder); empty when unknown
    paths: tuple[OwnedPath, ...] = ()
    #: why the package's own metadata cannot be used (a damaged paths.json, ...)
    metadata_problem: tuple[str, str] | None = None  # (file, reason)
    #: info/repodata_record.json, when it is there and parses
    repodata_record: dict[str, Any] | None = None
    #: info/index.json
    index: dict[str, Any] = field(default_factory=dict)
    #: the archive next to the folder, if any
    archive: str | None = None

    @property
    def folder(self) -> str:
        return os.path.join(self.pkgs_dir, self.name)

    @property
    def package_name(self) -> str | None:
        """The package's name, from its own metadata."""
        name = (self.repodata_record or self.index).get("name")
        return name if isinstance(name, str) and name else None

    @property
    def exact_spec(self) -> str | None:
        """``name=version=build`` of the package, from its own metadata."""
        source = self.repodata_record or self.index
        parts = [source.get(key) for key in ("name", "version", "build")]
        if all(isinstance(part, str) and part for part in parts):
            return "=".join(parts)  # type: ignore[arg-type]
        return None


@dataclass
class CacheScan:
    """The entries of one pkgs dir, sorted by what they are."""

    pkgs_dir: str
    packages: list[CachedPackage] = field(default_factory=list)
    #: ``*.c~`` entries left behind by a conda run
    holds: list[str] = field(default_factory=list)
    #: (entry name, reason) of what is not checked
    skipped: list[tuple[str, str]] = field(default_factory=list)
    #: why the folder itself could not be read (None: it was read)
    unreadable: str | None = None


def _read_json(path: str) -> tuple[Any, str | None]:
    """(parsed, None) or (None, why not) for a metadata file."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except FileNotFoundError:
        return None, "is missing"
    except OSError as error:
        return None, f"cannot be read: {error.strerror or error}"
    try:
        return json.loads(data), None
    except (UnicodeDecodeError, ValueError) as error:
        return None, f"is not valid JSON ({error})"


def scan_pkgs_dir(pkgs_dir: str) -> CacheScan:
    """List one package cache; nothing is read inside the packages yet."""
    scan = CacheScan(pkgs_dir)
    try:
        with os.scandir(pkgs_dir) as entries:
            names = {entry.name: entry for entry in entries}
    except OSError as error:
        scan.unreadable = error.strerror or str(error)
        return scan
    for name in sorted(names):
        entry = names[name]
        if name.endswith(HOLD_EXTENSION):
            scan.holds.append(name)
            continue
        if name.endswith(PARTIAL_EXTENSION):
            scan.skipped.append((name, "an unfinished download (conda resumes or restarts it)"))
            continue
        try:
            if entry.is_symlink() or not entry.is_dir():
                continue
        except OSError:
            continue
        info = os.path.join(entry.path, "info")
        archive = next(
            (name + ext for ext in ARCHIVE_EXTENSIONS if name + ext in names),
            None,
        )
        if os.path.isfile(os.path.join(info, "index.json")):
            package = CachedPackage(pkgs_dir, name)
            if archive is not None:
                package.archive = os.path.join(pkgs_dir, archive)
            scan.packages.append(package)
        elif archive is not None or os.path.isdir(info):
            scan.skipped.append(
                (
                    name,
                    "a half-extracted package without info/index.json "
                    "(conda ignores it, or extracts the archive again)",
                )
            )
    return scan


def read_package_metadata(package: CachedPackage) -> None:
    """Fill in what ``info/`` says the package holds; damage goes to ``metadata_problem``."""
    info = os.path.join(package.folder, "info")
    index, problem = _read_json(os.path.join(info, "index.json"))
    if problem is not None or not isinstance(index, dict):
        package.metadata_problem = ("info/index.json", problem or "is not a JSON object")
        return
    package.index = index
    record, problem = _read_json(os.path.join(info, "repodata_record.json"))
    package.repodata_record = record if problem is None and isinstance(record, dict) else None
    if package.repodata_record is not None:
        fn = package.repodata_record.get("fn")
        # the archive conda downloaded: the record names it
        if isinstance(fn, str) and os.path.basename(fn) == fn and fn.endswith(ARCHIVE_EXTENSIONS):
            archive = os.path.join(package.pkgs_dir, fn)
            package.archive = archive if os.path.isfile(archive) else None
    paths, problem = _read_json(os.path.join(info, "paths.json"))
    if problem == "is missing":
        _read_files_list(package, info)
        return
    if problem is not None:
        package.metadata_problem = ("info/paths.json", problem)
        return
    try:
        package.paths = _paths_json_entries(paths)
    except ValueError as error:
        package.metadata_problem = ("info/paths.json", str(error))


def _read_files_list(package: CachedPackage, info: str) -> None:
    """Packages built before paths.json: ``info/files`` lists the paths, nothing more."""
    try:
        with open(os.path.join(info, "files"), encoding="utf-8", errors="surrogateescape") as f:
            lines = [line.rstrip("\r\n") for line in f]
    except FileNotFoundError:
        package.metadata_problem = (
            "info/paths.json",
            "is missing, and so is info/files: conda cannot tell what the package holds",
        )
        return
    except OSError as error:
        package.metadata_problem = ("info/files", f"cannot be read: {error.strerror or error}")
        return
    paths = []
    for line in lines:
        if not line:
            continue
        reason = unsafe_path(line)
        if reason:
            package.metadata_problem = ("info/files", f"lists {line!r}, {reason}")
            return
        paths.append(OwnedPath(line, LISTED, source=line))
    package.paths = tuple(paths)


def _paths_json_entries(data: Any) -> tuple[OwnedPath, ...]:
    if not isinstance(data, dict) or not isinstance(data.get("paths"), list):
        raise ValueError("has no list of paths")
    entries = []
    for entry in data["paths"]:
        path = entry.get("_path") if isinstance(entry, dict) else None
        if not isinstance(path, str):
            raise ValueError("has an entry without a '_path'")
        reason = unsafe_path(path)
        if reason:
            raise ValueError(f"lists {path!r}, {reason}")
        kind = _KINDS.get(entry.get("path_type", "hardlink"), LISTED)
        sha256 = entry.get("sha256")
        if not (isinstance(sha256, str) and len(sha256) == 64 and _HEX.issuperset(sha256.lower())):
            sha256 = None
        size = entry.get("size_in_bytes")
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            size = None
        if kind != FILE:  # what builders record for links and folders varies: not compared
            sha256 = size = None
        entries.append(OwnedPath(path, kind, sha256 and sha256.lower(), size, source=path))
    return tuple(entries)
