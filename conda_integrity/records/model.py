"""Read ``conda-meta/*.json`` records as conda wrote them.

The raw JSON is read rather than conda's ``PrefixRecord``: records loaded by
conda <= 25.11 drop ``sha256``, ``sha256_in_prefix`` and ``size_in_bytes``,
and loading ``PrefixData`` with pip interoperability on can delete records.
(conda's model still judges whether conda can load a record:
:mod:`.conda_verdict`.)

Each record becomes a :class:`Record` whose :class:`OwnedPath` entries say
what conda put at each path of the prefix, already mapped to where it is in
the prefix (noarch python files are recorded under their package path,
``site-packages/...``, but live in the environment's site-packages).

conda is not the only writer of records, and each entry is judged by what it
states, in the words of the tool that wrote it:

- conda: noarch paths as package paths; ``sha256_in_prefix`` on every file and
  softlink (a softlink's is the packaged content of its target); no hash for
  entry points.
- mamba (its linker, ``libmamba/src/core/link.cpp``): noarch paths as installed
  paths; ``sha256_in_prefix`` always written, a softlink's being the content
  its target resolves to (checked on the target itself); no
  ``prefix_placeholder`` or ``file_mode``, and ``size_in_bytes`` of a
  prefix-replaced file is the package's: a ``sha256_in_prefix`` unlike the
  package's ``sha256`` is what tells that the file was rewritten, and its size
  is not compared.
- rattler (pixi, py-rattler; ``rattler/src/install/link.rs``): noarch paths as
  installed paths; ``sha256_in_prefix`` left out when it equals ``sha256`` (also
  for prefix-replaced files); a softlink's ``sha256_in_prefix`` is the SHA-256 of
  its target *string*; entry points with their hash and size; a file that lost a
  clobber renamed to ``__clobbers__/...`` with its package path in
  ``original_path``; ``requested_specs`` (a list) and no ``requested_spec``.
"""

from __future__ import annotations

import codecs
import json
import os
import re
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from ..safe_read import ABSENT, TOO_DEEP, parse_json, read_file

# The kinds of owned path, after conda's path types
FILE = "file"  # hardlink or copy of a regular file (path_type "hardlink")
SYMLINK = "softlink"
DIRECTORY = "directory"
PYC = "pyc_file"
ENTRY_POINT = "entry_point"
LISTED = "listed"  # only in "files": the record says nothing more (conda < 4.4)

_ENTRY_POINT_TYPES = {
    "unix_python_entry_point",
    "windows_python_entry_point_script",
    "windows_python_entry_point_exe",
}
_PATH_TYPES = frozenset({"hardlink", "softlink", "directory", "pyc_file", *_ENTRY_POINT_TYPES})
_HEX = frozenset("0123456789abcdef")
#: the subdir whose binary prefix-replaced files conda signs again on a Mac, which
#: changes their size from the package's one it records (:mod:`..observe.resigned`)
SIGNED_SUBDIR = "osx-arm64"
_WINDOWS = os.name == "nt"

#: the largest record read: the largest in a 44,000-file environment of torch,
#: jax, pandas and more (torch's, 14,617 paths) is 6.6 MB; this is 20 times that
MAX_RECORD_BYTES = 128 * 1024 * 1024
#: byte-order marks conda never writes (UTF-32 before UTF-16: FF FE 00 00 starts with FF FE)
_BOMS = (
    (codecs.BOM_UTF8, "starts with a UTF-8 byte-order mark"),
    (codecs.BOM_UTF32_LE, "is UTF-32 text (it starts with a byte-order mark)"),
    (codecs.BOM_UTF32_BE, "is UTF-32 text (it starts with a byte-order mark)"),
    (codecs.BOM_UTF16_LE, "is UTF-16 text (it starts with a byte-order mark)"),
    (codecs.BOM_UTF16_BE, "is UTF-16 text (it starts with a byte-order mark)"),
)
_NOT_UTF8 = "conda writes records as plain UTF-8, and conda 25 and older cannot load this one"


