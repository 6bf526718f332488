"""What tells whether conda re-signed a Mach-O file on osx-arm64 after it
recorded its hash; judged by :mod:`..checks.altered_file`.

conda signs again (``codesign -s - -f``) every file of an ``osx-arm64`` package
whose binary prefix placeholder it replaced, on a Mac (``update_prefix`` in
``conda/core/portability.py``, since conda 4.9.0). Up to conda 26.5.x it signs
inside ``update_prefix``, before ``PrefixReplaceLinkAction.verify`` hashes the
file: ``sha256_in_prefix`` is the signed file's. conda 26.7.0 and 26.7.1 batch
the calls (``batch_codesign_calls``, conda commit ef3ea657c, PR #15975): the
file is hashed inside the batch and signed when it ends, so the record holds
the hash of the *unsigned* file (conda/conda#16590; conda PR #16596, after
26.7.1, hashes after signing). Every conda records the package's
``size_in_bytes`` for such a file, which the new signature changes
(:mod:`..records.model` does not compare it).

For such a file whose content is not its record's, this reads the file and the
package's own file in the package cache, replaces the placeholder in it as
conda does (:func:`replace_binary_prefix`) and keeps digests of each, whole
and outside the code signature (:mod:`.macho`): plain data for the check. It
reads them under ``--fast`` too, where a hash an earlier run learned says the
file differs: few files, and the guard's fast check must not take conda's own
signature for damage.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
from collections.abc import Iterable, Mapping, Sized
from typing import NamedTuple

from ..records import package_cache
from ..records.model import FILE, SIGNED_SUBDIR, OwnedPath, Record
from ..safe_read import read_regular_file
from .macho import outside_signature

#: the encodings conda replaces a placeholder in (``POPULAR_ENCODINGS``)
ENCODINGS = ("utf-8", "utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be")


class Resigned(NamedTuple):
    """What the disk and the package cache show of one such file."""

    #: SHA-256 of the file in the prefix
    sha256: str
    #: SHA-256 of it outside its code signature; None: it is no Mach-O file
    unsigned: str | None
    #: SHA-256 of the package's file with the prefix replaced; None: the package
    #: cache does not have it
    replaced: str | None = None
    #: SHA-256 of that file outside its code signature
    replaced_unsigned: str | None = None


def signed_by_conda(record: Record, owned: OwnedPath) -> bool:
    """Whether conda signs this file again when it links it on a Mac."""
    return owned.kind == FILE and owned.prefix_mode == "binary" and record.subdir == SIGNED_SUBDIR


def replace_binary_prefix(data: bytes, placeholder: str, prefix: str) -> bytes | None:
    """``data`` with ``placeholder`` replaced by ``prefix`` as conda replaces a
    binary one (``binary_replace``, the same in conda 24.7.1 and 26.7.1): in each
    encoding, every NUL-terminated string that holds it is rewritten and padded
    with NULs to its length. None where conda would fail (a longer prefix)."""
    for encoding in ENCODINGS:
        replaced = _replace(
            data, placeholder.encode(encoding), prefix.encode(encoding), "\0".encode(encoding)
        )
        if replaced is None:
            return None
        data = replaced
    return data


def _replace(data: bytes, search: bytes, new: bytes, zero: bytes) -> bytes | None:
    pattern = re.compile(
        re.escape(search) + b"(?:(?!(?:" + re.escape(zero) + b")).)*" + re.escape(zero),
        flags=re.DOTALL,
    )
    shorter = len(search) - len(new)
    if shorter < 0 and pattern.search(data):
        return None

    def replace(match: re.Match[bytes]) -> bytes:
        found = match.group()
        return found.replace(search, new) + b"\0" * (shorter * found.count(search))

    return pattern.sub(replace, data)


def _digest(data: bytes | None) -> str | None:
    return None if data is None else hashlib.sha256(data).hexdigest()


def _placeholder(record: Record, owned: OwnedPath) -> str | None:
    paths_data = record.raw.get("paths_data")
    entries = paths_data.get("paths") if isinstance(paths_data, dict) else None
    for entry in entries if isinstance(entries, list) else ():
        if isinstance(entry, dict) and entry.get("_path") in (owned.source, owned.path):
            placeholder = entry.get("prefix_placeholder")
            return placeholder if isinstance(placeholder, str) and placeholder else None
    return None


def _cached(record: Record, owned: OwnedPath, prefix: str) -> bytes | None:
    """The package's file with the prefix replaced, if the package cache has it."""
    folder = package_cache.extracted_dir(record)
    placeholder = _placeholder(record, owned)
    if folder is None or placeholder is None or owned.source is None:
        return None
    data = read_regular_file(os.path.join(folder, owned.source))
    return None if data is None else replace_binary_prefix(data, placeholder, prefix)


def observe_resigned(
    prefix: str,
    records: Iterable[Record],
    owners: Mapping[str, Sized],
    stats: dict[str, os.stat_result],
    sha256: dict[str, str],
) -> dict[str, Resigned]:
    """For each file of ``records`` that conda signs, that no other record owns
    (``owners``) and whose content is not its record's (by its hash, known from
    ``sha256``), what :class:`Resigned` holds."""
    found = {}
    candidates = (
        (record, owned)
        for record in records
        if record.subdir == SIGNED_SUBDIR
        for owned in record.paths
        if signed_by_conda(record, owned) and len(owners.get(owned.path, ())) == 1
    )
    for record, owned in candidates:
        info, digest = stats.get(owned.path), sha256.get(owned.path)
        if (
            info is None
            or not stat.S_ISREG(info.st_mode)
            or digest is None
            or digest == owned.sha256
        ):
            continue
        data = read_regular_file(os.path.join(prefix, owned.path))
        if data is None or hashlib.sha256(data).hexdigest() != digest:
            continue  # gone or changed since it was hashed: judged by its hash
        unsigned = _digest(outside_signature(data))
        if unsigned is None:
            found[owned.path] = Resigned(digest, None)
            continue
        del data
        replaced = _cached(record, owned, prefix)
        found[owned.path] = Resigned(
            digest,
            unsigned,
            _digest(replaced),
            _digest(outside_signature(replaced)) if replaced is not None else None,
        )
    return found
