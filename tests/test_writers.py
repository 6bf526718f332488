"""Environments other tools wrote: rattler (pixi's library), uv, conda-pypi.

Each writer's records are judged by what they state (see records/model.py): a
healthy environment from each reports nothing, and damage done as life does it
is found, with a fix that names a tool that can act.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import uuid
from pathlib import Path

import pytest
from packaging.version import Version

from tests.support.catalog import SITE_PACKAGES
from tests.support.conda_cli import Conda
from tests.support.helpers import CONDA_VERSION, findings, summary, uv_install, verify
from tests.support.rattler_env import rattler_install
from tests.support.wheels import build_wheel

RATTLER_SPECS = ("python", "libfoo=1.0", "footools", "pyfoo", "zlibby")


def make_rattler_env(channel: Path, root: Path, name: str = "env") -> Path:
    prefix = root / name
    rattler_install(channel, prefix, root / "rattler-cache", *RATTLER_SPECS)
    return prefix


@pytest.fixture(scope="session")
def rattler_env(tmp_path_factory: pytest.TempPathFactory, channel: Path) -> Path:
    """One healthy environment py-rattler made, for tests that only read it."""
    return make_rattler_env(channel, tmp_path_factory.mktemp("rattler"))


def test_a_rattler_environment_is_clean(sandbox: Conda, rattler_env: Path) -> None:
    record = (rattler_env / "conda-meta" / "pyfoo-1.0-pyh0_0.json").read_text()
    # what makes rattler's records differ from conda's: installed paths for noarch
    # files, requested_specs, and a hashed entry point
    assert f'"_path": "{SITE_PACKAGES}/pyfoo/cli.py"' in record
    assert '"requested_specs"' in record and '"unix_python_entry_point"' in record
    assert (rattler_env / "CACHEDIR.TAG").is_file()
    assert (rattler_env / "conda-meta" / "history").read_text() == ""  # nothing to compare
    assert os.stat(rattler_env / "bin" / "pyfoo-helper").st_mode & 0o100
    # the executable files of the noarch package are no mode-changed warning, and
    # rattler's cache tag is no untracked file
    assert verify(sandbox, rattler_env, "--untracked")["findings"] == []
    assert verify(sandbox, rattler_env, "--untracked", "--no-cache")["findings"] == []


def test_rattlers_trash_is_named_for_what_it_is(
    sandbox: Conda, channel: Path, tmp_path: Path
) -> None:
    """rattler moves a file it cannot delete into .trash/ as <name>.<uuid>.trash
    (rattler/src/install/unlink.rs: only when deleting it is refused, which on Linux
    moving it is too, so a test puts it there) and empties the folder after its next
    transaction."""
    prefix = make_rattler_env(channel, tmp_path)
    trash = prefix / ".trash"
    trash.mkdir()
    for name in ("libzlibby.so.1.3", "footool"):
        (trash / f"{name}.{uuid.uuid4().hex}.trash").write_bytes(b"in use\n")
    assert verify(sandbox, prefix)["findings"] == []
    (finding,) = verify(sandbox, prefix, "--untracked")["findings"]
    assert (finding["code"], finding["severity"], finding["path"]) == (
        "untracked-file",
        "info",
        ".trash",
    )
    assert finding["message"] == (
        "rattler's (pixi's) folder for files it could not delete yet; it empties it"
        " after its next install or update (2 files)"
    )


def test_damage_in_a_rattler_environment(sandbox: Conda, channel: Path, tmp_path: Path) -> None:
    prefix = make_rattler_env(channel, tmp_path)
    assert verify(sandbox, prefix)["findings"] == []  # remembers the executable bits
    helper, entry_point = prefix / "bin" / "pyfoo-helper", prefix / "bin" / "pyfoo"
    helper.chmod(0o644)  # also the package cache's copy: one inode
    with open(entry_point, "a") as handle:
        handle.write("# edited\n")
    link = prefix / "lib" / "libfoo.so"
    link.unlink()
    link.symlink_to("/etc/hostname")
    shutil.rmtree(tmp_path / "rattler-cache")  # the link cannot be compared with the cache

    report = verify(sandbox, prefix)
    assert summary(report) == {
        ("mode-changed", "bin/pyfoo-helper"),
        ("altered-file", "bin/pyfoo"),
        ("altered-file", "lib/libfoo.so"),
    }
    (retargeted,) = [f for f in findings(report, "altered-file") if f["path"] == "lib/libfoo.so"]
    assert retargeted["detail"] == "symlink-target"
    assert retargeted["actual"] == {"target": "/etc/hostname"}
    assert retargeted["expected"]["target_sha256"] == hashlib.sha256(b"libfoo.so.1").hexdigest()
    (edited,) = [f for f in findings(report, "altered-file") if f["path"] == "bin/pyfoo"]
    assert edited["detail"] == "size"


def test_a_clobber_rattler_resolved(sandbox: Conda, channel: Path, tmp_path: Path) -> None:
    """rattler moves the losing file into __clobbers__/ and says so in its record."""
    prefix = tmp_path / "env"
    rattler_install(channel, prefix, tmp_path / "cache", "clobber-a", "clobber-b")
    moved = prefix / "__clobbers__" / "clobber-b" / "share" / "clobbered.txt"
    assert moved.read_text() == "written by clobber-b\n"
    assert (
        '"original_path": "share/clobbered.txt"'
        in (prefix / "conda-meta" / "clobber-b-1.0-0.json").read_text()
    )
    assert verify(sandbox, prefix, "--untracked")["findings"] == []
    moved.write_text("edited\n")
    (finding,) = verify(sandbox, prefix)["findings"]
    assert (finding["code"], finding["path"]) == (
        "altered-file",
        "__clobbers__/clobber-b/share/clobbered.txt",
    )


def test_a_fix_in_an_environment_pixi_manages(
    sandbox: Conda, channel: Path, tmp_path: Path
) -> None:
    """pixi keeps its environments in <workspace>/.pixi/envs/<name> and marks them in
    conda-meta; there, conda would write records pixi undoes: the fix is pixi's."""
    workspace = tmp_path / "workspace"
    prefix = make_rattler_env(channel, workspace / ".pixi" / "envs", "default")
    (prefix / "conda-meta" / "pixi_env_prefix").write_text(str(prefix))
    (prefix / "include" / "foo.h").unlink()
    report = verify(sandbox, prefix, "--untracked")
    (missing,) = report["findings"]
    assert (missing["code"], missing["path"]) == ("missing-file", "include/foo.h")
    assert missing["fix"] == f"pixi reinstall --manifest-path {workspace} -e default libfoo"


