"""Load a prefix: check that it is a conda environment and read its records."""

from __future__ import annotations

import os
from collections.abc import Iterable

from .exceptions import IntegrityInputError
from .records import BadRecord, Record, build_record, python_site_packages, read_raw


def check_prefix(prefix: str) -> str:
    """The prefix as an absolute path, or IntegrityInputError when it is no environment."""
    prefix = os.path.abspath(prefix)
    if not os.path.lexists(prefix):
        raise IntegrityInputError(f"no conda environment at {prefix}: it does not exist")
    if not os.path.isdir(prefix):
        raise IntegrityInputError(f"{prefix} is not a conda environment: it is not a folder")
    if not os.path.isdir(os.path.join(prefix, "conda-meta")):
        raise IntegrityInputError(
            f"{prefix} is not a conda environment: it has no conda-meta folder"
        )
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


def read_records(prefix: str, stems: Iterable[str]) -> tuple[list[Record], list[BadRecord]]:
    """Parse the named records; damaged ones become BadRecords, never errors."""
    meta = os.path.join(prefix, "conda-meta")
    parsed = []
    bad: list[BadRecord] = []
    for stem in stems:
        raw = read_raw(os.path.join(meta, stem + ".json"))
        if isinstance(raw, BadRecord):
            bad.append(raw)
        else:
            parsed.append((stem, raw))
    raws = [raw for _, raw in parsed]
    if not any(raw.get("name") == "python" for raw in raws) and any(
        raw.get("noarch") == "python" for raw in raws
    ):
        # noarch python paths need the site-packages of python's record
        for name in os.listdir(meta):
            if name.endswith(".json") and name[: -len(".json")].rsplit("-", 2)[0] == "python":
                raw = read_raw(os.path.join(meta, name))
                if isinstance(raw, dict):
                    raws.append(raw)
    site_packages = python_site_packages(raws)
    records: list[Record] = []
    for stem, raw in parsed:
        record = build_record(stem, raw, site_packages)
        if isinstance(record, BadRecord):
            bad.append(record)
        else:
            records.append(record)
    return records, sorted(bad, key=lambda b: b.file)
