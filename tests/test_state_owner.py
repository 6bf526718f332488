"""Our own state cannot be turned against the user running us: it is never reached
through a symlink, never written into an environment another user owns, and never
trusted when another user could have written it.

The tests run as root, the user who can write anywhere, against an environment
conda made and then handed to another user (uid 65534), who has put symlinks to a
folder of theirs (the canary) in place of our state folder or its files.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import time
from pathlib import Path

import pytest

from conda_integrity.observe.known_hashes import RACY_SECONDS
from conda_integrity.store.state_dir import StateDir, running_user
from conda_integrity.store.state_file import StateFile
from tests.support.conda_cli import Conda
from tests.support.helpers import edit_in_place, findings, record_of, summary, verify
from tests.support.other_user import OTHER, fingerprint, hand_over, make_canary, needs_root

WARN = {"CONDA_PLUGINS_INTEGRITY_MODE": "warn"}


def users_state(sandbox: Conda) -> list[Path]:
    """Our state folders in the cache of the user running conda (the sandbox's home)."""
    return sorted((sandbox.home / ".cache" / "conda-integrity" / "prefixes").glob("*"))


def run_everything(sandbox: Conda, env: Path) -> dict:
    """verify (twice: the second reads what the first kept), snapshot, log, diff and a
    guarded conda command, as the user running the tests; the last verify's report."""
    verify(sandbox, env)
    sandbox.run("integrity", "snapshot", "-p", str(env), "--label", "mine", timeout=120)
    assert sandbox.run("integrity", "log", "-p", str(env), "--json", timeout=120).json()
    sandbox.run("integrity", "diff", "-p", str(env), timeout=120)
    install = sandbox.install(env, "footools", env=WARN, timeout=300)  # nothing to do
    assert "Traceback" not in install.stderr
    time.sleep(RACY_SECONDS + 0.2)  # old enough for verify to keep what it learns
    verify(sandbox, env)
    return verify(sandbox, env)


# -- another user's environment ------------------------------------------------------


@needs_root
def test_root_follows_no_symlinked_state_folder_of_another_users_environment(
    sandbox: Conda, env: Path, tmp_path: Path
) -> None:
    (env / "include" / "foo.h").unlink()  # a real damage, which must still be found
    canary = make_canary(tmp_path, ("hash-cache.json", "index.json"))
    shutil.rmtree(env / "conda-meta" / "integrity")  # what conda create's guard made
    (env / "conda-meta" / "integrity").symlink_to(canary, target_is_directory=True)
    hand_over(env)
    canary_before, env_before = fingerprint(canary), fingerprint(env)

    report = run_everything(sandbox, env)

    assert fingerprint(canary) == canary_before
    assert fingerprint(env) == env_before  # nothing written into the environment
    assert summary(report) == {
        ("missing-file", "include/foo.h"),
        ("untrusted-state", "conda-meta/integrity"),
    }
    (untrusted,) = findings(report, "untrusted-state")
    assert untrusted["target"] == str(canary)
    # root keeps its own state of the environment, in its own cache
    (own,) = users_state(sandbox)
    assert (own / "hash-cache.json").is_file()
    assert list((own / "snapshots").glob("*.snapshot"))


@needs_root
def test_root_follows_no_symlinked_state_file_of_another_users_environment(
    sandbox: Conda, env: Path, tmp_path: Path
) -> None:
    time.sleep(RACY_SECONDS + 0.2)
    verify(sandbox, env)  # while root owned it: every state file is there
    sandbox.install(env, "zlibby", "--force-reinstall", env=WARN)  # a journal, snapshots
    time.sleep(RACY_SECONDS + 0.2)
    verify(sandbox, env)
    state = env / "conda-meta" / "integrity"
    names = [str(p.relative_to(state)) for p in state.rglob("*") if p.is_file()]
    kinds = {name.split("/")[0] if "/" in name else name for name in names}
    assert {"hash-cache.json", "verdicts.json", "tree.json", "modes.json"} < kinds
    assert {"journal", "snapshots"} < kinds and "snapshots/index.json" in names
    canary = make_canary(tmp_path, uid=None)
    for name in names:  # each state file: a symlink to the other user's copy
        target = canary / name.replace("/", "--")
        os.replace(state / name, target)
        (state / name).symlink_to(target)
    (env / "include" / "foo.h").unlink()
    hand_over(env)
    hand_over(canary)
    canary_before, env_before = fingerprint(canary), fingerprint(env)

    report = run_everything(sandbox, env)

    assert fingerprint(canary) == canary_before
    assert fingerprint(env) == env_before
    assert summary(report) == {("missing-file", "include/foo.h")}


@needs_root
def test_root_trusts_no_state_another_user_could_have_written(sandbox: Conda, env: Path) -> None:
    """The owner damages a file and writes a hash cache that says it is intact, with
    the file's new stat key: verify as root still hashes it and finds the damage."""
    hand_over(env)
    target = env / "include" / "foo.h"
    edit_in_place(target)
    time.sleep(RACY_SECONDS + 0.2)
    info = target.stat()
    entry = next(
        e
        for e in json.loads(record_of(env, "libfoo").read_text())["paths_data"]["paths"]
        if e["_path"] == "include/foo.h"
    )
    state = env / "conda-meta" / "integrity"
    lie = {
        "format": 2,
        "paths": "include/foo.h",
        "keys": [info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns],
        "digests": entry.get("sha256_in_prefix") or entry["sha256"],
    }
    (state / "hash-cache.json").write_text(json.dumps(lie))
    hand_over(state)
    env_before = fingerprint(env)

    assert summary(verify(sandbox, env)) == {("altered-file", "include/foo.h")}
    assert fingerprint(env) == env_before
    # the same lie in the environment's owner's own state folder does fool a run of
    # theirs (here: root's, once root owns it all): the test above is not idle
    hand_over(env, 0)
    lie["keys"][3] = target.stat().st_ctime_ns  # chown changed the ctime
    (state / "hash-cache.json").write_text(json.dumps(lie))
    assert verify(sandbox, env, "--fast")["findings"] == []


# -- the environment's owner ---------------------------------------------------------


@pytest.mark.parametrize("folder", ["conda-meta/integrity", "conda-meta/integrity/journal"])
def test_the_owner_follows_no_symlinked_state_folder(
    sandbox: Conda, env: Path, tmp_path: Path, folder: str
) -> None:
    canary = make_canary(tmp_path, uid=None)
    shutil.rmtree(env / folder)  # what conda create's guard made
    (env / folder).symlink_to(canary, target_is_directory=True)
    (env / "include" / "foo.h").unlink()
    canary_before = fingerprint(canary)

    report = run_everything(sandbox, env)

    assert fingerprint(canary) == canary_before
    assert summary(report) == {
        ("missing-file", "include/foo.h"),
        ("untrusted-state", folder),
    }
    (untrusted,) = findings(report, "untrusted-state")
    assert untrusted["fix"] == f"rm {env / folder}"
    assert (env / folder).is_symlink()  # left as it is, reported
    (own,) = users_state(sandbox)  # the owner's state went to their cache instead
    assert list((own / "journal").glob("*.json"))


@needs_root
def test_a_state_folder_of_another_user_is_not_used_by_the_owner(sandbox: Conda, env: Path) -> None:
    """Here root owns the environment, and the other user made its state folder."""
    state = env / "conda-meta" / "integrity"
    hand_over(state)  # as if they had made it
    before = fingerprint(state)
    report = run_everything(sandbox, env)
    assert fingerprint(state) == before
    (untrusted,) = report["findings"]
    assert (untrusted["code"], untrusted["path"]) == ("untrusted-state", "conda-meta/integrity")
    assert "uid 65534" in untrusted["message"]


# -- the folder handle itself --------------------------------------------------------


def test_a_write_through_a_symlinked_folder_fails_and_leaves_its_target(tmp_path: Path) -> None:
    canary = tmp_path / "canary"
    canary.mkdir()
    base = tmp_path / "base"
    base.mkdir()
    (base / "state").symlink_to(canary)
    for parts in (("state",), ("state", "below")):
        folder = StateDir(str(base), parts, running_user())
        with pytest.raises(OSError):
            StateFile.in_folder(folder, "x.json", 1).write({"value": 1})
        assert StateFile.in_folder(folder, "x.json", 1).read() is None
        assert folder.names() == []
    assert list(canary.iterdir()) == []


def test_names_that_leave_the_folder_are_refused(tmp_path: Path) -> None:
    folder = StateDir(str(tmp_path), ("state",), running_user())
    StateFile.in_folder(folder, "x.json", 1).write({"value": 1})
    (tmp_path / "outside.json").write_text('{"format":1,"value":2}')
    for name in ("../outside.json", "..", "a/b.json"):
        assert folder.read(name) is None
        with pytest.raises(OSError):
            folder.remove(name)
    assert (tmp_path / "outside.json").is_file()


@needs_root
def test_files_and_folders_of_another_user_are_not_read(tmp_path: Path) -> None:
    folder = StateDir(str(tmp_path), ("state",), running_user())
    StateFile.in_folder(folder, "mine.json", 1).write({"value": 1})
    theirs = tmp_path / "state" / "theirs.json"
    theirs.write_text('{"format":1,"value":2}')
    os.chown(theirs, OTHER, OTHER)
    assert StateFile.in_folder(folder, "mine.json", 1).read() == {"value": 1}
    assert StateFile.in_folder(folder, "theirs.json", 1).read() is None
    StateFile.in_folder(folder, "theirs.json", 1).write({"value": 3})  # replaced: ours now
    assert StateFile.in_folder(folder, "theirs.json", 1).read() == {"value": 3}
    os.chown(tmp_path / "state", OTHER, OTHER)
    assert StateFile.in_folder(folder, "mine.json", 1).read() is None
    with pytest.raises(OSError):
        StateFile.in_folder(folder, "mine.json", 1).write({"value": 4})
    read_only = StateDir(str(tmp_path), ("state",), OTHER, writable=False)
    with pytest.raises(PermissionError):
        StateFile.in_folder(read_only, "new.json", 1).write({"value": 5})
    assert not (tmp_path / "state" / "new.json").exists()


@pytest.mark.parametrize("what", ["file", "folder"])
def test_unreadable_state_is_ignored_and_rebuilt(sandbox: Conda, env: Path, what: str) -> None:
    """As an ordinary user (root without the power to bypass permissions): a state
    file or state folder the user cannot read is no reason to fail or skip a check."""
    time.sleep(RACY_SECONDS + 0.2)
    verify(sandbox, env)
    state = env / "conda-meta" / "integrity"
    unreadable = state / "hash-cache.json" if what == "file" else state
    unreadable.chmod(0)
    edit_in_place(env / "include" / "foo.h")
    try:
        report = verify(sandbox, env, unprivileged=True)
        again = verify(sandbox, env, unprivileged=True)
    finally:
        state.chmod(0o755)
    assert summary(report) == summary(again) == {("altered-file", "include/foo.h")}
    if what == "file":  # written again, readable
        assert stat.S_IMODE((state / "hash-cache.json").stat().st_mode) & 0o600 == 0o600
    else:  # kept in the user's cache instead
        (own,) = users_state(sandbox)
        assert (own / "hash-cache.json").is_file()


# -- a conda-meta that is a symlink out of the prefix --------------------------------


def _meta_moved_out(env: Path, elsewhere: Path) -> Path:
    """The environment's conda-meta moved to ``elsewhere``, a symlink left in its place."""
    shutil.move(env / "conda-meta", elsewhere)
    (env / "conda-meta").symlink_to(elsewhere, target_is_directory=True)
    return elsewhere


@needs_root
def test_a_conda_meta_of_another_user_is_not_read(
    sandbox: Conda, env: Path, tmp_path: Path
) -> None:
    """conda-meta leads out of the prefix to a folder another user owns: they could
    write its records, so they are not verified as the environment's: exit 2, one
    line naming the link, its target and its owner."""
    target = _meta_moved_out(env, tmp_path / "their-meta")
    hand_over(target)
    before = fingerprint(target)
    for args in ((), ("--json",)):
        result = sandbox.verify(env, *args, timeout=120)
        assert result.returncode == 2, str(result)
        assert "Traceback" not in result.stderr
        words = (
            f"{env}: its conda-meta is a symbolic link to {target}, a folder of uid {OTHER}, "
            "who is neither you (uid 0) nor the environment's owner (uid 0): "
            "its records are not read"
        )
        if args:
            assert json.loads(result.stdout)["message"] == words
        else:
            (line,) = result.stderr.strip().splitlines()
            assert line.endswith(words)
    snapshot = sandbox.run("integrity", "snapshot", "-p", str(env), check=False, timeout=120)
    assert snapshot.returncode == 2 and "its records are not read" in snapshot.stderr
    assert fingerprint(target) == before  # nothing read into our state, nothing written


def test_a_conda_meta_of_ones_own_elsewhere_is_read_as_conda_reads_it(
    sandbox: Conda, env: Path, tmp_path: Path
) -> None:
    """A user who moved conda-meta to a folder of their own and linked it back: conda
    reads it through the link, and so does verify, without a warning; our state is
    kept in the user's cache (never written through the link)."""
    target = _meta_moved_out(env, tmp_path / "my-meta")
    (env / "include" / "foo.h").unlink()
    time.sleep(RACY_SECONDS + 0.2)  # old enough for the hashes verify learns to be kept
    state_before = fingerprint(target / "integrity")
    report = verify(sandbox, env, timeout=120)
    assert summary(report) == {("missing-file", "include/foo.h")}
    assert summary(verify(sandbox, env, timeout=120)) == {("missing-file", "include/foo.h")}
    assert fingerprint(target / "integrity") == state_before
    (own,) = users_state(sandbox)
    assert (own / "hash-cache.json").is_file()
