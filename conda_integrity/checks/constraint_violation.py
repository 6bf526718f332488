"""constraint-violation: an installed record that another record's
``constrains`` entry rules out.

A ``constrains`` entry binds only when a package of that name is there, as
conda's solver treats it. A virtual package of the machine that violates one
(a ``__cuda`` driver too old) is a warning, like a missing virtual dependency.
"""

from __future__ import annotations

from collections.abc import Iterator

from ..findings import ERROR, WARNING, Finding
from ..observe.dependencies import CONSTRAINS
from ..observe.prefix_state import PrefixState
from ..records.fixes import install
from .base import ENVIRONMENT, Check


def check(state: PrefixState) -> Iterator[Finding]:
    for unmet in state.unmet_specs:
        if unmet.kind != CONSTRAINS or not state.selected(unmet.package):
            continue
        holder = unmet.package.rsplit("-", 1)[0]
        if unmet.invalid is not None:
            yield CHECK.finding(
                f"{holder} constrains {unmet.spec!r}, which conda cannot read ({unmet.invalid})",
                package=unmet.package,
                extra={"spec": unmet.spec, "violator": None},
            )
            continue
        if unmet.virtual:
            yield CHECK.finding(
                f"{holder} allows only {unmet.spec}; this machine has {unmet.machine_has}",
                severity=WARNING,
                package=unmet.package,
                extra={"spec": unmet.spec, "violator": unmet.machine_has},
            )
            continue
        for violator in unmet.installed:
            yield CHECK.finding(
                f"{holder} allows only {unmet.spec}; {violator} is installed",
                package=unmet.package,
                extra={"spec": unmet.spec, "violator": violator},
                fix=install(state.prefix, unmet.spec),
            )


CHECK = Check(code="constraint-violation", severity=ERROR, scope=ENVIRONMENT, order=120, run=check)
