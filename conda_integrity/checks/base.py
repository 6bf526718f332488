"""What a check is: a rule with its own code, severity and scope.

Every module of :mod:`conda_integrity.checks` that judges something declares one
:class:`Check` as ``CHECK``; the registry (:mod:`.registry`) collects them, so
adding a check is adding one module.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from ..findings import Finding
from ..observe.prefix_state import PrefixState

#: the check judges records one by one (their record file, their own files): a
#: record it names is not remembered as verified clean
RECORD = "record"
#: the check judges the environment as a whole (records against each other, the
#: history, pip, an environment file, the journal, the prefix's folders)
ENVIRONMENT = "environment"
#: the check judges the package caches (``verify --pkgs-dirs``)
PACKAGE_CACHE = "package-cache"
SCOPES = (RECORD, ENVIRONMENT, PACKAGE_CACHE)


@dataclass(frozen=True)
class Check:
    """One rule of ``conda integrity verify``.

    ``code`` and ``severity`` are the contract's (a finding may be milder where its
    module says why); ``order`` sorts the checks, and so the findings of one run;
    ``run`` judges a read prefix, and is None for a rule that another part runs on
    what it read itself (the package caches).
    """

    code: str
    severity: str
    scope: str
    order: int
    run: Callable[[PrefixState], Iterable[Finding]] | None = None

    def __post_init__(self) -> None:
        if self.scope not in SCOPES:
            raise ValueError(f"{self.code}: unknown scope {self.scope!r}")

    def finding(
        self,
        message: str,
        *,
        severity: str | None = None,
        package: str | None = None,
        path: str | None = None,
        detail: str | None = None,
        fix: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> Finding:
        """A finding of this check (of its own severity unless ``severity`` says)."""
        return Finding(
            self.code,
            severity or self.severity,
            message,
            package=package,
            path=path,
            detail=detail,
            extra=extra or {},
            fix=fix,
        )
