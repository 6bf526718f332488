"""How conda-integrity writes its own files: replaced atomically, never in place.

A file is written to a temporary file in the same folder and renamed over the
old one, so a crash leaves either the old or the new version, never half of
one. The rename replaces whatever sits at the path (a symlink included), so a
write never follows a link out of our folder. What must survive a power cut is
also fsynced.
"""

from __future__ import annotations

import contextlib
import os
import tempfile


def write_atomic(path: str, data: bytes, durable: bool = False) -> None:
    """Replace ``path`` with ``data`` so that readers see the old or the new file.

    ``durable`` also makes it survive a power cut (fsync of file and folder);
    caches do without: after a crash they are at worst unusable, and ignored.
    """
    folder = os.path.dirname(path)
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=folder)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    if durable:
        _fsync_dir(folder)


def _fsync_dir(folder: str) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover (Windows cannot open folders)
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)
