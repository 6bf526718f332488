"""What the guard says, in conda's style: on stderr, or in a refusal."""

from __future__ import annotations

import sys

from ..compat import GUARDED_COMMANDS
from ..findings import Finding
from ..progress import escaping
from ..store import entry_writer
from ..store.changes import FileChange
from ..store.journal import OpenTransaction
from ..verify.report import finding_head, printable, terminal_safe
from .session import Session


def say(text: str) -> None:
    """Print ``text`` on stderr at once (conda's own output goes on around it)."""
    with escaping():
        sys.stderr.write(printable(text) + "\n")
        sys.stderr.flush()


def verify_hint(prefix: str) -> str:
    return f"Run `conda integrity verify -p {prefix}` for details."


def problem_lines(findings: list[Finding], limit: int = 10) -> list[str]:
    """The guard's short list of findings: a line each, with the package."""
    lines = []
    for finding in findings[:limit]:
        owner = f" ({finding.package})" if finding.package and finding.path else ""
        lines.append(f"{finding_head(finding)}{terminal_safe(finding.message)}{owner}")
    if len(findings) > limit:
        lines.append(f"  ... and {len(findings) - limit} more")
    return lines


def _at_work(others: list[OpenTransaction]) -> list[str]:
    return [
        f"  another conda process (pid {other.entry.pid}, "
        f"{entry_writer.running_command(other.entry)}) is changing this environment right now"
        for other in others
    ]


def problems_before(
    prefix: str, problems: list[Finding], others: list[OpenTransaction]
) -> str | None:
    """What is wrong with ``prefix`` before the command (None: nothing)."""
    lines = _at_work(others)
    lines += problem_lines(problems)
    if not lines:
        return None
    head = f"conda-integrity: {len(problems) + len(others)} problem(s) in {prefix}:"
    return "\n".join([head, *lines])


def _past_the_guard(fix: str) -> str:
    """``fix`` with the guard set to warn for each step that runs a command it guards
    (``conda integrity repair`` and the tools other than conda it lets through)."""
    steps = []
    for step in fix.split(" && "):
        words = step.split(maxsplit=2)
        if len(words) > 1 and words[0] == "conda" and words[1] in GUARDED_COMMANDS:
            step = f"CONDA_PLUGINS_INTEGRITY_MODE=warn {step}"
        steps.append(step)
    return " && ".join(steps)


def refusal(session: Session) -> str:
    """Why refuse mode stops the command, and the commands that would repair it."""
    fixes: list[str] = []
    for finding in session.problems:
        if finding.fix and finding.fix not in fixes:
            fixes.append(finding.fix)
    lines = [session.refusal or "", verify_hint(session.prefix)]
    if fixes:
        lines.append("To repair (with the guard set to warn for each conda command it guards):")
        lines += [f"  {_past_the_guard(fix)}" for fix in fixes[:5]]
    lines.append("(plugins.integrity_mode is refuse: conda-integrity stopped this command)")
    return "\n".join(lines)


def changed_since(prefix: str, snapshot: int, files: list[FileChange]) -> str:
    """Files of conda packages changed since conda's last transaction."""
    lines = [f"  {change.change:<15} {change.path}" for change in files[:5]]
    if len(files) > 5:
        lines.append(f"  ... and {len(files) - 5} more files")
    return "\n".join(
        [
            f"conda-integrity: files of conda packages in {prefix} changed "
            f"since conda's last transaction (snapshot {snapshot}):",
            *lines,
        ]
    )


def rolled_back(
    prefix: str, findings: list[Finding], others: list[OpenTransaction] | None = None
) -> str:
    """The refusal after a transaction that conda can still roll back (``others``: as
    :func:`left_behind`)."""
    head = f"conda-integrity: this transaction left {len(findings)} problem(s) in {prefix}"
    if others:
        head += " (or another conda did: it was at work at the same time)"
    return "\n".join(
        [f"{head}; conda rolls it back:", *_at_work(others or []), *problem_lines(findings)]
    )


def left_behind(
    prefix: str, findings: list[Finding], others: list[OpenTransaction] | None = None
) -> str:
    """What a finished transaction left wrong; with ``others`` (condas at work on the
    prefix as it was checked), that some of it may be their work half done."""
    head = f"conda-integrity: this transaction left {len(findings)} problem(s) in {prefix}"
    if others:
        head += " (or another conda did: it was at work at the same time)"
        lines = [f"{head}:", *_at_work(others), *problem_lines(findings)]
    else:
        lines = [f"{head}:", *problem_lines(findings)]
    return "\n".join([*lines, verify_hint(prefix)])


#: added to :func:`left_behind` when refuse mode fails a command it cannot roll back
NO_ROLLBACK = "\n(conda before 25.5 cannot roll a finished transaction back)"
