"""What pip, uv and other installers wrote in site-packages, damaged or hostile:
verify reads it like the prefix's own files (never through a symlink, never from a
FIFO, never past a size bound), so it never blocks, never reads outside the
environment and never crashes; what it cannot read is a warning naming it.

The environments are made by conda from the test channel, with real pip from that
channel installing wheels over them; every run has a time limit, so a hang fails
the test instead of stopping the suite.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import pytest

from conda_integrity.observe.known_hashes import RACY_SECONDS
from tests.support.catalog import SITE_PACKAGES, bundled_pip_wheel
from tests.support.conda_cli import Conda
from tests.support.helpers import findings, pip_install, summary, verify
from tests.support.wheels import build_wheel

pytestmark = pytest.mark.skipif(
    bundled_pip_wheel() is None, reason="the host Python bundles no pip wheel"
)

#: no verify of these small environments takes more; a blocked one would take forever
LIMIT = 120
HELPER = f"{SITE_PACKAGES}/footools_helper.py"
SNEAKY = f"{SITE_PACKAGES}/sneaky-1.0.dist-info"


@pytest.fixture
def pip_env(sandbox: Conda, tmp_path: Path) -> Path:
    """conda's python, pip and packages, and sneaky 1.0, which pip installed over
    footools' footools_helper.py."""
    prefix = tmp_path / "env"
    sandbox.create(prefix, "python", "pip", "pyfoo", "footools", "libfoo=1.0")
    wheel = build_wheel(
        tmp_path / "wheels", "sneaky", "1.0", {"footools_helper.py": b"HELPER = 'pip'\n"}
    )
    pip_install(sandbox, prefix, wheel)
    assert summary(verify(sandbox, prefix, timeout=LIMIT)) == {
        ("altered-file", HELPER),
        ("pip-overlap", SNEAKY),
    }
    return prefix


def _fifo(path: Path) -> None:
    if path.exists() or path.is_symlink():
        path.unlink()
    os.mkfifo(path)  # opening it for reading would wait for a writer forever


def _symlink(path: Path, target: Path | str) -> None:
    path.unlink()
    path.symlink_to(target)


