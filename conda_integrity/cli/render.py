"""The report for people: findings grouped by package, in words, with the fix."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING

from ..checks import corrupt_record
from ..findings import Finding
from ..verify.report import EnvironmentsReport, Report, finding_head, terminal_safe

if TYPE_CHECKING:
    from ..store.changes import Changes
    from ..store.snapshots import Snapshot
    from ..verify.log import Event

_NO_PACKAGE = "(environment)"
#: the keys ``-v`` shows under a finding
VERBOSE_KEYS = (
    "packages",
    "owner",
    "expected",
    "actual",
    "spec",
    "installed",
    "violator",
    "history",
    "records",
    "distribution",
    "installer",
    "paths",
)
_NO_CACHED_PACKAGE = "(package cache)"


def human_bytes(count: int) -> str:
    size = float(count)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError  # pragma: no cover


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _counts_line(counts: dict[str, int]) -> str:
    return (
        f"{_plural(counts['error'], 'error')}, {_plural(counts['warning'], 'warning')}, "
        f"{counts['info']} info"
    )


def _headline(report: Report) -> str:
    what = (
        f"{_plural(report.packages, 'package')}, {_plural(report.files, 'file')}, "
        f"{human_bytes(report.bytes)} of content"
    )
    if report.mode == "fast":
        what = (
            f"{_plural(report.packages, 'package')}, {_plural(report.files, 'file')} "
            "(fast: no hashing)"
        )
    where = (
        terminal_safe(report.prefix)
        if report.pkgs_dirs is None
        else "package cache " + ", ".join(terminal_safe(folder) for folder in report.pkgs_dirs)
    )
    return f"Verified {where}: {what} in {report.elapsed_s:.2f} s"


def _finding_line(finding: Finding, verbose: bool) -> list[str]:
    lines = [finding_head(finding) + terminal_safe(finding.message)]
    if verbose:
        for key in VERBOSE_KEYS:
            if key in finding.extra:
                value = json.dumps(finding.extra[key], ensure_ascii=False)
                lines.append(f"{'':33}{key}: {terminal_safe(value)}")
    return lines


def not_kept(report: Report) -> str:
    """The line for a run that could not keep what it learned (``report.not_kept``)."""
    return (
        f"conda-integrity: could not keep what verify learned about "
        f"{terminal_safe(report.prefix)} ({terminal_safe(report.not_kept or '')}); "
        "the next verify checks its files again"
    )


def render_text(report: Report, verbose: bool = False) -> str:
    """The human report of one prefix (or of the package caches)."""
    lines = [_headline(report)]
    lines.extend(f"Skipped {terminal_safe(s.path)}: {s.reason}" for s in report.skipped)
    if not report.findings:
        lines.append("No problems found.")
        return "\n".join(lines)

    no_package = _NO_PACKAGE if report.pkgs_dirs is None else _NO_CACHED_PACKAGE
    groups: dict[str, list[Finding]] = {}
    for finding in report.findings:
        groups.setdefault(finding.package or no_package, []).append(finding)
    for group in sorted(groups, key=lambda name: (name == no_package, name)):
        lines.append("")
        lines.append(terminal_safe(group))
        fixes: list[str] = []
        for finding in groups[group]:
            lines.extend(_finding_line(finding, verbose))
            fix = finding.fix
            if fix and fix not in fixes:
                fixes.append(fix)
        lines.extend(f"  to fix: {terminal_safe(fix)}" for fix in fixes)

    if any(finding.code == corrupt_record.CHECK.code for finding in report.findings):
        lines.append("")
        lines.append(
            "conda refuses to change an environment with a corrupt record: fix those first."
        )
    lines.append("")
    lines.append(_counts_line(report.counts) + ".")
    return "\n".join(lines)


STATE_WORDS = {"closed": "failed, changed nothing"}


def _when(timestamp: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(timestamp))


def render_snapshot(snapshot: Snapshot) -> str:
    label = f" ({terminal_safe(snapshot.label)})" if snapshot.label else ""
    return (
        f"Snapshot {snapshot.number}{label}: {_plural(len(snapshot.records), 'package')}, "
        f"{_plural(snapshot.file_count, 'file')}."
    )


def render_log(prefix: str, events: list[Event], skipped: list[str] | None = None) -> str:
    unread = [f"  skipped {terminal_safe(what)}" for what in skipped or ()]
    if not events:
        return "\n".join(
            [f"No snapshot or guarded transaction of {terminal_safe(prefix)} yet.", *unread]
        )
    lines = [f"Snapshots and guarded transactions of {terminal_safe(prefix)}, newest first:"]
    for event in events:
        details = event.details
        if event.kind == "snapshot":
            what = f"snapshot {details['number']:<4} {details['kind']}"
            note = details.get("label") or details.get("command") or ""
        else:
            command = " ".join(details.get("argv", [])[1:]) or details.get("command", "")
            what = f"{'transaction':<13} {details['state']}"
            note = f"conda {command}"
            if details.get("before") or details.get("after"):
                note += (
                    f" (snapshots {details.get('before') or '-'} -> {details.get('after') or '-'})"
                )
            outcome = details.get("outcome") or {}
            if outcome.get("findings"):
                note += f"; left: {', '.join(outcome['findings'])}"
            if outcome.get("unchecked"):
                note += f"; not checked: {outcome['unchecked']}"
        lines.append(f"  {_when(event.time)}  {what:<37} {terminal_safe(note)}")
    return "\n".join(lines + unread)


def render_diff(old: str, new: str, changes: Changes) -> str:
    if not changes:
        return f"Nothing changed from {old} to {new}."
    lines = [f"From {old} to {new}:"]
    for record in changes.records_removed:
        lines.append(f"  - {terminal_safe(record.stem)}")
    for record in changes.records_added:
        lines.append(f"  + {terminal_safe(record.stem)}")
    if changes.files:
        lines.append(f"  {_plural(len(changes.files), 'file')} of conda packages changed:")
        for change in changes.files[:200]:
            owner = f"  ({terminal_safe(change.package)})" if change.package else ""
            lines.append(f"    {change.change:<15} {terminal_safe(change.path)}{owner}")
        if len(changes.files) > 200:
            lines.append(f"    ... and {len(changes.files) - 200} more (see --json)")
    return "\n".join(lines)


def render_all(report: EnvironmentsReport, verbose: bool = False) -> str:
    """The human report of ``verify --all``: one report per environment, then a summary."""
    blocks = []
    for entry in report.environments:
        if isinstance(entry, Report):
            blocks.append(render_text(entry, verbose))
        else:
            blocks.append(f"Skipped {terminal_safe(entry.path)}: {entry.reason}")
    reports = report.reports
    counts = dict.fromkeys(("error", "warning", "info"), 0)
    for one in reports:
        for severity, count in one.counts.items():
            counts[severity] += count
    failing = sum(not one.ok for one in reports)
    skipped = len(report.environments) - len(reports)
    summary = f"{_plural(len(reports), 'environment')} verified"
    if skipped:
        summary += f", {skipped} skipped"
    summary += f" in {report.elapsed_s:.2f} s: "
    summary += f"{failing} with errors; " if failing else "all without errors; "
    blocks.append(summary + _counts_line(counts) + ".")
    return "\n\n".join(blocks)
