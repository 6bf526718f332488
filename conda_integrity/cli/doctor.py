"""``conda doctor``'s ``integrity`` health check: the same verify, its report printed.

conda calls a health check as ``action(prefix, verbose)`` (24.7 and 26.x
alike); conda 26.1 added ``summary`` and an optional ``fixer``. There is no
fixer until conda-integrity has a repair command. ``conda doctor`` exits 0
whatever a health check finds; ``conda integrity verify`` has the exit codes.
"""

from __future__ import annotations

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


def health_check():
    """The ``CondaHealthCheck`` for the running conda's signature."""
    from ..compat import health_check as conda_health_check

    return conda_health_check(NAME, run_health_check, SUMMARY)
