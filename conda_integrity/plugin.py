"""conda's entry point into conda-integrity: hook implementations, wired to
functions that live elsewhere."""

from __future__ import annotations

from conda.plugins import hookimpl


@hookimpl
def conda_subcommands():
    from conda.plugins.types import CondaSubcommand

    from .cli import main as cli

    yield CondaSubcommand(
        name="integrity",
        summary=cli.SUMMARY,
        action=cli.execute,
        configure_parser=cli.configure_parser,
    )


@hookimpl
def conda_settings():
    from .settings import conda_settings

    yield from conda_settings()


GUARD = "conda-integrity-guard"


@hookimpl
def conda_pre_commands():
    from conda.plugins.types import CondaPreCommand

    from .compat import GUARDED_COMMANDS
    from .guard import hooks

    yield CondaPreCommand(name=GUARD, action=hooks.before_command, run_for=set(GUARDED_COMMANDS))


@hookimpl
def conda_post_commands():
    from conda.plugins.types import CondaPostCommand

    from .compat import GUARDED_COMMANDS
    from .guard import hooks

    yield CondaPostCommand(name=GUARD, action=hooks.after_command, run_for=set(GUARDED_COMMANDS))


@hookimpl
def conda_post_solves():
    from conda.plugins.types import CondaPostSolve

    from .guard import hooks

    yield CondaPostSolve(name=GUARD, action=hooks.after_solve)


# The hooks below exist from conda 25.5 (transaction actions) and 26.5 (exception
# observers); older conda registers them without calling them.


@hookimpl
def conda_pre_transaction_actions():
    from conda.plugins.types import CondaPreTransactionAction

    from .guard import hooks

    yield CondaPreTransactionAction(name=GUARD, action=hooks.transaction_actions()[0])


@hookimpl
def conda_post_transaction_actions():
    from conda.plugins.types import CondaPostTransactionAction

    from .guard import hooks

    yield CondaPostTransactionAction(name=GUARD, action=hooks.transaction_actions()[1])


@hookimpl
def conda_exception_observers():
    from conda.plugins.types import CondaExceptionObserver

    from .guard import hooks

    yield CondaExceptionObserver(
        name=GUARD, hook=hooks.on_exception_event, watch_for={"BaseException"}
    )


@hookimpl
def conda_health_checks():
    from .cli import doctor

    yield doctor.health_check()
