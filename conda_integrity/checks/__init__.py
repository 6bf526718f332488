"""The checks ``conda integrity verify`` runs, registered in one list.

A check is a function ``check(state) -> Iterable[Finding]``: it reads the
loaded prefix (:class:`~.context.PrefixState`: records, what the disk showed,
the walk of the prefix) and reports; it never touches the disk itself.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from ..findings import Finding
from ..observe.prefix_state import PrefixState
from . import (
    altered_file,
    clobbered_file,
    constraint_violation,
    corrupt_record,
    duplicate_package,
    history_mismatch,
    interrupted_transaction,
    missing_file,
    mode_changed,
    pip_overlap,
    spec_drift,
    transaction_debris,
    unreadable,
    unsatisfied_dependency,
    untracked_file,
)

Check = Callable[[PrefixState], Iterable[Finding]]

#: every check, in the order their findings are reported
CHECKS: list[Check] = [
    interrupted_transaction.check,
    corrupt_record.check,
    duplicate_package.check,
    missing_file.check,
    altered_file.check,
    clobbered_file.check,
    mode_changed.check,
    transaction_debris.check,
    unreadable.check,
    untracked_file.check,
    unsatisfied_dependency.check,
    constraint_violation.check,
    history_mismatch.check,
    pip_overlap.check,
    spec_drift.check,
]

__all__ = ["CHECKS", "Check"]
