"""The README's promises that a test can hold it to."""

from __future__ import annotations

import re
from pathlib import Path

from conda_integrity import findings

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def setup_commands() -> list[str]:
    return [line for line in README.splitlines() if line.startswith("python3.11 -m venv")]


def test_two_setup_commands_and_ci_runs_the_test_one() -> None:
    demo, tests = setup_commands()
    assert demo.endswith("-m tests.demo")
    assert tests.endswith("-m pytest -n auto")
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert tests in ci


def test_every_finding_code_is_documented() -> None:
    documented = set(re.findall(r"^\| `([a-z-]+)` \| (?:error|warning|info) \|", README, re.M))
    assert set(findings.CODES) == documented
