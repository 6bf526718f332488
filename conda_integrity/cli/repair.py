"""``conda integrity repair``: parse its options, repair, render the plan and outcome."""

from __future__ import annotations

import json
from argparse import ArgumentParser, Namespace
from typing import TYPE_CHECKING, Any

from ..compat import target_prefix

if TYPE_CHECKING:
    from ..repair.plan import NotRepaired, Plan
    from ..repair.run import Outcome

HELP = "Fix what verify found, through conda's own transaction and a verified package cache."
DESCRIPTION = (
    "Verify the environment, plan the repair of what is wrong (relink the exact "
    "builds whose files are missing, altered, of the wrong mode or clobbered, from "
    "a verified package cache; move debris aside), show the plan, ask, carry it "
    "out and verify again. Whatever is moved aside is kept in a backup folder. "
    "What a solver or you must decide (dependencies, constraints, specs, pip) is "
    "not changed: the plan names the command that would. Exit code 0 when nothing "
    "repairable is left, 1 when something is, 2 when the repair could not run."
)


def configure_parser(repair: ArgumentParser) -> None:
    """Add ``repair``'s options to its parser."""
    from conda.cli.helpers import add_output_and_prompt_options, add_parser_prefix

    repair.add_argument(
        "packages",
        nargs="*",
        metavar="PACKAGE",
        help="Repair only the findings about these installed packages (names).",
    )
    target = add_parser_prefix(repair)
    target.add_argument(
        "--all",
        dest="repair_all",
        action="store_true",
        help="Repair every environment conda knows (`conda env list`), one after the other.",
    )
    repair.add_argument(
        "--solve",
        dest="repair_solve",
        action="store_true",
        help=(
            "Also let conda's solver install what unmet dependencies, violated "
            "constraints and requested specs need (as `conda install SPEC` would; "
            "conda shows its plan and asks first)."
        ),
    )
    add_output_and_prompt_options(repair)


def plan_lines(prefix: str, plan: Plan, solve: bool = False) -> list[str]:
    """The plan in words: each package, what will be done and why, what is moved aside."""
    from ..verify.report import terminal_safe

    lines = [f"Repair plan for {terminal_safe(prefix)}:"]
    if plan.ownership is not None:
        lines.append(f"  note: {plan.ownership.line()}")
    specs = plan.solver_specs if solve else []
    if plan.empty and not specs:
        lines.append("  nothing to repair")
    lines += plan.snapshot.lines() if plan.snapshot else []
    for package in plan.packages:
        lines.append(f"  relink {package.package}")
        lines.append(f"    fixes: {'; '.join(package.fixes)}")
        lines.extend(f"    {terminal_safe(note)}" for note in package.notes)
        lines.append(f"    from: {terminal_safe(package.source.why)}")
        for cached, _ in package.source.move_aside:
            lines.append(f"    moves aside: {terminal_safe(cached)}")
        for damaged in package.paths:
            lines.append(f"    moves aside the damaged {terminal_safe(damaged)}")
        if package.source.shared_with:
            lines.append(
                "    the damaged file is shared by hard link with: "
                + ", ".join(map(terminal_safe, package.source.shared_with))
                + " (`conda integrity repair --all` repairs them too)"
            )
    for debris in plan.paths:
        lines.append(f"  move aside {terminal_safe(debris.path)} ({debris.code}: {debris.why})")
    if specs:
        lines.append(
            f"  solve: conda's solver installs what {', '.join(map(terminal_safe, specs))} "
            "need (it shows its own plan first)"
        )
    return lines


def _left_lines(items: list[NotRepaired]) -> list[str]:
    from ..verify.report import terminal_safe

    lines = []
    for item in items:
        finding = item.finding
        where = " ".join(terminal_safe(part) for part in (finding.package, finding.path) if part)
        lines.append(f"  {finding.severity:<8} {finding.code} {where}: {item.reason}".rstrip())
        if finding.fix:
            lines.append(f"    to fix: {terminal_safe(finding.fix)}")
    return lines


def render_outcome(outcome: Outcome) -> str:
    """What the repair did and what is left, in words."""
    from ..verify.report import terminal_safe
    from .render import render_text

    lines = []
    if outcome.stopped:
        lines.append(terminal_safe(outcome.stopped))
    if outcome.done:
        lines.append("Done:")
        lines.extend(
            f"  {item.action} {terminal_safe(item.target)}: {terminal_safe(item.what)}"
            for item in outcome.done
        )
    if outcome.backup:
        lines.append(f"What was moved aside is kept in {terminal_safe(outcome.backup)}")
    if outcome.not_repaired:
        lines.append("Not repaired:")
        lines.extend(_left_lines(outcome.not_repaired))
    if outcome.report is not None and not outcome.dry_run:
        lines.append("")
        lines.append(render_text(outcome.report))
    return "\n".join(lines)


def _repair_one(prefix: str, args: Namespace) -> tuple[int, dict[str, Any]]:
    from conda.base.context import context

    from ..compat import confirm
    from ..progress import Progress
    from ..repair.run import repair

    shown: list[Plan] = []

    def ask(plan: Plan) -> None:
        shown.append(plan)
        if not context.json:
            print("\n".join(plan_lines(prefix, plan, args.repair_solve)) + "\n", flush=True)
        if not context.always_yes:
            confirm("Proceed with the repair")

    def ask_solver(transaction: Any) -> None:
        if not context.json:
            transaction.print_transaction_summary()
        if not context.always_yes:
            confirm("Let conda's solver make these changes")

    progress = Progress(enabled=not (context.json or context.quiet))
    outcome = repair(
        prefix,
        tuple(args.packages),
        dry_run=bool(args.dry_run),
        confirm=ask,
        progress=progress,
        solve_specs=args.repair_solve,
        confirm_solve=ask_solver,
    )
    if not context.json:
        if not shown:
            print("\n".join(plan_lines(outcome.prefix, outcome.plan, args.repair_solve)) + "\n")
        if outcome.dry_run:
            print("Dry run: nothing was changed.")
            if outcome.not_repaired:
                print("Would not be repaired:")
                print("\n".join(_left_lines(outcome.not_repaired)))
        else:
            print(render_outcome(outcome))
    ownership = outcome.plan.ownership
    document = {**outcome.to_dict(), "ownership": ownership.to_dict() if ownership else None}
    return outcome.exit_code, document


def execute(args: Namespace) -> int:
    """Run the verb with conda's parsed arguments; the exit code."""
    from conda.base.context import context

    if args.repair_all and args.packages:
        args.integrity_parser.error("--all repairs everything: name no PACKAGE with it")
    if args.repair_all:
        from ..observe.known_envs import known_prefixes
        from ..records.reader import not_an_environment

        codes: list[int] = []
        documents: list[dict[str, Any]] = []
        for known in known_prefixes():
            if not_an_environment(known.path) is not None:
                continue
            if codes and not context.json:
                print()
            code, document = _repair_one(known.path, args)
            codes.append(code)
            documents.append(document)
        if context.json:
            print(json.dumps({"environments": documents}, indent=2))
        return max(codes, default=0)
    code, document = _repair_one(target_prefix(), args)
    if context.json:
        print(json.dumps(document, indent=2))
    return code
