"""How conda-integrity opens a file that someone else may have put in its place:
never through a symlink, never blocking on a FIFO or device, never past a size bound;
and how it parses such a file's JSON: UTF-8 only, nesting and size bounded, every
failure a reason, never an exception.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import stat
from collections.abc import Iterator
from typing import Any, NamedTuple

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
#: a folder opened below another: never through a symlink, never anything but a folder
FOLDER_FLAGS = (
    os.O_RDONLY
    | getattr(os, "O_DIRECTORY", 0)
    | getattr(os, "O_NOFOLLOW", 0)
    | getattr(os, "O_CLOEXEC", 0)
)
_BY_FOLDER = os.open in os.supports_dir_fd and os.stat in os.supports_dir_fd
#: the deepest nesting of lists and objects a JSON file read here may have: conda's
#: own files nest 4 deep; Python's parser itself stops near 1,000 (RecursionError)
MAX_JSON_DEPTH = 64


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


class JsonRead(NamedTuple):
    """What reading a JSON file gave: its value, or why there is none."""

    value: Any
    #: why there is no value: ABSENT, or other words that complete "it ..."
    problem: str | None = None


#: the problem of JSON nested deeper than Python's parser goes
TOO_DEEP = "nests lists or objects too deep to be read"


def parse_json(data: bytes, max_depth: int | None = MAX_JSON_DEPTH) -> JsonRead:
    """The JSON value of ``data`` (UTF-8 text, lists and objects nested at most
    ``max_depth`` deep; None: as deep as Python's parser goes, for large files
    whose every node a walk would cost), or why it has none."""
    if not data.strip():
        return JsonRead(None, "is empty")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        return JsonRead(None, f"is not UTF-8 text ({error.reason} at byte {error.start})")
    try:
        value = json.loads(text)
    except ValueError as error:
        return JsonRead(None, f"is not valid JSON ({error})")
    except (RecursionError, MemoryError):
        return JsonRead(None, TOO_DEEP)
    if max_depth is not None and _depth_over(value, max_depth):
        return JsonRead(None, f"nests lists or objects more than {max_depth} deep")
    return JsonRead(value)


def _depth_over(value: Any, max_depth: int) -> bool:
    """Whether ``value`` nests lists and objects more than ``max_depth`` deep (walked
    without recursion, so that no later recursive walk of it can fail)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > max_depth:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False


def read_json(
    path: str,
    max_bytes: int = MAX_BYTES,
    *,
    dir_fd: int | None = None,
    max_depth: int | None = MAX_JSON_DEPTH,
) -> JsonRead:
    """The JSON value of the file ``path`` read as :func:`read_file` reads it, parsed
    as :func:`parse_json` parses it; else why there is none."""
    read = read_file(path, max_bytes, dir_fd=dir_fd)
    if read.data is None:
        return JsonRead(None, read.problem)
    return parse_json(read.data, max_depth)


@contextlib.contextmanager
def opened_below(base: str, parts: tuple[str, ...]) -> Iterator[tuple[str, int | None]]:
    """``(path, dir_fd)`` of the folder ``base/parts...``: ``base`` opened as named,
    each part below it without following a symlink and only if it is a folder
    (lstat first: a FIFO or device is never opened). For :func:`read_file`'s
    ``dir_fd``; where the platform has no folder handles, ``dir_fd`` is None and
    the path was walked with lstat. OSError naming the part when one is no folder.
    """
    path = base
    if not _BY_FOLDER:  # pragma: no cover (Windows)
        for part in parts:
            path = os.path.join(path, part)
            _check_folder(os.lstat(path).st_mode, part)
        yield path, None
        return
    fd = os.open(base, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_CLOEXEC", 0))
    try:
        for part in parts:
            if part in ("", ".", "..") or os.sep in part:
                raise OSError(errno.EINVAL, "not a file name", part)
            _check_folder(os.stat(part, dir_fd=fd, follow_symlinks=False).st_mode, part)
            below = os.open(part, FOLDER_FLAGS, dir_fd=fd)
            os.close(fd)
            fd = below
            path = os.path.join(path, part)
        yield path, fd
    finally:
        os.close(fd)


class NotAFolder(OSError):
    """A part of a path that :func:`opened_below` would not open: ``problem`` says why."""

    def __init__(self, part: str, problem: str) -> None:
        super().__init__(errno.ENOTDIR, problem, part)
        self.part, self.problem = part, problem


def _check_folder(mode: int, part: str) -> None:
    if stat.S_ISREG(mode):
        raise NotAFolder(part, "is a file, not a folder")
    if not stat.S_ISDIR(mode):
        raise NotAFolder(part, not_regular(mode))
