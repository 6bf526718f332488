"""``conda integrity``: the command conda runs, one module per verb.

Each verb module (:mod:`.verify`, :mod:`.snapshot`, :mod:`.log`, :mod:`.diff`)
has ``configure_parser`` and ``execute``; it parses and renders, and leaves the
work to the layers below. conda has already parsed the arguments and initialised
its context (``-n/-p``, ``--json``, ``-v``, ``-q``) when ``execute`` runs.
"""

from __future__ import annotations

from argparse import ArgumentParser, Namespace

from . import diff, log, snapshot, verify

SUMMARY = "Verify conda environments against conda's own records, file by file."
VERBS = {"verify": verify, "snapshot": snapshot, "log": log, "diff": diff}


def configure_parser(parser: ArgumentParser) -> None:
    """Add the ``conda integrity`` verbs to conda's parser."""
    from .. import __version__

    parser.description = SUMMARY
    parser.add_argument(
        "-V", "--version", action="version", version=f"conda-integrity {__version__}"
    )
    commands = parser.add_subparsers(title="commands", dest="integrity_command", metavar="COMMAND")
    commands.required = True
    for name, verb in VERBS.items():
        verb_parser = commands.add_parser(name, help=verb.HELP, description=verb.DESCRIPTION)
        verb.configure_parser(verb_parser)
        verb_parser.set_defaults(integrity_action=verb.execute, integrity_parser=verb_parser)


def execute(args: Namespace) -> int:
    """Entry point conda calls with the parsed arguments."""
    return int(args.integrity_action(args))
