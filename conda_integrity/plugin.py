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
