"""``conda integrity repair`` on real conda: each kind of damage put back byte for
byte through conda's own transaction, a damaged package cache never linked from,
a file shared by hard link repaired in every environment, a dry run that changes
nothing, a repair killed with SIGKILL and finished by the next, a package conda
can get from nowhere, and the guard's refuse mode letting repair through."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from tests.support.catalog import SITE_PACKAGES
from tests.support.conda_cli import Conda, Result
from tests.support.fault_sweep import KILL_RUNNER
from tests.support.helpers import (
    check_schema,
    edit_in_place,
    findings,
    replace_file,
    start_waiting_transaction,
    summary,
    verify,
)
from tests.support.trees import differences, tree

TIMEOUT = 300
LIBFOO = "libfoo-1.0-h1234_0"
#: what conda rewrites in conda-meta when it relinks (the records' link data, the
#: history) and our own state; the prefix's files are compared byte for byte
META = ("conda-meta",)


def repair(conda: Conda, prefix: Path | None, *args: str, **kwargs) -> Result:
    target = ("-p", str(prefix)) if prefix is not None else ()
    return conda.run("integrity", "repair", *target, *args, check=False, timeout=TIMEOUT, **kwargs)


def repair_json(conda: Conda, prefix: Path, *args: str, **kwargs) -> tuple[dict, Result]:
    result = repair(conda, prefix, "--json", "-y", *args, **kwargs)
    assert result.returncode in (0, 1), str(result)
    document = json.loads(result.stdout)
    check_schema("repair", document)
    return document, result


def test_each_kind_of_damage_is_put_back_byte_for_byte(sandbox: Conda, env: Path) -> None:
    before = tree(env, skip=META)
    site = env / SITE_PACKAGES
    (env / "bin" / "foo-config").unlink()  # text file, prefix replaced
    replace_file(env / "share" / "foo" / "runtime.bin", b"\x7fELF not it")  # binary, replaced
    (env / "lib" / "libfoo.so").unlink()
    (env / "lib" / "libfoo.so").symlink_to("elsewhere.so")  # a symlink pointed elsewhere
    (env / "bin" / "footool").chmod(0o644)  # its exec bit (its own copy: prefix replaced)
    (env / "bin" / "pyfoo").unlink()  # a noarch python entry point
    for pyc in (site / "pyfoo" / "__pycache__").iterdir():
        pyc.unlink()  # .pyc files conda compiled
    replace_file(site / "pyfoo" / "cli.py", b"def main():\n    return 1\n")
    report = verify(sandbox, env)
    assert {f["code"] for f in report["findings"]} >= {"missing-file", "altered-file"}

    document, result = repair_json(sandbox, env)

    assert result.returncode == 0, str(result)
    assert differences(before, tree(env, skip=META)) == []
    assert verify(sandbox, env)["findings"] == []
    assert document["report"]["ok"] is True and document["not_repaired"] == []
    relinked = {d["target"] for d in document["done"] if d["action"] == "relink"}
    assert relinked == {LIBFOO, "footools-1.0-h5678_0", "pyfoo-1.0-pyh0_0"}
    # the damaged files are kept, not deleted
    backup = Path(document["backup"])
    assert (backup / "prefix" / "share" / "foo" / "runtime.bin").read_bytes() == b"\x7fELF not it"
    manifest = json.loads((backup / "manifest.json").read_text())
    assert str(env / "share" / "foo" / "runtime.bin") in {i["source"] for i in manifest["items"]}


def test_an_edit_in_place_is_not_linked_back_from_the_cache(sandbox: Conda, env: Path) -> None:
    """The file is one inode with the package cache's copy: a plain reinstall would
    link the edited copy again. Repair moves the cache's copy aside and lets conda
    extract the verified archive again."""
    before = tree(env, skip=META)
    cached = sandbox.pkgs_dir / LIBFOO / "share" / "foo" / "1.0.txt"
    assert os.path.samefile(env / "share" / "foo" / "1.0.txt", cached)
    edit_in_place(env / "share" / "foo" / "1.0.txt")
    (env / "lib" / "libfoo.so.1").chmod(0o644)  # the cache's mode changes with it

    document, result = repair_json(sandbox, env)

    assert result.returncode == 0, str(result)
    assert differences(before, tree(env, skip=META)) == []
    assert verify(sandbox, env)["findings"] == []
    (plan,) = document["plan"]
    assert plan["source"]["how"] == "archive"
    assert plan["moves_aside"] == [str(sandbox.pkgs_dir / LIBFOO)]
    assert cached.read_bytes() == b"libfoo 1.0\n"  # extracted again
    kept = Path(document["backup"]) / "pkgs" / "0" / LIBFOO / "share" / "foo" / "1.0.txt"
    assert kept.read_bytes() == b"Xibfoo 1.0\n"
    pkgs_dirs = sandbox.run("integrity", "verify", "--pkgs-dirs", "--json", check=False)
    assert pkgs_dirs.json()["findings"] == []


def test_a_damaged_archive_is_not_extracted_the_package_is_fetched_again(
    sandbox: Conda, env: Path
) -> None:
    before = tree(env, skip=META)
    edit_in_place(env / "share" / "foo" / "1.0.txt")
    archive = sandbox.pkgs_dir / f"{LIBFOO}.tar.bz2"
    edit_in_place(archive, offset=archive.stat().st_size // 2, data=b"\x00\x01\x02")

    document, result = repair_json(sandbox, env)

    assert result.returncode == 0, str(result)
    (plan,) = document["plan"]
    assert plan["source"]["how"] == "fetch"
    assert set(plan["moves_aside"]) == {str(sandbox.pkgs_dir / LIBFOO), str(archive)}
    assert differences(before, tree(env, skip=META)) == []
    assert verify(sandbox, env)["findings"] == []


def test_an_edit_to_a_shared_inode_is_repaired_in_every_environment(
    sandbox: Conda, env: Path, tmp_path: Path
) -> None:
    other = sandbox.envs_dir / "other"
    sandbox.create(other, "libfoo=1.0")
    target = "share/foo/1.0.txt"
    assert os.path.samefile(env / target, other / target)
    before = tree(env, skip=META), tree(other, skip=META)
    edit_in_place(env / target)
    assert (other / target).read_bytes() == b"Xibfoo 1.0\n"

    first = repair(sandbox, env, "-y")
    assert first.returncode == 0, str(first)
    assert str(other) in first.stdout  # named as sharing the damaged file
    assert "repair --all" in first.stdout
    assert summary(verify(sandbox, other)) == {("altered-file", target)}

    every = repair(sandbox, None, "--all", "-y")

    assert every.returncode == 0, str(every)
    assert (tree(env, skip=META), tree(other, skip=META)) == before
    assert verify(sandbox, env)["findings"] == [] and verify(sandbox, other)["findings"] == []


def test_dry_run_changes_nothing(sandbox: Conda, env: Path) -> None:
    edit_in_place(env / "share" / "foo" / "1.0.txt")
    (env / "bin" / "foo-config").unlink()
    (env / "share" / "foo" / "stray.c~").write_text("debris")
    verify(sandbox, env)  # our state as verify leaves it
    before = tree(env), tree(sandbox.pkgs_dir), tree(sandbox.home)

    text = repair(sandbox, env, "--dry-run")
    document = json.loads(repair(sandbox, env, "--dry-run", "--json").stdout)

    assert text.returncode == 0, str(text)
    assert "relink libfoo-1.0-h1234_0" in text.stdout and "nothing was changed" in text.stdout
    assert [p.get("package", p.get("path")) for p in document["plan"]] == [
        LIBFOO,
        "share/foo/stray.c~",
    ]
    assert document["done"] == [] and document["backup"] is None
    after = tree(env), tree(sandbox.pkgs_dir), tree(sandbox.home)
    assert [differences(b, a) for b, a in zip(before, after)] == [[], [], []]


def test_transaction_debris_is_moved_aside(sandbox: Conda, env: Path) -> None:
    (env / "lib" / "libfoo.so.1.c~").write_bytes(b"old")
    document, result = repair_json(sandbox, env)
    assert result.returncode == 0, str(result)
    assert [d["target"] for d in document["done"]] == ["lib/libfoo.so.1.c~"]
    assert not (env / "lib" / "libfoo.so.1.c~").exists()
    assert (Path(document["backup"]) / "prefix" / "lib" / "libfoo.so.1.c~").read_bytes() == b"old"
    assert verify(sandbox, env)["findings"] == []


def test_a_clobbered_path_goes_to_the_package_linked_last(sandbox: Conda, env: Path) -> None:
    sandbox.install(env, "clobber-a")
    sandbox.install(env, "clobber-b")  # linked last: its file won
    replace_file(env / "share" / "clobbered.txt", b"edited\n")

    document, result = repair_json(sandbox, env)

    (plan,) = document["plan"]
    assert plan["package"] == "clobber-b-1.0-0"
    assert "clobber-b-1.0-0 wins: conda linked it last" in plan["notes"][0]
    assert (env / "share" / "clobbered.txt").read_bytes() == b"written by clobber-b\n"
    # two packages still own the path: only removing one ends that
    assert [n["code"] for n in document["not_repaired"]] == ["clobbered-file"]
    assert result.returncode == 1


def test_what_a_solver_must_decide_is_not_changed(sandbox: Conda, env: Path) -> None:
    sandbox.remove(env, "--force", "libfoo")
    state = ("conda-meta/integrity",)  # verify's own caches aside
    before = tree(env, skip=state)
    document, result = repair_json(sandbox, env)
    assert result.returncode == 1
    assert document["plan"] == [] and document["done"] == []
    (left,) = [n for n in document["not_repaired"] if n["code"] == "unsatisfied-dependency"]
    assert left["reason"] == "conda's solver chooses what to install for it"
    assert left["command"].startswith("conda install")
    assert differences(before, tree(env, skip=state)) == []


def test_offline_without_the_package_nothing_is_changed(channel: Path, tmp_path: Path) -> None:
    own_channel = tmp_path / "channel"
    shutil.copytree(channel, own_channel)
    sandbox = Conda(tmp_path / "sandbox", own_channel)
    env = tmp_path / "env"
    sandbox.create(env, "libfoo=1.0", "zlibby")
    edit_in_place(env / "share" / "foo" / "1.0.txt")
    (env / "include" / "zlibby.h").unlink()
    for gone in [*sandbox.pkgs_dir.glob(f"{LIBFOO}*"), *own_channel.glob(f"*/{LIBFOO}*")]:
        shutil.rmtree(gone) if gone.is_dir() else gone.unlink()
    # verify's own caches aside: the environment and the package cache
    state = ("conda-meta/integrity",)
    before = tree(env, skip=state), tree(sandbox.pkgs_dir)

    result = repair(sandbox, env, "-y")

    assert result.returncode == 1, str(result)
    assert "Nothing was changed" in result.stdout
    assert f"its channel file {own_channel}/linux-64/{LIBFOO}.tar.bz2 is gone" in result.stdout
    assert "Traceback" not in result.stderr
    after = tree(env, skip=state), tree(sandbox.pkgs_dir)
    assert [differences(b, a) for b, a in zip(before, after)] == [[], []]


def test_refuse_mode_lets_repair_through(sandbox: Conda, env: Path) -> None:
    refuse = {"CONDA_PLUGINS_INTEGRITY_MODE": "refuse"}
    (env / "bin" / "foo-config").unlink()
    refused = sandbox.install(env, "clobber-a", env=refuse, check=False)
    assert refused.returncode != 0  # the guard stops a change of a damaged prefix

    result = repair(sandbox, env, "-y", env=refuse)

    assert result.returncode == 0, str(result)
    assert verify(sandbox, env)["findings"] == []
    log = sandbox.run("integrity", "log", "-p", str(env), "--json", timeout=TIMEOUT).json()
    repairs = [e for e in log["events"] if e.get("command") == "repair"]
    assert [e["state"] for e in repairs] == ["finished"]  # journaled once, by itself
    sandbox.install(env, "clobber-a", env=refuse)  # and the guard is content again


@pytest.mark.parametrize("kill_at", [1, 2])
def test_a_repair_killed_half_way_is_reported_and_finished(
    sandbox: Conda, env: Path, kill_at: int
) -> None:
    """SIGKILL at the record's removal (1) and before its new record is written (2)."""
    before = tree(env, skip=META)
    (env / "bin" / "foo-config").unlink()
    killed = repair(
        sandbox,
        env,
        "-y",
        runner=KILL_RUNNER,
        env={
            "KILL_ROOTS": str(env),
            "KILL_MATCH": f"conda-meta/{LIBFOO}.json",
            "KILL_AT": str(kill_at),
        },
    )
    assert killed.returncode == -9, str(killed)
    (interrupted,) = findings(verify(sandbox, env), "interrupted-transaction")
    assert interrupted["fix"].startswith("conda integrity repair")
    # at 2 its record is gone: the next repair links it as the package cache has it
    assert interrupted["transaction"]["progress"]["not_recorded"] == (
        [LIBFOO] if kill_at == 2 else []
    )

    result = repair(sandbox, env, "-y")

    assert result.returncode == 0, str(result)
    assert differences(before, tree(env, skip=META)) == []
    assert verify(sandbox, env)["findings"] == []


