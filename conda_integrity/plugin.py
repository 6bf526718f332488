"""conda's entry point into conda-integrity: hook implementations, wired to
functions that live elsewhere."""

from __future__ import annotations

from conda.plugins import hookimpl


@hookimpl
def conda_subcommands():
    from conda.plugins.types import CondaSubcommand

    from . import cli

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

    from . import guard

    yield CondaPreCommand(name=GUARD, action=guard.before_command, run_for=set(guard.GUARDED))


@hookimpl
def conda_post_commands():
    from conda.plugins.types import CondaPostCommand

    from . import guard

    yield CondaPostCommand(name=GUARD, action=guard.after_command, run_for=set(guard.GUARDED))


@hookimpl
def conda_post_solves():
    from conda.plugins.types import CondaPostSolve

    from . import guard

    yield CondaPostSolve(name=GUARD, action=guard.after_solve)


# The hooks below exist from conda 25.5 (transaction actions) and 26.5 (exception
# observers); older conda registers them without calling them.


@hookimpl
def conda_pre_transaction_actions():
    from conda.plugins.types import CondaPreTransactionAction

    from . import guard

    yield CondaPreTransactionAction(name=GUARD, action=guard.transaction_actions()[0])


@hookimpl
def conda_post_transaction_actions():
    from conda.plugins.types import CondaPostTransactionAction

    from . import guard

    yield CondaPostTransactionAction(name=GUARD, action=guard.transaction_actions()[1])


@hookimpl
def conda_exception_observers():
    from conda.plugins.types import CondaExceptionObserver

    from . import guard

    yield CondaExceptionObserver(
        name=GUARD, hook=guard.on_exception_event, watch_for={"BaseException"}
    )


@hookimpl
def conda_health_checks():
    from . import doctor

    yield doctor.health_check()
