"""How conda-integrity opens a file that someone else may have put in its place:
never through a symlink, never blocking on a FIFO or device, never past a size bound.
"""

from __future__ import annotations

import os
import stat

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


def read_regular_file(path: str, max_bytes: int = MAX_BYTES) -> bytes | None:
    """The bytes of ``path`` if it is a regular file (not a symlink, FIFO, device or
    folder) of at most ``max_bytes``, else None."""
    try:
        # lstat first: a device or FIFO is never opened at all
        info = os.lstat(path)
    except OSError:
        return None
    if not stat.S_ISREG(info.st_mode) or info.st_size > max_bytes:
        return None
    try:
        fd = os.open(path, OPEN_FLAGS)
    except OSError:
        return None
    try:
        with os.fdopen(fd, "rb") as handle:
            # the path may have been replaced between the lstat and the open
            info = os.fstat(handle.fileno())
            if not stat.S_ISREG(info.st_mode) or info.st_size > max_bytes:
                return None
            data = handle.read(max_bytes + 1)  # it may have grown since the fstat
    except OSError:
        return None
    return data if len(data) <= max_bytes else None
