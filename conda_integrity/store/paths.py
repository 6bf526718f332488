"""Where conda-integrity keeps its own files in a prefix.

Everything lives in ``<prefix>/conda-meta/integrity/``: conda reads only
``conda-meta/*.json``, ``history`` and a few named files, so a folder there is
ignored by conda and removed with the environment. The guard's snapshots and
journal of a prefix the user cannot write to go to the user's cache instead.
How they are written and read: :mod:`.atomic_write`, :mod:`.state_file`.
"""

from __future__ import annotations

import hashlib
import os

STATE_DIR = "conda-meta/integrity"


def state_path(prefix: str, name: str) -> str:
    """The path of our state file ``name`` in ``prefix``."""
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