class OwnedPath(NamedTuple):
    """What a record says conda put at one path of the prefix.

    A NamedTuple rather than a dataclass: an environment has one per file, and
    tuples are several times cheaper to build.
    """

    path: str
    kind: str
    #: sha256 of the content in the prefix, when the record knows it
    sha256: str | None = None
    #: size in the prefix, when the record knows it (not for text-prefix files)
    size: int | None = None
    #: the path inside the package (the extracted package dir), if it came from there
    source: str | None = None
    #: "text" or "binary" when conda replaced a prefix placeholder in this file
    prefix_mode: str | None = None
    #: for a softlink rattler wrote: the SHA-256 of its target string
    target_sha256: str | None = None


@dataclass(frozen=True)
class Record:
    """One installed package, from its ``conda-meta/<name-version-build>.json``."""

    stem: str
    name: str
    version: str
    build: str
    subdir: str | None
    channel: str | None
    noarch: str | None
    depends: tuple[str, ...]
    constrains: tuple[str, ...]
    paths: tuple[OwnedPath, ...]
    extracted_package_dir: str | None
    package_tarball_full_path: str | None
    #: False for records written before conda 4.4, which list only "files"
    has_paths_data: bool
    raw: dict[str, Any] = field(repr=False, compare=False, default_factory=dict)

    @property
    def file(self) -> str:
        return f"conda-meta/{self.stem}.json"


@dataclass(frozen=True)
class BadRecord:
    """A ``conda-meta/*.json`` that cannot be used, and why."""

    file: str
    reason: str
    #: the file was gone by the time it was read (conda removing it meanwhile): a
    #: warning, not damage
    unreadable: bool = False

    @property
    def stem(self) -> str:
        return os.path.basename(self.file)[: -len(".json")]


class _Corrupt(Exception):
    pass


def written_by_rattler(raw: dict[str, Any]) -> bool:
    """Whether rattler (pixi, py-rattler) wrote this record: it writes the list
    ``requested_specs`` and never ``requested_spec``, which conda (with or without
    the list) and mamba write whenever a spec was asked for."""
    return isinstance(raw.get("requested_specs"), list) and "requested_spec" not in raw


def read_raw(path: str) -> dict[str, Any] | BadRecord:
    """Parse one record file; a file that does not parse becomes a BadRecord.

    Only a regular file of at most MAX_RECORD_BYTES is opened (never a symlink,
    FIFO or device), and only UTF-8 text is taken, as conda writes it.
    """
    data = read_record_bytes(path)
    if isinstance(data, BadRecord):
        return data
    return parse_raw(f"conda-meta/{os.path.basename(path)}", data)


def read_record_bytes(path: str) -> bytes | BadRecord:
    """The bytes of one record file, read as :func:`read_raw` reads them."""
    file = f"conda-meta/{os.path.basename(path)}"
    read = read_file(path, MAX_RECORD_BYTES)
    data = read.data
    if data is None:
        if read.problem == ABSENT:
            return BadRecord(file, "was removed while it was being read", unreadable=True)
        return BadRecord(file, not_read(path, read.problem))
    return data


def parse_raw(file: str, data: bytes) -> dict[str, Any] | BadRecord:
    """Parse the bytes of the record ``file`` (``conda-meta/NAME.json``)."""
    if not data.strip():
        return BadRecord(file, "is empty (conda was probably killed while writing it)")
    for bom, reason in _BOMS:
        if data.startswith(bom):
            return BadRecord(file, f"{reason}: {_NOT_UTF8}")
    if b"\x00" in data[:4]:  # JSON starts with ASCII: UTF-16 or UTF-32 without a mark
        return BadRecord(file, f"is UTF-16 or UTF-32 text (it has NUL bytes): {_NOT_UTF8}")
    # records are large: nesting bounded by the parser alone, no walk of every node
    parsed = parse_json(data, max_depth=None)
    if parsed.problem == TOO_DEEP:
        return BadRecord(file, f"{TOO_DEEP} (conda cannot either)")
    if parsed.problem is not None:
        return BadRecord(file, parsed.problem)
    raw = parsed.value
    if not isinstance(raw, dict):
        return BadRecord(file, f"holds a JSON {type(raw).__name__}, not an object")
    return raw


