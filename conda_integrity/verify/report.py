"""The result of verifying one prefix (or the package caches, or every
environment), and its JSON form."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ..checks.registry import CODE_WIDTH
from ..findings import ERROR, SEVERITIES, Finding

_ORDER = {severity: rank for rank, severity in enumerate(SEVERITIES)}


#: what a terminal would act on instead of showing: C0 and C1 controls, DEL
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f]")
#: what makes a terminal show text in another order than it is (a name ending in
#: ``\u202etxt.exe`` reads as ``exe.txt``): bidirectional marks, embeddings, isolates
_BIDI = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
#: surrogates that stand for no undecodable byte (from a record's JSON, say)
_LONE_SURROGATES = re.compile("[\ud800-\udc7f\udd00-\udfff]")


def printable(text: str) -> str:
    """``text`` with undecodable bytes of file names shown as ``\\xNN`` (and other
    lone surrogates as ``\\uNNNN``), so it can be encoded."""
    text = _LONE_SURROGATES.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def terminal_safe(text: str) -> str:
    """``printable(text)`` with control characters shown as ``\\xNN`` and the marks
    that reorder text as ``\\uNNNN`` too: a name another user chose cannot move the
    cursor, recolour, split or disguise a line of a report."""
    text = _CONTROLS.sub(lambda m: f"\\x{ord(m.group()):02x}", printable(text))
    return _BIDI.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def _printable_value(value: Any) -> Any:
    if isinstance(value, str):
        return printable(value)
    if isinstance(value, list):
        return [_printable_value(v) for v in value]
    if isinstance(value, dict):
        return {k: _printable_value(v) for k, v in value.items()}
    return value


def finding_head(finding: Finding) -> str:
    """The start of a finding's line in a report for people: severity, code, path."""
    where = f"{terminal_safe(finding.path)}: " if finding.path else ""
    return f"  {finding.severity:<8} {finding.code:<{CODE_WIDTH}} {where}"


@dataclass
class Report:
    """What ``verify`` found in one prefix and how much it checked.

    A report of the package caches (``--pkgs-dirs``) has ``pkgs_dirs`` instead
    of a prefix, and may name what it skipped.
    """

    prefix: str
    mode: str
    packages: int
    files: int
    bytes: int
    hashed_files: int
    hashed_bytes: int
    findings: list[Finding] = field(default_factory=list)
    elapsed_s: float = 0.0
    #: the package caches checked, for a report of the package caches
    pkgs_dirs: list[str] | None = None
    #: what the check of the package caches did not look at, and why
    skipped: list[Skipped] = field(default_factory=list)
    #: where what the run learned could not be kept, and why (None: it was, or
    #: there was nothing new)
    not_kept: str | None = None

    def __post_init__(self) -> None:
        self.findings.sort(
            key=lambda f: (_ORDER[f.severity], f.package or "", f.path or "", f.code)
        )

    @property
    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(SEVERITIES, 0)
        for finding in self.findings:
            counts[finding.severity] += 1
        return counts

    @property
    def ok(self) -> bool:
        return not any(finding.severity == ERROR for finding in self.findings)

    @property
    def exit_code(self) -> int:
        return 0 if self.ok else 1

    def to_dict(self) -> dict[str, Any]:
        """The contract's JSON document for one prefix (or for the package caches)."""
        where: dict[str, Any] = (
            {"prefix": printable(self.prefix)}
            if self.pkgs_dirs is None
            else {"pkgs_dirs": [printable(folder) for folder in self.pkgs_dirs]}
        )
        skipped = {"skipped": [s.to_dict() for s in self.skipped]} if self.skipped else {}
        return {
            **where,
            "ok": self.ok,
            "mode": self.mode,
            "checked": {
                "packages": self.packages,
                "files": self.files,
                "bytes": self.bytes,
                "hashed_files": self.hashed_files,
                "hashed_bytes": self.hashed_bytes,
            },
            "counts": self.counts,
            "findings": [_printable_value(finding.to_dict()) for finding in self.findings],
            **skipped,
            "elapsed_s": round(self.elapsed_s, 3),
        }


@dataclass(frozen=True)
class Skipped:
    """A path a run did not verify, and why (no such environment, not a package...)."""

    path: str
    reason: str

    def to_dict(self, key: str = "path") -> dict[str, Any]:
        return {key: printable(self.path), "skipped": self.reason}


@dataclass
class EnvironmentsReport:
    """``verify --all``: one report per environment conda knows, or why it was skipped.

    Skipped entries do not make the run fail.
    """

    environments: list[Report | Skipped] = field(default_factory=list)
    elapsed_s: float = 0.0

    @property
    def reports(self) -> list[Report]:
        return [entry for entry in self.environments if isinstance(entry, Report)]

    @property
    def ok(self) -> bool:
        return all(report.ok for report in self.reports)

    @property
    def exit_code(self) -> int:
        return 0 if self.ok else 1

    def to_dict(self) -> dict[str, Any]:
        """The contract's envelope: ``{"environments": [...], "ok": bool}``."""
        return {
            "environments": [
                entry.to_dict() if isinstance(entry, Report) else entry.to_dict("prefix")
                for entry in self.environments
            ],
            "ok": self.ok,
        }
