"""What differs between the conda versions conda-integrity runs on, and how conda
names its commands and their target: the hooks a version offers, the command
names its plugins see, the options that name an environment.

Every such fact lives here, so that the rest of the package asks one place.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from .exceptions import IntegrityInputError

#: conda's command names for install, update, remove and create, in every version
#: (``env create`` is "create" from conda 26.7, ``env remove`` "remove" from 24.9)
GUARDED_COMMANDS = frozenset(
    {"install", "create", "update", "remove", "env_create", "env_update", "env_remove"}
)
#: the commands that make a new environment
CREATE_COMMANDS = frozenset({"create", "env_create"})
#: the commands whose target an environment file may name instead of -n/-p
FROM_FILE_COMMANDS = frozenset({"env_create", "env_update"})
#: conda's options that name the target environment
TARGET_OPTIONS = ("-n", "--name", "-p", "--prefix")


def names_target(argv: Iterable[str]) -> bool:
    """Whether a command line names its environment with -n/-p, in any of the forms
    argparse accepts: ``-p DIR``, ``-pDIR``, ``--prefix DIR``, ``--prefix=DIR``."""
    for arg in argv:
        for option in TARGET_OPTIONS:
            if arg == option or arg.startswith(option + "=" if option[1] == "-" else option):
                return True
    return False


def target_prefix() -> str:
    """The environment ``-n/-p`` names, or the active one.

    Raises IntegrityInputError (one line) for a name conda does not know.
    """
    from conda.base.context import context
    from conda.exceptions import CondaError

    try:
        return str(context.target_prefix)
    except CondaError as error:  # -n with a name conda does not know
        raise IntegrityInputError(str(error).strip().splitlines()[0]) from None


def has_transaction_actions() -> bool:
    """Whether this conda has transaction-action hooks (25.5 and later)."""
    from conda.plugins import hookspec

    return hasattr(hookspec.CondaSpecs, "conda_pre_transaction_actions")


def virtual_package_records() -> list[Any]:
    """The machine's virtual packages as conda ``PackageRecord``s."""
    from conda.base.context import context

    manager = context.plugin_manager
    if hasattr(manager, "get_virtual_package_records"):  # conda 24.9 and later
        return list(manager.get_virtual_package_records())
    # conda 24.7: plain (name, version, build) tuples, made into records here
    from conda.core.index import _make_virtual_package

    return [
        _make_virtual_package(f"__{package.name}", package.version, package.build)
        for package in manager.get_virtual_packages()
    ]


def health_check(
    name: str,
    action: Callable[[str, bool], None],
    summary: str,
    fixer: Callable[[str, Any, Callable[[str], None]], int] | None = None,
    fix: str | None = None,
) -> Any:
    """A ``CondaHealthCheck`` as the running conda takes it (``summary``, ``fixer``
    and ``fix`` since 26.1; conda calls ``action(prefix, verbose)`` in every version,
    and ``fixer(prefix, args, confirm)`` for ``conda doctor --fix``)."""
    import inspect

    from conda.plugins.types import CondaHealthCheck

    fields = inspect.signature(CondaHealthCheck).parameters
    extra: dict[str, Any] = {"summary": summary} if "summary" in fields else {}
    if fixer is not None and "fixer" in fields:
        extra["fixer"] = fixer
        if "fix" in fields:
            extra["fix"] = fix
    return CondaHealthCheck(name=name, action=action, **extra)


def confirm(message: str) -> None:
    """conda's own yes/no question (``-y`` answers it); raises conda's exit
    exception when the user says no."""
    try:  # conda 25.x and later
        from conda.reporters import confirm_yn
    except ImportError:
        from conda.cli.common import confirm_yn
    confirm_yn(message, default="yes", dry_run=False)