def not_read(path: str, problem: str | None) -> str:
    """Why ``path`` was not read, naming what a symlink points to (reading the link
    opens nothing)."""
    problem = problem or "cannot be read"
    if problem.startswith("is a symbolic link"):
        try:
            return f"is a symbolic link (to {os.readlink(path)}), which is never followed"
        except OSError:
            pass
    return problem


def python_site_packages(raws: list[dict[str, Any]]) -> str | None:
    """The environment's site-packages dir, relative to the prefix, from its python record."""
    from conda.common.path import get_major_minor_version, get_python_site_packages_short_path

    for raw in raws:
        if raw.get("name") != "python":
            continue
        declared = raw.get("python_site_packages_path")
        if isinstance(declared, str) and declared and _unsafe(declared) is None:
            return declared.rstrip("/")
        version = raw.get("version")
        if isinstance(version, str) and get_major_minor_version(version):
            return get_python_site_packages_short_path(get_major_minor_version(version))
    return None


class PathLimits(NamedTuple):
    """How long a path in the prefix may be on its file system, in bytes."""

    #: one name (a component of a path)
    name_bytes: int = 255
    #: a path relative to the prefix
    path_bytes: int = 4094

    @classmethod
    def of(cls, prefix: str) -> PathLimits:
        """The limits of the file system ``prefix`` is on."""
        try:
            name_max = os.pathconf(prefix, "PC_NAME_MAX")
            path_max = os.pathconf(prefix, "PC_PATH_MAX")
        except (AttributeError, OSError, ValueError):  # no pathconf (Windows), or no answer
            return cls()
        if name_max <= 0 or path_max <= 0:  # the file system sets no limit
            return cls(1 << 30, 1 << 30)
        # PATH_MAX counts the terminating NUL; the prefix and a "/" come first
        return cls(name_max, path_max - 1 - len(os.fsencode(prefix)) - 1)


#: the limits of a Linux file system (ext4, xfs, btrfs, tmpfs)
USUAL_LIMITS = PathLimits()


def build_record(
    stem: str, raw: dict[str, Any], site_packages: str | None, limits: PathLimits = USUAL_LIMITS
) -> Record | BadRecord:
    """Turn a parsed record into a :class:`Record`, or say why it is corrupt."""
    file = f"conda-meta/{stem}.json"
    try:
        return _build(stem, raw, site_packages, limits)
    except _Corrupt as reason:
        return BadRecord(file, str(reason))


def _build(stem: str, raw: dict[str, Any], site_packages: str | None, limits: PathLimits) -> Record:
    identity = {key: raw.get(key) for key in ("name", "version", "build")}
    missing = [key for key, value in identity.items() if not value]
    if missing:
        raise _Corrupt(f"lacks {', '.join(missing)}")
    if not all(isinstance(value, str) for value in identity.values()):
        raise _Corrupt("has a name, version or build that is not a string")
    name, version, build = (str(identity[key]) for key in ("name", "version", "build"))
    if stem != f"{name}-{version}-{build}":
        raise _Corrupt(f"is named {stem}.json but describes {name}-{version}-{build}")

    noarch = raw.get("noarch")
    if isinstance(noarch, dict):  # very old records: {"type": "python"}
        noarch = noarch.get("type")
    noarch = noarch if isinstance(noarch, str) else None

    files = raw.get("files", [])
    if not isinstance(files, list) or not all(isinstance(p, str) for p in files):
        raise _Corrupt("has a 'files' entry that is not a list of paths")
    paths_data = raw.get("paths_data")
    has_paths_data = paths_data is not None

    # paths_data says what each path is; "files" lists every path, and is all
    # there is in records of conda < 4.4 or written with safety_checks disabled
    entries: dict[str, OwnedPath] = {}
    if has_paths_data:
        relocate = _noarch_relocation(noarch, files, paths_data, site_packages)
        # a record names noarch files by package path (conda) or by installed path
        packaged = {} if relocate else _noarch_package_paths(noarch, paths_data, site_packages)
        rattler = written_by_rattler(raw)
        signed = raw.get("subdir") == SIGNED_SUBDIR
        for number, entry in enumerate(_paths_entries(paths_data)):
            _check_entry(entry, number)
            owned = _owned_path(entry, relocate, packaged, rattler, signed)
            entries[owned.path] = owned
    for path in files:
        if path not in entries:
            entries[path] = OwnedPath(path, LISTED)
    for owned in entries.values():
        for path in (owned.path, owned.source):
            reason = _unsafe(path) if path is not None else None
            if path is not None and reason is not None:
                raise _Corrupt(f"lists {_quoted(path)}, {reason}")
        reason = impossible_path(owned.path, limits)
        if reason:
            raise _Corrupt(f"lists {_quoted(owned.path)}, {reason}")

    return Record(
        stem=stem,
        name=name,
        version=version,
        build=build,
        subdir=_str_or_none(raw.get("subdir")),
        channel=_str_or_none(raw.get("channel")),
        noarch=noarch,
        depends=_str_tuple(raw.get("depends")),
        constrains=_str_tuple(raw.get("constrains")),
        paths=tuple(entries.values()),
        extracted_package_dir=_str_or_none(raw.get("extracted_package_dir")),
        package_tarball_full_path=_str_or_none(raw.get("package_tarball_full_path")),
        has_paths_data=has_paths_data,
        raw=raw,
    )


