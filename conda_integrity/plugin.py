"""conda's entry point into conda-integrity: hook implementations, wired to
functions that live elsewhere.

Each hook declares its objects through :func:`_declared`: should making them
fail (a broken install, say), conda goes on without them, told in one line.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from conda.plugins import hookimpl

GUARD = "conda-integrity-guard"


def _declared(what: str, make: Callable[[], list[Any]]) -> list[Any]:
    """The objects ``make`` declares for one hook; none when it fails."""
    try:
        return make()
    except Exception as error:
        from .guard import failsafe

        line = f"conda-integrity could not load its {what}: {failsafe.what_failed(error)}"
        failsafe.say_once(line + "; conda goes on without them", error)
        return []


def _subcommands() -> list[Any]:
    from conda.plugins.types import CondaSubcommand

    from .cli import main as cli

    return [
        CondaSubcommand(
            name="integrity",
            summary=cli.SUMMARY,
            action=cli.execute,
            configure_parser=cli.configure_parser,
        )
    ]


@hookimpl
def conda_subcommands():
    return _declared("commands", _subcommands)


def _settings() -> list[Any]:
    from .settings import conda_settings

    return conda_settings()


@hookimpl
def conda_settings():
    return _declared("settings", _settings)


def _pre_commands() -> list[Any]:
    from conda.plugins.types import CondaPreCommand

    from .compat import GUARDED_COMMANDS
    from .guard import hooks

    return [CondaPreCommand(name=GUARD, action=hooks.before_command, run_for=set(GUARDED_COMMANDS))]


@hookimpl
def conda_pre_commands():
    return _declared("guard", _pre_commands)


def _post_commands() -> list[Any]:
    from conda.plugins.types import CondaPostCommand

    from .compat import GUARDED_COMMANDS
    from .guard import hooks

    return [CondaPostCommand(name=GUARD, action=hooks.after_command, run_for=set(GUARDED_COMMANDS))]


@hookimpl
def conda_post_commands():
    return _declared("guard", _post_commands)


def _pre_solves() -> list[Any]:
    from conda.plugins.types import CondaPreSolve

    from .guard import hooks

    return [CondaPreSolve(name=GUARD, action=hooks.before_solve)]


@hookimpl
def conda_pre_solves():
    return _declared("guard", _pre_solves)


def _post_solves() -> list[Any]:
    from conda.plugins.types import CondaPostSolve

    from .guard import hooks

    return [CondaPostSolve(name=GUARD, action=hooks.after_solve)]


@hookimpl
def conda_post_solves():
    return _declared("guard", _post_solves)


# The hooks below exist from conda 25.5 (transaction actions) and 26.5 (exception
# observers); older conda registers them without calling them.


def _pre_transaction_actions() -> list[Any]:
    from conda.plugins.types import CondaPreTransactionAction

    from .guard import hooks

    return [CondaPreTransactionAction(name=GUARD, action=hooks.transaction_actions()[0])]


@hookimpl
def conda_pre_transaction_actions():
    return _declared("guard", _pre_transaction_actions)


def _post_transaction_actions() -> list[Any]:
    from conda.plugins.types import CondaPostTransactionAction

    from .guard import hooks

    return [CondaPostTransactionAction(name=GUARD, action=hooks.transaction_actions()[1])]


@hookimpl
def conda_post_transaction_actions():
    return _declared("guard", _post_transaction_actions)


def _exception_observers() -> list[Any]:
    from conda.plugins.types import CondaExceptionObserver

    from .guard import hooks

    return [
        CondaExceptionObserver(
            name=GUARD, hook=hooks.on_exception_event, watch_for={"BaseException"}
        )
    ]


@hookimpl
def conda_exception_observers():
    return _declared("guard", _exception_observers)


def _health_checks() -> list[Any]:
    from .cli import doctor

    return [doctor.health_check()]


@hookimpl
def conda_health_checks():
    return _declared("health check", _health_checks)
