"""``conda integrity rollback [N]``: make the prefix hold exactly snapshot N's packages."""

from __future__ import annotations

import contextlib
import json
import sys
from argparse import ArgumentParser, Namespace
from typing import Any

from ..compat import target_prefix

HELP = "Make the environment hold exactly the packages of a snapshot."
DESCRIPTION = (
    "Show what differs between now and snapshot N (packages to remove, to install, to "
    "replace), ask, then make the environment hold exactly snapshot N's packages, by "
    "their exact URLs and sha256, from the package cache or their channel, and verify "
    "it. Without N: the snapshot taken before the last guarded transaction. "
    "`conda integrity log` lists the snapshots. With --forward, an interrupted "
    "transaction is finished instead: its leftovers are moved aside and its command "
    "runs again."
)


def configure_parser(rollback: ArgumentParser) -> None:
    """Add ``rollback``'s options to its parser."""
    from conda.cli.helpers import add_output_and_prompt_options, add_parser_prefix

    rollback.add_argument(
        "snapshot",
        nargs="?",
        metavar="N",
        help="the snapshot to go back to (default: the one before the last guarded transaction)",
    )
    rollback.add_argument(
        "--forward",
        action="store_true",
        help="finish the interrupted transaction instead: move aside what it left and "
        "run its command again",
    )
    add_parser_prefix(rollback)
    add_output_and_prompt_options(rollback)


def _number(text: str | None) -> int | None:
    from ..exceptions import IntegrityInputError

    if text is None:
        return None
    if not text.isdigit() or int(text) < 1:
        raise IntegrityInputError(f"there is no snapshot {text}: snapshots are numbered from 1")
    return int(text)


def _confirm(message: str) -> None:
    """conda's own yes/no question (``-y`` answers it); conda's exit when the answer
    is no. (The same as the repair verb's, which the merge shares.)"""
    try:  # conda 25.x and later
        from conda.reporters import confirm_yn
    except ImportError:
        from conda.cli.common import confirm_yn
    confirm_yn(message, default="yes", dry_run=False)


def render_plan(plan: Any) -> str:
    """The difference, package by package, and what is moved or put back."""
    from ..repair.rollback import describe
    from ..verify.report import terminal_safe

    head = f"Rolling back {terminal_safe(plan.prefix)} to snapshot {plan.number}:"
    note = [f"  note: {plan.ownership.line()}"] if plan.ownership is not None else []
    return "\n".join([head, *note, *describe(plan)])


def execute(args: Namespace) -> int:
    """Run the verb with conda's parsed arguments; the exit code."""
    from conda.base.context import context

    from ..progress import Progress
    from ..repair.rollback import plan_rollback, rollback
    from ..verify.read import VerifyOptions
    from ..verify.run import verify_prefix
    from .render import render_text

    prefix = target_prefix()
    if args.forward:
        if args.snapshot is not None:
            args.integrity_parser.error("--forward finishes a transaction: name no snapshot")
        return _forward(prefix)
    plan = plan_rollback(prefix, _number(args.snapshot))
    if not context.json:
        print(render_plan(plan))
    if context.dry_run or plan.empty:
        if context.json:
            print(json.dumps({"plan": plan.to_dict(), "done": None}, indent=2))
        return 0
    if not context.json:
        _confirm("Proceed with the rollback")
    result = rollback(plan, "rollback")
    report = verify_prefix(plan.prefix, VerifyOptions(), Progress(enabled=False))
    if context.json:
        done = {"backup": result.backup, "restored": result.restored, "moved": result.moved}
        print(json.dumps({"plan": plan.to_dict(), "done": done, "report": report.to_dict()}))
    else:
        if result.backup:
            print(f"Moved aside into {result.backup} (its manifest.json says what and why).")
        print(render_text(report))
    return report.exit_code


def _forward(prefix: str) -> int:
    from conda.base.context import context

    from ..progress import Progress
    from ..repair.backup import new_backup
    from ..repair.interrupted import plan_forward, roll_forward
    from ..verify.read import VerifyOptions
    from ..verify.run import verify_prefix
    from .render import render_text

    interruption = plan_forward(prefix)
    lines = [f"Finishing `{interruption.command}` in {prefix}:"]
    back = interruption.back
    if back is not None and back.ownership is not None:
        lines.append(f"  note: {back.ownership.line()}")
    moved = sorted({*back.aside, *back.restore}) if back is not None else []
    lines += [f"  move aside {path}" for path in moved]
    lines.append(f"  {interruption.forward_words}")
    # with --json, stdout holds our one document: the plan, conda's own output of the
    # command run again and our notes go to stderr; conda's context is set anew for
    # that command (without --json), so ours is read now
    as_json = context.json
    words = sys.stderr if as_json else sys.stdout
    print("\n".join(lines), file=words)
    if context.dry_run:
        if as_json:
            print(
                json.dumps({"command": interruption.command, "move_aside": moved, "report": None})
            )
        return 0
    _confirm("Proceed")
    backup = new_backup(prefix)
    with contextlib.redirect_stdout(words):
        code = roll_forward(interruption, backup, yes=True)
    if backup.items:
        print(f"Moved aside into {backup.path} (its manifest.json says what and why).", file=words)
    report = verify_prefix(prefix, VerifyOptions(), Progress(enabled=False))
    if as_json:
        document = {"command": interruption.command, "move_aside": moved}
        print(json.dumps({**document, "report": report.to_dict()}))
    else:
        print(render_text(report))
    return report.exit_code if code == 0 else 1
