"""How a path on disk differs from what its package says: one judge for the files
of an environment (altered-file) and of a package cache (cache-corrupt)."""

from __future__ import annotations

import os
import stat
from typing import Any, NamedTuple

from ..observe.resigned import Resigned
from ..records.model import SYMLINK, OwnedPath


class Difference(NamedTuple):
    """One way a path differs from its package's metadata."""

    #: ``type``, ``symlink-target``, ``size`` or ``sha256`` (the finding's detail)
    detail: str
    #: the words, without the package's name
    what: str
    expected: dict[str, Any]
    actual: dict[str, Any]


#: what a file conda signs again on osx-arm64 is, by :func:`signature_verdict`
RESIGNED, UNCONFIRMED, ALTERED = "resigned", "unconfirmed", "altered"


def signature_verdict(owned: OwnedPath, resigned: Resigned) -> str:
    """Whether a file conda signs on a Mac, whose content is not its record's, is
    conda's own doing (conda 26.7.0 to 26.7.x recorded it before signing it:
    :mod:`..observe.resigned`): RESIGNED when it equals the package's file with
    the prefix replaced outside their code signatures, and the record holds the
    hash of that file unsigned; UNCONFIRMED when it is a Mach-O file but the
    package cache no longer has the package's; ALTERED otherwise."""
    if resigned.unsigned is None:
        return ALTERED
    if resigned.replaced is None:
        return UNCONFIRMED
    if resigned.replaced == owned.sha256 and resigned.unsigned == resigned.replaced_unsigned:
        return RESIGNED
    return ALTERED


def kind_of(mode: int) -> str:
    """The words for the kind of file an ``st_mode`` describes."""
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISDIR(mode):
        return "directory"
    if stat.S_ISLNK(mode):
        return "symlink"
    if stat.S_ISFIFO(mode):
        return "fifo"
    if stat.S_ISSOCK(mode):
        return "socket"
    if stat.S_ISBLK(mode) or stat.S_ISCHR(mode):
        return "device"
    return "unknown"


def difference(
    owned: OwnedPath,
    info: os.stat_result,
    *,
    kinds: tuple[str, ...] | None,
    target: str | None,
    expected_target: str | None,
    sha256: str | None,
    differs: str,
) -> Difference | None:
    """How the path ``owned`` describes, as ``info`` shows it, differs; None if not.

    ``kinds`` are the kinds it may have (the first is the one named; None: any);
    ``target`` is its symlink target and ``expected_target`` the package's (None:
    unknown, not compared); ``sha256`` its content's digest (None: not hashed);
    ``differs`` the words for different content.
    """
    actual_kind = kind_of(info.st_mode)
    if kinds is not None and actual_kind not in kinds:
        return Difference(
            "type",
            f"is a {actual_kind}, not a {kinds[0]}",
            {"type": kinds[0]},
            {"type": actual_kind},
        )
    if actual_kind == "symlink":
        if expected_target is not None and target is not None and target != expected_target:
            return Difference(
                "symlink-target",
                f"points to {target}, not {expected_target}",
                {"target": expected_target},
                {"target": target},
            )
        return None
    if owned.kind == SYMLINK or actual_kind != "file":
        return None
    size = info.st_size
    if owned.size is not None and size != owned.size:
        return Difference(
            "size", f"is {size} bytes, not {owned.size}", {"size": owned.size}, {"size": size}
        )
    if owned.sha256 and sha256 is not None and sha256 != owned.sha256:
        expected = {"sha256": owned.sha256, "size": owned.size}
        return Difference("sha256", differs, expected, {"sha256": sha256, "size": size})
    return None


def same_file(owned: OwnedPath, info: os.stat_result, sha256: str | None) -> bool:
    """Whether ``info`` shows a regular file with the size and content ``owned``
    gives (or none to compare): where a regular file is what is expected, what
    :func:`difference` finds nothing in. Cheap enough to ask of every file."""
    return (
        stat.S_ISREG(info.st_mode)
        and (owned.size is None or owned.size == info.st_size)
        and (not owned.sha256 or sha256 is None or sha256 == owned.sha256)
    )
