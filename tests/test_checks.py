"""The checks declare themselves: every rule module carries its ``CHECK``, and what
derives from them (order, codes, scopes) is whole and unambiguous."""

from __future__ import annotations

import importlib
import pkgutil

from conda_integrity import checks
from conda_integrity.checks.base import SCOPES, Check
from conda_integrity.checks.registry import CHECKS, CODES

#: modules of the checks package that serve the rules and are no rule themselves
HELPERS = {"base", "registry", "difference"}


def test_every_rule_module_declares_its_check() -> None:
    names = [module.name for module in pkgutil.iter_modules(checks.__path__)]
    for name in names:
        declared = getattr(importlib.import_module(f"conda_integrity.checks.{name}"), "CHECK", None)
        assert isinstance(declared, Check) == (name not in HELPERS), name
    assert len(CHECKS) == len(names) - len(HELPERS)


def test_codes_and_orders_are_unique() -> None:
    assert len(set(CODES)) == len(CODES)
    assert len({check.order for check in CHECKS}) == len(CHECKS)
    assert all(check.scope in SCOPES for check in CHECKS)


def test_every_check_of_a_prefix_runs_and_the_package_cache_one_is_run_apart() -> None:
    without_run = [check.code for check in CHECKS if check.run is None]
    assert without_run == ["cache-corrupt"]
