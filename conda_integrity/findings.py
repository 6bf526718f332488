"""Findings: what a check reports, with the stable codes of the contract."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ERROR = "error"
WARNING = "warning"
INFO = "info"
SEVERITIES = (ERROR, WARNING, INFO)

CORRUPT_RECORD = "corrupt-record"
DUPLICATE_PACKAGE = "duplicate-package"
MISSING_FILE = "missing-file"
ALTERED_FILE = "altered-file"
MODE_CHANGED = "mode-changed"
CLOBBERED_FILE = "clobbered-file"
TRANSACTION_DEBRIS = "transaction-debris"
UNTRACKED_FILE = "untracked-file"
UNREADABLE = "unreadable"
INTERRUPTED_TRANSACTION = "interrupted-transaction"
UNSATISFIED_DEPENDENCY = "unsatisfied-dependency"
CONSTRAINT_VIOLATION = "constraint-violation"
HISTORY_MISMATCH = "history-mismatch"
PIP_OVERLAP = "pip-overlap"
SPEC_DRIFT = "spec-drift"
CACHE_CORRUPT = "cache-corrupt"
#: every finding code verify can report
CODES = (
    CORRUPT_RECORD,
    DUPLICATE_PACKAGE,
    MISSING_FILE,
    ALTERED_FILE,
    MODE_CHANGED,
    CLOBBERED_FILE,
    TRANSACTION_DEBRIS,
    UNTRACKED_FILE,
    UNREADABLE,
    INTERRUPTED_TRANSACTION,
    UNSATISFIED_DEPENDENCY,
    CONSTRAINT_VIOLATION,
    HISTORY_MISMATCH,
    PIP_OVERLAP,
    SPEC_DRIFT,
    CACHE_CORRUPT,
)
#: the width of the code column in reports for people
CODE_WIDTH = max(len(code) for code in CODES)
#: codes about the environment as a whole, not about a record's own files: a record
#: they name may still be remembered as verified clean
ENVIRONMENT_CODES = frozenset(
    {UNSATISFIED_DEPENDENCY, CONSTRAINT_VIOLATION, HISTORY_MISMATCH, PIP_OVERLAP, SPEC_DRIFT}
)


@dataclass(frozen=True)
class Finding:
    """One problem found in a prefix.

    ``package`` is the record's ``name-version-build`` and ``path`` is relative
    to the prefix with forward slashes. ``extra`` holds the keys only some
    codes carry (``packages``, ``owner``, ``expected``, ``actual``, ...).
    """

    code: str
    severity: str
    message: str
    package: str | None = None
    path: str | None = None
    detail: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The finding as the contract's JSON object (absent keys omitted)."""
        result: dict[str, Any] = {"code": self.code, "severity": self.severity}
        for key in ("package", "path", "detail"):
            value = getattr(self, key)
            if value is not None:
                result[key] = value
        result["message"] = self.message
        result.update(self.extra)
        return result
