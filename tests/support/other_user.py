"""An environment handed to another user, a folder of the runner's to watch, and a
record of every write a conda command makes.

The tests run as root, the user who can write anywhere, against an environment
conda made and then handed to another user (uid 65534), who may have put symlinks
in it to a folder of someone else's (the canary).
"""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

import pytest

from conda_integrity.store.state_dir import running_user
from tests.support.conda_cli import Conda, Result

#: the user the environment is handed to
OTHER = 65534
KILL_AT = Path(__file__).with_name("kill_at.py")

needs_root = pytest.mark.skipif(running_user() != 0, reason="handing files to another user")


def fingerprint(root: Path) -> dict[str, tuple]:
    """Every path below ``root`` (symlinks not followed) with its kind, mode, owner,
    size, times of change and content or link target: equal, nothing was touched."""
    found = {}
    for folder, folders, files in os.walk(root):
        for name in ["", *folders, *files]:
            path = os.path.join(folder, name) if name else folder
            info = os.lstat(path)
            if stat.S_ISLNK(info.st_mode):
                content: bytes | str = os.readlink(path)
            elif stat.S_ISREG(info.st_mode):
                content = Path(path).read_bytes()
            else:
                content = b""
            key = (info.st_mode, info.st_uid, info.st_size, info.st_mtime_ns, info.st_ctime_ns)
            found[os.path.relpath(path, root)] = (*key, content)
    return found


def hand_over(folder: Path, uid: int = OTHER) -> None:
    """``chown -R uid:uid folder``, symlinks themselves, never their targets."""
    for path in [folder, *folder.rglob("*")]:
        os.chown(path, uid, uid, follow_symlinks=False)


def make_canary(tmp_path: Path, names: tuple[str, ...] = (), uid: int | None = OTHER) -> Path:
    """A folder of the other user's (of ``uid``), with a file for each name."""
    canary = tmp_path / "canary"
    canary.mkdir()
    (canary / "keep.txt").write_text("the other user's file\n")
    for name in names:
        (canary / name).write_text(f"the other user's {name}\n")
    if uid is not None:
        hand_over(canary, uid)
    return canary


def recording(conda: Conda, log: Path) -> dict[str, str]:
    """The environment variables that make ``kill_at.py`` (without a kill point)
    record every change its conda process makes to the file system, anywhere; its
    temporary files (filelock's probe of hard links, conda's) go to a folder of
    ``conda``'s own, as a user's ``TMPDIR`` is theirs."""
    tmp = conda.root / "tmp"
    tmp.mkdir(exist_ok=True)
    return {
        "KILL_ROOTS": "/",
        "KILL_LOG_FILE": str(log),
        "PYTHONDONTWRITEBYTECODE": "1",
        "TMPDIR": str(tmp),
    }


def writes(log: Path, since: float) -> list[str]:
    """The paths changed (folders resolved, names not) that ``log`` records; a
    ``mkdir`` of a folder that was there before ``since`` (it failed) is none, and
    nor is ``/dev/null`` opened for writing."""
    found = []
    for line in log.read_text().splitlines() if log.exists() else []:
        _, event, path = line.split("\t", 2)
        if path == os.devnull:
            continue
        if event == "os.mkdir" and os.path.isdir(path) and os.stat(path).st_ctime < since:
            continue
        found.append(path)
    return found


def run_recorded(
    conda: Conda, log: Path, *args: str, script: Path | None = None, **kwargs
) -> tuple[Result, list[str]]:
    """``conda ARGS`` (or the runner ``script`` with ARGS; not checked; in the folder
    of ``conda``'s own files), with every change it makes to the file system
    recorded: the run, and what it changed."""
    since = time.time() - 1
    env = {**recording(conda, log), **kwargs.pop("env", {})}
    if script is not None:
        env["KILL_SCRIPT"] = str(script)
    result = conda.run(*args, check=False, env=env, runner=KILL_AT, cwd=conda.root, **kwargs)
    return result, writes(log, since)


def outside(paths: list[str], *folders: Path) -> list[str]:
    """The paths that lie in none of ``folders`` (each resolved)."""
    roots = [os.path.join(os.path.realpath(folder), "") for folder in folders]
    return [p for p in paths if not any(os.path.join(p, "").startswith(r) for r in roots)]
