"""Find the package-cache copy of an installed record.

conda records where it extracted the package (``extracted_package_dir``) and
where the archive was (``package_tarball_full_path``); both may have moved or
been cleaned since, so the current ``pkgs_dirs`` are searched as well. An
extracted folder is used only when its ``info/repodata_record.json`` names the
same archive (sha256, else md5) as the installed record: another build with
the same name, version and build string is another package.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from functools import cache
from typing import Any, Optional

from ..safe_read import read_json
from .model import MAX_RECORD_BYTES, Record

ARCHIVE_EXTENSIONS = (".conda", ".tar.bz2")
Identity = tuple[Optional[str], Optional[str]]  # (sha256, md5) of the archive


def pkgs_dirs() -> tuple[str, ...]:
    """conda's package caches."""
    from conda.base.context import context

    return tuple(context.pkgs_dirs)


def _identity(record: Record) -> Identity:
    sha256, md5 = record.raw.get("sha256"), record.raw.get("md5")
    return (
        sha256.lower() if isinstance(sha256, str) else None,
        md5.lower() if isinstance(md5, str) else None,
    )


def _read_json(path: str) -> Any:
    """The parsed file, or None when it is absent or unusable (read as the prefix's
    records are: not a regular file, larger than any record, not JSON)."""
    return read_json(path, MAX_RECORD_BYTES).value


def _is(path: str, kind: Callable[[int], bool]) -> bool:
    """Whether ``path`` itself (a symlink not followed) is of ``kind`` (S_ISDIR, S_ISREG)."""
    try:
        return kind(os.lstat(path).st_mode)
    except OSError:
        return False


def _plain_package_folder(folder: str) -> bool:
    """Whether ``folder`` is an extracted package reached through no symlink of its
    own: a folder with an ``info/`` folder that holds a regular ``index.json``."""
    info = os.path.join(folder, "info")
    return (
        _is(folder, stat.S_ISDIR)
        and _is(info, stat.S_ISDIR)
        and _is(os.path.join(info, "index.json"), stat.S_ISREG)
    )


def _same_archive(identity: Identity, repodata_record: Any) -> bool:
    if not isinstance(repodata_record, dict):
        return True  # nothing to compare with: the name-version-build must do
    for ours, key in zip(identity, ("sha256", "md5")):
        theirs = repodata_record.get(key)
        if ours and isinstance(theirs, str):
            return ours == theirs.lower()
    return True


def extracted_dir(record: Record) -> str | None:
    """The extracted package folder for ``record``, if the cache still has it."""
    return _extracted_dir(record.stem, record.extracted_package_dir, _identity(record))


@cache
def _extracted_dir(stem: str, recorded: str | None, identity: Identity) -> str | None:
    candidates = [recorded] if recorded else []
    candidates += [os.path.join(pkgs_dir, stem) for pkgs_dir in pkgs_dirs()]
    for candidate in candidates:
        info = os.path.join(candidate, "info")
        if _plain_package_folder(candidate) and _same_archive(
            identity, _read_json(os.path.join(info, "repodata_record.json"))
        ):
            return candidate
    return None


def tarball(record: Record) -> str | None:
    """The package archive for ``record``, if the cache still has it."""
    candidates = [record.package_tarball_full_path] if record.package_tarball_full_path else []
    candidates += [
        os.path.join(pkgs_dir, record.stem + extension)
        for pkgs_dir in pkgs_dirs()
        for extension in ARCHIVE_EXTENSIONS
    ]
    return next((c for c in candidates if _is(c, stat.S_ISREG)), None)


def matching_extracted_dir(record: Record, caches: tuple[str, ...]) -> str | None:
    """The extracted folder of ``record`` in one of ``caches``, as conda's package
    cache lists it (a folder, not a symlink, with ``info/index.json``) and matches
    it (the same archive by sha256, else md5, where both say), or None."""
    names = [record.stem]
    if record.extracted_package_dir:
        names.append(os.path.basename(record.extracted_package_dir.rstrip("/")))
    fn = record.raw.get("fn")
    if isinstance(fn, str):
        for extension in (*ARCHIVE_EXTENSIONS, ".whl"):
            if fn.endswith(extension):
                names.append(os.path.basename(fn[: -len(extension)]))
    identity = _identity(record)
    for pkgs_dir in caches:
        for name in dict.fromkeys(names):
            if not name or name in (".", ".."):
                continue
            folder = os.path.join(pkgs_dir, name)
            if not _plain_package_folder(folder):
                continue
            repodata_record = _read_json(os.path.join(folder, "info", "repodata_record.json"))
            if _same_archive(identity, repodata_record):
                return folder
    return None
