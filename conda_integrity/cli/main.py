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

    from .. import __version__

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
            "records, leftovers of aborted conda runs, unmet dependencies and constraints, "
            "a history out of step with the records, and pip installs over conda packages. "
            "Exit code 0 when nothing is wrong, 1 when something is, 2 when the check "
            "could not run."
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
    verify.add_argument(
        "--file",
        metavar="FILE",
        dest="environment_file",
        help=(
            "Also check that the environment still meets this file: an environment.yml "
            "(conda and pip sections), a `conda list --explicit` file or a spec list."
        ),
    )
    # --all and --pkgs-dirs replace the target: they join -n/-p's exclusive group.
    # Their dests are not conda setting names: conda reads the namespace as settings
    # (a dest "pkgs_dirs" would replace context.pkgs_dirs).
    target = add_parser_prefix(verify)
    target.add_argument(
        "--all",
        dest="verify_all",
        action="store_true",
        help="Verify every environment conda knows (`conda env list`), one report each.",
    )
    target.add_argument(
        "--pkgs-dirs",
        dest="verify_pkgs_dirs",
        action="store_true",
        help=(
            "Verify the package caches (pkgs_dirs): each extracted package against its "
            "info/paths.json, each archive against info/repodata_record.json."
        ),
    )
    add_parser_json(verify)
    verify.set_defaults(integrity_action=run_verify, integrity_parser=verify)

    snapshot = commands.add_parser(
        "snapshot",
        help="Record the environment's state now (records and a stat index of its files).",
        description=(
            "Record the environment's state now: its exact records and the kind, mode, size "
            "and mtime of every file they own. `conda integrity diff` compares snapshots."
        ),
    )
    snapshot.add_argument("--label", metavar="TEXT", help="A note to find it again by.")
    add_parser_prefix(snapshot)
    add_parser_json(snapshot)
    snapshot.set_defaults(integrity_action=run_snapshot)

    log_parser = commands.add_parser(
        "log",
        help="List the snapshots and guarded transactions of the environment, newest first.",
    )
    add_parser_prefix(log_parser)
    add_parser_json(log_parser)
    log_parser.set_defaults(integrity_action=run_log)

    diff = commands.add_parser(
        "diff",
        help="Show what changed between two snapshots, or since one.",
        description=(
            "With no snapshot, what changed since the newest one; with one, what changed "
            "since that one; with two, what changed from the first to the second. "
            "`conda integrity log` lists the snapshots."
        ),
    )
    diff.add_argument("snapshots", nargs="*", type=int, metavar="SNAPSHOT")
    add_parser_prefix(diff)
    add_parser_json(diff)
    diff.set_defaults(integrity_action=run_diff)


def execute(args: Namespace) -> int:
    """Entry point conda calls with the parsed arguments."""
    return int(args.integrity_action(args))


def target_prefix() -> str:
    """The environment ``-n/-p`` name, or the active one; a one-line error if unknown."""
    from conda.base.context import context
    from conda.exceptions import CondaError

    from ..exceptions import IntegrityInputError

    try:
        return str(context.target_prefix)
    except CondaError as error:  # -n with a name conda does not know
        raise IntegrityInputError(str(error).strip().splitlines()[0]) from None


def run_verify(args: Namespace) -> int:
    from conda.base.context import context

    from ..progress import Progress
    from ..verify.read import VerifyOptions
    from ..verify.run import verify_prefix
    from .render import render_all, render_text

    everything = "--all" if args.verify_all else "--pkgs-dirs" if args.verify_pkgs_dirs else None
    if everything and args.packages:
        args.integrity_parser.error(f"{everything} verifies everything: name no PACKAGE with it")
    if everything and args.environment_file:
        args.integrity_parser.error(f"--file describes one environment: not with {everything}")
    if args.verify_pkgs_dirs and args.untracked:
        args.integrity_parser.error("--untracked is for environments, not with --pkgs-dirs")
    options = VerifyOptions(
        packages=tuple(args.packages),
        fast=args.fast,
        use_cache=not args.no_cache,
        untracked=args.untracked,
        environment_file=args.environment_file,
    )
    progress = Progress(enabled=not (context.json or context.quiet))
    if args.verify_all:
        from ..verify.all_envs import verify_all

        every = verify_all(options, progress)
        if context.json:
            print(json.dumps(every.to_dict(), indent=2))
        else:
            print(render_all(every, verbose=context.verbose))
        return every.exit_code
    if args.verify_pkgs_dirs:
        from ..pkgs_dirs.run import verify_pkgs_dirs

        report = verify_pkgs_dirs(options, progress)
    else:
        report = verify_prefix(target_prefix(), options, progress)
    if context.json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        print(render_text(report, verbose=context.verbose))
    return report.exit_code


def run_snapshot(args: Namespace) -> int:
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


def run_log(args: Namespace) -> int:
    from conda.base.context import context

    from ..verify.log import events
    from .render import render_log

    prefix = target_prefix()
    found = events(prefix)
    if context.json:
        document = {"prefix": prefix, "events": [{"type": e.kind, **e.details} for e in found]}
        print(json.dumps(document, indent=2))
    else:
        print(render_log(prefix, found))
    return 0


def run_diff(args: Namespace) -> int:
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
