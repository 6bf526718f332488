"""altered-file: a path whose kind or content differs from what conda installed.

``detail`` says how: ``type`` (file, folder and symlink swapped),
``symlink-target``, ``size`` or ``sha256``. What each kind of path is
compared with:

- regular files: size (except text files whose prefix conda rewrote, where the
  record holds the package's size) and SHA-256 against ``sha256_in_prefix``;
- symlinks: the target, against the package cache's link. conda copies the
  file an absolute symlink points to, so a regular file stands in for those;
- ``.pyc`` files and entry points: kind only (no hash is recorded for them).

A path owned by several records is judged by the clobbered-file check instead.

A regular file with other hard links is, as conda links it, one inode with the
package cache's copy and with every environment linked from that cache: an
edit in place changed all of them, and a reinstall would link the damaged copy
again. Its finding says so, and its fix removes the cached package first.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

from ..findings import ERROR, Finding
from ..observe.prefix_state import PrefixState
from ..records.fixes import clear_cached_package, exact_spec, reinstall
from ..records.model import DIRECTORY, LISTED, SYMLINK, OwnedPath, Record
from .base import RECORD, Check
from .difference import Difference, difference


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


def _judge(owned: OwnedPath, state: PrefixState) -> Difference | None:
    disk = state.disk
    cache_target = disk.cache_link_targets.get(owned.path)
    found = difference(
        owned,
        disk.stats[owned.path],
        kinds=_expected_kinds(owned, cache_target),
        target=disk.link_targets.get(owned.path),
        expected_target=cache_target,
        sha256=disk.sha256.get(owned.path),
        differs="content differs",
    )
    if found is not None and found.detail == "type" and found.actual["type"] == "symlink":
        target = disk.link_targets.get(owned.path, "?")
        found = found._replace(what=f"{found.what} (it points to {target})")
    return found


def _finding(record: Record, owned: OwnedPath, state: PrefixState) -> Finding | None:
    judged = _judge(owned, state)
    if judged is None:
        return None
    detail, what, expected, actual = judged
    message = (
        f"{what} from what {record.name}-{record.version} installed"
        if detail == "sha256"
        else f"{what}; {record.name}-{record.version} installed it"
    )
    fix = reinstall(state.prefix, record)
    links = state.disk.stats[owned.path].st_nlink
    if detail in ("sha256", "size") and links > 1 and record.extracted_package_dir:
        message += (
            f"; it has {links} hard links: the package cache's copy and every environment"
            " linked to it changed too (conda integrity verify --pkgs-dirs names them)"
        )
        fix = clear_cached_package(record.extracted_package_dir, exact_spec(record), [state.prefix])
    return CHECK.finding(
        message,
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
    stats, owners = state.disk.stats, state.owners
    for record in state.records:
        for owned in record.paths:
            if owned.path not in stats or len(owners[owned.path]) > 1:
                continue
            finding = _finding(record, owned, state)
            if finding is not None:
                yield finding


CHECK = Check(code="altered-file", severity=ERROR, scope=RECORD, order=50, run=check)
