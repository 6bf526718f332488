"""altered-file: a path whose kind or content differs from what conda installed.

``detail`` says how: ``type`` (file, folder and symlink swapped),
``symlink-target``, ``size`` or ``sha256``. What each kind of path is
compared with:

- regular files: size (except text files whose prefix conda rewrote, where the
  record holds the package's size) and SHA-256 against ``sha256_in_prefix``;
- symlinks: the target, against the SHA-256 of its target string where the
  record gives one (rattler), else the package cache's link, else the link the
  newest snapshot saw (the cache may have been cleaned). conda copies the file
  an absolute symlink points to, so a regular file stands in for those;
- ``.pyc`` files and entry points: kind only where the record has no hash for
  them (conda's); an entry point rattler wrote also by its size and hash.

A path owned by several records is judged by the clobbered-file check instead.

A Mach-O file of an osx-arm64 package whose binary prefix conda replaced is
signed again by conda on a Mac, and conda 26.7.0 to 26.7.x record its hash
before signing it (:mod:`..observe.resigned`): one that equals the package's
file with the prefix replaced outside their code signatures, under a record
holding that unsigned file's hash, is no finding; without the package in the
cache that cannot be confirmed, and the finding is a warning that says so.

A regular file with other hard links is, as conda links it, one inode with the
package cache's copy and with every environment linked from that cache: an
edit in place changed all of them, and a reinstall would link the damaged copy
again. Its finding says so; ``conda integrity repair`` extracts or fetches the
package again before it relinks (so only the archive or the URL count as a
source there), and pixi, which links from its own cache, gets the damaged
copy removed first.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator

from ..findings import ERROR, WARNING, Finding
from ..observe.prefix_state import PrefixState
from ..records.fixes import reinstall, remove_cached
from ..records.model import DIRECTORY, LISTED, SYMLINK, OwnedPath, Record
from .base import RECORD, Check
from .difference import RESIGNED, UNCONFIRMED, Difference, difference, same_file, signature_verdict

#: kinds of path that may be something else than a regular file (see _expected_kinds)
_NOT_PLAIN_FILES = frozenset({DIRECTORY, SYMLINK, LISTED})


def _expected_kinds(owned: OwnedPath, cache_target: str | None) -> tuple[str, ...]:
    if owned.kind == DIRECTORY:
        return ("directory",)
    if owned.kind == SYMLINK:
        if cache_target is not None and not cache_target.startswith("/") and os.name != "nt":
            return ("symlink",)
        return ("symlink", "file")  # conda copies absolute symlinks (and all, on Windows)
    if owned.kind == LISTED:
        return ("file", "symlink")
    return ("file",)


def _expected_target(owned: OwnedPath, state: PrefixState) -> str | None:
    """The target the link should have, where something says: the package cache's
    link, else the one the newest snapshot saw."""
    disk = state.disk
    target = disk.cache_link_targets.get(owned.path)
    return target if target is not None else disk.snapshot_link_targets.get(owned.path)


def _retargeted(owned: OwnedPath, target: str, expected: str | None) -> Difference | None:
    """A link judged by the hash of its target string that its record gives."""
    if hashlib.sha256(os.fsencode(target)).hexdigest() == owned.target_sha256:
        return None
    what = f"points to {target}, not {expected}" if expected else f"points to {target}"
    if expected is None:
        what += ", not where its record says (by the SHA-256 of the target)"
    return Difference(
        "symlink-target",
        what,
        {"target": expected, "target_sha256": owned.target_sha256},
        {"target": target},
    )


def _judge(owned: OwnedPath, state: PrefixState) -> Difference | None:
    disk = state.disk
    expected_target = _expected_target(owned, state) if owned.kind == SYMLINK else None
    target = disk.link_targets.get(owned.path)
    if owned.target_sha256 is not None and target is not None:
        return _retargeted(owned, target, expected_target)
    found = difference(
        owned,
        disk.stats[owned.path],
        kinds=_expected_kinds(owned, expected_target),
        target=target,
        expected_target=expected_target,
        sha256=disk.sha256.get(owned.path),
        differs="content differs",
    )
    if found is not None and found.detail == "type" and found.actual["type"] == "symlink":
        target = disk.link_targets.get(owned.path, "?")
        found = found._replace(what=f"{found.what} (it points to {target})")
    return found


#: the words for a Mach-O file whose new signature the package cache cannot confirm
_UNCONFIRMED = (
    ", as conda 26.7.0 to 26.7.x leave each binary they sign again on osx-arm64;"
    " without the package in the package cache it cannot be confirmed that only its"
    " code signature differs"
)


def _finding(record: Record, owned: OwnedPath, state: PrefixState) -> Finding | None:
    judged = _judge(owned, state)
    if judged is None:
        return None
    severity, unconfirmed = None, ""
    resigned = state.disk.resigned.get(owned.path)
    if resigned is not None and judged.detail == "sha256":
        verdict = signature_verdict(owned, resigned)
        if verdict == RESIGNED:
            return None  # conda's new code signature, after it hashed the file
        if verdict == UNCONFIRMED:
            severity, unconfirmed = WARNING, _UNCONFIRMED
    detail, what, expected, actual = judged
    message = (
        f"{what} from what {record.name}-{record.version} installed"
        if detail == "sha256"
        else f"{what}; {record.name}-{record.version} installed it"
    )
    message += unconfirmed
    links = state.disk.stats[owned.path].st_nlink
    shared = detail in ("sha256", "size") and links > 1 and bool(record.extracted_package_dir)
    fix = reinstall(state.prefix, record, state.reinstaller, cache_copy_damaged=shared)
    if shared:
        message += (
            f"; it has {links} hard links: the package cache's copy and every environment"
            " linked to it changed too (conda integrity verify --pkgs-dirs names them)"
        )
        if state.reinstaller.pixi is not None and record.extracted_package_dir:
            fix = f"{remove_cached(record.extracted_package_dir)} && {fix}"
    return CHECK.finding(
        message,
        severity=severity,
        package=record.stem,
        path=owned.path,
        detail=detail,
        extra={
            "expected": {k: v for k, v in expected.items() if v is not None},
            "actual": actual,
        },
        fix=fix,
    )


def check(state: PrefixState) -> Iterator[Finding]:
    stats, owners, hashes = state.disk.stats, state.owners, state.disk.sha256
    for record in state.records:
        for owned in record.paths:
            info = stats.get(owned.path)
            if info is None or len(owners[owned.path]) > 1:
                continue
            # what nearly every path is, judged without the words for a difference:
            # a regular file where the record says one is, as the record gives it
            if owned.kind not in _NOT_PLAIN_FILES and same_file(
                owned, info, hashes.get(owned.path)
            ):
                continue
            finding = _finding(record, owned, state)
            if finding is not None:
                yield finding


CHECK = Check(code="altered-file", severity=ERROR, scope=RECORD, order=50, run=check)
