"""The report for people: findings grouped by package, in words, with the fix."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING

from .findings import CORRUPT_RECORD, Finding
from .report import Report, printable

if TYPE_CHECKING:
    from .changes import Changes
    from .snapshots import Snapshot
    from .timeline import Event

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


def human_bytes(count: int) -> str:
    size = float(count)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError  # pragma: no cover


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


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
    return f"Verified {printable(report.prefix)}: {what} in {report.elapsed_s:.2f} s"


def _finding_line(finding: Finding, verbose: bool) -> list[str]:
    where = f"{printable(finding.path)}: " if finding.path else ""
    lines = [f"  {finding.severity:<8} {finding.code:<22} {where}{printable(finding.message)}"]
    if verbose:
        for key in VERBOSE_KEYS:
            if key in finding.extra:
                value = json.dumps(finding.extra[key], ensure_ascii=False)
                lines.append(f"{'':33}{key}: {printable(value)}")
    return lines


def render_text(report: Report, verbose: bool = False) -> str:
    """The human report of one prefix."""
    lines = [_headline(report)]
    if not report.findings:
        lines.append("No problems found.")
        return "\n".join(lines)

    groups: dict[str, list[Finding]] = {}
    for finding in report.findings:
        groups.setdefault(finding.package or _NO_PACKAGE, []).append(finding)
    for group in sorted(groups, key=lambda name: (name == _NO_PACKAGE, name)):
        lines.append("")
        lines.append(printable(group))
        fixes: list[str] = []
        for finding in groups[group]:
            lines.extend(_finding_line(finding, verbose))
            fix = finding.extra.get("fix")
            if fix and fix not in fixes:
                fixes.append(fix)
        lines.extend(f"  to fix: {printable(fix)}" for fix in fixes)

    if any(finding.code == CORRUPT_RECORD for finding in report.findings):
        lines.append("")
        lines.append(
            "conda refuses to change an environment with a corrupt record: fix those first."
        )
    counts = report.counts
    lines.append("")
    lines.append(
        f"{_plural(counts['error'], 'error')}, {_plural(counts['warning'], 'warning')}, "
        f"{counts['info']} info."
    )
    return "\n".join(lines)


STATE_WORDS = {"closed": "failed, changed nothing"}


def _when(timestamp: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(timestamp))


def render_snapshot(snapshot: Snapshot) -> str:
    label = f" ({snapshot.label})" if snapshot.label else ""
    return (
        f"Snapshot {snapshot.number}{label}: {_plural(len(snapshot.records), 'package')}, "
        f"{_plural(snapshot.file_count, 'file')}."
    )


def render_log(prefix: str, events: list[Event]) -> str:
    if not events:
        return f"No snapshot or guarded transaction of {printable(prefix)} yet."
    lines = [f"Snapshots and guarded transactions of {printable(prefix)}, newest first:"]
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
            codes = (details.get("outcome") or {}).get("findings")
            if codes:
                note += f"; left: {', '.join(codes)}"
        lines.append(f"  {_when(event.time)}  {what:<37} {printable(note)}")
    return "\n".join(lines)


def render_diff(old: str, new: str, changes: Changes) -> str:
    if not changes:
        return f"Nothing changed from {old} to {new}."
    lines = [f"From {old} to {new}:"]
    for record in changes.records_removed:
        lines.append(f"  - {record.stem}")
    for record in changes.records_added:
        lines.append(f"  + {record.stem}")
    if changes.files:
        lines.append(f"  {_plural(len(changes.files), 'file')} of conda packages changed:")
        for change in changes.files[:200]:
            owner = f"  ({change.package})" if change.package else ""
            lines.append(f"    {change.change:<15} {printable(change.path)}{owner}")
        if len(changes.files) > 200:
            lines.append(f"    ... and {len(changes.files) - 200} more (see --json)")
    return "\n".join(lines)
