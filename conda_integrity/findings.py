"""Findings: what a check reports.

The codes themselves belong to the checks that report them (:mod:`.checks`):
each check module declares its code, severity and scope.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ERROR = "error"
WARNING = "warning"
INFO = "info"
SEVERITIES = (ERROR, WARNING, INFO)


@dataclass(frozen=True)
class Finding:
    """One problem found in a prefix.

    ``package`` is the record's ``name-version-build`` and ``path`` is relative
    to the prefix with forward slashes. ``extra`` holds the keys only some
    codes carry (``packages``, ``owner``, ``expected``, ``actual``, ...);
    ``fix`` is the command that fixes it, in the words a conda user types.
    """

    code: str
    severity: str
    message: str
    package: str | None = None
    path: str | None = None
    detail: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    fix: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The finding as the contract's JSON object (absent keys omitted)."""
        result: dict[str, Any] = {"code": self.code, "severity": self.severity}
        for key in ("package", "path", "detail"):
            value = getattr(self, key)
            if value is not None:
                result[key] = value
        result["message"] = self.message
        result.update(self.extra)
        if self.fix is not None:
            result["fix"] = self.fix
        return result
