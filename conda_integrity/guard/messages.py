"""What the guard says, in conda's style, on stderr or in a refusal."""

from __future__ import annotations

from ..findings import Finding
from ..verify.report import finding_head, printable


def problem_lines(findings: list[Finding], limit: int = 10) -> list[str]:
    """The guard's short list of findings: a line each, with the package."""
    lines = []
    for finding in findings[:limit]:
        owner = f" ({finding.package})" if finding.package and finding.path else ""
        lines.append(f"{finding_head(finding)}{printable(finding.message)}{owner}")
    if len(findings) > limit:
        lines.append(f"  ... and {len(findings) - limit} more")
    return lines
