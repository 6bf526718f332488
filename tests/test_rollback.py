"""``conda integrity rollback``: a prefix made to hold exactly a snapshot's packages.

Every environment here is made, changed and interrupted by real conda; each
conda run has a time limit (``Conda.run``), so a hang fails its test.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

from tests.support.conda_cli import Conda
from tests.support.fault_sweep import KILL_RUNNER
from tests.support.helpers import findings, verify

STATE = "conda-meta/integrity"


def tree(prefix: Path, skip_state: bool = False) -> dict[str, tuple]:
    """Every path under ``prefix``: kind, mode and content (or symlink target)."""
    found: dict[str, tuple] = {}
    for folder, folders, files in os.walk(prefix):
        for name in folders + files:
            path = os.path.join(folder, name)
            relative = os.path.relpath(path, prefix)
            if skip_state and (relative == STATE or relative.startswith(STATE + "/")):
                continue
            info = os.lstat(path)
            if os.path.islink(path):
                found[relative] = ("link", os.readlink(path))
            elif os.path.isdir(path):
                found[relative] = ("dir", info.st_mode)
            else:
                digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
                found[relative] = ("file", info.st_mode, digest)
    return found


def package_files(prefix: Path) -> dict[str, tuple]:
    """The tree without conda-meta (the history grows) and Python's caches."""
    return {
        path: item
        for path, item in tree(prefix).items()
        if not path.startswith("conda-meta") and "__pycache__" not in path
    }


def records(prefix: Path) -> set[str]:
    return {p.name for p in (prefix / "conda-meta").glob("*.json")}


def rollback(sandbox: Conda, prefix: Path, *args: str, **kwargs):
    return sandbox.run("integrity", "rollback", "-p", str(prefix), *args, check=False, **kwargs)


def _killed(sandbox: Conda, prefix: Path, specs: list[str], match: str, at: str) -> None:
    """``conda install SPECS`` killed right before its ``at``-th change to a path
    ending in ``match``."""
    result = sandbox.run(
        "install",
        "-p",
        str(prefix),
        "--yes",
        *specs,
        check=False,
        runner=KILL_RUNNER,
        env={"KILL_ROOTS": str(prefix), "KILL_MATCH": match, "KILL_AT": at},
    )
    assert result.returncode == -9, str(result)


def _kill_update(sandbox: Conda, prefix: Path) -> None:
    """``conda install libfoo=2.0`` killed half-way: libfoo 1.0 unlinked (its files
    and record renamed to ``.c~``), some of 2.0's files linked, no record of 2.0."""
    _killed(sandbox, prefix, ["libfoo=2.0"], "include/foo.h", "2")


def _kill_install(sandbox: Conda, prefix: Path) -> None:
    """``conda install pyfoo alpha`` (neither in the prefix) killed half-way: alpha
    linked and recorded; pyfoo's files, its entry point (and, on conda 26, its
    ``.pyc`` files) linked, its record not written."""
    _killed(sandbox, prefix, ["pyfoo", "alpha"], "conda-meta/pyfoo-1.0", "1")
    assert (prefix / "bin" / "pyfoo").exists() and (prefix / "share" / "alpha").is_dir()
    assert "pyfoo-1.0-pyh0_0.json" not in records(prefix)


def outside_meta(prefix: Path) -> dict[str, tuple]:
    """The tree without conda-meta (the history grows), caches and empty folders included."""
    return {path: item for path, item in tree(prefix).items() if not path.startswith("conda-meta")}


def test_an_interrupted_install_is_rolled_back(sandbox: Conda, env: Path) -> None:
    sandbox.remove(env, "pyfoo")
    before, names = outside_meta(env), records(env)
    _kill_install(sandbox, env)
    (finding,) = findings(verify(sandbox, env), "interrupted-transaction")
    assert "pyfoo-1.0-pyh0_0 without writing" in finding["message"], finding

    result = rollback(sandbox, env)
    assert result.returncode == 0, str(result)
    assert "  remove   alpha-2.0-0" in result.stdout, result.stdout
    assert "move aside bin/pyfoo (linked for pyfoo-1.0-pyh0_0" in result.stdout
    # not a file of the new packages is left, not even an empty folder
    assert outside_meta(env) == before
    assert records(env) == names
    assert verify(sandbox, env, "--untracked")["findings"] == []


