"""Depth and the hash cache: --fast, --no-cache, stat keys, read-only prefixes."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from conda_integrity.observe.known_hashes import RACY_SECONDS, KnownHashes
from tests.support.catalog import SITE_PACKAGES
from tests.support.conda_cli import Conda
from tests.support.helpers import edit_in_place, record_of, replace_file, summary, verify


@pytest.fixture
def aged_env(env: Path) -> Path:
    """``env`` once its files are old enough for the hash cache to keep them."""
    time.sleep(RACY_SECONDS + 0.2)
    return env


def test_second_run_hashes_nothing(sandbox: Conda, aged_env: Path) -> None:
    first = verify(sandbox, aged_env)
    assert first["checked"]["hashed_files"] > 0
    assert (aged_env / "conda-meta" / "integrity" / "hash-cache.json").is_file()
    second = verify(sandbox, aged_env)
    assert second["checked"]["hashed_files"] == 0
    assert second["checked"]["bytes"] == first["checked"]["bytes"]
    again = verify(sandbox, aged_env, "--no-cache")
    assert again["checked"]["hashed_files"] == first["checked"]["hashed_files"]


def test_a_write_that_hides_itself_is_still_seen(sandbox: Conda, aged_env: Path) -> None:
    """Same size, mtime put back: only the ctime (and the content) tell."""
    verify(sandbox, aged_env)
    target = aged_env / "include" / "foo.h"
    before = target.stat()
    edit_in_place(target, 0, b"/")
    os.utime(target, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = target.stat()
    assert (after.st_size, after.st_mtime_ns, after.st_ino) == (
        before.st_size,
        before.st_mtime_ns,
        before.st_ino,
    )
    report = verify(sandbox, aged_env)
    assert report["checked"]["hashed_files"] == 1
    assert summary(report) == {("altered-file", "include/foo.h")}


def test_damaged_cache_is_ignored(sandbox: Conda, env: Path) -> None:
    verify(sandbox, env)
    state = env / "conda-meta" / "integrity"
    state.mkdir(exist_ok=True)
    (state / "hash-cache.json").write_text('{"format": 1, "entries": {"include/foo.h": [1,')
    (state / "modes.json").write_text("[]")
    edit_in_place(env / "include" / "foo.h")
    assert summary(verify(sandbox, env)) == {("altered-file", "include/foo.h")}


def test_fast_compares_without_hashing(sandbox: Conda, env: Path) -> None:
    (env / "share" / "foo" / "1.0.txt").unlink()
    replace_file(env / "include" / "foo.h", b'#define FOO_VERSION "99"\n')  # new size
    edit_in_place(env / "share" / "footools" / "README")  # same size: needs a hash
    report = verify(sandbox, env, "--fast")
    assert report["mode"] == "fast"
    assert report["checked"]["hashed_files"] == 0
    assert summary(report) == {
        ("missing-file", "share/foo/1.0.txt"),
        ("altered-file", "include/foo.h"),
    }
    assert ("altered-file", "share/footools/README") in summary(verify(sandbox, env))


def _tree(folder: Path) -> dict[str, int]:
    return {str(p): p.stat().st_mtime_ns for p in folder.rglob("*")}


def test_read_only_prefix_is_verified_without_writing(sandbox: Conda, aged_env: Path) -> None:
    """Nothing is written into it; what verify learns is kept in the user's cache."""
    env = aged_env
    for folder in (env, *env.parents):
        if folder == Path("/"):
            break
        folder.chmod(folder.stat().st_mode | 0o055)
    meta = env / "conda-meta"
    before = _tree(meta)
    folders = [meta, *(p for p in meta.rglob("*") if p.is_dir())]
    for folder in folders:
        folder.chmod(0o555)
    try:
        hashed = []
        for _ in range(2):
            result = sandbox.verify(env, "--json", unprivileged=True)
            report = json.loads(result.stdout)
            assert (result.returncode, report["findings"]) == (0, [])
            hashed.append(report["checked"]["hashed_files"])
        assert _tree(meta) == before
        assert hashed[0] > 0 and hashed[1] == 0  # the second run used the user's cache
        cached = sandbox.home / ".cache" / "conda-integrity" / "prefixes"
        assert len(list(cached.glob("*/hash-cache.json"))) == 1
    finally:
        for folder in folders:
            folder.chmod(0o755)


def test_remembered_clean_records_are_checked_again_once_touched(
    sandbox: Conda, aged_env: Path
) -> None:
    assert verify(sandbox, aged_env)["findings"] == []  # remembered as clean now
    os.chmod(aged_env / "include" / "foo.h", 0o755)
    (aged_env / "share" / "footools" / "README").unlink()
    record = record_of(aged_env, "pyfoo")
    data = json.loads(record.read_text())
    for entry in data["paths_data"]["paths"]:
        if entry["_path"].endswith("__init__.py"):
            entry["sha256_in_prefix"] = entry["sha256"] = "0" * 64  # the record, not the file
    record.write_text(json.dumps(data))
    assert summary(verify(sandbox, aged_env)) == {
        ("mode-changed", "include/foo.h"),
        ("missing-file", "share/footools/README"),
        ("altered-file", f"{SITE_PACKAGES}/pyfoo/__init__.py"),
    }


