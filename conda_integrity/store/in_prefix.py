"""Moves, removals and new folders in a prefix, never through a symlink.

A place is a folder and one name in it. The folder is a :class:`StateDir`
without an owner: its base (the prefix, a package cache, a backup folder's
parent) opened as named, each folder below it opened relative to the one above
without following a symlink; the call that changes something names the place
relative to that open folder (``rename`` with ``src_dir_fd`` and ``dst_dir_fd``,
``unlink``, ``rmdir``, ``mkdir`` and ``open`` with ``dir_fd``). So a folder on the
way swapped for a symlink, before or while we work, is never followed: opening
it fails, and that move is not made (OSError naming the folder).

A move to another file system copies through the same handles (a symlink as a
symlink, a file's mode and times kept), then removes the original the same way.
Platforms without ``dir_fd`` (Windows) work by path, each folder on the way
checked with ``lstat`` first (:meth:`StateDir.opened`); the window between the
check and the move stays there.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import stat
from collections.abc import Iterator
from typing import NamedTuple

from ..safe_read import OPEN_FLAGS
from .state_dir import FOLDER_FLAGS, NEW_FILE_FLAGS, StateDir

#: why a move was not made: a folder on the way is not a folder of its own
NOT_A_FOLDER = "is no folder here (a symbolic link, which is never followed, or a file)"


class Place(NamedTuple):
    """One entry ``name`` of the folder ``folder``."""

    folder: StateDir
    name: str

    @property
    def path(self) -> str:
        return os.path.join(self.folder.path, self.name)


def place(base: str, relative: str) -> Place:
    """The place ``relative`` (``a/b/c``, either separator) names below ``base``;
    OSError for a path that would leave it (``..``, an empty part, absolute)."""
    parts = relative.replace(os.sep, "/").split("/")
    if os.path.isabs(relative) or any(part in ("", ".", "..") for part in parts):
        raise OSError(errno.EINVAL, "not a path inside the folder", relative)
    return Place(StateDir(base, tuple(parts[:-1]), None), parts[-1])


def place_of(path: str) -> Place:
    """The place of an absolute ``path`` whose folder is trusted as named (a package
    cache of the user's own: nothing below it is walked)."""
    folder, name = os.path.split(os.path.abspath(path))
    return Place(StateDir(folder, (), None), name)


@contextlib.contextmanager
def _opened(where: Place, write: bool = False) -> Iterator[tuple[str, int | None]]:
    """The folder of ``where`` open, as the ``(path, dir_fd)`` of its name; OSError
    that names the folder when one on the way is no folder."""
    with contextlib.ExitStack() as stack:
        try:
            folder = stack.enter_context(where.folder.opened(write=write))
        except OSError as error:
            if error.errno in (errno.ELOOP, errno.ENOTDIR, errno.EMLINK):
                raise OSError(error.errno, NOT_A_FOLDER, where.folder.path) from None
            raise
        yield folder.at(where.name)


def lexists(where: Place) -> bool:
    """Whether anything (a symlink too) is at ``where``; OSError when a folder on the
    way is no folder (what is there cannot be told without following it)."""
    try:
        with _opened(where) as (name, dir_fd):
            return _there(name, dir_fd)
    except FileNotFoundError:
        return False


def move(source: Place, target: Place, make_folders: bool = False) -> None:
    """Move what is at ``source`` to ``target``, which must be free (``make_folders``:
    the folders on its way are made where missing). OSError when it cannot be done
    this way; then nothing moved."""
    with _opened(source) as (old, old_fd), _opened(target, make_folders) as (new, fd):
        if _there(new, fd):
            raise FileExistsError(errno.EEXIST, "something is there already", target.path)
        try:
            os.rename(old, new, src_dir_fd=old_fd, dst_dir_fd=fd)
        except OSError as error:
            if error.errno != errno.EXDEV:
                raise
            if old_fd is None or fd is None:  # pragma: no cover (Windows)
                _move_across_by_path(old, new)
                return
            try:
                _copy(old_fd, old, fd, new)
            except BaseException:
                with contextlib.suppress(OSError):
                    _remove(fd, new)  # a partial copy of ours
                raise
            _remove(old_fd, old)


def _there(name: str, dir_fd: int | None) -> bool:
    try:
        os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return False
    return True


def remove_folder(where: Place) -> None:
    """Remove the empty folder at ``where``; OSError when it is not one."""
    with _opened(where) as (name, dir_fd):
        os.rmdir(name, dir_fd=dir_fd)


def _copy(from_fd: int, name: str, to_fd: int, new: str) -> None:
    """Copy ``name`` of the open folder ``from_fd`` to ``new`` of ``to_fd``: a
    symlink as a symlink, a folder with what it holds, a file with its mode and
    times; anything else (a FIFO, a device) is not copied (OSError)."""
    info = os.stat(name, dir_fd=from_fd, follow_symlinks=False)
    if stat.S_ISLNK(info.st_mode):
        os.symlink(os.readlink(name, dir_fd=from_fd), new, dir_fd=to_fd)
        if os.utime in os.supports_follow_symlinks:  # the link's own times
            times = (info.st_atime_ns, info.st_mtime_ns)
            os.utime(new, ns=times, dir_fd=to_fd, follow_symlinks=False)
        return
    if stat.S_ISDIR(info.st_mode):
        os.mkdir(new, 0o700, dir_fd=to_fd)
        below, copy = os.open(name, FOLDER_FLAGS, dir_fd=from_fd), None
        try:
            copy = os.open(new, FOLDER_FLAGS, dir_fd=to_fd)
            for entry in os.listdir(below):
                _copy(below, entry, copy, entry)
            _keep_mode_and_times(copy, os.fstat(below))
        finally:
            os.close(below)
            if copy is not None:
                os.close(copy)
        return
    if not stat.S_ISREG(info.st_mode):
        raise OSError(errno.EPERM, "neither a file, a folder nor a symlink: not copied", name)
    source = os.open(name, OPEN_FLAGS, dir_fd=from_fd)
    try:
        opened = os.fstat(source)
        if not stat.S_ISREG(opened.st_mode):  # replaced since the lstat
            raise OSError(errno.EPERM, "no longer a file: not copied", name)
        target = os.open(new, NEW_FILE_FLAGS, 0o600, dir_fd=to_fd)
        with open(source, "rb", closefd=False) as reading, open(target, "wb") as writing:
            shutil.copyfileobj(reading, writing)
            writing.flush()
            _keep_mode_and_times(target, opened)
    finally:
        os.close(source)


def _keep_mode_and_times(fd: int, info: os.stat_result) -> None:
    os.chmod(fd, stat.S_IMODE(info.st_mode))
    os.utime(fd, ns=(info.st_atime_ns, info.st_mtime_ns))


def _remove(dir_fd: int, name: str) -> None:
    """Remove ``name`` of the open folder ``dir_fd`` and, for a folder, what it holds
    (a symlink in it is removed, never followed)."""
    info = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    if not stat.S_ISDIR(info.st_mode):
        os.unlink(name, dir_fd=dir_fd)
        return
    below = os.open(name, FOLDER_FLAGS, dir_fd=dir_fd)
    try:
        for entry in os.listdir(below):
            _remove(below, entry)
    finally:
        os.close(below)
    os.rmdir(name, dir_fd=dir_fd)


def _move_across_by_path(source: str, target: str) -> None:  # pragma: no cover (Windows)
    """Where no folder handles are: copied by path (links kept as links), then the
    original removed."""
    if stat.S_ISDIR(os.lstat(source).st_mode):
        shutil.copytree(source, target, symlinks=True)
        shutil.rmtree(source)
    else:
        shutil.copy2(source, target, follow_symlinks=False)
        os.unlink(source)
