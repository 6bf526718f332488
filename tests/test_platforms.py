"""Other platforms, as far as this machine can show them.

Environments conda creates here for another platform (``conda create --platform``,
as constructor and conda-pack users do on a build machine): conda writes a
``.condarc`` into them, does not replace binary placeholders for win-64, and
records the ``.pyc`` files it could not compile with an interpreter that cannot run
here. They verify with no finding, and damage in them is found.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import catalog, packages
from tests.support.catalog import OTHER_SUBDIRS, SITE_PACKAGES
from tests.support.conda_cli import Conda
from tests.support.helpers import STANDARD_SPECS, edit_in_place, summary, verify
from tests.support.packages import BINARY_PLACEHOLDER, TEXT_PLACEHOLDER

WARN = {"CONDA_PLUGINS_INTEGRITY_MODE": "warn"}


@pytest.fixture(scope="module")
def platform_channel(channel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = packages.copy_channel(channel, tmp_path_factory.mktemp("platforms") / "channel")
    catalog.build_platform_channel(root)
    return root


def create_for(channel: Path, root: Path, subdir: str) -> tuple[Conda, Path]:
    """``conda create --platform SUBDIR`` of python, a library and a noarch python
    package. A sandbox of its own: offline, conda offers every package of its cache
    whatever its subdir."""
    conda = Conda(root / "sandbox", channel)
    prefix = root / subdir
    conda.run(
        "create",
        "--platform",
        subdir,
        "-p",
        str(prefix),
        "--yes",
        "--quiet",
        "--offline",
        "--override-channels",
        "-c",
        channel.as_uri(),
        "python",
        "platlib",
        "pyfoo",
        env=WARN,
    )
    return conda, prefix


def _files(prefix: Path, subdir: str) -> dict[str, str]:
    """The paths each test looks at, as the package of ``subdir`` has them."""
    if subdir.startswith("win"):
        return {
            "binary": "Library/bin/platlib.dll",
            "text": "Scripts/platlib-config.bat",
            "plain": "Library/include/Platlib.h",
            "executable": "python.exe",
        }
    return {
        "binary": "lib/libplatlib.so.1",
        "text": "bin/platlib-config",
        "plain": "include/platlib.h",
        "executable": "bin/platlib-config",
    }


def guard_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "conda-integrity" in line]


@pytest.mark.parametrize("subdir", OTHER_SUBDIRS)
def test_an_environment_for_another_platform_is_clean(
    platform_channel: Path, tmp_path: Path, subdir: str
) -> None:
    conda, prefix = create_for(platform_channel, tmp_path, subdir)
    files = _files(prefix, subdir)
    # as conda-facts.md says conda makes them
    assert (prefix / ".condarc").read_text().strip() == f"subdir: {subdir}"
    binary = (prefix / files["binary"]).read_bytes()
    assert (BINARY_PLACEHOLDER.encode() in binary) == subdir.startswith("win")
    assert TEXT_PLACEHOLDER not in (prefix / files["text"]).read_text()
    (pyfoo,) = (prefix / "conda-meta").glob("pyfoo-*.json")
    pycs = [path for path in json.loads(pyfoo.read_text())["files"] if path.endswith(".pyc")]
    assert pycs and not any((prefix / path).exists() for path in pycs)

    for args in ([], ["--untracked"], ["--no-cache"]):
        assert verify(conda, prefix, *args)["findings"] == [], args

    # a later command for that platform: the guard finds nothing to say
    later = conda.install(prefix, "platextra", env={**WARN, "CONDA_SUBDIR": subdir})
    assert guard_lines(later.stderr) == []
    assert verify(conda, prefix, "--untracked")["findings"] == []


@pytest.mark.parametrize("subdir", OTHER_SUBDIRS)
def test_damage_in_an_environment_for_another_platform(
    platform_channel: Path, tmp_path: Path, subdir: str
) -> None:
    conda, prefix = create_for(platform_channel, tmp_path, subdir)
    files = _files(prefix, subdir)
    (prefix / files["plain"]).unlink()
    edit_in_place(prefix / files["binary"], offset=2)
    edit_in_place(prefix / f"{SITE_PACKAGES}/pyfoo/cli.py")
    os.chmod(prefix / files["executable"], 0o644)
    report = verify(conda, prefix)
    assert summary(report) == {
        ("missing-file", files["plain"]),
        ("altered-file", files["binary"]),
        ("altered-file", f"{SITE_PACKAGES}/pyfoo/cli.py"),
        ("mode-changed", files["executable"]),
    }

    # the guard of a later command for that platform names them too (the files
    # verify remembers as settled by their stat as problems, the others as changed)
    later = conda.install(prefix, "platextra", env={**WARN, "CONDA_SUBDIR": subdir})
    said = guard_lines(later.stderr)
    assert said[0].startswith("conda-integrity: ") and str(prefix) in said[0], later.stderr
    assert f"missing-file            {files['plain']}: missing" in later.stderr
    for changed in (files["binary"], f"{SITE_PACKAGES}/pyfoo/cli.py"):
        assert (
            f"altered-file            {changed}: content differs" in later.stderr
            or f"  content         {changed}\n" in later.stderr
        ), later.stderr


# -- platforms without dir_fd, O_NOFOLLOW, readv, fork, geteuid ----------------------

WITHOUT = Path(__file__).with_name("support") / "without"
LACKING = {
    "dir_fd": "dir_fd",
    "O_NOFOLLOW": "O_NOFOLLOW",
    "readv": "readv,sched_getaffinity",
    "fork": "fork",
    "geteuid": "geteuid",
    "windows": "dir_fd,O_NOFOLLOW,readv,sched_getaffinity,fork,geteuid",
    # conda's own test for admin rights (verify --all) is its unix one here: it needs
    # geteuid, which conda does not call on Windows
    "windows-but-geteuid": "dir_fd,O_NOFOLLOW,readv,sched_getaffinity,fork",
}


def lacking(what: str, **extra: str) -> dict[str, str]:
    """The environment of a conda whose Python lacks ``what`` (see
    ``support/without/sitecustomize.py``), hashing on two worker processes."""
    return {
        "PYTHONPATH": str(WITHOUT),
        "CONDA_INTEGRITY_TEST_WITHOUT": LACKING[what],
        "CONDA_PLUGINS_INTEGRITY_WORKERS": "2",
        "CONDA_PLUGINS_INTEGRITY_POOL_MIN_FILES": "1",
        **WARN,
        **extra,
    }


def _damage(prefix: Path) -> set[tuple[str, str]]:
    (prefix / "include" / "foo.h").unlink()
    edit_in_place(prefix / "share" / "foo" / "runtime.bin", offset=1000)  # not hard-linked
    os.chmod(prefix / "bin" / "foo-config", 0o644)
    return {
        ("missing-file", "include/foo.h"),
        ("altered-file", "share/foo/runtime.bin"),
        ("mode-changed", "bin/foo-config"),
    }


@pytest.mark.parametrize("what", [what for what in LACKING if what != "windows-but-geteuid"])
def test_without(sandbox: Conda, env: Path, what: str) -> None:
    """verify, snapshot, log, diff and the guard where Python lacks ``what``: the same
    answers as here."""
    without = lacking(what)
    probe = subprocess.run(
        [sys.executable, "-c", "import os; print(hasattr(os, 'readv'), os.supports_dir_fd)"],
        env={**os.environ, **without},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    if what == "windows":  # the prelude works
        assert probe == "False set()\n"
    for args in ([], ["--untracked"], ["--no-cache"]):
        assert verify(sandbox, env, *args, env=without)["findings"] == [], (what, args)
    sandbox.run("integrity", "snapshot", "-p", str(env), "--label", "mine", env=without)
    installed = sandbox.install(env, "clobber-a", env=without)
    assert guard_lines(installed.stderr) == [], installed.stderr
    removed = sandbox.remove(env, "clobber-a", env=without)
    assert guard_lines(removed.stderr) == [], removed.stderr

    damage = _damage(env)
    assert summary(verify(sandbox, env, "--no-cache", env=without)) == damage
    assert summary(verify(sandbox, env, env=without)) == damage
    assert summary(verify(sandbox, env)) == damage  # as here
    later = sandbox.install(env, "clobber-b", env=without)
    assert f"problem(s) in {env}:" in later.stderr
    assert "missing-file            include/foo.h: missing" in later.stderr
    assert "could not" not in later.stderr


@pytest.mark.parametrize("what", ["fork", "windows-but-geteuid"])
def test_every_environment_without_fork(sandbox: Conda, what: str) -> None:
    """``verify --all`` verifies in forked processes where it can; elsewhere in turn."""
    # three: with two workers, one is verified here and the others by one helper
    one, two, three = (sandbox.envs_dir / name for name in ("one", "two", "three"))
    for prefix in (one, two, three):
        sandbox.run("create", "-p", str(prefix), "--yes", "--quiet", *STANDARD_SPECS)
    damage = _damage(two)
    result = sandbox.run("integrity", "verify", "--all", "--json", check=False, env=lacking(what))
    assert result.returncode == 1, str(result)
    reports = {e["prefix"]: e for e in result.json()["environments"] if "findings" in e}
    assert reports[str(one)]["findings"] == reports[str(three)]["findings"] == []
    assert summary(reports[str(two)]) == damage


@pytest.mark.parametrize("what", ["dir_fd", "O_NOFOLLOW", "windows"])
def test_a_symlinked_state_folder_is_not_followed_without_handles(
    sandbox: Conda, env: Path, tmp_path: Path, what: str
) -> None:
    """Without folder handles or O_NOFOLLOW, the state folders are walked by path and
    each checked with lstat: a symlink is still never followed, never written through."""
    canary = tmp_path / "canary"
    canary.mkdir()
    (canary / "keep.txt").write_text("someone else's\n")
    shutil.rmtree(env / "conda-meta" / "integrity")
    (env / "conda-meta" / "integrity").symlink_to(canary, target_is_directory=True)
    without = lacking(what)
    report = verify(sandbox, env, env=without)
    sandbox.run("integrity", "snapshot", "-p", str(env), env=without)
    sandbox.install(env, "clobber-a", env=without)
    assert sorted(p.name for p in canary.iterdir()) == ["keep.txt"]
    assert summary(report) == {("untrusted-state", "conda-meta/integrity")}


# -- Windows records, as conda writes them -------------------------------------------

DIGEST = "ab" * 32


def windows_noarch_record() -> dict:
    """pyfoo's record as conda writes it on win-64 (conda/core/link.py,
    path_actions.py): site-packages files by package path, and in ``files`` where
    they went (``Lib/site-packages``); ``.pyc`` files and the two halves of a Windows
    entry point (``Scripts/X-script.py`` and the launcher ``Scripts/X.exe`` conda
    copies from its own package) with a path type and no hash."""
    return {
        "name": "pyfoo",
        "version": "1.0",
        "build": "pyh0_0",
        "noarch": "python",
        "subdir": "noarch",
        "files": [
            "Lib/site-packages/pyfoo/__init__.py",
            "Lib/site-packages/pyfoo/__pycache__/__init__.cpython-311.pyc",
            "Scripts/pyfoo-script.py",
            "Scripts/pyfoo.exe",
        ],
        "paths_data": {
            "paths_version": 1,
            "paths": [
                {
                    "_path": "site-packages/pyfoo/__init__.py",
                    "path_type": "hardlink",
                    "sha256": DIGEST,
                    "sha256_in_prefix": DIGEST,
                    "size_in_bytes": 16,
                },
                {
                    "_path": "Lib/site-packages/pyfoo/__pycache__/__init__.cpython-311.pyc",
                    "path_type": "pyc_file",
                },
                {
                    "_path": "Scripts/pyfoo-script.py",
                    "path_type": "windows_python_entry_point_script",
                },
                {"_path": "Scripts/pyfoo.exe", "path_type": "windows_python_entry_point_exe"},
            ],
        },
    }


def test_a_windows_noarch_record_is_read_as_conda_wrote_it() -> None:
    from conda_integrity.records.model import ENTRY_POINT, FILE, PYC, Record, build_record

    record = build_record("pyfoo-1.0-pyh0_0", windows_noarch_record(), "Lib/site-packages")
    assert isinstance(record, Record)
    paths = {owned.path: owned for owned in record.paths}
    assert set(paths) == set(windows_noarch_record()["files"])
    module = paths["Lib/site-packages/pyfoo/__init__.py"]
    assert (module.kind, module.sha256, module.source) == (
        FILE,
        DIGEST,
        "site-packages/pyfoo/__init__.py",
    )
    assert paths["Lib/site-packages/pyfoo/__pycache__/__init__.cpython-311.pyc"].kind == PYC
    for launcher in ("Scripts/pyfoo-script.py", "Scripts/pyfoo.exe"):
        assert (paths[launcher].kind, paths[launcher].sha256) == (ENTRY_POINT, None)


@pytest.mark.parametrize(
    ("path", "why"),
    [
        ("C:\\Windows\\System32\\evil.dll", "an absolute path"),
        ("C:evil.dll", "an absolute path"),
        ("\\\\server\\share\\evil.dll", "an absolute path"),
        ("/evil.dll", "an absolute path"),
        ("Library\\bin\\..\\..\\..\\evil.dll", "a path that climbs out of the environment"),
        ("Library/bin/../../../evil.dll", "a path that climbs out of the environment"),
        ("Library\\bin\\platlib.dll", None),
        ("Lib/site-packages/pyfoo/__init__.py", None),
    ],
)
def test_recorded_paths_on_windows(monkeypatch: pytest.MonkeyPatch, path: str, why: str) -> None:
    """Where a record's path may lead on Windows, where ``\\`` separates folders and
    a drive or a share makes a path absolute."""
    from conda_integrity.records import model

    monkeypatch.setattr(model, "_WINDOWS", True)
    assert model.unsafe_path(path) == why


def test_a_windows_environment_as_conda_leaves_it(platform_channel: Path, tmp_path: Path) -> None:
    """conda on Windows renames a DLL it cannot delete (in use) to ``X.conda_trash``,
    then ``X.conda_trash_1`` (conda/gateways/disk/delete.py); the next install deletes
    them. menuinst's ``Menu/*.json`` is a file of the package like any other."""
    conda, prefix = create_for(platform_channel, tmp_path, "win-64")
    dll = prefix / "Library" / "bin" / "platlib.dll"
    (dll.parent / "old.dll.conda_trash").write_bytes(b"in use")
    (dll.parent / "old.dll.conda_trash_1").write_bytes(b"in use")
    edit_in_place(prefix / "Menu" / "platlib.json", offset=3)
    assert summary(verify(conda, prefix, "--untracked")) == {
        ("transaction-debris", "Library/bin/old.dll.conda_trash"),
        ("transaction-debris", "Library/bin/old.dll.conda_trash_1"),
        ("altered-file", "Menu/platlib.json"),
    }
