"""Damage real environments the way it happens in life, and read the findings."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from packaging.version import Version

from tests.support.catalog import SITE_PACKAGES
from tests.support.conda_cli import Conda
from tests.support.helpers import (
    CONDA_VERSION,
    edit_in_place,
    findings,
    kill_mid_transaction,
    record_of,
    replace_file,
    summary,
    verify,
)


def only(report: dict, code: str) -> dict:
    (finding,) = findings(report, code)
    return finding


# -- missing-file --------------------------------------------------------------------


def test_deleted_files_are_missing(sandbox: Conda, env: Path) -> None:
    (env / "include" / "foo.h").unlink()  # a hard-linked file
    (env / "lib" / "libfoo.so").unlink()  # a symlink
    (env / "bin" / "pyfoo").unlink()  # an entry point conda wrote
    (env / SITE_PACKAGES / "pyfoo" / "cli.py").unlink()  # a noarch python file
    report = verify(sandbox, env)
    assert summary(report) == {
        ("missing-file", "include/foo.h"),
        ("missing-file", "lib/libfoo.so"),
        ("missing-file", "bin/pyfoo"),
        ("missing-file", f"{SITE_PACKAGES}/pyfoo/cli.py"),
    }
    assert report["ok"] is False
    finding = findings(report)[0]
    assert finding["severity"] == "error"
    assert finding["fix"] == f"conda integrity repair -p {env} {finding['package'].split('-')[0]}"


def test_deleted_bytecode_is_not_a_problem(sandbox: Conda, env: Path) -> None:
    for pyc in (env / SITE_PACKAGES / "pyfoo" / "__pycache__").iterdir():
        pyc.unlink()
    assert verify(sandbox, env)["findings"] == []


def test_dangling_symlink_is_not_missing(sandbox: Conda, env: Path) -> None:
    """lstat, not exists(): the link is there even when its target is not."""
    (env / "lib" / "libfoo.so.1").unlink()
    assert summary(verify(sandbox, env)) == {("missing-file", "lib/libfoo.so.1")}


# -- altered-file --------------------------------------------------------------------


def test_content_edited_in_place(sandbox: Conda, env: Path) -> None:
    target = env / "include" / "foo.h"
    size = target.stat().st_size
    edit_in_place(target, 0, b"/")
    finding = only(verify(sandbox, env), "altered-file")
    assert (finding["path"], finding["detail"], finding["package"]) == (
        "include/foo.h",
        "sha256",
        "libfoo-1.0-h1234_0",
    )
    assert finding["expected"]["size"] == finding["actual"]["size"] == size
    assert finding["expected"]["sha256"] != finding["actual"]["sha256"]
    # a hard link of the package cache's copy: the cache changed too, and the fix says so
    assert finding["message"] == (
        "content differs from what libfoo-1.0 installed; it has 2 hard links: the package"
        " cache's copy and every environment linked to it changed too"
        " (conda integrity verify --pkgs-dirs names them)"
    )
    # repair extracts the package again from its archive, which the cache still has
    assert finding["fix"] == f"conda integrity repair -p {env} libfoo"


def test_noarch_file_replaced_with_other_size(sandbox: Conda, env: Path) -> None:
    target = env / SITE_PACKAGES / "pyfoo" / "cli.py"
    replace_file(target, target.read_bytes() + b"# patched by hand\n")
    finding = only(verify(sandbox, env), "altered-file")
    assert (finding["path"], finding["detail"]) == (f"{SITE_PACKAGES}/pyfoo/cli.py", "size")


def test_prefix_replaced_files_are_compared_by_hash(sandbox: Conda, env: Path) -> None:
    text = env / "bin" / "foo-config"  # text placeholder: size differs from the package
    replace_file(text, text.read_bytes().replace(b"libfoo-1.0", b"libfoo-1.9"))
    binary = env / "share" / "foo" / "runtime.bin"
    edit_in_place(binary, 2, b"\x00")
    report = verify(sandbox, env)
    assert {(f["path"], f["detail"]) for f in findings(report, "altered-file")} == {
        ("bin/foo-config", "sha256"),
        ("share/foo/runtime.bin", "sha256"),
    }


def test_kind_changes(sandbox: Conda, env: Path) -> None:
    header = env / "include" / "foo.h"
    header.unlink()
    header.mkdir()  # file -> folder
    helper = env / "bin" / "pyfoo-helper"
    helper.unlink()
    helper.symlink_to("foo-config")  # file -> symlink
    link = env / "lib" / "libfoo.so"
    link.unlink()
    link.write_bytes(b"not a link")  # symlink -> file
    report = verify(sandbox, env)
    details = {
        f["path"]: (f["detail"], f["expected"]["type"], f["actual"]["type"])
        for f in findings(report, "altered-file")
    }
    assert details == {
        "include/foo.h": ("type", "file", "directory"),
        "bin/pyfoo-helper": ("type", "file", "symlink"),
        "lib/libfoo.so": ("type", "symlink", "file"),
    }


def test_symlink_retargeted(sandbox: Conda, env: Path) -> None:
    link = env / "lib" / "libfoo.so"
    link.unlink()
    link.symlink_to("/etc/hostname")
    finding = only(verify(sandbox, env), "altered-file")
    assert finding["detail"] == "symlink-target"
    assert finding["expected"] == {"target": "libfoo.so.1"}
    assert finding["actual"] == {"target": "/etc/hostname"}


# -- mode-changed --------------------------------------------------------------------


def test_executable_bit_lost_and_gained(sandbox: Conda, env: Path) -> None:
    os.chmod(env / "bin" / "foo-config", 0o644)  # a prefix-replaced copy
    os.chmod(env / "lib" / "libfoo.so.1", 0o644)  # hard-linked: the cache changes too
    os.chmod(env / "include" / "foo.h", 0o755)
    os.chmod(env / "bin" / "pyfoo", 0o644)  # an entry point conda wrote
    report = verify(sandbox, env)
    changes = {
        f["path"]: (f["expected"]["executable"], f["actual"]["executable"])
        for f in findings(report, "mode-changed")
    }
    assert changes == {
        "bin/foo-config": (True, False),
        "lib/libfoo.so.1": (True, False),
        "include/foo.h": (False, True),
        "bin/pyfoo": (True, False),
    }
    assert {f["severity"] for f in findings(report)} == {"warning"}
    assert report["ok"] is True


# -- clobbered-file ------------------------------------------------------------------


def test_two_packages_writing_one_path(sandbox: Conda, env: Path) -> None:
    sandbox.install(env, "clobber-a")
    sandbox.install(env, "clobber-b")  # conda's default path_conflict: clobber
    finding = only(verify(sandbox, env), "clobbered-file")
    assert finding["path"] == "share/clobbered.txt"
    assert finding["packages"] == ["clobber-a-1.0-0", "clobber-b-1.0-0"]
    assert finding["owner"] == "clobber-b-1.0-0"
    assert "altered-file" not in {f["code"] for f in verify(sandbox, env)["findings"]}


def test_clobbered_path_matching_no_owner(sandbox: Conda, env: Path) -> None:
    sandbox.install(env, "clobber-a", "clobber-b")
    (env / "share" / "clobbered.txt").write_text("edited by hand\n")
    finding = only(verify(sandbox, env), "clobbered-file")
    assert finding["owner"] is None


# -- duplicate-package ---------------------------------------------------------------


def test_restored_backup_of_conda_meta_duplicates_a_package(sandbox: Conda, env: Path) -> None:
    old = record_of(env, "libfoo")
    backup = old.read_bytes()
    sandbox.install(env, "libfoo=2.0")
    old.write_bytes(backup)  # a conda-meta backup put back over the newer state
    report = verify(sandbox, env)
    finding = only(report, "duplicate-package")
    assert finding["packages"] == ["libfoo-1.0-h1234_0", "libfoo-2.0-h1234_0"]
    # libfoo 1.0's own files are reported too: share/foo/1.0.txt was removed
    assert ("missing-file", "share/foo/1.0.txt") in summary(report)


# -- corrupt-record ------------------------------------------------------------------

CORRUPTIONS = {
    "truncated": lambda data: data[: len(data) // 2],
    "empty": lambda data: b"",
    "not-an-object": lambda data: b"[1, 2, 3]\n",
    "not-utf8": lambda data: b"\xff\xfe" + data,
    "no-name": lambda data: json.dumps({**json.loads(data), "name": None}).encode(),
    "absolute-path": lambda data: json.dumps(
        {**json.loads(data), "files": [*json.loads(data)["files"], "/etc/passwd"]}
    ).encode(),
    "climbing-path": lambda data: json.dumps(
        {**json.loads(data), "files": [*json.loads(data)["files"], "lib/../../outside.txt"]}
    ).encode(),
}


@pytest.mark.parametrize("damage", sorted(CORRUPTIONS))
def test_corrupt_record(sandbox: Conda, env: Path, damage: str) -> None:
    path = record_of(env, "footools")
    path.write_bytes(CORRUPTIONS[damage](path.read_bytes()))
    (env.parent / "outside.txt").write_text("outside the prefix\n")
    report = verify(sandbox, env)
    finding = only(report, "corrupt-record")
    assert finding["path"] == "conda-meta/footools-1.0-h5678_0.json"
    assert finding["package"] == "footools-1.0-h5678_0"
    assert finding["fix"].startswith("mv ")
    # nothing else: the damaged record's files are not judged, the rest is fine
    assert summary(report) == {("corrupt-record", finding["path"])}


def test_record_file_renamed(sandbox: Conda, env: Path) -> None:
    """conda skips a record whose file name is not its name-version-build."""
    path = record_of(env, "footools")
    path.rename(path.with_name("footools-1.1-h5678_0.json"))
    finding = only(verify(sandbox, env), "corrupt-record")
    assert "describes footools-1.0-h5678_0" in finding["message"]


# -- transaction-debris --------------------------------------------------------------


def test_conda_killed_in_the_middle_of_a_transaction(sandbox: Conda, env: Path, tmp_path: Path):
    """SIGKILL while a post-link script runs: the old libfoo is unlinked (renamed
    to .c~), the new one linked, no record written yet."""
    kill_mid_transaction(sandbox, env, tmp_path / "handshake", "libfoo=2.0", "slowpost")
    report = verify(sandbox, env)
    debris = {f["path"] for f in findings(report, "transaction-debris")}
    assert "conda-meta/libfoo-1.0-h1234_0.json.c~" in debris
    assert "include/foo.h.c~" in debris
    assert ".condatmp" in debris  # prefix-replaced files prepared for libfoo 2.0
    if Version("26.1") > CONDA_VERSION:  # later, link-script wrappers go to the system tmp
        assert any(path.startswith(".tmp") for path in debris)
    assert {f["severity"] for f in findings(report, "transaction-debris")} == {"warning"}


def test_debris_left_by_rm_rf(sandbox: Conda, env: Path) -> None:
    """conda sets aside files it cannot delete as .conda_trash."""
    (env / "lib" / "libold.so.conda_trash").write_bytes(b"in use")
    assert summary(verify(sandbox, env)) == {("transaction-debris", "lib/libold.so.conda_trash")}


# -- untracked-file ------------------------------------------------------------------


def test_untracked_files_only_when_asked(sandbox: Conda, env: Path) -> None:
    (env / "share" / "notes.txt").write_text("mine\n")
    (env / "bin" / "myscript").write_text("#!/bin/sh\n")
    assert verify(sandbox, env)["findings"] == []
    report = verify(sandbox, env, "--untracked")
    assert summary(report) == {
        ("untracked-file", "share/notes.txt"),
        ("untracked-file", "bin/myscript"),
    }
    assert {f["severity"] for f in report["findings"]} == {"info"}
    assert report["ok"] is True


# -- unreadable ----------------------------------------------------------------------


def test_unreadable_file_is_reported_and_the_run_goes_on(
    sandbox: Conda, readable_env: Path
) -> None:
    env = readable_env
    (env / "include" / "foo.h").chmod(0o000)
    (env / "share" / "footools" / "README").unlink()
    result = sandbox.verify(env, "--json", unprivileged=True)
    report = json.loads(result.stdout)
    assert summary(report) == {
        ("unreadable", "include/foo.h"),
        ("missing-file", "share/footools/README"),
    }
    assert only(report, "unreadable")["severity"] == "warning"
    assert result.returncode == 1


def test_unreadable_folder(sandbox: Conda, readable_env: Path) -> None:
    folder = readable_env / "share" / "foo"
    folder.chmod(0o000)
    try:
        result = sandbox.verify(readable_env, "--json", unprivileged=True)
    finally:
        folder.chmod(0o755)
    report = json.loads(result.stdout)
    assert summary(report) == {
        ("unreadable", "share/foo"),
        ("unreadable", "share/foo/runtime.bin"),
        ("unreadable", "share/foo/1.0.txt"),
        ("unreadable", "share/foo/empty.dat"),
    }
    assert result.returncode == 0  # warnings only: nothing is known to be wrong


def test_a_folder_replaced_by_a_symlink_to_itself(sandbox: Conda, env: Path) -> None:
    """Nothing can be reached through a symlink loop: what the record owns below
    it is missing (an error), not merely unreadable."""
    folder = env / "share" / "footools"
    shutil.rmtree(folder)
    folder.symlink_to("footools")  # a link to itself
    report = verify(sandbox, env, timeout=120)
    assert summary(report) == {("missing-file", "share/footools/README")}
    assert only(report, "missing-file")["message"] == (
        "missing: share/footools is a symbolic link loop; footools-1.0 installed it"
    )


def test_a_python_package_and_its_metadata_replaced_by_a_symlink_loop(
    sandbox: Conda, env: Path
) -> None:
    """Two links pointing at each other, in place of pyfoo's package folder and of
    the dist-info conda installed for it: all of pyfoo's files there are missing."""
    site = env / SITE_PACKAGES
    shutil.rmtree(site / "pyfoo")
    shutil.rmtree(site / "pyfoo-1.0.dist-info")
    (site / "pyfoo").symlink_to("pyfoo-1.0.dist-info")
    (site / "pyfoo-1.0.dist-info").symlink_to("pyfoo")
    report = verify(sandbox, env, timeout=120)
    missing = {
        f"{SITE_PACKAGES}/{path}"
        for path in (
            "pyfoo/__init__.py",
            "pyfoo/cli.py",
            "pyfoo/data/table.csv",
            "pyfoo-1.0.dist-info/METADATA",
            "pyfoo-1.0.dist-info/INSTALLER",
            "pyfoo-1.0.dist-info/RECORD",
        )
    }
    assert summary(report) == {("missing-file", path) for path in missing}
    assert all("is a symbolic link loop" in f["message"] for f in report["findings"])


