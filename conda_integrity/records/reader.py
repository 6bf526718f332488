"""Load a prefix: check that it is a conda environment and read its records."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from typing import Any

from ..exceptions import IntegrityInputError
from .conda_verdict import CondaVerdicts
from .model import (
    BadRecord,
    PathLimits,
    Record,
    build_record,
    parse_raw,
    python_site_packages,
    read_raw,
    read_record_bytes,
)
from .seen import RecordKey, SeenRecords, digest_of


def not_an_environment(prefix: str) -> str | None:
    """Why ``prefix`` (absolute) is no conda environment, or None when it is one.

    A ``conda-meta`` that is a symlink leaving the prefix for a folder that belongs
    to neither the user running us nor the environment's owner is not one either:
    its records are someone else's to write (:func:`untrusted_records`)."""
    if not os.path.lexists(prefix):
        return "it does not exist"
    if not os.path.isdir(prefix):
        return "it is not a folder"
    if not os.path.isdir(os.path.join(prefix, "conda-meta")):
        return "it has no conda-meta folder"
    return untrusted_records(prefix)


#: how :func:`untrusted_records`'s reasons begin
UNTRUSTED_META = "its conda-meta is a symbolic link"


def untrusted_records(prefix: str) -> str | None:
    """Why the records of ``prefix`` are not read: its ``conda-meta`` is a symlink
    whose target lies outside the prefix and belongs to another user than the one
    running us and the one who owns the prefix (who could change them under us, as
    they could not change a ``conda-meta`` inside the prefix); else None. A link
    the user made to a folder of their own is theirs, and read as conda reads it."""
    meta = os.path.join(prefix, "conda-meta")
    try:
        if not stat.S_ISLNK(os.lstat(meta).st_mode) or not hasattr(os, "geteuid"):
            return None
        target, inside = os.path.realpath(meta), os.path.realpath(prefix)
        if target == inside or target.startswith(inside.rstrip(os.sep) + os.sep):
            return None  # a link within the prefix
        owner, prefix_owner = os.stat(target).st_uid, os.stat(prefix).st_uid
    except OSError:
        return None  # gone meanwhile: reading it says so
    if owner in (os.geteuid(), prefix_owner):
        return None
    return (
        f"{UNTRUSTED_META} to {target}, a folder of uid {owner}, who is neither you "
        f"(uid {os.geteuid()}) nor the environment's owner (uid {prefix_owner}): "
        "its records are not read"
    )


def check_prefix(prefix: str) -> str:
    """The prefix as an absolute path, or IntegrityInputError when it is no environment."""
    prefix = os.path.abspath(prefix)
    reason = not_an_environment(prefix)
    if reason == "it does not exist":
        raise IntegrityInputError(f"no conda environment at {prefix}: {reason}")
    if reason is not None and reason.startswith(UNTRUSTED_META):
        raise IntegrityInputError(f"{prefix}: {reason}")
    if reason is not None:
        raise IntegrityInputError(f"{prefix} is not a conda environment: {reason}")
    return prefix


def record_files(prefix: str) -> dict[str, os.stat_result]:
    """The record files of ``conda-meta`` by stem (name-version-build), with their lstat."""
    meta = os.path.join(prefix, "conda-meta")
    found = {}
    try:
        with os.scandir(meta) as entries:
            for entry in entries:
                # "._name" files are macOS metadata, not records (conda skips them too)
                if entry.name.endswith(".json") and not entry.name.startswith("._"):
                    found[entry.name[: -len(".json")]] = entry.stat(follow_symlinks=False)
    except OSError as error:
        raise IntegrityInputError(f"cannot read {meta}: {error.strerror or error}") from None
    return dict(sorted(found.items()))


def readable(path: str) -> bool:
    """Whether this process may read ``path`` (what it remembers of a file another
    user verified says nothing about that)."""
    return os.access(path, os.R_OK, effective_ids=os.access in os.supports_effective_ids)


def read_records(
    prefix: str,
    stems: Iterable[str],
    verdicts: CondaVerdicts | None = None,
    seen: SeenRecords | None = None,
) -> tuple[list[Record], list[BadRecord]]:
    """Parse the named records; damaged ones become BadRecords, never errors.

    With ``verdicts``, a record conda's own model cannot load is a BadRecord too.
    noarch python records wait for the site-packages of python's record. With
    ``seen``, a record file whose bytes were parsed and judged earlier in the run
    (another environment's) is taken as it was then.
    """
    meta = os.path.join(prefix, "conda-meta")
    limits = PathLimits.of(prefix)
    records: list[Record] = []
    bad: list[BadRecord] = []
    waiting: list[tuple[str, dict[str, Any], bytes | None]] = []
    site_packages: str | None = None

    def build(stem: str, raw: dict[str, Any], digest: bytes | None) -> None:
        key = RecordKey(digest, stem, site_packages, limits) if digest is not None else None
        record = seen.record(key) if seen is not None and key is not None else None
        if record is None:
            built = build_record(stem, raw, site_packages, limits)
            if isinstance(built, BadRecord):
                bad.append(built)
                return
            record = built
        if verdicts is not None:
            known = seen is not None and digest is not None and seen.loadable(digest)
            rejected = verdicts.rejects(stem, raw, loadable=known)
            if rejected is not None:
                bad.append(BadRecord(record.file, rejected))
                return
            if seen is not None and digest is not None:
                seen.judged_loadable(digest)
        if seen is not None and key is not None:
            seen.keep(key, record)
        records.append(record)

    for stem in stems:
        raw, digest = _read(os.path.join(meta, stem + ".json"), seen)
        if isinstance(raw, BadRecord):
            bad.append(raw)
            continue
        if raw.get("name") == "python" and site_packages is None:
            site_packages = python_site_packages([raw])
        if raw.get("noarch") == "python" and site_packages is None:
            waiting.append((stem, raw, digest))
        else:
            build(stem, raw, digest)
    if waiting:
        if site_packages is None:  # python's record is not among those parsed
            site_packages = python_site_packages(_python_records(meta))
        for stem, raw, digest in waiting:
            build(stem, raw, digest)
    return records, sorted(bad, key=lambda b: b.file)


def _read(path: str, seen: SeenRecords | None) -> tuple[dict[str, Any] | BadRecord, bytes | None]:
    """A record file parsed (or as parsed earlier in the run), and its digest."""
    if seen is None:
        return read_raw(path), None
    data = read_record_bytes(path)
    if isinstance(data, BadRecord):
        return data, None
    digest = digest_of(data)
    raw = seen.raw(digest)
    if raw is None:
        return parse_raw(f"conda-meta/{os.path.basename(path)}", data), digest
    return raw, digest


def _python_records(meta: str) -> list[dict[str, Any]]:
    raws = []
    for name in os.listdir(meta):
        if name.endswith(".json") and name[: -len(".json")].rsplit("-", 2)[0] == "python":
            raw = read_raw(os.path.join(meta, name))
            if isinstance(raw, dict):
                raws.append(raw)
    return raws