def test_an_interrupted_install_is_rolled_forward(sandbox: Conda, env: Path) -> None:
    sandbox.remove(env, "pyfoo")
    _kill_install(sandbox, env)
    result = rollback(sandbox, env, "--forward")
    assert result.returncode == 0, str(result)
    assert "pyfoo alpha` again" in result.stdout, result.stdout
    listed = sandbox.run("list", "-p", str(env), "--json").json()
    assert {"pyfoo-1.0-pyh0_0", "alpha-2.0-0"} <= {p["dist_name"] for p in listed}
    assert (env / "share" / "alpha" / "nested" / "data.txt").read_text() == "alpha 2.0\n"
    ran = subprocess.run([str(env / "bin" / "pyfoo")], capture_output=True, timeout=60)
    assert ran.returncode == 0 and ran.stdout == b"pyfoo\n", ran
    assert verify(sandbox, env, "--untracked")["findings"] == []


def test_rollback_across_an_update_and_a_remove(sandbox: Conda, env: Path) -> None:
    at_create, created_records = package_files(env), records(env)
    sandbox.install(env, "libfoo=2.0")
    at_update = package_files(env)
    sandbox.remove(env, "zlibby")

    # default: the snapshot before the last guarded transaction (the remove)
    result = rollback(sandbox, env)
    assert result.returncode == 0, str(result)
    assert "  install  zlibby-1.3-h0_1" in result.stdout
    assert "No problems found." in result.stdout
    assert package_files(env) == at_update

    result = rollback(sandbox, env, "1")
    assert result.returncode == 0, str(result)
    assert "  replace  libfoo-2.0-h1234_0 -> libfoo-1.0-h1234_0" in result.stdout
    assert package_files(env) == at_create
    assert records(env) == created_records
    assert verify(sandbox, env)["findings"] == []
    # the rollback was a transaction too: rolling back again undoes it
    listed = sandbox.run("list", "-p", str(env), "--json").json()
    assert {p["dist_name"] for p in listed} >= {"libfoo-1.0-h1234_0", "zlibby-1.3-h0_1"}


def test_an_interrupted_update_is_rolled_back(sandbox: Conda, env: Path) -> None:
    before = package_files(env)
    _kill_update(sandbox, env)
    report = verify(sandbox, env)
    assert findings(report, "interrupted-transaction"), report
    assert any(f["path"].endswith(".c~") for f in findings(report, "transaction-debris"))

    result = rollback(sandbox, env)
    assert result.returncode == 0, str(result)
    assert "libfoo" in result.stdout and "move aside" in result.stdout, result.stdout
    assert package_files(env) == before
    assert verify(sandbox, env)["findings"] == []
    (backup,) = (env / STATE / "backups").iterdir()
    manifest = json.loads((backup / "manifest.json").read_text())
    moved = {item["source"] for item in manifest["items"]}
    assert str(env / "lib" / "libfoo.so.2") in moved  # linked without a record
    assert any(source.endswith(".c~") for source in moved)


def test_refuse_mode_lets_rollback_through(sandbox: Conda, env: Path) -> None:
    _kill_update(sandbox, env)
    refuse = {"CONDA_PLUGINS_INTEGRITY_MODE": "refuse"}
    assert sandbox.install(env, "zlibby", check=False, env=refuse).returncode != 0
    result = rollback(sandbox, env, env=refuse)
    assert result.returncode == 0, str(result)
    assert verify(sandbox, env)["findings"] == []
    sandbox.install(env, "libfoo=2.0", env=refuse)


def test_a_command_that_changed_nothing_is_not_taken_for_the_interruption(
    sandbox: Conda, env: Path
) -> None:
    """After an interrupted update, a command refuse mode stops (on conda 26 it is
    stopped inside conda's transaction, after the guard's journal entry began) and
    one whose solve fails leave conda's ``.c~`` backups as they were: neither is an
    interruption, and the update still is."""
    before = package_files(env)
    _kill_update(sandbox, env)
    refuse = {"CONDA_PLUGINS_INTEGRITY_MODE": "refuse"}
    refused = sandbox.install(env, "zlibby", check=False, env=refuse)
    assert refused.returncode != 0 and "interrupted-transaction" in refused.stderr, str(refused)
    assert sandbox.install(env, "no-such-package", check=False).returncode == 1
    for _ in range(2):  # as judged, then as written back into the journal
        (finding,) = findings(verify(sandbox, env), "interrupted-transaction")
        assert "libfoo=2.0` (pid" in finding["message"], finding
    result = rollback(sandbox, env)
    assert result.returncode == 0, str(result)
    assert package_files(env) == before
    assert verify(sandbox, env)["findings"] == []


