"""A folder of conda-integrity's own state, reached without following a symlink.

A state folder is a base folder, opened as it is named (the prefix, or the
user's cache folder: the user may have reached either through a link of their
own), and the folders below it, each opened relative to the one above it
(``O_NOFOLLOW | O_DIRECTORY``, ``mkdir`` with ``dir_fd``) and required to belong
to one user: the owner of the environment, or the user running us. The files in
it are read, replaced, listed and removed relative to that folder's handle, so
a symlink anywhere below the base is never followed (opening it fails, writing
replaces it), and a folder or file someone else put there is not used.
Platforms without ``dir_fd`` (Windows) walk the same folders by path, checking
each with ``lstat``.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import IO, NamedTuple

from ..safe_read import FOLDER_FLAGS, MAX_BYTES, OPEN_FLAGS, read_regular_file

#: a file we create: never through a symlink, never over an existing file
NEW_FILE_FLAGS = (
    os.O_WRONLY
    | os.O_CREAT
    | os.O_EXCL
    | getattr(os, "O_NOFOLLOW", 0)
    | getattr(os, "O_CLOEXEC", 0)
    | getattr(os, "O_BINARY", 0)
)
#: a lock file we create: the same, open for reading and writing
NEW_LOCK_FLAGS = (NEW_FILE_FLAGS & ~os.O_WRONLY) | os.O_RDWR
FOLDER_MODE = 0o755
FILE_MODE = 0o644
#: every call made relative to a folder handle, here and in :mod:`.in_prefix`, can be
#: (not on Windows: there folders are walked by path)
_RELATIVE = all(
    call in os.supports_dir_fd for call in (os.open, os.mkdir, os.rename, os.unlink, os.rmdir)
)


def running_user() -> int | None:
    """The user we run as (None: the platform has no owners of files)."""
    return os.geteuid() if hasattr(os, "geteuid") else None


class Opened(NamedTuple):
    """An open state folder: its path, and its handle where the platform has them."""

    path: str
    fd: int | None

    def at(self, name: str) -> tuple[str, int | None]:
        """``(path, dir_fd)`` naming ``name`` in this folder for an ``os`` call; OSError
        for a name that is not one entry of the folder (``..``, ``a/b``)."""
        if name in ("", ".", "..") or os.sep in name or (os.altsep and os.altsep in name):
            raise OSError(errno.EINVAL, "not a file name", name)
        if self.fd is None:  # Windows (tests/test_platforms.py runs it here)
            return os.path.join(self.path, name), None
        return name, self.fd


@dataclass(frozen=True)
class StateDir:
    """A folder of our state: ``base``, then ``parts`` below it."""

    #: opened as named (following links); it must exist unless ``own_base``
    base: str
    #: the folders below the base, each opened without following a symlink
    parts: tuple[str, ...]
    #: the user every folder below the base (and every file read) must belong to
    #: (None: the platform has no owners of files)
    owner: int | None
    #: whether this run may create and write here (False: read only, as the
    #: journal of an environment another user owns)
    writable: bool = True
    #: whether the base is the user's own folder (their cache): made where missing,
    #: and it must belong to ``owner`` too (a prefix is opened as named)
    own_base: bool = False

    @property
    def path(self) -> str:
        return os.path.join(self.base, *self.parts)

    def sub(self, name: str) -> StateDir:
        """The folder ``name`` in this one."""
        return replace(self, parts=(*self.parts, name))

    @contextlib.contextmanager
    def opened(self, write: bool = False) -> Iterator[Opened]:
        """This folder, open; with ``write``, made where missing. OSError when it is
        absent, is (or lies below) a symlink or something else than a folder, or
        belongs to another user; PermissionError for a write to a read-only one."""
        if write and not self.writable:
            raise PermissionError(errno.EACCES, "not a folder this user may write to", self.path)
        if not _RELATIVE:  # Windows (tests/test_platforms.py runs it here)
            self._check_by_path(write)
            yield Opened(self.path, None)
            return
        if write and self.own_base:
            _make_own_folder(self.base, self.owner)
        fd = os.open(self.base, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | os.O_CLOEXEC)
        try:
            if self.own_base:
                self._check_owner(fd, self.base)
            for part in self.parts:
                try:
                    below = os.open(part, FOLDER_FLAGS, dir_fd=fd)
                except FileNotFoundError:
                    if not write:
                        raise
                    with contextlib.suppress(FileExistsError):
                        os.mkdir(part, FOLDER_MODE, dir_fd=fd)
                    below = os.open(part, FOLDER_FLAGS, dir_fd=fd)
                os.close(fd)
                fd = below
                self._check_owner(fd, part)
            yield Opened(self.path, fd)
        finally:
            os.close(fd)

    def _check_owner(self, fd: int, name: str) -> None:
        info = os.fstat(fd)
        if not stat.S_ISDIR(info.st_mode):
            raise NotADirectoryError(errno.ENOTDIR, "not a folder", name)
        if self.owner is not None and info.st_uid != self.owner:
            raise PermissionError(errno.EPERM, f"belongs to uid {info.st_uid}", name)

    def _check_by_path(self, write: bool) -> None:  # Windows (tests/test_platforms.py runs it here)
        folder = self.base
        if write and self.own_base:
            os.makedirs(folder, exist_ok=True)
        for part in self.parts:
            folder = os.path.join(folder, part)
            try:
                info = os.lstat(folder)
            except FileNotFoundError:
                if not write:
                    raise
                with contextlib.suppress(FileExistsError):
                    os.mkdir(folder, FOLDER_MODE)
                info = os.lstat(folder)
            if not stat.S_ISDIR(info.st_mode):  # a symlink, a junction's link, a file
                raise NotADirectoryError(errno.ENOTDIR, "not a folder", folder)

    def present(self) -> bool:
        """Whether the folder is there and usable (not a symlink, not another's)."""
        try:
            with self.opened():
                return True
        except OSError:
            return False

    def read(self, name: str, max_bytes: int = MAX_BYTES) -> bytes | None:
        """The bytes of file ``name`` if it is a regular file of at most ``max_bytes``
        that belongs to the folder's owner, else None (a symlink is not followed)."""
        try:
            with self.opened() as folder:
                path, dir_fd = folder.at(name)
                return read_regular_file(path, max_bytes, dir_fd=dir_fd, owner=self.owner)
        except OSError:
            return None

    def exists(self, name: str) -> bool:
        """Whether anything is at ``name`` in the folder (a symlink included)."""
        return self.lstat(name) is not None

    def lstat(self, name: str) -> os.stat_result | None:
        """What is at ``name`` in the folder (a symlink itself), or None."""
        try:
            with self.opened() as folder:
                path, dir_fd = folder.at(name)
                return os.stat(path, dir_fd=dir_fd, follow_symlinks=False)
        except OSError:
            return None

    def names(self) -> list[str]:
        """The names in the folder (empty when it is absent or unusable)."""
        try:
            with self.opened() as folder:
                return os.listdir(folder.path if folder.fd is None else folder.fd)
        except OSError:
            return []

    def remove(self, name: str) -> None:
        """Remove the file ``name`` (a symlink itself, never its target); OSError when
        that fails."""
        if not self.writable:
            raise PermissionError(errno.EACCES, "not a folder this user may write to", self.path)
        with self.opened() as folder:
            path, dir_fd = folder.at(name)
            os.unlink(path, dir_fd=dir_fd)

    def open_lock(self, name: str) -> IO[bytes]:
        """Create the lock file ``name`` and open it (OSError when something is there
        already: a lock file's name is new each time)."""
        with self.opened(write=True) as folder:
            path, dir_fd = folder.at(name)
            fd = os.open(path, NEW_LOCK_FLAGS, FILE_MODE, dir_fd=dir_fd)
        return os.fdopen(fd, "r+b")

    def open_existing(self, name: str) -> IO[bytes] | None:
        """The regular file ``name``, open for reading, or None (never blocking on a
        FIFO, never through a symlink)."""
        try:
            with self.opened() as folder:
                path, dir_fd = folder.at(name)
                # lstat first: a FIFO or device there is never opened at all
                if not stat.S_ISREG(os.stat(path, dir_fd=dir_fd, follow_symlinks=False).st_mode):
                    return None
                fd = os.open(path, OPEN_FLAGS, dir_fd=dir_fd)
        except OSError:
            return None
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            return None
        return os.fdopen(fd, "rb")


def _make_own_folder(path: str, owner: int | None) -> None:
    """Make ``path`` (and the folders above it) unless it exists, only below a folder
    of ``owner``: root run with another user's ``HOME`` must not make folders there."""
    if os.path.isdir(path):
        return
    above = os.path.dirname(os.path.abspath(path))
    while not os.path.exists(above) and os.path.dirname(above) != above:
        above = os.path.dirname(above)
    if owner is not None and os.stat(above).st_uid != owner:
        raise PermissionError(errno.EPERM, "the folder above belongs to another user", above)
    os.makedirs(path, 0o700, exist_ok=True)
