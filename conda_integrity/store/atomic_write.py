"""How conda-integrity writes its own files: replaced atomically, never in place.

A file is written to a new temporary file in the same folder and renamed over
the old one, so a crash leaves either the old or the new version, never half of
one. Both happen relative to the open folder (:class:`.state_dir.StateDir`):
the temporary file is created where nothing was (never through a symlink), and
the rename replaces whatever sits at the name (a symlink included) without
following it, so a write never leaves our folder. What must survive a power cut
is also fsynced.
"""

from __future__ import annotations

import contextlib
import os
import secrets

from .state_dir import FILE_MODE, NEW_FILE_FLAGS, StateDir


def write_atomic(folder: StateDir, name: str, data: bytes, durable: bool = False) -> None:
    """Replace the file ``name`` in ``folder`` with ``data``, so that readers see the
    old or the new file; OSError when it cannot be written.

    ``durable`` also makes it survive a power cut (fsync of file and folder);
    caches do without: after a crash they are at worst unusable, and ignored.
    """
    with folder.opened(write=True) as opened:
        tmp, dir_fd = opened.at(f".tmp-{secrets.token_hex(8)}")
        fd = os.open(tmp, NEW_FILE_FLAGS, FILE_MODE, dir_fd=dir_fd)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                if durable:
                    handle.flush()
                    os.fsync(handle.fileno())
            target, _ = opened.at(name)
            os.replace(tmp, target, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp, dir_fd=dir_fd)
            raise
        if durable:
            _fsync_dir(opened.fd)


def _fsync_dir(fd: int | None) -> None:
    if fd is None:  # Windows cannot open folders (tests/test_platforms.py runs it here)
        return
    with contextlib.suppress(OSError):
        os.fsync(fd)