def _copy_distribution(prefix: Path, name: str) -> Path:
    """A copy of sneaky's dist-info as another project's (a second project pip
    installed with the same files)."""
    copy = prefix / SITE_PACKAGES / f"{name}-1.0.dist-info"
    shutil.copytree(prefix / SNEAKY, copy)
    (copy / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    return copy


def _unreadable(report: dict) -> dict[str, str]:
    return {f["path"]: f["message"] for f in findings(report, "unreadable")}


def _guarded_install_goes_on(sandbox: Conda, prefix: Path) -> None:
    """A guarded conda install into the prefix finishes, without a traceback."""
    result = sandbox.install(
        prefix, "clobber-a", env={"CONDA_PLUGINS_INTEGRITY_MODE": "warn"}, timeout=LIMIT
    )
    assert "Traceback" not in result.stderr, result
    assert (prefix / "share" / "clobbered.txt").is_file()


def test_fifos_in_place_of_metadata(sandbox: Conda, pip_env: Path, tmp_path: Path) -> None:
    site = pip_env / SITE_PACKAGES
    wheel = build_wheel(tmp_path / "wheels", "newproj", "0.1", {"newproj/__init__.py": b""})
    pip_install(sandbox, pip_env, wheel)
    _fifo(site / "newproj-0.1.dist-info" / "RECORD")
    _fifo(pip_env / SNEAKY / "METADATA")
    _fifo(pip_env / SNEAKY / "INSTALLER")
    _fifo(site / "ghost-1.0.dist-info")  # a dist-info that is no folder
    _fifo(site / "Ghost_Egg-1.0-py3.11.egg-info")  # an egg-info file
    # an egg-info folder as setup.py install writes it, its PKG-INFO a FIFO
    egg = site / "eggy-1.0-py3.11.egg-info"
    egg.mkdir()
    (egg / "installed-files.txt").write_text("../footools_helper.py\nPKG-INFO\n")
    _fifo(egg / "PKG-INFO")

    time.sleep(RACY_SECONDS + 0.2)  # old enough for verify to remember what it read
    report = verify(sandbox, pip_env, timeout=LIMIT)
    unreadable = {
        f"{SNEAKY}/METADATA",
        f"{SNEAKY}/INSTALLER",
        f"{SITE_PACKAGES}/newproj-0.1.dist-info/RECORD",
        f"{SITE_PACKAGES}/ghost-1.0.dist-info",
        f"{SITE_PACKAGES}/Ghost_Egg-1.0-py3.11.egg-info",
        f"{SITE_PACKAGES}/eggy-1.0-py3.11.egg-info/PKG-INFO",
    }
    assert summary(report) == {
        ("altered-file", HELPER),
        ("pip-overlap", SNEAKY),
        ("pip-overlap", f"{SITE_PACKAGES}/eggy-1.0-py3.11.egg-info"),
    } | {("unreadable", path) for path in unreadable}
    for finding in findings(report, "unreadable"):
        assert finding["severity"] == "warning"
        assert "FIFO" in finding["message"], finding
    # each distribution is judged from what could be read: sneaky by its folder's
    # name and its RECORD, without an installer
    overlaps = {f["path"]: f for f in findings(report, "pip-overlap")}
    assert overlaps[SNEAKY]["message"] == (
        "sneaky 1.0 (installed by a tool other than conda) wrote over 1 of "
        f"footools-1.0's files: {HELPER}"
    )
    assert overlaps[f"{SITE_PACKAGES}/eggy-1.0-py3.11.egg-info"]["paths"] == [HELPER]
    # the same again, from what verify remembered of site-packages
    assert (pip_env / "conda-meta" / "integrity" / "site-packages.json").is_file()
    assert verify(sandbox, pip_env, timeout=LIMIT)["findings"] == report["findings"]
    _guarded_install_goes_on(sandbox, pip_env)


def test_metadata_links_out_of_the_prefix_are_not_followed(
    sandbox: Conda, pip_env: Path, tmp_path: Path
) -> None:
    """What the files outside say would make findings, if verify read them."""
    site = pip_env / SITE_PACKAGES
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "RECORD").write_text("pyfoo/__init__.py,,\n")  # a conda file
    (outside / "METADATA").write_text("Metadata-Version: 2.1\nName: libfoo\nVersion: 9\n")
    (outside / "INSTALLER").write_text("outsider\n")
    for name in ("RECORD", "METADATA", "INSTALLER"):
        _symlink(pip_env / SNEAKY / name, outside / name)
    (site / "zlibby-9.egg-info").symlink_to(outside / "METADATA")
    shutil.copytree(pip_env / SNEAKY, outside / "linked-1.0.dist-info", symlinks=True)
    (site / "linked-1.0.dist-info").symlink_to(outside / "linked-1.0.dist-info")

    report = verify(sandbox, pip_env, timeout=LIMIT)
    unreadable = _unreadable(report)
    assert set(unreadable) == {
        f"{SNEAKY}/RECORD",
        f"{SNEAKY}/METADATA",
        f"{SNEAKY}/INSTALLER",
        f"{SITE_PACKAGES}/zlibby-9.egg-info",
        f"{SITE_PACKAGES}/linked-1.0.dist-info",
    }
    assert all("symbolic link" in message for message in unreadable.values()), unreadable
    # nothing outside was read: no name, installer or file from there
    assert summary(report) - {("unreadable", path) for path in unreadable} == {
        ("altered-file", HELPER)
    }
    assert "outsider" not in str(report) and "libfoo 9" not in str(report)