def _paths_entries(paths_data: Any) -> list[dict[str, Any]]:
    if not isinstance(paths_data, dict):
        raise _Corrupt(f"has a 'paths_data' that is {shown_value(paths_data)}, not an object")
    entries = paths_data.get("paths", [])
    if not isinstance(entries, list):
        raise _Corrupt(f"has a 'paths_data.paths' that is {shown_value(entries)}, not a list")
    for number, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise _Corrupt(f"has a paths_data entry ({number}) that is {shown_value(entry)}")
        path = entry.get("_path")
        if not isinstance(path, str):
            raise _Corrupt(f"gives paths_data entry {number} a '_path' that is {shown_value(path)}")
    return entries


#: the JSON types conda's model gives each field of a path entry (bool is not int here)
_ENTRY_FIELDS: dict[str, tuple[type, ...]] = {
    "_path": (str,),
    "path_type": (str,),
    "prefix_placeholder": (str, type(None)),
    "file_mode": (str, type(None)),
    "no_link": (bool, type(None)),
    "sha256": (str, type(None)),
    "sha256_in_prefix": (str, type(None)),
    "size_in_bytes": (int, type(None)),
    "inode_paths": (list, type(None)),
}
_EXPECTED = {
    "path_type": "one of conda's path types",
    "file_mode": "'text' or 'binary'",
    "no_link": "true or false",
    "size_in_bytes": "a whole number of bytes",
    "inode_paths": "a list of paths",
}


def path_entry_problem(entry: Any, number: int) -> str | None:
    """Why entry ``number`` of a package's ``info/paths.json`` cannot be true, or None:
    the checks each entry of a record's ``paths_data`` gets."""
    if not isinstance(entry, dict):
        return f"has an entry ({number}) that is {shown_value(entry)}"
    if not isinstance(entry.get("_path"), str):
        return f"gives entry {number} a '_path' that is {shown_value(entry.get('_path'))}"
    try:
        _check_entry(entry, number, "entry")
        _sha256_field(entry, "sha256")
    except _Corrupt as error:
        return str(error)
    return None


def _check_entry(entry: dict[str, Any], number: int, listing: str = "paths_data entry") -> None:
    """Every field conda defines for a path entry has the type conda gives it."""
    for key, value in entry.items():
        types = _ENTRY_FIELDS.get(key)
        if types is None:
            continue  # a field conda does not define: conda ignores it too
        if type(value) not in types:
            break
        if key == "path_type" and value not in _PATH_TYPES:
            raise _Corrupt(f"gives {_quoted(entry['_path'])} an unknown path_type {value!r}")
        if (
            (key == "file_mode" and value is not None and value not in ("text", "binary"))
            or (key == "size_in_bytes" and value is not None and value < 0)
            or (key == "inode_paths" and value and not all(isinstance(p, str) for p in value))
        ):
            break
    else:
        return
    where = f"{_quoted(entry['_path'])} ({listing} {number})"
    expected = _EXPECTED.get(key, "text")
    raise _Corrupt(f"gives {where} a {key!r} that is {shown_value(value)}, not {expected}")