def test_folder_symlink_leaving_the_prefix_is_not_followed(
    sandbox: Conda, env: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    (env / "share" / "footools").rename(outside)
    (env / "share" / "footools").symlink_to(outside)
    fifo = outside / "README"
    fifo.unlink()
    os.mkfifo(fifo)  # opening it would block: it must not be opened
    report = verify(sandbox, env)
    finding = only(report, "unreadable")
    assert finding["path"] == "share/footools/README"
    assert "leaves the environment" in finding["message"]


# -- several at once, and the text report -------------------------------------------


def test_text_report_groups_by_package(sandbox: Conda, env: Path) -> None:
    (env / "include" / "foo.h").unlink()
    edit_in_place(env / SITE_PACKAGES / "pyfoo" / "__init__.py")
    result = sandbox.verify(env)
    assert result.returncode == 1
    out = result.stdout
    assert out.startswith(f"Verified {env}: 5 packages")
    assert "\nlibfoo-1.0-h1234_0\n  error    missing-file" in out
    assert "\npyfoo-1.0-pyh0_0\n  error    altered-file" in out
    assert f"to fix: conda integrity repair -p {env} libfoo\n" in out
    assert out.rstrip().endswith("2 errors, 0 warnings, 0 info.")
    assert result.stderr == ""


def test_pip_like_overwrite_of_a_noarch_file(sandbox: Conda, env: Path) -> None:
    """A tool that rewrites a package file through the environment's python."""
    subprocess.run(
        [
            str(env / "bin" / "python"),
            "-c",
            "import pyfoo, pathlib; pathlib.Path(pyfoo.__file__).write_text('VERSION = \"9\"\\n')",
        ],
        check=True,
    )
    finding = only(verify(sandbox, env), "altered-file")
    assert finding["path"] == f"{SITE_PACKAGES}/pyfoo/__init__.py"
