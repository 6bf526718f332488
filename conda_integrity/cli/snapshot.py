"""``conda integrity snapshot``: record the environment's state now."""

from __future__ import annotations

import json
from argparse import ArgumentParser, Namespace

from ..compat import target_prefix

HELP = "Record the environment's state now (records and a stat index of its files)."
DESCRIPTION = (
    "Record the environment's state now: its exact records and the kind, mode, size "
    "and mtime of every file they own. `conda integrity diff` compares snapshots."
)


def configure_parser(snapshot: ArgumentParser) -> None:
    """Add ``snapshot``'s options to its parser."""
    from conda.cli.helpers import add_parser_json, add_parser_prefix

    snapshot.add_argument("--label", metavar="TEXT", help="A note to find it again by.")
    add_parser_prefix(snapshot)
    add_parser_json(snapshot)


def execute(args: Namespace) -> int:
    """Run the verb with conda's parsed arguments; the exit code."""
    from conda.base.context import context

    from ..store.snapshots import MANUAL
    from ..verify.snapshot import take
    from .render import render_snapshot

    snapshot = take(target_prefix(), MANUAL, args.label, "conda integrity snapshot")
    if context.json:
        print(json.dumps(snapshot.summary(), indent=2))
    else:
        print(render_snapshot(snapshot))
    return 0
