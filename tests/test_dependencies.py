"""unsatisfied-dependency and constraint-violation on environments that conda
itself left inconsistent: a forced removal, and an explicit install of a
package file, which conda links without solving."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from conda_integrity.observe.known_hashes import RACY_SECONDS
from tests.support.conda_cli import Conda
from tests.support.helpers import findings, record_of, summary, verify


def only(report: dict, code: str) -> dict:
    (finding,) = findings(report, code)
    return finding


def test_a_dependency_removed_by_force(sandbox: Conda, env: Path) -> None:
    time.sleep(RACY_SECONDS + 0.2)  # old enough for verify to remember its result
    assert verify(sandbox, env)["findings"] == []
    assert (env / "conda-meta" / "integrity" / "dependencies.json").is_file()
    sandbox.remove(env, "--force", "libfoo")  # conda removes it, footools still needs it
    report = verify(sandbox, env)
    finding = only(report, "unsatisfied-dependency")
    assert finding["severity"] == "error"
    assert finding["package"] == "footools-1.0-h5678_0"
    assert finding["spec"] == "libfoo >=1.0"
    assert finding["installed"] is None
    assert finding["message"] == "footools-1.0 needs libfoo >=1.0; no libfoo is installed"
    assert finding["fix"] == f"conda install -p {env} 'libfoo >=1.0'"
    assert report["ok"] is False


@pytest.fixture
def explicit_upgrade(sandbox: Conda, tmp_path: Path) -> Path:
    """libfoo 1.0 with a plugin that needs it and a package that rules out 2.0, then
    libfoo 2.0 installed from its file: conda links it without asking the solver."""
    prefix = tmp_path / "env"
    sandbox.create(prefix, "libfoo=1.0", "fooplugin", "foolimit")
    assert verify(sandbox, prefix)["findings"] == []
    archive = sandbox.channel / "linux-64" / "libfoo-2.0-h1234_0.tar.bz2"
    sandbox.install(prefix, str(archive))
    assert record_of(prefix, "libfoo").name == "libfoo-2.0-h1234_0.json"
    return prefix


def test_a_dependency_replaced_by_an_explicit_install(
    sandbox: Conda, explicit_upgrade: Path
) -> None:
    report = verify(sandbox, explicit_upgrade)
    finding = only(report, "unsatisfied-dependency")
    assert (finding["package"], finding["spec"], finding["installed"]) == (
        "fooplugin-1.0-h0_0",
        "libfoo >=1.0,<2.0a0",
        "libfoo-2.0-h1234_0",
    )
    assert finding["message"] == (
        "fooplugin-1.0 needs libfoo >=1.0,<2.0a0; installed instead: libfoo-2.0-h1234_0"
    )


def test_a_constraint_violated_by_an_explicit_install(
    sandbox: Conda, explicit_upgrade: Path
) -> None:
    report = verify(sandbox, explicit_upgrade)
    finding = only(report, "constraint-violation")
    assert finding["severity"] == "error"
    assert (finding["package"], finding["violator"], finding["spec"]) == (
        "foolimit-1.0-0",
        "libfoo-2.0-h1234_0",
        "libfoo <2.0",
    )
    assert (
        finding["message"]
        == "foolimit-1.0 allows only libfoo <2.0; libfoo-2.0-h1234_0 is installed"
    )
    # naming the package verifies its dependencies only
    named = verify(sandbox, explicit_upgrade, "foolimit")
    assert {f["code"] for f in named["findings"]} == {"constraint-violation"}
    # the solver puts it right, and verify says so
    sandbox.install(explicit_upgrade, "libfoo <2.0")
    assert verify(sandbox, explicit_upgrade)["findings"] == []


def test_a_constraint_binds_only_a_package_that_is_there(sandbox: Conda, tmp_path: Path) -> None:
    prefix = tmp_path / "env"
    sandbox.create(prefix, "foolimit")  # constrains libfoo, which is not installed
    assert verify(sandbox, prefix)["findings"] == []


def test_virtual_packages_the_machine_lacks_are_warnings(sandbox: Conda, tmp_path: Path) -> None:
    """needsgpu depends on __cuda >=11.2: installed where conda saw a CUDA 12 driver,
    verified where it sees none, then an older one, then a C library too old."""
    prefix = tmp_path / "env"
    sandbox.create(prefix, "needsgpu", env={"CONDA_OVERRIDE_CUDA": "12.0"})
    report = verify(sandbox, prefix)  # the sandbox hides any CUDA driver
    finding = only(report, "unsatisfied-dependency")
    assert finding["severity"] == "warning"
    assert finding["message"] == "needsgpu-1.0 needs __cuda >=11.2; this machine has no __cuda"
    assert report["ok"] is True
    assert verify(sandbox, prefix, env={"CONDA_OVERRIDE_CUDA": "12.0"})["findings"] == []
    older = verify(sandbox, prefix, env={"CONDA_OVERRIDE_CUDA": "10.1"})
    assert only(older, "unsatisfied-dependency")["message"] == (
        "needsgpu-1.0 needs __cuda >=11.2; this machine has __cuda 10.1"
    )
    old_libc = verify(
        sandbox, prefix, env={"CONDA_OVERRIDE_CUDA": "12.0", "CONDA_OVERRIDE_GLIBC": "2.12"}
    )
    assert only(old_libc, "unsatisfied-dependency")["message"] == (
        "needsgpu-1.0 needs __glibc >=2.17,<3.0.a0; this machine has __glibc 2.12"
    )


def test_pythons_added_pip_dependency_is_soft(sandbox: Conda, tmp_path: Path) -> None:
    """With add_pip_as_python_dependency (conda's default) python's record depends on
    pip; conda itself ignores that entry once pip is gone, and so does verify."""
    conda = sandbox
    prefix = tmp_path / "env"
    conda.create(prefix, "python", "footools", env={"CONDA_ADD_PIP_AS_PYTHON_DEPENDENCY": "true"})
    assert "pip" in json.loads(record_of(prefix, "python").read_text())["depends"]
    conda.remove(prefix, "--force", "pip")
    assert not list((prefix / "conda-meta").glob("pip-*.json"))
    assert verify(conda, prefix)["findings"] == []
    conda.remove(prefix, "--force", "libfoo")  # not soft: footools needs it
    assert summary(verify(conda, prefix)) == {("unsatisfied-dependency", None)}
