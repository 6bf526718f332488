"""``conda integrity log``: the snapshots and guarded transactions, newest first."""

from __future__ import annotations

import json
from argparse import ArgumentParser, Namespace

from ..compat import target_prefix

HELP = "List the snapshots and guarded transactions of the environment, newest first."
DESCRIPTION = HELP


def configure_parser(log: ArgumentParser) -> None:
    """Add ``log``'s options to its parser."""
    from conda.cli.helpers import add_parser_json, add_parser_prefix

    add_parser_prefix(log)
    add_parser_json(log)


def execute(args: Namespace) -> int:
    """Run the verb with conda's parsed arguments; the exit code."""
    from conda.base.context import context

    from ..verify.log import events
    from .render import render_log

    prefix = target_prefix()
    skipped: list[str] = []
    found = events(prefix, skipped)
    if context.json:
        document = {
            "prefix": prefix,
            "events": [{"type": e.kind, **e.details} for e in found],
            "skipped": skipped,
        }
        print(json.dumps(document, indent=2))
    else:
        print(render_log(prefix, found, skipped))
    return 0
