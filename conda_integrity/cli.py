"""``conda integrity``: parse the command line, run a command, render its result.

conda has already parsed the arguments and initialised its context (``-n/-p``,
``--json``, ``-v``, ``-q``) when an action runs.
"""

from __future__ import annotations

import json
from argparse import ArgumentParser, Namespace

SUMMARY = "Verify conda environments against conda's own records, file by file."


def configure_parser(parser: ArgumentParser) -> None:
    """Add the ``conda integrity`` subcommands to conda's parser."""
    from conda.cli.helpers import add_parser_json, add_parser_prefix

    from . import __version__

    parser.description = SUMMARY
    parser.add_argument(
        "-V", "--version", action="version", version=f"conda-integrity {__version__}"
    )
    commands = parser.add_subparsers(title="commands", dest="integrity_command", metavar="COMMAND")
    commands.required = True

    verify = commands.add_parser(
        "verify",
        help="Check every installed file against the records conda wrote.",
        description=(
            "Check the environment (or only the named packages) against its conda-meta "
            "records: missing, altered and clobbered files, permission changes, damaged "
            "records and leftovers of aborted conda runs. Exit code 0 when nothing is "
            "wrong, 1 when something is, 2 when the check could not run."
        ),
    )
    verify.add_argument(
        "packages",
        nargs="*",
        metavar="PACKAGE",
        help="Verify only these installed packages (names or match specs).",
    )
    depth = verify.add_argument_group("Depth").add_mutually_exclusive_group()
    depth.add_argument(
        "--fast",
        action="store_true",
        help="Compare kind, size and symlink targets only; hash nothing that changed.",
    )
    depth.add_argument(
        "--no-cache",
        action="store_true",
        help="Hash every file again instead of trusting hashes verified earlier.",
    )
    verify.add_argument(
        "--untracked",
        action="store_true",
        help="Also report files that no package owns.",
    )
    add_parser_prefix(verify)
    add_parser_json(verify)
    verify.set_defaults(integrity_action=run_verify)


def execute(args: Namespace) -> int:
    """Entry point conda calls with the parsed arguments."""
    return int(args.integrity_action(args))


def target_prefix() -> str:
    """The environment ``-n/-p`` name, or the active one; a one-line error if unknown."""
    from conda.base.context import context
    from conda.exceptions import CondaError

    from .exceptions import IntegrityInputError

    try:
        return str(context.target_prefix)
    except CondaError as error:  # -n with a name conda does not know
        raise IntegrityInputError(str(error).strip().splitlines()[0]) from None


def run_verify(args: Namespace) -> int:
    from conda.base.context import context

    from .progress import Progress
    from .render import render_text
    from .verify import VerifyOptions, verify_prefix

    options = VerifyOptions(
        packages=tuple(args.packages),
        fast=args.fast,
        use_cache=not args.no_cache,
        untracked=args.untracked,
    )
    progress = Progress(enabled=not (context.json or context.quiet))
    report = verify_prefix(target_prefix(), options, progress)
    if context.json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        print(render_text(report, verbose=context.verbose))
    return report.exit_code