def test_links_and_modes_after_conda_clean(sandbox: Conda, env: Path) -> None:
    """The package cache is gone; the snapshot the guard took after the create still
    says where the link pointed and which files were executable."""
    sandbox.run("clean", "--all", "--force-pkgs-dirs", "--yes")
    assert not any(sandbox.pkgs_dir.glob("libfoo-*"))
    link = env / "lib" / "libfoo.so"
    link.unlink()
    link.symlink_to("/etc/hostname")
    (env / "bin" / "foo-config").chmod(0o644)
    report = verify(sandbox, env)
    assert summary(report) == {
        ("altered-file", "lib/libfoo.so"),
        ("mode-changed", "bin/foo-config"),
    }
    (retargeted,) = findings(report, "altered-file")
    assert retargeted["detail"] == "symlink-target"
    assert retargeted["expected"] == {"target": "libfoo.so.1"}
    (mode,) = findings(report, "mode-changed")
    assert mode["message"].startswith("lost its executable bit; it was executable at snapshot")


def test_uv_reinstalling_a_conda_package(sandbox: Conda, tmp_path: Path) -> None:
    prefix = tmp_path / "env"
    sandbox.create(prefix, "python", "pyfoo")
    wheel = build_wheel(
        tmp_path / "wheels",
        "pyfoo",
        "1.0",
        {"pyfoo/__init__.py": b"VERSION = '1.0'\n", "pyfoo/cli.py": b"def main():\n    pass\n"},
    )
    uv_install(sandbox, prefix, "--reinstall", str(wheel))
    dist_info = prefix / SITE_PACKAGES / "pyfoo-1.0.dist-info"
    assert (dist_info / "INSTALLER").read_text().strip() == "uv"

    report = verify(sandbox, prefix)
    (overlap,) = findings(report, "pip-overlap")
    assert overlap["package"] == "pyfoo-1.0-pyh0_0"
    assert overlap["installer"] == "uv"
    assert overlap["path"] == f"{SITE_PACKAGES}/pyfoo-1.0.dist-info"
    assert overlap["message"].startswith("pyfoo 1.0 (installed by uv) has the name of conda's")
    assert overlap["message"].endswith("conda and uv each think they manage it")
    assert f"{SITE_PACKAGES}/pyfoo/cli.py" in overlap["paths"]


