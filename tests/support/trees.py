"""A folder tree as data, to compare two states of it byte for byte."""

from __future__ import annotations

import os
import stat
from pathlib import Path


def tree(root: Path, skip: tuple[str, ...] = ()) -> dict[str, tuple[object, ...]]:
    """Every entry below ``root`` (relative path with forward slashes): a folder's
    mode, a symlink's target, a file's mode and bytes; paths under ``skip`` left out."""
    found: dict[str, tuple[object, ...]] = {}
    for folder, folders, files in os.walk(root):
        for name in sorted(folders + files):
            path = os.path.join(folder, name)
            relative = os.path.relpath(path, root).replace(os.sep, "/")
            if any(relative == s or relative.startswith(s + "/") for s in skip):
                continue
            info = os.lstat(path)
            mode = stat.S_IMODE(info.st_mode)
            if stat.S_ISLNK(info.st_mode):
                found[relative] = ("symlink", os.readlink(path))
            elif stat.S_ISDIR(info.st_mode):
                found[relative] = ("folder", mode)
            else:
                found[relative] = ("file", mode, Path(path).read_bytes())
    return found


def differences(before: dict, after: dict) -> list[str]:
    """The paths that differ between two trees, each with how (for an assert)."""
    out = []
    for path in sorted(set(before) | set(after)):
        old, new = before.get(path), after.get(path)
        if old != new:
            what = "gone" if new is None else "new" if old is None else "changed"
            out.append(f"{path}: {what}")
    return out