def test_it_cannot_run_one_line_and_exit_2(sandbox: Conda, tmp_path: Path) -> None:
    result = repair(sandbox, tmp_path / "nowhere", "-y")
    assert result.returncode == 2, str(result)
    assert "Traceback" not in result.stderr
    assert len([line for line in result.stderr.splitlines() if line.strip()]) == 1
    as_json = repair(sandbox, tmp_path / "nowhere", "-y", "--json")
    assert as_json.returncode == 2 and "error" in json.loads(as_json.stdout)


def test_not_while_another_conda_changes_the_environment(
    sandbox: Conda, env: Path, tmp_path: Path
) -> None:
    (env / "bin" / "foo-config").unlink()
    handshake = tmp_path / "handshake"
    other = start_waiting_transaction(sandbox, env, handshake, "slowpost")
    try:
        result = repair(sandbox, env, "-y")
    finally:
        (handshake / "continue").touch()
        other.communicate(timeout=TIMEOUT)
    assert result.returncode == 2, str(result)
    assert "another conda is changing" in result.stderr
    assert not (env / "bin" / "foo-config").exists()  # nothing was done


def test_only_the_packages_named(sandbox: Conda, env: Path) -> None:
    (env / "bin" / "foo-config").unlink()
    (env / "bin" / "pyfoo").unlink()
    document, result = repair_json(sandbox, env, "libfoo")
    assert result.returncode == 0, str(result)
    assert [p["package"] for p in document["plan"]] == [LIBFOO]
    assert summary(verify(sandbox, env)) == {("missing-file", "bin/pyfoo")}
    unknown = repair(sandbox, env, "-y", "nosuchpackage")
    assert unknown.returncode == 2 and "nosuchpackage" in unknown.stderr, str(unknown)


def test_solve_lets_conda_s_solver_meet_what_only_it_can(sandbox: Conda, env: Path) -> None:
    sandbox.remove(env, "--force", "libfoo")
    (env / "bin" / "pyfoo").unlink()
    dry = repair(sandbox, env, "--solve", "--dry-run")
    assert "solve: conda's solver installs what libfoo >=1.0 need" in dry.stdout, str(dry)

    document, result = repair_json(sandbox, env, "--solve")

    assert result.returncode == 0, str(result)
    assert [d["action"] for d in document["done"]] == ["relink", "solve"]
    assert document["report"]["ok"] is True
    assert [f["code"] for f in verify(sandbox, env)["findings"]] == []
    assert list(env.glob("conda-meta/libfoo-*.json"))
