"""``conda integrity verify``: parse its options, verify, render the report."""

from __future__ import annotations

import json
import sys
from argparse import ArgumentParser, Namespace
from typing import TYPE_CHECKING

from ..compat import target_prefix

if TYPE_CHECKING:
    from ..verify.report import Report

HELP = "Check every installed file against the records conda wrote."
DESCRIPTION = (
    "Check the environment (or only the named packages) against its conda-meta "
    "records: missing, altered and clobbered files, permission changes, damaged "
    "records, leftovers of aborted conda runs, unmet dependencies and constraints, "
    "a history out of step with the records, and pip installs over conda packages. "
    "Exit code 0 when nothing is wrong, 1 when something is, 2 when the check "
    "could not run."
)


def configure_parser(verify: ArgumentParser) -> None:
    """Add ``verify``'s options to its parser."""
    from conda.cli.helpers import add_parser_json, add_parser_prefix

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


def execute(args: Namespace) -> int:
    """Run the verb with conda's parsed arguments; the exit code."""
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
        _say_not_kept(every.reports)
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
    _say_not_kept([report])
    return report.exit_code


def _say_not_kept(reports: list[Report]) -> None:
    """One line on stderr for each environment whose run could not keep what it
    learned (a read-only environment and cache folder): the report stands."""
    from .render import not_kept

    for report in reports:
        if report.not_kept:
            print(not_kept(report), file=sys.stderr)
