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

import os
import stat
from dataclasses import dataclass, field
from typing import Any

from ..records.model import (
    DIRECTORY,
    FILE,
    LISTED,
    MAX_RECORD_BYTES,
    SYMLINK,
    OwnedPath,
    PathLimits,
    impossible_path,
    path_entry_problem,
    shown_value,
    unsafe_path,
)
from ..safe_read import ABSENT, NotAFolder, opened_below, read_file, read_json

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


def _read_json(info: tuple[str, int | None], name: str) -> tuple[Any, str | None]:
    """(parsed, None) or (None, why not) for the metadata file ``name`` in the open
    ``info/`` folder: read as the prefix's records are (:mod:`..safe_read`)."""
    folder, fd = info
    read = read_json(
        name if fd is not None else os.path.join(folder, name), MAX_RECORD_BYTES, dir_fd=fd
    )
    if read.problem == ABSENT:
        return None, "is missing"
    return read.value, read.problem


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
        if _holds_metadata(info):
            package = CachedPackage(pkgs_dir, name)
            if archive is not None:
                package.archive = os.path.join(pkgs_dir, archive)
            scan.packages.append(package)
        elif archive is not None or os.path.lexists(info):
            scan.skipped.append(
                (
                    name,
                    "a half-extracted package without info/index.json "
                    "(conda ignores it, or extracts the archive again)",
                )
            )
    return scan


def _holds_metadata(info: str) -> bool:
    """Whether ``info`` makes its folder an extracted package: it has ``index.json``
    (as conda sees it), or it is no plain folder (a symlink, a FIFO), which is read
    no further and reported."""
    try:
        mode = os.lstat(info).st_mode
    except OSError:
        return False
    return not stat.S_ISDIR(mode) or os.path.lexists(os.path.join(info, "index.json"))


def read_package_metadata(package: CachedPackage) -> None:
    """Fill in what ``info/`` says the package holds; damage goes to ``metadata_problem``.

    ``info/`` and its files are read as the prefix's records are: never through a
    symlink (``info/`` itself included), never a FIFO or device, size and nesting
    bounded; every field the check uses has the type and form conda gives it.
    """
    try:
        with opened_below(package.pkgs_dir, (package.name, "info")) as info:
            _read_metadata(package, info)
    except NotAFolder as error:
        if error.part == "info":
            package.metadata_problem = ("info", error.problem)
        else:  # the package's folder became something else since the listing
            package.metadata_problem = ("info", f"cannot be reached: its folder {error.problem}")
    except OSError as error:
        package.metadata_problem = ("info", f"cannot be read: {error.strerror or error}")


def _read_metadata(package: CachedPackage, info: tuple[str, int | None]) -> None:
    index, problem = _read_json(info, "index.json")
    if problem is None:
        problem = _fields_problem(index, _INDEX_FIELDS)
    if problem is not None:
        package.metadata_problem = ("info/index.json", problem)
        return
    package.index = index
    record, problem = _read_json(info, "repodata_record.json")
    if problem == "is missing":  # conda writes it last: an extraction without it
        record = None
    elif problem is None:
        problem = _fields_problem(record, _RECORD_FIELDS)
    if problem is not None:
        package.metadata_problem = ("info/repodata_record.json", problem)
        return
    package.repodata_record = record
    if record is not None:
        fn = record.get("fn")
        # the archive conda downloaded: the record names it (whatever is there: an
        # archive that is no regular file is damage, not an absent archive)
        if isinstance(fn, str) and os.path.basename(fn) == fn and fn.endswith(ARCHIVE_EXTENSIONS):
            archive = os.path.join(package.pkgs_dir, fn)
            package.archive = archive if os.path.lexists(archive) else None
    paths, problem = _read_json(info, "paths.json")
    if problem == "is missing":
        _read_files_list(package, info)
        return
    if problem is not None:
        package.metadata_problem = ("info/paths.json", problem)
        return
    try:
        package.paths = _paths_json_entries(paths, PathLimits.of(package.pkgs_dir))
    except ValueError as error:
        package.metadata_problem = ("info/paths.json", str(error))


#: what the fields the checks use must be, where they are given (null: not given)
_TEXT, _HEX64, _HEX32, _BYTES = "text", "64 hex digits", "32 hex digits", "a whole number of bytes"
_INDEX_FIELDS = {"name": _TEXT, "version": _TEXT, "build": _TEXT}
_RECORD_FIELDS = {**_INDEX_FIELDS, "fn": _TEXT, "sha256": _HEX64, "md5": _HEX32, "size": _BYTES}


def _fields_problem(data: Any, fields: dict[str, str]) -> str | None:
    """Why a metadata object cannot be true (not an object, a field of another
    type or form than conda gives it), or None."""
    if not isinstance(data, dict):
        return f"holds {shown_value(data)}, not a JSON object"
    for key, expected in fields.items():
        value = data.get(key)
        if value is None or (value == "" and expected in (_HEX64, _HEX32)):
            continue
        if expected == _BYTES:
            good = type(value) is int and value >= 0
        elif not isinstance(value, str):
            good = False
        elif expected == _TEXT:
            good = bool(value)
        else:
            good = len(value) == (64 if expected == _HEX64 else 32) and _HEX.issuperset(
                value.lower()
            )
        if not good:
            return f"gives {key!r} as {shown_value(value)}, not {expected}"
    return None


def _read_files_list(package: CachedPackage, info: tuple[str, int | None]) -> None:
    """Packages built before paths.json: ``info/files`` lists the paths, nothing more."""
    folder, fd = info
    read = read_file(
        "files" if fd is not None else os.path.join(folder, "files"), MAX_RECORD_BYTES, dir_fd=fd
    )
    if read.problem == ABSENT:
        package.metadata_problem = (
            "info/paths.json",
            "is missing, and so is info/files: conda cannot tell what the package holds",
        )
        return
    if read.data is None:
        package.metadata_problem = ("info/files", read.problem or "cannot be read")
        return
    lines = read.data.decode("utf-8", "surrogateescape").splitlines()
    limits = PathLimits.of(package.pkgs_dir)
    paths = []
    for line in lines:
        if not line:
            continue
        reason = unsafe_path(line) or impossible_path(line, limits)
        if reason:
            package.metadata_problem = ("info/files", f"lists {shown_value(line)}, {reason}")
            return
        paths.append(OwnedPath(line, LISTED, source=line))
    package.paths = tuple(paths)


def _paths_json_entries(data: Any, limits: PathLimits) -> tuple[OwnedPath, ...]:
    if not isinstance(data, dict) or not isinstance(data.get("paths"), list):
        raise ValueError("has no list of paths")
    entries = []
    for number, entry in enumerate(data["paths"]):
        problem = path_entry_problem(entry, number)
        if problem is not None:
            raise ValueError(problem)
        path = entry["_path"]
        reason = unsafe_path(path) or impossible_path(path, limits)
        if reason:
            raise ValueError(f"lists {shown_value(path)}, {reason}")
        path_type = entry.get("path_type", "hardlink")
        if path_type not in _KINDS:  # conda's, but not of a package (pyc, entry points)
            raise ValueError(f"gives {shown_value(path)} the path_type {path_type!r} of no package")
        kind = _KINDS[path_type]
        sha256, size = entry.get("sha256"), entry.get("size_in_bytes")
        if kind != FILE:  # what builders record for links and folders varies: not compared
            sha256 = size = None
        entries.append(OwnedPath(path, kind, sha256 and sha256.lower(), size, source=path))
    return tuple(entries)
