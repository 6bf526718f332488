"""Load a prefix: check that it is a conda environment and read its records."""

from __future__ import annotations

import os
from dataclasses import dataclass

from .exceptions import IntegrityInputError
from .records import BadRecord, Record, build_record, python_site_packages, read_raw


@dataclass(frozen=True)
class PrefixModel:
    """The records of one prefix, as conda left them in ``conda-meta``."""

    prefix: str
    records: tuple[Record, ...]
    bad_records: tuple[BadRecord, ...]


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


def record_files(prefix: str) -> list[str]:
    """The names of the record files in ``conda-meta``, sorted."""
    meta = os.path.join(prefix, "conda-meta")
    try:
        with os.scandir(meta) as entries:
            names = [e.name for e in entries if e.name.endswith(".json")]
    except OSError as error:
        raise IntegrityInputError(f"cannot read {meta}: {error.strerror or error}") from None
    # "._name" files are macOS metadata, not records (conda skips them too)
    return sorted(name for name in names if not name.startswith("._"))


def load_prefix(prefix: str) -> PrefixModel:
    """Read every record of ``prefix``; damaged ones become BadRecords, never errors."""
    prefix = check_prefix(prefix)
    meta = os.path.join(prefix, "conda-meta")
    parsed = []
    bad: list[BadRecord] = []
    for name in record_files(prefix):
        raw = read_raw(os.path.join(meta, name))
        if isinstance(raw, BadRecord):
            bad.append(raw)
        else:
            parsed.append((name[: -len(".json")], raw))
    site_packages = python_site_packages([raw for _, raw in parsed])
    records: list[Record] = []
    for stem, raw in parsed:
        record = build_record(stem, raw, site_packages)
        if isinstance(record, BadRecord):
            bad.append(record)
        else:
            records.append(record)
    return PrefixModel(prefix, tuple(records), tuple(sorted(bad, key=lambda b: b.file)))
