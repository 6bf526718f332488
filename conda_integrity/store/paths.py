"""Where conda-integrity keeps its own files about a prefix, and whose they may be.

The state of a prefix lives in ``<prefix>/conda-meta/integrity/``: conda reads
only ``conda-meta/*.json``, ``history`` and a few named files, so a folder there
is ignored by conda and removed with the environment. It is used only by the
user who owns the environment (the owner of its ``conda-meta`` folder), and
only while it and its folders are real folders of that user. Anyone else
(root's ``verify --all``, a user of a shared environment), or the owner when
the folder cannot be used, keeps their own state of the prefix in their cache
folder, writes nothing into the prefix, and trusts nothing the owner could have
written there, except the journal, which is read for interruptions.
How the files are opened, read and written: :mod:`.state_dir`,
:mod:`.atomic_write`, :mod:`.state_file`.
"""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import replace
from typing import NamedTuple

from .state_dir import StateDir, running_user

STATE_DIR = "conda-meta/integrity"
#: the folders of the state folder (the guard's journal and snapshots)
JOURNAL, SNAPSHOTS = "journal", "snapshots"
#: the owner no folder has
NOBODY = -1


class UntrustedState(NamedTuple):
    """A folder of the prefix's state folder that is not used, and why."""

    #: relative to the prefix, with forward slashes
    path: str
    reason: str
    #: where it points, for a symlink
    target: str | None = None


def environment_owner(prefix: str) -> int | None:
    """The user who owns the environment: the owner of its ``conda-meta`` folder
    (None: no real ``conda-meta`` folder, or a platform without owners)."""
    if running_user() is None:  # Windows (tests/test_platforms.py runs it here)
        return None
    try:
        info = os.lstat(os.path.join(prefix, "conda-meta"))
    except OSError:
        return None
    return info.st_uid if stat.S_ISDIR(info.st_mode) else None


def untrusted_state(prefix: str) -> list[UntrustedState]:
    """The folders of the prefix's state folder that must not be used: a symlink,
    something else than a folder, or a folder of another user than the environment's
    owner (only the first such folder: what lies below it is not looked at)."""
    owner = environment_owner(prefix)
    for path in (STATE_DIR, f"{STATE_DIR}/{JOURNAL}", f"{STATE_DIR}/{SNAPSHOTS}"):
        full = os.path.join(prefix, path)
        try:
            info = os.lstat(full)
        except OSError:  # absent, or below a folder we may not read: nothing to use
            if path == STATE_DIR:
                return []
            continue
        if stat.S_ISLNK(info.st_mode):
            try:
                target = os.readlink(full)
            except OSError:
                target = None
            return [UntrustedState(path, "is a symlink", target)]
        if not stat.S_ISDIR(info.st_mode):
            return [UntrustedState(path, "is not a folder")]
        if owner is not None and info.st_uid != owner:
            return [
                UntrustedState(
                    path,
                    f"belongs to {user_name(info.st_uid)}, not to {user_name(owner)}, "
                    "who owns the environment",
                )
            ]
    return []


def user_name(uid: int) -> str:
    """The user's name with their uid (just the uid when it has no name)."""
    try:
        import pwd

        return f"{pwd.getpwuid(uid).pw_name} (uid {uid})"
    except (ImportError, KeyError):
        return f"uid {uid}"


def owns(prefix: str) -> bool:
    """Whether the user running us owns the environment (its ``conda-meta``)."""
    return environment_owner(prefix) == running_user()


def prefix_dir(prefix: str) -> StateDir:
    """The prefix's own state folder, writable only by the environment's owner."""
    owner, me = environment_owner(prefix), running_user()
    if owner is None and me is not None:
        owner = NOBODY  # no real conda-meta folder: no state folder anyone may use
    return StateDir(prefix, ("conda-meta", "integrity"), owner, writable=owner == me)


def _can_use_own(prefix: str) -> bool:
    """Whether the user running us keeps the prefix's state in the prefix: they own
    it, its state folder is trustworthy, and they may write it."""
    if not owns(prefix) or untrusted_state(prefix):
        return False
    folder = os.path.join(prefix, STATE_DIR)
    if os.path.lexists(folder):
        return os.access(folder, os.R_OK | os.W_OK | os.X_OK)
    return os.access(os.path.join(prefix, "conda-meta"), os.W_OK | os.X_OK)


def guard_dir(prefix: str) -> StateDir:
    """Where this user keeps state about ``prefix`` (what verify remembers, the
    guard's snapshots and journal): the prefix's state folder if they own the
    environment and may use it, else their own folder for it in their cache."""
    if _can_use_own(prefix):
        return prefix_dir(prefix)
    return users_dir(prefix)


def users_dir(prefix: str) -> StateDir:
    """The user's own folder for ``prefix``, in the user's cache: their state of a
    prefix they do not own or cannot write, and the journal of a ``conda create``
    that has not made the prefix yet."""
    from platformdirs import user_cache_dir

    key = hashlib.sha256(os.path.realpath(prefix).encode("utf-8", "surrogateescape"))
    return StateDir(
        user_cache_dir("conda-integrity"),
        ("prefixes", key.hexdigest()[:24]),
        running_user(),
        own_base=True,
    )


def guard_dirs_to_read(prefix: str) -> tuple[StateDir, ...]:
    """Every folder with journal entries about ``prefix``: :func:`guard_dir`, the
    prefix's own state folder (the transactions of the user who owns it: read,
    never written) and the user's own (a ``conda create`` of it, and more if they
    could not use the prefix's once)."""
    folders = [guard_dir(prefix)]
    others = (_read_only(prefix_dir(prefix)), users_dir(prefix))
    for folder in others:
        if all(folder.path != seen.path for seen in folders) and folder.present():
            folders.append(folder)
    return tuple(folders)


def _read_only(folder: StateDir) -> StateDir:
    return replace(folder, writable=False)