def test_uv_beside_conda_is_not_a_finding(sandbox: Conda, tmp_path: Path) -> None:
    prefix = tmp_path / "env"
    sandbox.create(prefix, "python", "pyfoo")
    wheel = build_wheel(tmp_path / "wheels", "newproj", "0.1", {"newproj/__init__.py": b""})
    uv_install(sandbox, prefix, str(wheel))
    assert verify(sandbox, prefix)["findings"] == []


def _conda_pypi_loads() -> bool:
    import importlib.util

    return Version("26.7") <= CONDA_VERSION and importlib.util.find_spec("conda_pypi") is not None


needs_conda_pypi = pytest.mark.skipif(
    not _conda_pypi_loads(), reason="conda-pypi needs conda 26.7 or later (CI runs 24.7.1)"
)


@pytest.fixture
def wheel_env(sandbox: Conda, tmp_path: Path) -> tuple[Path, Path]:
    """An environment where conda (with the conda-pypi plugin) installed a wheel."""
    prefix = tmp_path / "env"
    sandbox.create(prefix, "python", "pyfoo")
    wheel = build_wheel(
        tmp_path / "wheels",
        "newproj",
        "0.1",
        {"newproj/__init__.py": b"X = 1\n"},
        console_scripts={"newproj": "newproj:main"},
    )
    sandbox.install(prefix, str(wheel))
    return prefix, wheel


@needs_conda_pypi
def test_a_wheel_conda_pypi_installed_is_clean(
    sandbox: Conda, wheel_env: tuple[Path, Path]
) -> None:
    prefix, _ = wheel_env
    (record,) = (prefix / "conda-meta").glob("newproj-*.json")
    assert record.name == "newproj-0.1-py3_none_any_0.json"
    assert '"channel": "<unknown>"' in record.read_text()
    assert "<unknown>/noarch::newproj" in (prefix / "conda-meta" / "history").read_text()
    installer = prefix / SITE_PACKAGES / "newproj-0.1.dist-info" / "INSTALLER"
    assert installer.read_text().strip() == "conda-via-whl"
    assert verify(sandbox, prefix, "--untracked")["findings"] == []


# the fixes for such a wheel: tests/test_fixes.py


def test_uv_over_a_rattler_environment(sandbox: Conda, channel: Path, tmp_path: Path) -> None:
    """An environment touched by more than one tool: pixi's packages, then uv."""
    prefix = make_rattler_env(channel, tmp_path)
    wheel = build_wheel(tmp_path / "wheels", "pyfoo", "1.0", {"pyfoo/__init__.py": b""})
    uv_install(sandbox, prefix, "--reinstall", str(wheel))
    report = verify(sandbox, prefix)
    (overlap,) = findings(report, "pip-overlap")
    assert (overlap["package"], overlap["installer"]) == ("pyfoo-1.0-pyh0_0", "uv")
    # uv removed what conda's RECORD listed and wrote its own files: errors on pyfoo
    assert ("missing-file", f"{SITE_PACKAGES}/pyfoo/cli.py") in summary(report)
