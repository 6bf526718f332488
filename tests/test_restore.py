"""An environment copied away and back (a backup restored, a tar round trip, a
container stage copied to the same path): every byte, mode and mtime kept, every
inode and ctime new. That is no change: the guard and ``diff`` say nothing, as
verify does; a real change made after the copy is still named by all three."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import pytest

from tests.support.conda_cli import Conda
from tests.support.helpers import edit_in_place, summary, verify
from tests.support.real_conda import ensure_conda

ensure_conda()

WARN = {"CONDA_PLUGINS_INTEGRITY_MODE": "warn"}


def guard_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "conda-integrity" in line]


def copy_away_and_back(prefix: Path, aside: Path) -> None:
    """``cp -a`` to a backup, the environment deleted, the backup copied back."""
    subprocess.run(["cp", "-a", str(prefix), str(aside)], check=True)
    shutil.rmtree(prefix)
    subprocess.run(["cp", "-a", str(aside), str(prefix)], check=True)
    shutil.rmtree(aside)


def tar_round_trip(form: str, prefix: Path, aside: Path) -> None:
    """A tar archive of the environment, the environment deleted, the archive unpacked."""
    archive = aside.with_suffix(".tar")
    create = ["tar", f"--format={form}", "-C", str(prefix.parent), "-cf", str(archive)]
    subprocess.run([*create, prefix.name], check=True)
    shutil.rmtree(prefix)
    subprocess.run(["tar", "-C", str(prefix.parent), "-xpf", str(archive)], check=True)
    archive.unlink()


RESTORES: dict[str, Callable[[Path, Path], None]] = {
    "cp -a": copy_away_and_back,
    # the POSIX format keeps mtimes to the nanosecond; GNU tar's own keeps whole
    # seconds, as many container and backup tools do
    "tar": partial(tar_round_trip, "posix"),
    "tar, whole seconds": partial(tar_round_trip, "gnu"),
}
WHOLE_SECONDS = {"tar, whole seconds"}


def files_of(prefix: Path) -> dict[str, tuple[bytes, int, int]]:
    """Every file of the environment but conda-integrity's state: content, mode, mtime."""
    found = {}
    for path in sorted(prefix.rglob("*")):
        relative = path.relative_to(prefix).as_posix()
        if relative.startswith("conda-meta/integrity") or not path.is_file() or path.is_symlink():
            continue
        info = path.lstat()
        found[relative] = (path.read_bytes(), info.st_mode, info.st_mtime_ns)
    return found


@pytest.fixture
def guarded(sandbox: Conda, tmp_path: Path) -> Path:
    """An environment made and changed by guarded conda commands (snapshots 1 to 3)."""
    prefix = tmp_path / "env"
    sandbox.create(prefix, "python", "libfoo=1.0", "footools", "pyfoo", env=WARN)
    sandbox.install(prefix, "zlibby", env=WARN)
    return prefix


def settle() -> None:
    """Past the two seconds in which a new ctime is too fresh to be remembered."""
    time.sleep(2.1)


@pytest.mark.parametrize("restore", RESTORES)
@pytest.mark.parametrize("first", ["guard", "verify"])
def test_a_restored_copy_is_no_change(
    sandbox: Conda, guarded: Path, tmp_path: Path, restore: str, first: str
) -> None:
    kept = files_of(guarded)
    if restore in WHOLE_SECONDS:
        kept = {p: (data, mode, mtime - mtime % 10**9) for p, (data, mode, mtime) in kept.items()}
    before = {p: guarded.joinpath(p).lstat().st_ctime_ns for p in kept}
    RESTORES[restore](guarded, tmp_path / "aside")
    assert files_of(guarded) == kept  # every byte, mode and mtime (to the second)
    assert all(guarded.joinpath(p).lstat().st_ctime_ns != c for p, c in before.items())
    settle()
    if first == "verify":
        assert summary(verify(sandbox, guarded)) == set()
    diff = sandbox.run("integrity", "diff", "-p", str(guarded), "--json").json()
    assert diff["files"] == []
    result = sandbox.install(guarded, "clobber-a", env=WARN)
    assert guard_lines(result.stderr) == [], result.stderr
    assert summary(verify(sandbox, guarded)) == set()
    result = sandbox.remove(guarded, "clobber-a", env=WARN)
    assert guard_lines(result.stderr) == [], result.stderr


def test_a_copy_used_at_another_path_and_copied_back_is_no_change(
    sandbox: Conda, guarded: Path, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "elsewhere"
    subprocess.run(["cp", "-a", str(guarded), str(elsewhere)], check=True)
    settle()
    # verified there, its state learns the copy's inodes (and prefix)
    assert summary(verify(sandbox, elsewhere)) == set()
    shutil.rmtree(guarded)
    subprocess.run(["cp", "-a", str(elsewhere), str(guarded)], check=True)
    settle()
    result = sandbox.install(guarded, "clobber-a", env=WARN)
    assert guard_lines(result.stderr) == [], result.stderr
    assert summary(verify(sandbox, guarded)) == set()


@pytest.mark.parametrize("restore", ["cp -a", "tar, whole seconds"])
def test_a_change_after_the_restore_is_named_by_the_guard_and_verify(
    sandbox: Conda, guarded: Path, tmp_path: Path, restore: str
) -> None:
    RESTORES[restore](guarded, tmp_path / "aside")
    target = guarded / "include" / "foo.h"
    info, content = target.stat(), target.read_bytes()
    edit_in_place(target, 0, b"/")  # same size...
    assert target.read_bytes() != content
    os.utime(target, ns=(info.st_atime_ns, info.st_mtime_ns))  # ...and mtime put back
    settle()
    diff = sandbox.run("integrity", "diff", "-p", str(guarded), "--json").json()
    assert [(c["path"], c["change"]) for c in diff["files"]] == [("include/foo.h", "content")]
    # the guard's check hashes the copies: the change is a problem it names
    result = sandbox.install(guarded, "clobber-a", env=WARN)
    assert f"conda-integrity: 1 problem(s) in {guarded}:" in result.stderr, result.stderr
    assert "altered-file" in result.stderr and "include/foo.h" in result.stderr
    assert "changed since conda's last transaction" not in result.stderr
    assert ("altered-file", "include/foo.h") in summary(verify(sandbox, guarded))