def test_site_packages_linked_out_of_the_prefix_is_not_read(
    sandbox: Conda, pip_env: Path, tmp_path: Path
) -> None:
    site = pip_env / SITE_PACKAGES
    outside = tmp_path / "outside-site-packages"
    site.rename(outside)
    site.symlink_to(outside)
    _fifo(outside / "sneaky-1.0.dist-info" / "RECORD")  # would block, if read

    report = verify(sandbox, pip_env, timeout=LIMIT)
    unreadable = _unreadable(report)
    assert "leaves the environment" in unreadable[SITE_PACKAGES]
    # nor are the files conda put there, sneaky is not known at all
    for path in (HELPER, f"{SITE_PACKAGES}/pyfoo/__init__.py"):
        assert "leaves the environment" in unreadable[path]
    assert {f["code"] for f in report["findings"]} == {"unreadable"}
    _guarded_install_goes_on(sandbox, pip_env)


def test_a_record_that_is_not_csv(sandbox: Conda, pip_env: Path, tmp_path: Path) -> None:
    """Each RECORD first lists footools_helper.py, then what pip could not parse."""
    first = b"footools_helper.py,,\n"
    contents = {
        "binary": first + bytes(range(256)) * 64,
        "long-field": first + b"x" * 200_000 + b",,\n" + b"pyfoo/cli.py,,\n",
        "nul": first + b"\0" * 1000 + b",,\n",
    }
    for name, content in contents.items():
        (_copy_distribution(pip_env, name) / "RECORD").write_bytes(content)
    _symlink(_copy_distribution(pip_env, "zero") / "RECORD", "/dev/zero")
    with open(_copy_distribution(pip_env, "huge") / "RECORD", "r+b") as handle:
        handle.truncate(8 << 30)  # sparse: reading it all would take long

    report = verify(sandbox, pip_env, timeout=LIMIT)
    site = SITE_PACKAGES
    unreadable = _unreadable(report)
    assert set(unreadable) == {
        f"{site}/long-field-1.0.dist-info/RECORD",
        f"{site}/zero-1.0.dist-info/RECORD",
        f"{site}/huge-1.0.dist-info/RECORD",
    }
    assert "line 2" in unreadable[f"{site}/long-field-1.0.dist-info/RECORD"]
    assert "symbolic link" in unreadable[f"{site}/zero-1.0.dist-info/RECORD"]
    assert "larger than" in unreadable[f"{site}/huge-1.0.dist-info/RECORD"]
    # the rows that could be read count: the files after the bad line do not
    overlaps = {f["path"]: f["paths"] for f in findings(report, "pip-overlap")}
    assert overlaps == {
        f"{site}/{name}-1.0.dist-info": [HELPER]
        for name in ("sneaky", "binary", "long-field", "nul")
    }
    assert summary(report) - {("unreadable", p) for p in unreadable} == {
        ("altered-file", HELPER)
    } | {("pip-overlap", path) for path in overlaps}
    _guarded_install_goes_on(sandbox, pip_env)


def test_metadata_the_user_may_not_read(sandbox: Conda, pip_env: Path) -> None:
    for folder in (pip_env, *pip_env.parents):  # reachable without permission-bypassing powers
        if folder == Path("/"):
            break
        folder.chmod(folder.stat().st_mode | 0o055)
    (pip_env / SNEAKY / "RECORD").chmod(0o000)
    locked = _copy_distribution(pip_env, "locked")
    locked.chmod(0o000)
    try:
        result = sandbox.verify(pip_env, "--json", unprivileged=True, timeout=LIMIT)
    finally:
        locked.chmod(0o755)
    report = json.loads(result.stdout)
    assert _unreadable(report) == {
        f"{SNEAKY}/RECORD": "not read: it cannot be opened: Permission denied",
        str(locked.relative_to(pip_env)): "not read: it cannot be opened: Permission denied",
    }
    # without its RECORD, sneaky is known to have written over nothing
    assert summary(report) - {("unreadable", p) for p in _unreadable(report)} == {
        ("altered-file", HELPER)
    }
