"""conda doctor runs verify as its ``integrity`` health check."""

from __future__ import annotations

from pathlib import Path

import pytest
from packaging.version import Version

from tests.support.conda_cli import Conda
from tests.support.helpers import CONDA_VERSION, verify
from tests.support.trees import differences, tree

#: conda 26.1 and later run only the health checks named on the command line, if any
NAMED = Version("26.1") <= CONDA_VERSION


def doctor(conda: Conda, prefix: Path, *args: str) -> str:
    result = conda.run("doctor", "-p", str(prefix), *args, *(["integrity"] if NAMED else []))
    assert result.returncode == 0, str(result)  # doctor exits 0 whatever it finds
    assert "Error running health check" not in result.stderr, str(result)
    return result.stdout


def test_a_clean_environment(shared_sandbox: Conda, shared_env: Path) -> None:
    out = doctor(shared_sandbox, shared_env)
    assert "\u2705 Integrity (conda integrity verify):" in out
    assert f"Verified {shared_env}: 5 packages" in out
    assert "No problems found." in out


def test_a_damaged_environment(sandbox: Conda, env: Path) -> None:
    (env / "share" / "foo" / "1.0.txt").unlink()
    out = doctor(sandbox, env)
    assert "\u274c Integrity (conda integrity verify):" in out
    assert "missing-file            share/foo/1.0.txt: missing; libfoo-1.0 installed it" in out
    assert "1 error, 0 warnings, 0 info." in out


def test_listed_with_its_summary(shared_sandbox: Conda, shared_env: Path) -> None:
    if not NAMED:  # conda 24.7 has no --list; its doctor runs every check
        out = shared_sandbox.run("doctor", "-p", str(shared_env)).stdout
        assert "Integrity (conda integrity verify)" in out
        return
    out = shared_sandbox.run("doctor", "--list").stdout
    assert "integrity: Verify files, records, dependencies" in out


#: conda 26.1 and later call a health check's fixer for ``conda doctor --fix``
FIXERS = NAMED


@pytest.mark.skipif(not FIXERS, reason="conda before 26.1 has no health check fixers")
def test_doctor_fix_repairs_with_conda_confirmation(sandbox: Conda, env: Path) -> None:
    (env / "bin" / "foo-config").unlink()
    state = ("conda-meta/integrity",)
    before = tree(env, skip=state)

    dry = sandbox.run("doctor", "-p", str(env), "--fix", "--dry-run", "integrity", timeout=300)
    assert "relink libfoo-1.0-h1234_0" in dry.stdout, str(dry)
    assert differences(before, tree(env, skip=state)) == []

    fixed = sandbox.run("doctor", "-p", str(env), "--fix", "integrity", timeout=300)
    assert fixed.returncode == 0, str(fixed)
    assert "relink libfoo-1.0-h1234_0: linked again" in fixed.stdout
    assert verify(sandbox, env)["findings"] == []


def test_listed_with_its_fix(shared_sandbox: Conda) -> None:
    if not FIXERS:
        return
    out = shared_sandbox.run("doctor", "--list").stdout
    assert "integrity: Verify files" in out and "(fix: Repair what it found" in out
