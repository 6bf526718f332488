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
import stat
from collections.abc import Iterator

from ..findings import ALTERED_FILE, ERROR, Finding
from ..observe.prefix_state import PrefixState
from ..records.fixes import clear_cached_package, exact_spec, reinstall
from ..records.model import DIRECTORY, LISTED, SYMLINK, OwnedPath, Record


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


def content_difference(
    owned: OwnedPath, size: int, sha256: str | None, differs: str
) -> tuple[str, str, dict, dict] | None:
    """(detail, message, expected, actual) when a regular file's size or content is
    not what its package records, else None. ``sha256`` is None when the file was
    not hashed; ``differs`` is the message for different content."""
    if owned.size is not None and size != owned.size:
        return "size", f"is {size} bytes, not {owned.size}", {"size": owned.size}, {"size": size}
    if owned.sha256 and sha256 is not None and sha256 != owned.sha256:
        expected = {"sha256": owned.sha256, "size": owned.size}
        return "sha256", differs, expected, {"sha256": sha256, "size": size}
    return None


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


def _judge(owned: OwnedPath, state: PrefixState) -> tuple[str, str, dict, dict] | None:
    """(detail, message, expected, actual) when the path differs, else None."""
    disk = state.disk
    info = disk.stats[owned.path]
    actual_kind = kind_of(info.st_mode)
    cache_target = disk.cache_link_targets.get(owned.path)
    expected_kinds = _expected_kinds(owned, cache_target)
    if actual_kind not in expected_kinds:
        message = f"is a {actual_kind}, not a {expected_kinds[0]}"
        if actual_kind == "symlink":
            message += f" (it points to {disk.link_targets.get(owned.path, '?')})"
        return "type", message, {"type": expected_kinds[0]}, {"type": actual_kind}
    if actual_kind == "symlink" and cache_target is not None:
        target = disk.link_targets.get(owned.path)
        if target is not None and target != cache_target:
            return (
                "symlink-target",
                f"points to {target}, not {cache_target}",
                {"target": cache_target},
                {"target": target},
            )
    if owned.kind == SYMLINK or actual_kind != "file":
        return None
    return content_difference(owned, info.st_size, disk.sha256.get(owned.path), "content differs")


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
    return Finding(
        ALTERED_FILE,
        ERROR,
        message,
        package=record.stem,
        path=owned.path,
        detail=detail,
        extra={
            "expected": {k: v for k, v in expected.items() if v is not None},
            "actual": actual,
            "fix": fix,
        },
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
