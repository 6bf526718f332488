"""The package-level facts of every installed record, for the checks that look
across records (dependencies, history, pip, environment files).

A parsed record gives them from its JSON. A record that verified clean and is
untouched since is not parsed again (``observe.clean_records``), so its entry
there keeps these facts: a few fields per record, not the whole record.
"""

from __future__ import annotations

import hashlib
import os
from array import array
from dataclasses import dataclass
from typing import Any

#: the record fields conda's MatchSpec can match on, and what the checks report
PACKAGE_FIELDS = (
    "name",
    "version",
    "build",
    "build_number",
    "channel",
    "subdir",
    "depends",
    "constrains",
    "track_features",
    "features",
    "license",
    "license_family",
    "noarch",
    "fn",
    "url",
    "md5",
    "sha256",
    "python_site_packages_path",
)
_LISTS = ("depends", "constrains")


def package_fields(raw: dict[str, Any]) -> dict[str, Any]:
    """The :data:`PACKAGE_FIELDS` of a parsed record, keeping only plain values."""
    fields: dict[str, Any] = {}
    for key in PACKAGE_FIELDS:
        value = raw.get(key)
        if key in _LISTS:
            value = [v for v in value if isinstance(v, str)] if isinstance(value, list) else []
        elif isinstance(value, list):
            value = [v for v in value if isinstance(v, str)]
        elif not isinstance(value, (str, int)) or isinstance(value, bool):
            continue
        fields[key] = value
    return fields


@dataclass(frozen=True)
class InstalledPackage:
    """One installed record: its file stem and its package-level fields."""

    stem: str
    fields: dict[str, Any]

    @property
    def name(self) -> str:
        return str(self.fields["name"])

    @property
    def version(self) -> str:
        return str(self.fields["version"])

    @property
    def build(self) -> str:
        return str(self.fields["build"])

    @property
    def depends(self) -> list[str]:
        return list(self.fields.get("depends", ()))

    @property
    def constrains(self) -> list[str]:
        return list(self.fields.get("constrains", ()))

    @property
    def label(self) -> str:
        """``name-version``, as messages name a package."""
        return f"{self.name}-{self.version}"


def records_key(record_files: dict[str, os.stat_result]) -> str:
    """A digest of the set of record files and their (inode, ctime): it changes
    whenever a record is added, removed or rewritten."""
    keys: list[int] = []
    for info in record_files.values():
        keys += (info.st_ino, info.st_ctime_ns)
    digest = hashlib.blake2b(array("Q", keys).tobytes(), digest_size=16)
    digest.update("\n".join(record_files).encode("utf-8", "surrogateescape"))
    return digest.hexdigest()


def records_settled(record_files: dict[str, os.stat_result], settled_ns: int) -> bool:
    """Whether no record file changed so recently that a change could hide in its ctime."""
    return all(info.st_ctime_ns < settled_ns for info in record_files.values())
