"""``verify --pkgs-dirs``: the package cache damaged the way it happens in life."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.support.catalog import SITE_PACKAGES
from tests.support.conda_cli import Conda, Result
from tests.support.helpers import STANDARD_SPECS, edit_in_place, summary, verify, verify_json

LIBFOO = "libfoo-1.0-h1234_0"
ZLIBBY = "zlibby-1.3-h0_1"  # a .conda archive, with a symlink and a 3 MiB file
EDIT_IN_PLACE = "one environment damages the package cache and every environment linked to it"


def verify_pkgs(conda: Conda, *args: str, **kwargs) -> tuple[dict, Result]:
    return verify_json(conda, "--pkgs-dirs", *args, **kwargs)


def only(report: dict, code: str = "cache-corrupt") -> dict:
    (finding,) = [f for f in report["findings"] if f["code"] == code]
    return finding


@pytest.fixture
def two_envs(sandbox: Conda) -> tuple[Path, Path]:
    """Two environments linked from one package cache, and known to conda."""
    sandbox.run("create", "-n", "one", "--yes", "--quiet", *STANDARD_SPECS)
    sandbox.run("create", "-n", "two", "--yes", "--quiet", *STANDARD_SPECS)
    return sandbox.envs_dir / "one", sandbox.envs_dir / "two"


def test_clean_cache_reports_nothing(shared_sandbox: Conda, shared_env: Path) -> None:
    report, result = verify_pkgs(shared_sandbox)
    assert set(report) == {"pkgs_dirs", "ok", "mode", "checked", "counts", "findings", "elapsed_s"}
    assert report["pkgs_dirs"] == [str(shared_sandbox.pkgs_dir)]
    assert report["findings"] == []
    assert report["checked"]["packages"] == len(STANDARD_SPECS)
    assert report["checked"]["hashed_bytes"] > 3 * 1024 * 1024  # files and archives
    assert result.stderr == ""
    text = shared_sandbox.run("integrity", "verify", "--pkgs-dirs")
    assert text.stdout.startswith(f"Verified package cache {shared_sandbox.pkgs_dir}: ")
    assert text.stdout.splitlines()[-1] == "No problems found."


def test_file_edited_in_place_in_one_environment(
    sandbox: Conda, two_envs: tuple[Path, Path]
) -> None:
    one, two = two_envs
    edit_in_place(one / "include" / "foo.h")  # a hard link: the cache and two change too
    report, _ = verify_pkgs(sandbox)
    finding = only(report)
    assert (finding["package"], finding["path"], finding["detail"]) == (
        LIBFOO,
        "include/foo.h",
        "sha256",
    )
    assert finding["environments"] == [str(one), str(two)]
    assert finding["pkgs_dir"] == str(sandbox.pkgs_dir)
    assert "2 environments share this file by hard link" in finding["message"]
    assert EDIT_IN_PLACE in finding["message"]
    assert finding["expected"]["sha256"] != finding["actual"]["sha256"]
    # repair replaces the cache's copy first, then relinks in each environment
    assert finding["fix"] == (
        f"conda integrity repair -p {one} libfoo && conda integrity repair -p {two} libfoo"
    )
    # each environment sees the edit too, and its fix goes through the cache as well
    (altered,) = verify(sandbox, two)["findings"]
    assert (altered["code"], altered["path"]) == ("altered-file", "include/foo.h")
    assert "3 hard links: the package cache's copy" in altered["message"]
    assert altered["fix"] == f"conda integrity repair -p {two} libfoo"


def test_the_fix_repairs_the_cache_and_the_environments(
    sandbox: Conda, two_envs: tuple[Path, Path]
) -> None:
    one, two = two_envs
    edit_in_place(one / SITE_PACKAGES / "pyfoo" / "cli.py")  # noarch: mapped to the package path
    finding = only(verify_pkgs(sandbox)[0])
    assert (finding["package"], finding["path"]) == (
        "pyfoo-1.0-pyh0_0",
        "site-packages/pyfoo/cli.py",
    )
    assert finding["environments"] == [str(one), str(two)]
    assert finding["fix"] == (
        f"conda integrity repair -p {one} pyfoo && conda integrity repair -p {two} pyfoo"
    )
    # what repair does through conda: the package extracted again from its archive,
    # then relinked where it was linked; after it, the cache and both are whole
    shutil.rmtree(sandbox.pkgs_dir / "pyfoo-1.0-pyh0_0")
    for prefix in finding["environments"]:
        sandbox.install(Path(prefix), "--force-reinstall", "pyfoo=1.0=pyh0_0")
    assert verify_pkgs(sandbox)[0]["findings"] == []
    assert verify(sandbox, one)["findings"] == verify(sandbox, two)["findings"] == []


def test_a_file_replaced_in_an_environment_spares_the_cache(sandbox: Conda, env: Path) -> None:
    target = env / "include" / "foo.h"
    replacement = target.with_name("foo.h.new")
    replacement.write_bytes(b"new\n")
    os.replace(replacement, target)  # a new inode: the cache keeps the old one
    assert verify_pkgs(sandbox)[0]["findings"] == []


def test_file_deleted_from_an_extracted_package(sandbox: Conda, env: Path) -> None:
    (sandbox.pkgs_dir / LIBFOO / "share" / "foo" / "1.0.txt").unlink()
    finding = only(verify_pkgs(sandbox)[0])
    assert (finding["package"], finding["path"], finding["detail"]) == (
        LIBFOO,
        "share/foo/1.0.txt",
        "missing",
    )
    assert finding["environments"] == []
    # linked nowhere: removed, conda extracts it again from its archive when needed
    assert finding["fix"] == f"rm -rf {sandbox.pkgs_dir / LIBFOO}"
    assert "conda cannot install it from this cache" in finding["message"]
    # the environment keeps its own link of that file
    assert verify(sandbox, env)["findings"] == []


def test_truncated_archive(sandbox: Conda, env: Path) -> None:
    archive = sandbox.pkgs_dir / f"{ZLIBBY}.conda"
    os.truncate(archive, archive.stat().st_size // 2)
    for args in ((), ("--fast",)):
        finding = only(verify_pkgs(sandbox, *args)[0])
        assert (finding["package"], finding["path"], finding["detail"]) == (
            ZLIBBY,
            f"{ZLIBBY}.conda",
            "size",
        )
        assert finding["fix"] == f"rm -rf {archive}"


def test_archive_edited_in_place(sandbox: Conda, env: Path) -> None:
    """Same size, other bytes: the default hashes archives, --fast does not."""
    archive = sandbox.pkgs_dir / f"{LIBFOO}.tar.bz2"
    edit_in_place(archive, 100, b"\x00\x01")
    finding = only(verify_pkgs(sandbox)[0])
    assert (finding["path"], finding["detail"]) == (f"{LIBFOO}.tar.bz2", "sha256")
    assert verify_pkgs(sandbox, "--fast")[0]["findings"] == []


def test_symlink_retargeted_in_the_cache(sandbox: Conda, env: Path) -> None:
    link = sandbox.pkgs_dir / ZLIBBY / "lib" / "libzlibby.so.1"
    link.unlink()
    link.symlink_to("libzlibby.a")
    finding = only(verify_pkgs(sandbox)[0])
    assert (finding["path"], finding["detail"]) == ("lib/libzlibby.so.1", "symlink-target")
    assert finding["expected"] == {"target": "libzlibby.so.1.3"}
    link.unlink()
    link.write_bytes(b"not a link\n")
    finding = only(verify_pkgs(sandbox, "--fast")[0])
    assert (finding["detail"], finding["actual"]) == ("type", {"type": "file"})


def test_damaged_paths_json(sandbox: Conda, env: Path) -> None:
    paths_json = sandbox.pkgs_dir / LIBFOO / "info" / "paths.json"
    os.truncate(paths_json, paths_json.stat().st_size // 2)
    finding = only(verify_pkgs(sandbox)[0])
    assert (finding["package"], finding["path"], finding["detail"]) == (
        LIBFOO,
        "info/paths.json",
        "metadata",
    )
    assert "is not valid JSON" in finding["message"]


def test_old_package_without_paths_json(sandbox: Conda, env: Path) -> None:
    """Packages built before paths.json list their files in info/files only."""
    folder = sandbox.pkgs_dir / LIBFOO
    (folder / "info" / "paths.json").unlink()
    edit_in_place(folder / "include" / "foo.h")  # no hashes to compare with
    assert verify_pkgs(sandbox)[0]["findings"] == []
    (folder / "include" / "foo.h").unlink()
    finding = only(verify_pkgs(sandbox)[0])
    assert (finding["path"], finding["detail"]) == ("include/foo.h", "missing")


def test_leftovers_of_interrupted_downloads_and_extractions(sandbox: Conda, env: Path) -> None:
    pkgs = sandbox.pkgs_dir
    (pkgs / "foo-2.0-0.tar.bz2.partial").write_bytes(b"half a download")
    shutil.copy(pkgs / f"{LIBFOO}.tar.bz2", pkgs / f"{LIBFOO}.tar.bz2.c~")
    half = pkgs / "bar-1.0-0"
    (half / "info").mkdir(parents=True)
    (half / "lib").mkdir()
    (half / "lib" / "libbar.so").write_bytes(b"half")
    (pkgs / "not-a-package").mkdir()  # ignored, as conda ignores it
    report, _ = verify_pkgs(sandbox)
    assert report["ok"] is True
    (debris,) = report["findings"]
    assert (debris["code"], debris["severity"], debris["path"]) == (
        "transaction-debris",
        "warning",
        f"{LIBFOO}.tar.bz2.c~",
    )
    skipped = {entry["path"]: entry["skipped"] for entry in report["skipped"]}
    assert set(skipped) == {str(pkgs / "foo-2.0-0.tar.bz2.partial"), str(half)}
    assert "unfinished download" in skipped[str(pkgs / "foo-2.0-0.tar.bz2.partial")]
    assert "half-extracted" in skipped[str(half)]
    text = sandbox.run("integrity", "verify", "--pkgs-dirs").stdout.splitlines()
    assert f"Skipped {half}: {skipped[str(half)]}" in text
    group = text.index("(package cache)")
    assert text[group + 1].split()[:4] == [
        "warning",
        "transaction-debris",
        f"{LIBFOO}.tar.bz2.c~:",
        "left",
    ]


def test_missing_and_unreadable_caches(sandbox: Conda, env: Path, tmp_path: Path) -> None:
    missing = tmp_path / "no-such-cache"
    locked = tmp_path / "locked-cache"
    locked.mkdir()
    locked.chmod(0)
    again = tmp_path / "same-cache"
    again.symlink_to(sandbox.pkgs_dir)
    pkgs_dirs = f"{sandbox.pkgs_dir},{missing},{locked},{again}"
    report, _ = verify_pkgs(sandbox, env={"CONDA_PKGS_DIRS": pkgs_dirs}, unprivileged=True)
    assert report["pkgs_dirs"] == [str(sandbox.pkgs_dir), str(missing), str(locked), str(again)]
    assert report["skipped"] == [
        {"path": str(missing), "skipped": "it does not exist"},
        {
            "path": str(again),
            "skipped": f"it is the package cache {sandbox.pkgs_dir}, verified above",
        },
    ]
    (warning,) = report["findings"]
    assert (warning["code"], warning["severity"], warning["pkgs_dir"]) == (
        "unreadable",
        "warning",
        str(locked),
    )
    assert report["ok"] is True


def test_unreadable_file_in_the_cache(sandbox: Conda, env: Path) -> None:
    target = sandbox.pkgs_dir / LIBFOO / "include" / "foo.h"
    target.chmod(0)
    report, _ = verify_pkgs(sandbox, unprivileged=True)
    assert summary(report) == {("unreadable", "include/foo.h")}
    assert report["ok"] is True


@pytest.mark.parametrize(
    "args",
    [["-n", "base"], ["libfoo"], ["--untracked"], ["--file", "environment.yml"]],
    ids=["name", "package", "untracked", "file"],
)
def test_pkgs_dirs_usage_errors(shared_sandbox: Conda, args: list[str]) -> None:
    result = shared_sandbox.run("integrity", "verify", "--pkgs-dirs", *args, check=False)
    assert result.returncode == 2, str(result)
    assert "usage:" in result.stderr
    assert "Traceback" not in result.stderr
