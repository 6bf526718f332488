"""``conda integrity``: the command conda runs, one module per verb.

Each verb module (:mod:`.verify`, :mod:`.snapshot`, :mod:`.log`, :mod:`.diff`,
:mod:`.repair`, :mod:`.rollback`)
has ``configure_parser`` and ``execute``; it parses and renders, and leaves the
work to the layers below. conda has already parsed the arguments and initialised
its context (``-n/-p``, ``--json``, ``-v``, ``-q``) when ``execute`` runs.
"""

from __future__ import annotations

from argparse import ArgumentParser, Namespace

from . import diff, log, repair, rollback, snapshot, verify

SUMMARY = "Verify conda environments against conda's own records, file by file."
VERBS = {
    "verify": verify,
    "snapshot": snapshot,
    "log": log,
    "diff": diff,
    "repair": repair,
    "rollback": rollback,
}


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
    """Entry point conda calls with the parsed arguments.

    An error of conda-integrity's own (not bad input, which says what is wrong
    itself) ends the command with one line and exit code 2, never a traceback;
    ``-v`` shows the details. When the reader of the output goes away (``| head``),
    the command stops quietly, as other command-line tools do. A character the
    output's encoding cannot take is escaped, never the end of a report.
    """
    from conda.exceptions import CondaError

    from ..progress import escaping

    try:
        with escaping():
            return int(args.integrity_action(args))
    except CondaError:
        raise
    except BrokenPipeError:
        return _reader_gone()
    except Exception as error:
        from ..exceptions import IntegrityInputError
        from ..guard.failsafe import details, what_failed

        details(error)
        raise IntegrityInputError(
            f"conda integrity {args.integrity_command} could not finish: {what_failed(error)} "
            "(-v shows the details)"
        ) from None


#: the exit code of a command-line tool that SIGPIPE stopped (128 + 13)
READER_GONE = 141


def _reader_gone() -> int:
    import os
    import sys

    # what is still buffered, and what conda prints on its way out, go nowhere
    # instead of failing again on the closed pipe
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return READER_GONE


def standalone_parser() -> ArgumentParser:
    """The ``conda integrity`` parser on its own, outside conda (the generated command
    reference of the documentation reads it)."""
    parser = ArgumentParser(prog="conda integrity")
    configure_parser(parser)
    return parser
