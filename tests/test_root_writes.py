"""Root's repair and rollback of another user's environment write nothing outside it.

The environment is conda's, handed to another user (uid 65534), who swapped a
folder on the way of what root's command touches (``share/foo``, ``share``) for
a symlink to a folder of root's (the canary, holding the same names). Every
change the command makes to the file system is recorded by an audit hook in its
process (``tests/support/kill_at.py``): each must lie in the environment or in
root's own files (its cache, package cache, home); the canary stays identical,
and the command says why it left what it could not do.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from conda_integrity.repair.backup import Backup
from conda_integrity.repair.on_the_way import leaving
from conda_integrity.store.state_dir import StateDir, running_user
from tests.support.conda_cli import Conda
from tests.support.helpers import kill_mid_transaction
from tests.support.other_user import (
    KILL_AT,
    fingerprint,
    hand_over,
    needs_root,
    outside,
    recording,
    run_recorded,
    writes,
)

TIMEOUT = 600
RELINK = Path(__file__).parent / "support" / "run_relink.py"


def swap_for_symlink(env: Path, folder: str, tmp_path: Path) -> Path:
    """As the owner would: ``folder`` of ``env`` replaced by a symlink to a copy of
    it that belongs to root (the canary); the canary."""
    canary = tmp_path / "canary"
    shutil.copytree(env / folder, canary, symlinks=True)
    shutil.rmtree(env / folder)
    (env / folder).symlink_to(canary, target_is_directory=True)
    return canary


def not_repaired(outcome: dict, stem: str) -> dict[str, str]:
    return {i["path"]: i["reason"] for i in outcome["not_repaired"] if i.get("package") == stem}


LIBFOO = "libfoo-1.0-h1234_0"


@needs_root
@pytest.mark.parametrize("folder", ["share/foo", "share"])
def test_repair_relinks_no_package_through_a_folder_swapped_for_a_symlink(
    sandbox: Conda, env: Path, tmp_path: Path, folder: str
) -> None:
    (env / "include" / "foo.h").unlink()  # libfoo is to be relinked
    canary = swap_for_symlink(env, folder, tmp_path)
    hand_over(env)
    before = fingerprint(canary)

    result, changed = run_recorded(
        sandbox, tmp_path / "writes.log", "integrity", "repair", "-p", str(env), "-y", "--json"
    )

    assert result.returncode == 1, result
    assert fingerprint(canary) == before
    assert outside(changed, env, sandbox.root) == []
    left = not_repaired(result.json(), LIBFOO)
    why = f"not relinked: {folder} is a symbolic link to {canary}, which leaves the environment"
    assert left["include/foo.h"].startswith(why)
    assert left["share/foo/1.0.txt"].startswith(why)
    assert not (env / "include" / "foo.h").exists()  # not relinked: the finding stays
    assert (env / folder).is_symlink()


@needs_root
def test_repair_solve_links_nothing_through_a_folder_swapped_for_a_symlink(
    sandbox: Conda, env: Path, tmp_path: Path
) -> None:
    sandbox.remove(env, "--force", "libfoo")  # footools needs it: the solver installs it
    canary = tmp_path / "canary"
    canary.mkdir()
    (canary / "keep.txt").write_text("root's own\n")
    (env / "share" / "foo").symlink_to(canary, target_is_directory=True)  # where it links
    hand_over(env)
    before = fingerprint(canary)

    result, changed = run_recorded(
        sandbox,
        tmp_path / "writes.log",
        *("integrity", "repair", "-p", str(env), "--solve", "-y", "--json"),
    )

    assert result.returncode == 1, result
    assert fingerprint(canary) == before
    assert outside(changed, env, sandbox.root) == []
    reasons = {i["code"]: i["reason"] for i in result.json()["not_repaired"]}
    assert reasons["unsatisfied-dependency"].startswith(
        f"not solved: share/foo is a symbolic link to {canary}, which leaves the environment"
    )
    assert not list(env.glob("conda-meta/libfoo-*.json"))


@needs_root
def test_conda_s_own_transaction_is_looked_at_once_more_right_before_it_runs(
    sandbox: Conda, env: Path, tmp_path: Path
) -> None:
    """The relink on its own, without the looks of repair's plan: conda's prepared
    actions are looked at right before they run."""
    canary = swap_for_symlink(env, "share/foo", tmp_path)
    hand_over(env)
    before = fingerprint(canary)

    log = tmp_path / "writes.log"
    result, changed = run_recorded(sandbox, log, str(env), "libfoo", script=RELINK)

    assert result.returncode != 0, result
    assert f"share/foo is a symbolic link to {canary}" in result.stderr
    assert fingerprint(canary) == before
    assert outside(changed, env, sandbox.root) == []


@needs_root
def test_the_folder_swapped_while_root_reads_the_question(
    sandbox: Conda, env: Path, tmp_path: Path
) -> None:
    (env / "include" / "foo.h").unlink()
    hand_over(env)
    canary = tmp_path / "canary"
    shutil.copytree(env / "share" / "foo", canary, symlinks=True)
    hand_over(canary, 0)
    before = fingerprint(canary)
    log = tmp_path / "writes.log"
    since = time.time() - 1
    process = sandbox.popen(
        *("integrity", "repair", "-p", str(env)),
        env={**recording(sandbox, log), "CONDA_ALWAYS_YES": "false"},
        runner=KILL_AT,
        cwd=sandbox.root,
        stdin=subprocess.PIPE,
    )
    try:
        assert process.stdout is not None and process.stdin is not None
        shown = []
        while not shown or shown[-1].strip():  # the plan ends in an empty line
            line = process.stdout.readline()
            assert line, (shown, process.communicate())
            shown.append(line)
        assert any(LIBFOO in line for line in shown), shown
        # the owner, while root reads the plan
        shutil.rmtree(env / "share" / "foo")
        (env / "share" / "foo").symlink_to(canary, target_is_directory=True)
        stdout, stderr = process.communicate("y\n", timeout=TIMEOUT)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()

    assert process.returncode == 1, (stdout, stderr)
    assert fingerprint(canary) == before
    assert outside(writes(log, since), env, sandbox.root) == []
    assert f"share/foo is a symbolic link to {canary}" in stdout
    assert not (env / "include" / "foo.h").exists()


def _install_as_root(sandbox: Conda, env: Path) -> int:
    """Root's guarded update of libfoo to 2.0 in the other user's environment: the
    number of the snapshot before it (in root's own cache)."""
    hand_over(env)
    sandbox.install(env, "libfoo=2.0", env={"CONDA_PLUGINS_INTEGRITY_MODE": "warn"})
    hand_over(env)
    args = ("integrity", "rollback", "-p", str(env), "--dry-run", "--json")
    return int(sandbox.run(*args, timeout=TIMEOUT).json()["plan"]["snapshot"])


@needs_root
def test_rollback_moves_and_links_nothing_through_a_folder_swapped_for_a_symlink(
    sandbox: Conda, env: Path, tmp_path: Path
) -> None:
    number = _install_as_root(sandbox, env)
    canary = swap_for_symlink(env, "share/foo", tmp_path)
    before = fingerprint(canary)

    result, changed = run_recorded(
        sandbox,
        tmp_path / "writes.log",
        *("integrity", "rollback", str(number), "-p", str(env), "-y"),
        timeout=TIMEOUT,
    )

    assert result.returncode == 2, result
    assert fingerprint(canary) == before
    assert outside(changed, env, sandbox.root) == []
    assert f"share/foo is a symbolic link to {canary}" in result.stderr
    assert "nothing was changed" in result.stderr
    assert "Traceback" not in result.stderr
    assert json.loads((env / "conda-meta" / "libfoo-2.0-h1234_0.json").read_text())


@needs_root
def test_repair_of_an_interrupted_transaction_moves_nothing_through_a_swapped_folder(
    sandbox: Conda, env: Path, tmp_path: Path
) -> None:
    hand_over(env)
    kill_mid_transaction(sandbox, env, tmp_path / "handshake", "slowpost")
    assert (env / "share" / "slowpost" / "data.txt").is_file()  # linked, no record
    canary = swap_for_symlink(env, "share/slowpost", tmp_path)
    hand_over(env)
    before = fingerprint(canary)

    result, changed = run_recorded(
        sandbox, tmp_path / "writes.log", "integrity", "repair", "-p", str(env), "-y", "--json"
    )

    assert result.returncode == 1, result
    assert fingerprint(canary) == before
    assert outside(changed, env, sandbox.root) == []
    reasons = {i["code"]: i["reason"] for i in result.json()["not_repaired"]}
    assert reasons["interrupted-transaction"].startswith("not changed: share/slowpost")
    assert f"share/slowpost is a symbolic link to {canary}" in reasons["interrupted-transaction"]


@pytest.fixture
def other_filesystem(tmp_path: Path) -> Path:
    """A folder on another file system than ``tmp_path``'s (``/dev/shm``)."""
    shm = Path("/dev/shm")
    if not shm.is_dir() or not os.access(shm, os.W_OK):
        pytest.skip("no /dev/shm to write to")
    if shm.stat().st_dev == tmp_path.stat().st_dev:
        pytest.skip("/dev/shm is on the same file system as the test's folder")
    folder = Path(os.path.realpath(shm)) / f"root-writes-{os.getpid()}-{tmp_path.name}"
    folder.mkdir()
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@needs_root
def test_repair_across_file_systems_relinks_nothing_through_a_swapped_folder(
    channel: Path, tmp_path: Path, other_filesystem: Path
) -> None:
    """Root's cache (and so its backup folder) on another file system than the
    environment: what is moved aside is copied, never through the swapped folder."""
    sandbox = Conda(other_filesystem / "sandbox", channel)
    env = tmp_path / "env"
    sandbox.create(env, "libfoo=1.0", "footools")
    (env / "include" / "foo.h").write_text("damaged\n")  # moved aside, across
    canary = swap_for_symlink(env, "share/foo", tmp_path)
    hand_over(env)
    before = fingerprint(canary)

    result, changed = run_recorded(
        sandbox, tmp_path / "writes.log", "integrity", "repair", "-p", str(env), "-y", "--json"
    )

    assert result.returncode == 1, result
    assert fingerprint(canary) == before
    assert outside(changed, env, sandbox.root) == []
    assert not_repaired(result.json(), LIBFOO)["include/foo.h"].startswith(
        f"not relinked: share/foo is a symbolic link to {canary}"
    )


# -- the backup folder, in this process -------------------------------------------------


def _prefix_with_a_file(tmp_path: Path) -> tuple[Path, Path]:
    prefix = tmp_path / "prefix"
    (prefix / "share" / "foo").mkdir(parents=True)
    (prefix / "share" / "foo" / "data.txt").write_text("the prefix's\n")
    canary = tmp_path / "canary"
    canary.mkdir()
    (canary / "data.txt").write_text("root's own\n")
    return prefix, canary


def _backup(prefix: Path, base: Path) -> Backup:
    return Backup(str(prefix), StateDir(str(base), ("backups", "1"), running_user(), own_base=True))


@pytest.mark.parametrize("across", [False, True])
def test_nothing_is_moved_aside_through_a_folder_swapped_for_a_symlink(
    tmp_path: Path, request: pytest.FixtureRequest, across: bool
) -> None:
    prefix, canary = _prefix_with_a_file(tmp_path)
    base = request.getfixturevalue("other_filesystem") if across else tmp_path / "cache"
    shutil.rmtree(prefix / "share" / "foo")
    (prefix / "share" / "foo").symlink_to(canary, target_is_directory=True)
    before = fingerprint(canary)
    backup = _backup(prefix, base)
    with pytest.raises(OSError, match="no folder here"):
        backup.move_aside("share/foo/data.txt", "damaged")
    assert fingerprint(canary) == before
    assert backup.items == []


def test_nothing_is_put_back_through_a_folder_swapped_for_a_symlink(tmp_path: Path) -> None:
    prefix, canary = _prefix_with_a_file(tmp_path)
    (canary / "data.txt").unlink()  # the place is free: a put back by path writes there
    backup = _backup(prefix, tmp_path / "cache")
    item = backup.move_aside("share/foo/data.txt", "damaged")
    assert Path(item.kept_as).read_text() == "the prefix's\n"
    # swapped between the move aside and the put back
    (prefix / "share" / "foo").rmdir()
    (prefix / "share" / "foo").symlink_to(canary, target_is_directory=True)
    before = fingerprint(canary)
    assert backup.put_back() == []
    assert fingerprint(canary) == before
    assert Path(item.kept_as).read_text() == "the prefix's\n"  # kept, and listed
    manifest = json.loads((Path(backup.path) / "manifest.json").read_text())
    assert [i["source"] for i in manifest["items"]] == [item.source]


def test_a_folder_goes_aside_and_back_across_file_systems_as_it_was(
    tmp_path: Path, other_filesystem: Path
) -> None:
    """Copied through folder handles both ways: a symlink as a symlink, a file's
    mode and times kept, the folders it left empty made again."""
    prefix, _ = _prefix_with_a_file(tmp_path)
    folder = prefix / "share" / "foo"
    (folder / "link").symlink_to("data.txt")
    (folder / "data.txt").chmod(0o751)
    os.utime(folder / "data.txt", ns=(1_000_000_000, 2_000_000_000))
    before = fingerprint(folder)
    backup = _backup(prefix, other_filesystem)
    item = backup.move_aside("share/foo", "debris")
    assert not folder.exists()
    assert os.readlink(Path(item.kept_as) / "link") == "data.txt"
    (prefix / "share").rmdir()  # left empty: conda's unlink would remove it
    assert backup.put_back() == [item]
    after = fingerprint(folder)
    assert {path: value[:4] for path, value in after.items()} == {
        path: value[:4]
        for path, value in before.items()  # mode, owner, size, mtime
    }
    assert [value[-1] for value in after.values()] == [value[-1] for value in before.values()]
    assert not Path(item.kept_as).exists()


def test_what_leaves_the_prefix_on_the_way_of_a_path(tmp_path: Path) -> None:
    prefix, canary = _prefix_with_a_file(tmp_path)
    (prefix / "lib").mkdir()
    (prefix / "share" / "inside").symlink_to(prefix / "lib", target_is_directory=True)
    (prefix / "share" / "out").symlink_to(canary, target_is_directory=True)
    (prefix / "share" / "own").symlink_to(canary, target_is_directory=True)
    (prefix / "loop").symlink_to("share/out")  # out again, through a symlink inside
    paths = [
        "share/foo/data.txt",
        "share/inside/x.so",
        "share/out/data.txt",
        "share/out",
        "share/own/data.txt",
        "loop/data.txt",
        "absent/folder/file",
    ]
    found = leaving(str(prefix), paths, own={"share/own"})
    assert sorted(found) == ["loop/data.txt", "share/out", "share/out/data.txt"]
    assert found["share/out/data.txt"].startswith(
        f"share/out is a symbolic link to {canary}, which leaves the environment"
    )
    assert found["loop/data.txt"].startswith(f"loop is a symbolic link to {canary}")
