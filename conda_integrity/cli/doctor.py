"""``conda doctor``'s ``integrity`` health check: the same verify, its report printed.

conda calls a health check as ``action(prefix, verbose)`` (24.7 and 26.x
alike); conda 26.1 added ``summary`` and an optional ``fixer``, which ``conda
doctor --fix`` calls with conda's own confirmation (it raises when the user says
no, and for ``--dry-run``): there, the fixer is ``conda integrity repair``.
``conda doctor`` exits 0 whatever a health check finds; ``conda integrity
verify`` has the exit codes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..repair.plan import Plan

NAME = "integrity"
#: the marks conda doctor prints (not importable from one place in every conda version)
OK_MARK, X_MARK = "\u2705", "\u274c"
SUMMARY = (
    "Verify files, records, dependencies, history and pip installs against conda's "
    "records (conda integrity verify)"
)


def run_health_check(prefix: str, verbose: bool) -> None:
    """Verify ``prefix`` and print the report, as ``conda doctor`` shows a check.

    An error of conda-integrity's own is one line: conda doctor goes on with its
    other checks.
    """
    from ..progress import escaping

    with escaping():
        _health_check(prefix, verbose)


def _health_check(prefix: str, verbose: bool) -> None:
    from ..exceptions import IntegrityInputError
    from ..guard import failsafe
    from ..progress import Progress
    from ..verify.read import VerifyOptions
    from ..verify.run import verify_prefix
    from .render import render_text

    try:
        report = verify_prefix(prefix, VerifyOptions(), Progress(enabled=False))
        text = render_text(report, verbose=verbose)
    except IntegrityInputError as error:
        print(f"{X_MARK} Integrity: {error}\n")
        return
    except Exception as error:
        print(f"{X_MARK} Integrity: {failsafe.could_not_check(prefix, error)}\n")
        failsafe.details(error)
        return
    mark = OK_MARK if not report.findings else X_MARK
    print(f"{mark} Integrity (conda integrity verify):\n")
    print(text + "\n")


FIX = "Repair what it found (conda integrity repair): relink from a verified package cache"


def run_fixer(prefix: str, args: Any, confirm: Callable[[str], None]) -> int:
    """``conda doctor --fix``: plan the repair, show it, ask with conda's ``confirm``
    (which stops a dry run before anything changes), carry it out; the exit code
    of ``conda integrity repair``."""
    from ..progress import escaping

    with escaping():
        return _fix(prefix, confirm)


def _fix(prefix: str, confirm: Callable[[str], None]) -> int:
    from conda.base.context import context

    from ..repair.run import repair
    from .repair import plan_lines, render_outcome

    def ask(plan: Plan) -> None:
        print("\n".join(plan_lines(prefix, plan)) + "\n", flush=True)
        confirm("Carry out this repair?")

    if context.dry_run:  # a plan written nowhere, then conda's dry-run exit
        outcome = repair(prefix, dry_run=True)
        ask(outcome.plan)
        return 0
    outcome = repair(prefix, confirm=ask)
    if outcome.plan.empty and not outcome.stopped:
        print("Nothing to repair.")
    print(render_outcome(outcome))
    return outcome.exit_code


def health_check() -> Any:
    """The ``CondaHealthCheck`` for the running conda's signature."""
    from ..compat import health_check as conda_health_check

    return conda_health_check(NAME, run_health_check, SUMMARY, fixer=run_fixer, fix=FIX)