def test_dry_run_changes_nothing(sandbox: Conda, env: Path) -> None:
    sandbox.remove(env, "zlibby")
    _kill_update(sandbox, env)
    verify(sandbox, env)  # what verify keeps in conda-meta/integrity is there already
    everything = tree(env)
    result = rollback(sandbox, env, "1", "--dry-run")
    assert result.returncode == 0, str(result)
    assert "  install  zlibby-1.3-h0_1" in result.stdout
    assert "libfoo-1.0-h1234_0" in result.stdout
    assert tree(env) == everything
    result = rollback(sandbox, env, "1", "--dry-run", "--json")
    assert result.returncode == 0, str(result)
    assert json.loads(result.stdout)["plan"]["snapshot"] == 1
    assert tree(env) == everything


def test_a_corrupt_record_is_rebuilt_from_the_snapshot(sandbox: Conda, env: Path) -> None:
    before = package_files(env)
    record = next((env / "conda-meta").glob("footools-*.json"))
    damaged = record.read_bytes()[:100]
    record.write_bytes(damaged)
    assert findings(verify(sandbox, env), "corrupt-record")

    result = rollback(sandbox, env, "1")
    assert result.returncode == 0, str(result)
    assert f"move aside conda-meta/{record.name}" in result.stdout
    assert package_files(env) == before
    assert verify(sandbox, env)["findings"] == []
    (backup,) = (env / STATE / "backups").iterdir()
    assert (backup / "prefix" / "conda-meta" / record.name).read_bytes() == damaged


def test_a_bad_snapshot_number_is_one_line(sandbox: Conda, env: Path) -> None:
    for wrong, said in (("99", "there is no snapshot 99"), ("x", "there is no snapshot x")):
        result = rollback(sandbox, env, wrong)
        assert result.returncode == 2, str(result)
        assert said in result.stderr and "Traceback" not in result.stderr, str(result)


def test_an_interrupted_update_is_rolled_forward(sandbox: Conda, env: Path) -> None:
    _kill_update(sandbox, env)
    refuse = {"CONDA_PLUGINS_INTEGRITY_MODE": "refuse"}
    result = rollback(sandbox, env, "--forward", env=refuse)
    assert result.returncode == 0, str(result)
    assert "libfoo=2.0` again" in result.stdout, result.stdout
    assert "No problems found." in result.stdout
    listed = sandbox.run("list", "-p", str(env), "--json").json()
    assert "libfoo-2.0-h1234_0" in {p["dist_name"] for p in listed}
    assert verify(sandbox, env, "--untracked")["findings"] == []
    (backup,) = (env / STATE / "backups").iterdir()
    manifest = json.loads((backup / "manifest.json").read_text())
    assert any(item["source"].endswith(".c~") for item in manifest["items"])
    # nothing left to finish
    result = rollback(sandbox, env, "--forward")
    assert result.returncode == 2 and "no interrupted transaction" in result.stderr, str(result)


# -- corrupt-record and duplicate-package, from the snapshots ----------------------------


def repair(sandbox: Conda, prefix: Path, *args: str):
    return sandbox.run("integrity", "repair", "-p", str(prefix), *args, check=False)


def test_a_corrupt_record_is_rebuilt_from_the_newest_snapshot(sandbox: Conda, env: Path) -> None:
    before, names = package_files(env), records(env)
    record = next((env / "conda-meta").glob("footools-*.json"))
    damaged = record.read_bytes()[:100]
    record.write_bytes(damaged)
    # a snapshot taken since has no record of footools: an older one tells
    sandbox.run("integrity", "snapshot", "-p", str(env))
    result = repair(sandbox, env)
    assert result.returncode == 0, str(result)
    assert f"move aside conda-meta/{record.name}" in result.stdout
    assert package_files(env) == before and records(env) == names
    assert json.loads(record.read_text())["url"].endswith(".tar.bz2")
    assert verify(sandbox, env)["findings"] == []
    (backup,) = (env / STATE / "backups").iterdir()
    assert (backup / "prefix" / "conda-meta" / record.name).read_bytes() == damaged


