"""The README's promises that a test can hold it to."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.support.conda_cli import Conda
from tests.support.layout import ROOT, repository_only

README = (ROOT / "README.md").read_text()


def setup_commands() -> list[str]:
    return [line for line in README.splitlines() if line.startswith("python3.11 -m venv")]


@repository_only
def test_two_setup_commands_and_ci_runs_the_test_one() -> None:
    demo, tests = setup_commands()
    assert demo.endswith("-m tests.demo")
    assert tests.endswith("-m pytest -n auto")
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert tests in ci


def test_every_check_is_documented_with_its_severity() -> None:
    from conda_integrity.checks.registry import CHECKS

    documented = set(re.findall(r"^\| `([a-z-]+)` \| (error|warning|info) \|", README, re.M))
    assert {(check.code, check.severity) for check in CHECKS} == documented


#: the README's ways to run conda without the plugin: (what it says, flags, env, condarc)
SWITCH_OFF = [
    ("conda --no-plugins COMMAND", ("--no-plugins",), {}, ""),
    ("export CONDA_NO_PLUGINS=true", (), {"CONDA_NO_PLUGINS": "true"}, ""),
    ("`no_plugins: true` in `.condarc`", (), {}, "no_plugins: true\n"),
]


@pytest.mark.parametrize(
    "said, flags, env, condarc", SWITCH_OFF, ids=["flag", "environment", "condarc"]
)
def test_each_way_the_readme_gives_switches_the_plugin_off(
    said: str, flags: tuple, env: dict, condarc: str, channel: Path, tmp_path: Path
) -> None:
    assert said in README
    conda = Conda(tmp_path, channel, condarc)
    off = conda.run(*flags, "integrity", "--help", env=env, check=False)
    assert off.returncode == 2, str(off)
    assert "invalid choice: 'integrity'" in off.stderr
    assert Conda(tmp_path / "on", channel).run("integrity", "--help").returncode == 0
