"""The command line as users and scripts meet it: exit codes, errors, JSON, targets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conda_integrity import __version__
from tests.support.catalog import SITE_PACKAGES
from tests.support.conda_cli import Conda
from tests.support.helpers import STANDARD_SPECS, edit_in_place, replace_file, summary, verify


def one_line_error(result, code: int = 2) -> str:
    assert result.returncode == code, str(result)
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, str(result)
    assert result.stdout == ""
    return lines[0]


def test_clean_environment_exits_0(shared_sandbox: Conda, shared_env: Path) -> None:
    result = shared_sandbox.verify(shared_env)
    assert result.returncode == 0, str(result)
    assert result.stdout.splitlines()[-1] == "No problems found."


@pytest.mark.parametrize("args", [[], ["--json"], ["--all"], ["--pkgs-dirs"]])
def test_a_reader_that_goes_away_stops_it_quietly(
    shared_sandbox: Conda, shared_env: Path, args: list[str]
) -> None:
    """``conda integrity verify | head``: the pipe closed before verify writes."""
    many = {"--all", "--pkgs-dirs"} & set(args)
    target = [] if many else ["-p", str(shared_env)]
    process = shared_sandbox.popen("integrity", "verify", *target, *args)
    assert process.stdout is not None
    process.stdout.close()  # long before conda has started up
    _, stderr = process.communicate(timeout=300)
    assert process.returncode == 141, stderr
    assert stderr == ""


@pytest.mark.parametrize("where", ["missing", "plain-folder", "file"])
def test_not_an_environment(shared_sandbox: Conda, tmp_path: Path, where: str) -> None:
    target = tmp_path / where
    if where == "plain-folder":
        target.mkdir()
    elif where == "file":
        target.write_text("hello\n")
    line = one_line_error(shared_sandbox.verify(target))
    assert str(target) in line
    assert "conda environment" in line


def test_unknown_environment_name(shared_sandbox: Conda) -> None:
    result = shared_sandbox.run("integrity", "verify", "-n", "no-such-env", check=False)
    assert "no-such-env" in one_line_error(result)


def test_errors_are_json_with_json(shared_sandbox: Conda, tmp_path: Path) -> None:
    result = shared_sandbox.verify(tmp_path / "missing", "--json")
    assert result.returncode == 2
    error = json.loads(result.stdout)
    assert error["exception_name"] == "IntegrityInputError"
    assert str(tmp_path / "missing") in error["message"]


@pytest.mark.parametrize(
    "args",
    [["--bogus"], ["--fast", "--no-cache"], ["-n", "a", "-p", "/tmp"]],
    ids=["unknown-flag", "fast-and-no-cache", "name-and-prefix"],
)
def test_bad_arguments(shared_sandbox: Conda, args: list[str]) -> None:
    result = shared_sandbox.run("integrity", "verify", *args, check=False)
    assert result.returncode == 2
    assert "usage:" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("spec", ["no-such-package", "libfoo >=3", "!!bad spec"])
def test_named_package_not_installed(shared_sandbox: Conda, shared_env: Path, spec: str) -> None:
    line = one_line_error(shared_sandbox.verify(shared_env, spec))
    assert spec in line


def test_only_the_named_packages(sandbox: Conda, env: Path) -> None:
    (env / "include" / "foo.h").unlink()
    edit_in_place(env / SITE_PACKAGES / "pyfoo" / "cli.py")
    report = verify(sandbox, env, "libfoo")
    assert summary(report) == {("missing-file", "include/foo.h")}
    assert report["checked"]["packages"] == 1
    report = verify(sandbox, env, "pyfoo", "libfoo >=1,<2")
    assert summary(report) == {
        ("missing-file", "include/foo.h"),
        ("altered-file", f"{SITE_PACKAGES}/pyfoo/cli.py"),
    }
    assert report["checked"]["packages"] == 2


def test_json_document(shared_sandbox: Conda, shared_env: Path) -> None:
    result = shared_sandbox.verify(shared_env, "--json")
    report = json.loads(result.stdout)  # the whole of stdout is one document
    assert set(report) == {"prefix", "ok", "mode", "checked", "counts", "findings", "elapsed_s"}
    assert report["prefix"] == str(shared_env)
    assert report["ok"] is True
    assert report["mode"] == "full"
    assert report["counts"] == {"error": 0, "warning": 0, "info": 0}
    assert report["checked"]["packages"] == len(STANDARD_SPECS)
    assert isinstance(report["elapsed_s"], float)
    assert result.stderr == ""
    fast = json.loads(shared_sandbox.verify(shared_env, "--json", "--fast").stdout)
    assert fast["mode"] == "fast"
    assert fast["checked"]["hashed_files"] == 0


def test_finding_shape(sandbox: Conda, env: Path) -> None:
    replace_file(env / "include" / "foo.h", b"edited\n")
    (finding,) = verify(sandbox, env)["findings"]
    assert set(finding) == {
        "code",
        "severity",
        "package",
        "path",
        "detail",
        "message",
        "expected",
        "actual",
        "fix",
    }
    assert finding["fix"] == f"conda integrity repair -p {env} libfoo"


def test_active_environment_is_the_default(shared_sandbox: Conda, shared_env: Path) -> None:
    result = shared_sandbox.run(
        "integrity", "verify", "--json", env={"CONDA_PREFIX": str(shared_env)}
    )
    assert json.loads(result.stdout)["prefix"] == str(shared_env)


def test_environment_by_name(sandbox: Conda) -> None:
    sandbox.run("create", "-n", "named", "--yes", "--quiet", "libfoo")
    result = sandbox.run("integrity", "verify", "-n", "named", "--json")
    assert json.loads(result.stdout)["prefix"] == str(sandbox.envs_dir / "named")


def test_version_and_help(shared_sandbox: Conda) -> None:
    result = shared_sandbox.run("integrity", "--version")
    assert result.stdout.strip() == f"conda-integrity {__version__}"
    result = shared_sandbox.run("integrity", "verify", "--help")
    for option in ("--fast", "--no-cache", "--untracked", "--json", "--prefix", "PACKAGE"):
        assert option in result.stdout
    assert "integrity" in shared_sandbox.run("--help").stdout