def shown_value(value: Any) -> str:
    """A JSON value as a finding names it: its kind, or a short text of it."""
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return _quoted(value)
    return json.dumps(value)  # null, true, false, a number


def _quoted(text: str) -> str:
    """``text`` quoted, and cut short when it is long (a record may hold anything)."""
    if len(text) <= 120:
        return repr(text)
    return f"{text[:60]!r}... ({len(text):,} characters)"


def _owned_path(
    entry: dict[str, Any],
    relocate: dict[str, str],
    packaged: dict[str, str],
    rattler: bool,
    signed: bool,
) -> OwnedPath:
    recorded = entry["_path"]
    path = relocate.get(recorded, recorded)
    # the package path: rattler keeps it in original_path for a file it renamed into
    # __clobbers__/; mamba and rattler record noarch files where they were installed
    original = entry.get("original_path")
    source = original if isinstance(original, str) and original else recorded
    source = packaged.get(source, source)
    path_type = entry.get("path_type", "hardlink")
    if path_type == "hardlink":
        placeholder = entry.get("prefix_placeholder")
        mode = entry.get("file_mode") if placeholder else None
        sha256 = _sha256_field(entry, "sha256_in_prefix")
        if sha256 is None and (not placeholder or rattler):
            # rattler leaves sha256_in_prefix out when it equals sha256
            sha256 = _sha256_field(entry, "sha256")
        size = entry.get("size_in_bytes")  # checked by _check_entry
        package_sha256 = entry.get("sha256")
        rewritten = (
            sha256 is not None
            and isinstance(package_sha256, str)
            and package_sha256.lower() != sha256
        )
        if not rattler and (mode == "text" or (rewritten and not placeholder)):
            # conda and mamba record the package's size, which the prefix changed (mamba
            # records no placeholder: its content hash unlike the package's says so)
            size = None
        elif mode == "binary" and signed:
            size = None  # the package's size; a new code signature changes it
        return OwnedPath(path, FILE, sha256, size, source, mode)
    if path_type == "softlink":
        target_sha256 = _sha256_field(entry, "sha256_in_prefix") if rattler else None
        return OwnedPath(path, SYMLINK, source=source, target_sha256=target_sha256)
    if path_type == "directory":
        return OwnedPath(path, DIRECTORY, source=source)
    if path_type == "pyc_file":
        return OwnedPath(path, PYC)
    if path_type in _ENTRY_POINT_TYPES:
        # conda records no hash for the entry points it writes; rattler does
        sha256, size = _sha256_field(entry, "sha256"), entry.get("size_in_bytes")
        return OwnedPath(path, ENTRY_POINT, sha256, size)
    raise _Corrupt(f"gives {_quoted(recorded)} an unknown path_type {path_type!r}")


def _sha256_field(entry: dict[str, Any], key: str) -> str | None:
    value = entry.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or len(value) != 64 or not _HEX.issuperset(value.lower()):
        raise _Corrupt(f"gives {_quoted(entry['_path'])} a {key} that is not a sha256 digest")
    return value.lower()


def _noarch_relocation(
    noarch: str | None, files: list[str], paths_data: Any, site_packages: str | None
) -> dict[str, str]:
    """Map noarch python package paths (``site-packages/x``) to prefix paths."""
    if noarch != "python" or not isinstance(paths_data, dict):
        return {}
    from conda.common.path import get_python_noarch_target_path

    sources = [
        e["_path"]
        for e in paths_data.get("paths") or ()
        if isinstance(e, dict)
        and isinstance(e.get("_path"), str)
        and e["_path"].startswith(("site-packages/", "python-scripts/"))
    ]
    if not sources:
        return {}
    site_packages = site_packages or _infer_site_packages(files, sources)
    if site_packages is None:
        return {}
    return {s: get_python_noarch_target_path(s, site_packages) for s in sources}


