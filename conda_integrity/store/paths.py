"""Where conda-integrity keeps its own files in a prefix, and how it writes them.

Everything lives in ``<prefix>/conda-meta/integrity/``: conda reads only
``conda-meta/*.json``, ``history`` and a few named files, so a folder there is
ignored by conda and removed with the environment. The guard's snapshots and
journal of a prefix the user cannot write to go to the user's cache instead.
Files are replaced atomically (write a temporary file, rename), so a crash
leaves either the old or the new version, never half of one; what must
survive a power cut is also fsynced.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from typing import Any

STATE_DIR = "conda-meta/integrity"


def state_path(prefix: str, name: str) -> str:
    return os.path.join(prefix, STATE_DIR, name)


def can_write(prefix: str) -> bool:
    """Whether the user may write conda-integrity's state into this prefix."""
    folder = os.path.join(prefix, STATE_DIR)
    if os.path.isdir(folder):
        return os.access(folder, os.W_OK | os.X_OK)
    return os.access(os.path.join(prefix, "conda-meta"), os.W_OK | os.X_OK)


def guard_dir(prefix: str) -> str:
    """Where the guard keeps snapshots and its journal for ``prefix``: the prefix's
    state folder if this user may write it, else the user's cache."""
    if can_write(prefix):
        return os.path.join(prefix, STATE_DIR)
    return users_dir(prefix)


def users_dir(prefix: str) -> str:
    """The user's own folder for ``prefix``, in the user's cache: the guard's state
    of a prefix the user cannot write, and the journal of a ``conda create`` that
    has not made the prefix yet."""
    from platformdirs import user_cache_dir

    key = hashlib.sha256(os.path.realpath(prefix).encode("utf-8", "surrogateescape"))
    return os.path.join(user_cache_dir("conda-integrity"), "prefixes", key.hexdigest()[:24])


def guard_dirs_to_read(prefix: str) -> tuple[str, ...]:
    """Every folder with journal entries about ``prefix``: :func:`guard_dir`, the
    prefix's own state folder (the transactions of the user who may write it) and
    the user's own (a ``conda create`` of it, and more if it was read-only once)."""
    folders = [guard_dir(prefix)]
    for folder in (os.path.join(prefix, STATE_DIR), users_dir(prefix)):
        if folder not in folders and os.path.isdir(folder):
            folders.append(folder)
    return tuple(folders)


def read_json(path: str) -> Any:
    """The parsed file, or None when it is absent or unusable (state is disposable)."""
    try:
        with open(path, "rb") as handle:
            return json.loads(handle.read())
    except (OSError, ValueError):
        return None


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


def write_json(path: str, value: Any, durable: bool = False) -> None:
    write_atomic(path, json.dumps(value, separators=(",", ":")).encode(), durable)


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
