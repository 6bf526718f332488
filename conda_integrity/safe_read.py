"""How conda-integrity opens a file that someone else may have put in its place:
never through a symlink, never blocking on a FIFO or device, never past a size bound.
"""

from __future__ import annotations

import errno
import os
import stat
from typing import NamedTuple

#: the default bound on what is read: far above what our largest state file needs (a
#: few tens of MB for hundreds of thousands of files), far below what would hurt
MAX_BYTES = 512 * 1024 * 1024

# no symlink is followed; O_NONBLOCK: should the path become a FIFO after the
# lstat, opening it must not wait for a writer
OPEN_FLAGS = (
    os.O_RDONLY
    | getattr(os, "O_NOFOLLOW", 0)
    | getattr(os, "O_NONBLOCK", 0)
    | getattr(os, "O_CLOEXEC", 0)
    | getattr(os, "O_BINARY", 0)
)


class FileRead(NamedTuple):
    """What reading a file gave: its bytes, or why there are none."""

    data: bytes | None
    #: why ``data`` is None: ABSENT, or other words that complete "it ..."
    problem: str | None = None


#: the problem of a path where nothing is
ABSENT = "does not exist"


def not_regular(mode: int) -> str:
    """Why a path of this ``st_mode`` (not a regular file) is not read, as words
    that complete "it ..."."""
    if stat.S_ISLNK(mode):
        return "is a symbolic link, which is never followed"
    if stat.S_ISDIR(mode):
        return "is a folder, not a file"
    if stat.S_ISFIFO(mode):
        return "is a FIFO, which is never opened"
    if stat.S_ISSOCK(mode):
        return "is a socket, which is never opened"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "is a device, which is never opened"
    return "is not a regular file"


def _too_large(max_bytes: int) -> str:
    return f"is larger than {max_bytes} bytes, the most that is read"


def _not_owned(uid: int) -> str:
    return f"belongs to uid {uid}, not to the owner of its folder"


def _refused(info: os.stat_result, max_bytes: int, owner: int | None) -> str | None:
    """Why a file of this stat is not read, or None."""
    if not stat.S_ISREG(info.st_mode):
        return not_regular(info.st_mode)
    if info.st_size > max_bytes:
        return _too_large(max_bytes)
    if owner is not None and info.st_uid != owner:
        return _not_owned(info.st_uid)
    return None


def read_file(
    path: str, max_bytes: int = MAX_BYTES, *, dir_fd: int | None = None, owner: int | None = None
) -> FileRead:
    """The bytes of ``path`` (relative to the open folder ``dir_fd``, if given) if it
    is a regular file (not a symlink, FIFO, device or folder) of at most
    ``max_bytes`` that belongs to ``owner`` (if given); else why not."""
    try:
        # lstat first: a device or FIFO is never opened at all
        info = os.stat(path, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return FileRead(None, ABSENT)
    except OSError as error:
        return FileRead(None, _failed(error))
    problem = _refused(info, max_bytes, owner)
    if problem is not None:
        return FileRead(None, problem)
    try:
        fd = os.open(path, OPEN_FLAGS, dir_fd=dir_fd)
    except FileNotFoundError:
        return FileRead(None, ABSENT)
    except OSError as error:
        if error.errno == errno.ELOOP:  # O_NOFOLLOW met a symlink put there after the lstat
            return FileRead(None, not_regular(stat.S_IFLNK))
        return FileRead(None, _failed(error))
    try:
        with os.fdopen(fd, "rb") as handle:
            # the path may have been replaced between the lstat and the open
            problem = _refused(os.fstat(handle.fileno()), max_bytes, owner)
            if problem is not None:
                return FileRead(None, problem)
            data = handle.read(max_bytes + 1)  # it may have grown since the fstat
    except OSError as error:
        return FileRead(None, _failed(error, "read"))
    if len(data) > max_bytes:
        return FileRead(None, _too_large(max_bytes))
    return FileRead(data)


def _failed(error: OSError, doing: str = "opened") -> str:
    return f"cannot be {doing}: {error.strerror or error}"


def read_regular_file(
    path: str, max_bytes: int = MAX_BYTES, *, dir_fd: int | None = None, owner: int | None = None
) -> bytes | None:
    """The bytes of ``path`` (relative to ``dir_fd``, if given) if it is a regular file
    (not a symlink, FIFO, device or folder) of at most ``max_bytes`` that belongs to
    ``owner`` (if given), else None."""
    return read_file(path, max_bytes, dir_fd=dir_fd, owner=owner).data