def test_a_second_record_of_a_package_is_moved_aside(
    sandbox: Conda, env: Path, tmp_path: Path
) -> None:
    other = tmp_path / "other"
    sandbox.create(other, "libfoo=2.0")
    before, names = package_files(env), records(env)
    # a conda-meta restored from another environment's copy, as a user would
    stray = next((other / "conda-meta").glob("libfoo-2.0-*.json"))
    (env / "conda-meta" / stray.name).write_bytes(stray.read_bytes())
    assert findings(verify(sandbox, env), "duplicate-package")
    result = repair(sandbox, env)
    assert result.returncode == 0, str(result)
    assert f"move aside conda-meta/{stray.name}" in result.stdout
    assert package_files(env) == before and records(env) == names
    assert verify(sandbox, env)["findings"] == []


def test_a_record_no_snapshot_knows_is_left(sandbox: Conda, env: Path) -> None:
    stray = env / "conda-meta" / "mystery-1.0-0.json"
    stray.write_text("{not json")
    result = repair(sandbox, env)
    assert result.returncode == 1, str(result)
    assert "nothing tells which build it was" in result.stdout
    assert stray.read_text() == "{not json"


def test_repair_takes_an_interrupted_update_back(sandbox: Conda, env: Path) -> None:
    before = package_files(env)
    _kill_update(sandbox, env)
    everything = tree(env)
    result = repair(sandbox, env, "--dry-run")
    assert result.returncode == 0, str(result)
    assert "put back conda-meta/libfoo-1.0-h1234_0.json" in result.stdout, result.stdout
    assert "or forward instead: conda integrity rollback --forward" in result.stdout
    assert tree(env) == everything
    result = repair(sandbox, env, "--json")
    assert result.returncode == 0, str(result)
    document = json.loads(result.stdout)
    assert document["plan"][0]["action"] == "from-snapshot"
    assert document["report"]["findings"] == []
    assert package_files(env) == before
    assert verify(sandbox, env)["findings"] == []
    assert tree(env, skip_state=True) != everything  # it did change the prefix


def test_a_package_gone_from_the_cache_and_its_channel_changes_nothing(
    channel: Path, tmp_path: Path
) -> None:
    own_channel = tmp_path / "channel"
    shutil.copytree(channel, own_channel)
    sandbox = Conda(tmp_path / "sandbox", own_channel)
    env = tmp_path / "env"
    sandbox.create(env, "libfoo=1.0")
    sandbox.install(env, "libfoo=2.0")
    gone = [*sandbox.pkgs_dir.glob("libfoo-1.0-*"), *own_channel.glob("*/libfoo-1.0-*")]
    for path in gone:
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    verify(sandbox, env)
    everything = tree(env)
    result = rollback(sandbox, env, "1")
    assert result.returncode == 2, str(result)
    assert "cannot get libfoo-1.0-h1234_0 from the package cache or its channel" in result.stderr
    assert "nothing was changed" in result.stderr and "Traceback" not in result.stderr
    assert tree(env) == everything


def test_a_rollback_killed_half_way_is_reported_and_finished(sandbox: Conda, env: Path) -> None:
    at_create = package_files(env)
    sandbox.install(env, "libfoo=2.0")
    result = sandbox.run(
        "integrity",
        "rollback",
        "-p",
        str(env),
        "1",
        check=False,
        runner=KILL_RUNNER,
        env={"KILL_ROOTS": str(env), "KILL_MATCH": "include/foo.h", "KILL_AT": "2"},
    )
    assert result.returncode == -9, str(result)
    (finding,) = findings(verify(sandbox, env), "interrupted-transaction")
    assert "integrity rollback" in finding["message"]
    result = rollback(sandbox, env, "--forward")
    assert result.returncode == 0, str(result)
    assert package_files(env) == at_create
    assert verify(sandbox, env)["findings"] == []


def test_a_file_in_the_way_of_a_noarch_package_is_kept(sandbox: Conda, env: Path) -> None:
    """python is not linked again, yet the noarch package's site-packages path is known:
    the user's file there goes to the backup before conda writes over it."""
    sandbox.remove(env, "pyfoo")
    (mine,) = env.glob("lib/python*/site-packages")
    (mine / "pyfoo").mkdir()
    (mine / "pyfoo" / "__init__.py").write_text("mine\n")
    result = rollback(sandbox, env, "-y")
    assert result.returncode == 0, str(result)
    assert (mine / "pyfoo" / "__init__.py").read_text() == "VERSION = '1.0'\n"
    (backup,) = (env / STATE / "backups").iterdir()
    manifest = json.loads((backup / "manifest.json").read_text())
    (item,) = [i for i in manifest["items"] if i["source"].endswith("pyfoo/__init__.py")]
    assert Path(item["kept_as"]).read_text() == "mine\n"
    assert verify(sandbox, env)["findings"] == []