def test_a_remembered_folder_moved_out_and_linked_back_is_checked_again(
    sandbox: Conda, aged_env: Path, tmp_path: Path
) -> None:
    """Its files keep their inode and ctime, seen through the link: the folder's
    inode is what changed."""
    assert verify(sandbox, aged_env)["findings"] == []  # remembered as clean now
    folder = aged_env / SITE_PACKAGES / "pyfoo"
    outside = tmp_path / "outside-pyfoo"
    folder.rename(outside)
    folder.symlink_to(outside)
    report = verify(sandbox, aged_env)
    paths = {f["path"] for f in report["findings"] if "leaves the environment" in f["message"]}
    assert f"{SITE_PACKAGES}/pyfoo/__init__.py" in paths
    assert {f["code"] for f in report["findings"]} == {"unreadable"}


def test_debris_after_runs_that_skipped_the_walk(sandbox: Conda, aged_env: Path) -> None:
    """Verify walks nothing when nothing changed; what an aborted conda run leaves
    always changes something it notices (here: an owned file renamed to .c~)."""
    tree_state = aged_env / "conda-meta" / "integrity" / "tree.json"
    verify(sandbox, aged_env)
    verify(sandbox, aged_env)  # our own first state write changed conda-meta: walked again
    before = tree_state.stat().st_mtime_ns
    assert verify(sandbox, aged_env)["findings"] == []
    assert tree_state.stat().st_mtime_ns == before
    library = aged_env / "lib" / "libfoo.so.1"
    library.rename(library.with_name("libfoo.so.1.c~"))  # what conda's unlink does
    assert summary(verify(sandbox, aged_env)) == {
        ("missing-file", "lib/libfoo.so.1"),
        ("transaction-debris", "lib/libfoo.so.1.c~"),
    }


def test_debris_in_the_prefix_itself_after_a_quiet_run(sandbox: Conda, aged_env: Path) -> None:
    """A transaction killed after it prepared .condatmp changed no record yet."""
    verify(sandbox, aged_env)
    verify(sandbox, aged_env)
    (aged_env / ".condatmp").mkdir()
    (aged_env / ".condatmp" / "1b2c3d4e-prepared").write_bytes(b"prefix-replaced copy")
    assert summary(verify(sandbox, aged_env)) == {("transaction-debris", ".condatmp")}


def test_record_claiming_a_remembered_records_path(sandbox: Conda, aged_env: Path) -> None:
    """A record edited to own another package's file makes both suspect again."""
    verify(sandbox, aged_env)
    record = record_of(aged_env, "footools")
    data = json.loads(record.read_text())
    data["files"].append("include/foo.h")
    record.write_text(json.dumps(data))
    report = verify(sandbox, aged_env)
    clobbered = [f for f in report["findings"] if f["code"] == "clobbered-file"]
    assert [(f["path"], f["packages"], f["owner"]) for f in clobbered] == [
        ("include/foo.h", ["footools-1.0-h5678_0", "libfoo-1.0-h1234_0"], "libfoo-1.0-h1234_0")
    ]


def test_untracked_files_next_to_remembered_records(sandbox: Conda, aged_env: Path) -> None:
    verify(sandbox, aged_env)
    (aged_env / "share" / "mine.txt").write_text("mine\n")
    assert summary(verify(sandbox, aged_env, "--untracked")) == {
        ("untracked-file", "share/mine.txt")
    }


@pytest.mark.parametrize("settled", [False, True], ids=["changed-just-before", "settled"])
def test_a_file_added_to_a_remembered_folder_is_seen(
    sandbox: Conda, aged_env: Path, settled: bool
) -> None:
    """No record changes and the folder's parent is unchanged: only the folder's
    own ctime tells, whether the last run found it too fresh to trust or not."""
    data = aged_env / SITE_PACKAGES / "pyfoo" / "data"
    (data / "notes.txt").write_text("mine\n")  # data/ changes, its parent does not
    if settled:
        time.sleep(RACY_SECONDS + 0.2)
    verify(sandbox, aged_env)
    remembered = json.loads((aged_env / "conda-meta" / "integrity" / "tree.json").read_text())
    if settled:  # what a busy machine made of the other case: data/ is trusted as seen
        key = remembered["folders"][f"{SITE_PACKAGES}/pyfoo/data"]
        assert key == [data.stat().st_ino, data.stat().st_ctime_ns]
    (data / "table.csv.c~").write_bytes(b"left behind")
    assert ("transaction-debris", f"{SITE_PACKAGES}/pyfoo/data/table.csv.c~") in summary(
        verify(sandbox, aged_env)
    )


def test_hashes_read_on_demand_only_for_files_older_than_the_check_before(
    sandbox: Conda, aged_env: Path
) -> None:
    """The guard's check after a transaction reads the hash cache only if it looks up a
    file that did not change since the check before (see KnownHashes.on_demand)."""
    verify(sandbox, aged_env)  # the cache now holds every file's hash
    old = aged_env / "include" / "foo.h"
    new = aged_env / "share" / "footools" / "README"
    since = time.time_ns() - 1
    replace_file(new, b"written by the transaction\n")  # a new inode, changed since
    remembered = KnownHashes.load(str(aged_env))
    on_demand = KnownHashes.on_demand(str(aged_env), since)
    assert on_demand.get("share/footools/README", new.lstat()) is None
    assert on_demand.index == {}  # not read for a file changed since
    digest = on_demand.get("include/foo.h", old.lstat())
    assert digest is not None and digest == remembered.get("include/foo.h", old.lstat())
    assert on_demand.index == remembered.index  # read for a file older than that
