"""The one rule for whether a conda command line names its environment: the guard
uses it to find a command's target, and the interrupted-transaction fix to decide
whether the command it repeats needs ``-p PREFIX``."""

from __future__ import annotations

import pytest

from conda_integrity.compat import names_target


@pytest.mark.parametrize(
    "argv",
    [
        ["install", "-p", "/env", "foo"],
        ["install", "-p/env", "foo"],
        ["install", "--prefix", "/env"],
        ["install", "--prefix=/env"],
        ["update", "-n", "base", "--all"],
        ["update", "-nbase"],
        ["env", "update", "--name=work", "-f", "environment.yml"],
    ],
)
def test_a_command_line_that_names_its_environment(argv: list[str]) -> None:
    assert names_target(argv)


@pytest.mark.parametrize(
    "argv",
    [
        ["install", "foo"],
        ["env", "update", "-f", "environment.yml"],
        ["install", "--no-deps", "--no-pin", "foo"],
        ["install", "--names-only", "foo"],
        ["install", "--prefixes", "foo"],
    ],
)
def test_a_command_line_that_does_not(argv: list[str]) -> None:
    assert not names_target(argv)
