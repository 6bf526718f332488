"""pip-overlap: pip really installing wheels into a conda environment's Python.

The environment gets the real pip from the test channel (made from the wheel
the host Python bundles), then ``<env>/bin/python -m pip install --no-index``
installs wheels the tests build themselves.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.support.catalog import SITE_PACKAGES, bundled_pip_wheel, wheel_package
from tests.support.conda_cli import Conda
from tests.support.helpers import findings, pip_install, summary, uv_install, verify
from tests.support.packages import build, copy_channel, write_repodata
from tests.support.wheels import build_wheel

pytestmark = pytest.mark.skipif(
    bundled_pip_wheel() is None, reason="the host Python bundles no pip wheel"
)


@pytest.fixture
def pip_env(sandbox: Conda, tmp_path: Path) -> Path:
    prefix = tmp_path / "env"
    sandbox.create(prefix, "python", "pip", "pyfoo", "footools", "libfoo=1.0")
    return prefix


def test_pip_from_conda_is_clean(sandbox: Conda, pip_env: Path) -> None:
    environ = {"PATH": "/usr/bin:/bin", "PIP_CONFIG_FILE": os.devnull}
    listed = subprocess.run(
        [str(pip_env / "bin" / "pip"), "list", "--disable-pip-version-check"],
        env=environ,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "pyfoo" in listed and "pip" in listed
    assert verify(sandbox, pip_env, "--untracked")["findings"] == []


def test_a_new_project_is_not_a_finding(sandbox: Conda, pip_env: Path, tmp_path: Path) -> None:
    wheel = build_wheel(tmp_path / "wheels", "newproj", "0.1", {"newproj/__init__.py": b"X = 1\n"})
    assert "Successfully installed newproj-0.1" in pip_install(sandbox, pip_env, wheel)
    assert (pip_env / SITE_PACKAGES / "newproj-0.1.dist-info" / "INSTALLER").read_text() == "pip\n"
    assert verify(sandbox, pip_env)["findings"] == []


def test_pip_writing_over_a_conda_file(sandbox: Conda, pip_env: Path, tmp_path: Path) -> None:
    wheel = build_wheel(
        tmp_path / "wheels",
        "sneaky",
        "1.0",
        {"sneaky.py": b"", "footools_helper.py": b"HELPER = 'pip'\n"},
    )
    pip_install(sandbox, pip_env, wheel)
    report = verify(sandbox, pip_env)
    helper = f"{SITE_PACKAGES}/footools_helper.py"
    # the conda package is no longer what conda installed: an error on the file ...
    assert summary(report) == {
        ("altered-file", helper),
        ("pip-overlap", f"{SITE_PACKAGES}/sneaky-1.0.dist-info"),
    }
    # ... and one warning that says who wrote over it
    (overlap,) = findings(report, "pip-overlap")
    assert overlap["severity"] == "warning"
    assert overlap["package"] == "footools-1.0-h5678_0"
    assert overlap["distribution"] == "sneaky 1.0"
    assert overlap["installer"] == "pip"
    assert overlap["paths"] == [helper]
    assert overlap["message"] == (
        f"sneaky 1.0 (installed by pip) wrote over 1 of footools-1.0's files: {helper}"
    )


def test_pip_between_two_conda_commands_is_seen_by_the_guard(
    sandbox: Conda, pip_env: Path, tmp_path: Path
) -> None:
    """The next conda command's pre-check names what pip did; refuse mode stops it."""
    wheel = build_wheel(
        tmp_path / "wheels", "sneaky", "1.0", {"footools_helper.py": b"HELPER = 'pip'\n"}
    )
    pip_install(sandbox, pip_env, wheel)
    helper = f"{SITE_PACKAGES}/footools_helper.py"

    refused = sandbox.install(
        pip_env, "clobber-a", check=False, env={"CONDA_PLUGINS_INTEGRITY_MODE": "refuse"}
    )
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert "altered-file" in refused.stderr and helper in refused.stderr
    assert not (pip_env / "share" / "clobbered.txt").exists()

    warned = sandbox.install(pip_env, "clobber-a", env={"CONDA_PLUGINS_INTEGRITY_MODE": "warn"})
    assert f"conda-integrity: 1 problem(s) in {pip_env}:" in warned.stderr
    assert "altered-file" in warned.stderr and helper in warned.stderr
    assert (pip_env / "share" / "clobbered.txt").is_file()


