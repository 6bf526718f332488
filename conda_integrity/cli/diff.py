"""``conda integrity diff``: what changed between two snapshots, or since one."""

from __future__ import annotations

import json
from argparse import ArgumentParser, Namespace

from ..compat import target_prefix

HELP = "Show what changed between two snapshots, or since one."
DESCRIPTION = (
    "With no snapshot, what changed since the newest one; with one, what changed "
    "since that one; with two, what changed from the first to the second. "
    "`conda integrity log` lists the snapshots."
)


def configure_parser(diff: ArgumentParser) -> None:
    """Add ``diff``'s options to its parser."""
    from conda.cli.helpers import add_parser_json, add_parser_prefix

    diff.add_argument("snapshots", nargs="*", type=int, metavar="SNAPSHOT")
    add_parser_prefix(diff)
    add_parser_json(diff)


def execute(args: Namespace) -> int:
    """Run the verb with conda's parsed arguments; the exit code."""
    from conda.base.context import context

    from ..exceptions import IntegrityInputError
    from ..verify.snapshot import diff
    from .render import render_diff

    if len(args.snapshots) > 2:
        raise IntegrityInputError("diff compares at most two snapshots")
    first, second = [*args.snapshots, None, None][:2]
    old, new, changes = diff(target_prefix(), first, second)
    if context.json:
        print(json.dumps({"from": old, "to": new, **changes.to_dict()}, indent=2))
    else:
        print(render_diff(old, new, changes))
    return 0