#: the path types of files linked from the package (entry points and .pyc are written)
_LINKED = ("hardlink", "softlink")
_SITE_PACKAGES = re.compile(r"(lib/python\d+\.\d+t?|Lib)/site-packages/")


def _noarch_package_paths(
    noarch: str | None, paths_data: Any, site_packages: str | None
) -> dict[str, str]:
    """For a noarch python record that names its files where they were installed
    (mamba, rattler): installed path -> package path (``site-packages/x``,
    ``python-scripts/x``), which is where the package cache has them."""
    if noarch != "python" or not isinstance(paths_data, dict):
        return {}
    packaged: dict[str, str] = {}
    for entry in paths_data.get("paths") or ():
        if not isinstance(entry, dict) or entry.get("path_type", "hardlink") not in _LINKED:
            continue
        for path in (entry.get("_path"), entry.get("original_path")):
            if isinstance(path, str):
                _map_to_package(path, site_packages, packaged)
    return packaged


def _map_to_package(path: str, site_packages: str | None, packaged: dict[str, str]) -> None:
    if site_packages and path.startswith(site_packages + "/"):
        packaged[path] = "site-packages" + path[len(site_packages) :]
        return
    match = _SITE_PACKAGES.match(path) if not site_packages else None
    if match:
        packaged[path] = "site-packages/" + path[match.end() :]
    elif path.startswith("bin/") and path.count("/") == 1:
        packaged[path] = "python-scripts/" + path[len("bin/") :]


def _infer_site_packages(files: list[str], sources: list[str]) -> str | None:
    """Find site-packages from the record's own target paths (no python record)."""
    for source in sources:
        if not source.startswith("site-packages/"):
            continue
        tail = source[len("site-packages") :]
        for target in files:
            if target.endswith(tail) and len(target) > len(tail):
                return target[: -len(tail)]
    return None


def unsafe_path(path: str) -> str | None:
    """Why a recorded path may not be used, or None when it stays inside its folder."""
    return _unsafe(path)


def _unsafe(path: str) -> str | None:
    """Why a recorded path may not be used, or None when it stays inside the prefix."""
    if not path or "\x00" in path:
        return "which is not a usable path"
    if _WINDOWS:
        # "\\x", "C:x" and "C:\\x" are absolute there; "\\" separates folders
        if path[0] in "/\\" or path[1:2] == ":":
            return "an absolute path"
        parts = path.replace("\\", "/").split("/") if ".." in path else ()
    else:
        if path[0] == "/":
            return "an absolute path"
        parts = path.split("/") if ".." in path else ()
    if ".." in parts:
        return "a path that climbs out of the environment"
    return None


def impossible_path(path: str, limits: PathLimits) -> str | None:
    """Why ``path`` cannot exist in its folder (a prefix, a cached package) on the
    file system of these ``limits``, or None."""
    if path.isascii():
        if len(path) <= limits.name_bytes and len(path) <= limits.path_bytes:
            return None  # the common case, and no name in it can be too long
        encoded = path.encode("ascii")
    else:
        try:
            encoded = os.fsencode(path)
        except UnicodeEncodeError:  # a lone surrogate: no file name is made of one
            return "which is not a usable path"
    if len(encoded) > limits.path_bytes:
        return (
            f"a path of {len(encoded):,} bytes: the file system allows "
            f"{limits.path_bytes:,} in this environment"
        )
    if len(encoded) > limits.name_bytes:
        longest = max(len(name) for name in encoded.split(b"/"))
        if longest > limits.name_bytes:
            return (
                f"a path with a name of {longest:,} bytes: the file system allows "
                f"{limits.name_bytes:,}"
            )
    return None


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _str_tuple(value: Any) -> tuple[str, ...]:
    if not isinstance(value, (list, tuple)):
        return ()
    return tuple(v for v in value if isinstance(v, str))