def test_pip_installing_a_conda_package_again(
    sandbox: Conda, pip_env: Path, tmp_path: Path
) -> None:
    wheel = build_wheel(
        tmp_path / "wheels",
        "pyfoo",
        "2.0",
        {"pyfoo/__init__.py": b"VERSION = '2.0'\n", "pyfoo/cli.py": b"def main():\n    return 2\n"},
        console_scripts={"pyfoo": "pyfoo.cli:main"},
    )
    out = pip_install(sandbox, pip_env, wheel)
    assert "Successfully uninstalled pyfoo-1.0" in out  # pip removed conda's files
    report = verify(sandbox, pip_env)
    (overlap,) = findings(report, "pip-overlap")
    assert overlap["package"] == "pyfoo-1.0-pyh0_0"
    assert overlap["path"] == f"{SITE_PACKAGES}/pyfoo-2.0.dist-info"
    assert overlap["paths"] == [
        "bin/pyfoo",
        f"{SITE_PACKAGES}/pyfoo/__init__.py",
        f"{SITE_PACKAGES}/pyfoo/cli.py",
    ]
    assert overlap["message"].startswith(
        "pyfoo 2.0 (installed by pip) has the name of conda's pyfoo-1.0 and wrote over its files"
    )
    # conda's record still lists the files pip removed or replaced
    codes = {
        (f["code"], f["path"]) for f in report["findings"] if f["package"] == "pyfoo-1.0-pyh0_0"
    }
    assert ("missing-file", f"{SITE_PACKAGES}/pyfoo-1.0.dist-info/RECORD") in codes
    assert ("missing-file", f"{SITE_PACKAGES}/pyfoo/data/table.csv") in codes
    assert ("altered-file", f"{SITE_PACKAGES}/pyfoo/cli.py") in codes
    # and verify kept the record: it never reads site-packages through conda's pip
    # interoperability, which deletes the records of packages pip uninstalled
    assert list((pip_env / "conda-meta").glob("pyfoo-1.0-pyh0_0.json"))


def test_a_project_installed_beside_conda_under_the_same_name(
    sandbox: Conda, pip_env: Path, tmp_path: Path
) -> None:
    """An egg-info written by hand (setup.py develop style) naming a conda package."""
    egg = pip_env / SITE_PACKAGES / "LibFoo-0.5-py3.11.egg-info"
    egg.write_text("Metadata-Version: 1.1\nName: LibFoo\nVersion: 0.5\n")
    (overlap,) = findings(verify(sandbox, pip_env), "pip-overlap")
    assert overlap["package"] == "libfoo-1.0-h1234_0"  # PEP 503 names: LibFoo is libfoo
    assert overlap["installer"] is None


def test_conda_deleting_the_record_of_a_package_pip_replaced(
    sandbox: Conda, pip_env: Path, tmp_path: Path
) -> None:
    """conda env export reads site-packages with pip interoperability, which deletes
    the record of a conda package whose metadata pip removed (conda issue #14423)."""
    wheel = build_wheel(tmp_path / "wheels", "pyfoo", "2.0", {"pyfoo/__init__.py": b""})
    pip_install(sandbox, pip_env, wheel)
    exported = sandbox.run("env", "export", "-p", str(pip_env)).stdout
    assert "- pyfoo==2.0" in exported
    assert not list((pip_env / "conda-meta").glob("pyfoo-*.json"))  # conda deleted it
    (finding,) = findings(verify(sandbox, pip_env), "history-mismatch")
    assert finding["package"] == "pyfoo-1.0-pyh0_0"
    assert finding["message"] == (
        "the history lists pyfoo-1.0-pyh0_0 as installed, but there is no record of it: "
        "pip's pyfoo 2.0 replaced it, and conda's pip interoperability "
        "(conda list, conda env export) then deleted conda's record"
    )


CONVERTED = {"convy/__init__.py": b"VERSION = '1.0'\n", "convy/tool.py": b"def main():\n    pass\n"}


@pytest.fixture
def converted_env(channel: Path, tmp_path: Path) -> tuple[Conda, Path, Path]:
    """An environment with ``convy``, a conda package converted from a wheel by a tool
    other than conda-build: its dist-info has no ``INSTALLER``."""
    wheel = build_wheel(tmp_path / "wheels", "convy", "1.0", CONVERTED)
    own = copy_channel(channel, tmp_path / "channel")
    build(wheel_package(wheel, "convy", installer=None), own)
    write_repodata(own)
    conda = Conda(tmp_path / "sandbox", own)
    prefix = tmp_path / "env"
    conda.create(prefix, "python", "pip", "convy")
    assert not (prefix / SITE_PACKAGES / "convy-1.0.dist-info" / "INSTALLER").exists()
    assert verify(conda, prefix)["findings"] == []
    return conda, prefix, wheel


def _reinstalled_by(report: dict, installer: str) -> None:
    dist_info = f"{SITE_PACKAGES}/convy-1.0.dist-info"
    (overlap,) = findings(report, "pip-overlap")
    assert overlap["package"] == "convy-1.0-pyh0_0"
    assert overlap["installer"] == installer
    assert overlap["path"] == dist_info
    assert overlap["message"].startswith(
        f"convy 1.0 (installed by {installer}) has the name of conda's convy-1.0"
    )
    assert overlap["message"].endswith(f"conda and {installer} each think they manage it")
    assert f"{SITE_PACKAGES}/convy/tool.py" in overlap["paths"]
    # the files it rewrote are the conda package's errors, as for any reinstall
    assert ("altered-file", f"{dist_info}/RECORD") in summary(report)


def test_pip_reinstalling_a_converted_package(converted_env: tuple[Conda, Path, Path]) -> None:
    conda, prefix, wheel = converted_env
    pip_install(conda, prefix, wheel, "--force-reinstall")
    _reinstalled_by(verify(conda, prefix), "pip")


def test_uv_reinstalling_a_converted_package(converted_env: tuple[Conda, Path, Path]) -> None:
    conda, prefix, wheel = converted_env
    uv_install(conda, prefix, "--reinstall", str(wheel))
    _reinstalled_by(verify(conda, prefix), "uv")
