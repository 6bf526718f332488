"""unsatisfied-dependency: a record's ``depends`` entry that nothing installed meets.

Judged with conda's ``MatchSpec`` (see :mod:`conda_integrity.observe.dependencies`),
with the soft cases conda itself treats as soft:

- python's ``pip`` entry, which conda adds to python's record when
  ``add_pip_as_python_dependency`` is on: conda's own consistency check
  (``Resolve.bad_installed``) drops it when pip is not installed, so does this;
- a virtual package (``__cuda``, ``__osx``, a ``__glibc`` too old) that this
  machine lacks: the environment may have been made for another machine, so it
  is a warning that says what the machine lacks, not an error.
"""

from __future__ import annotations

from collections.abc import Iterator

from ..findings import ERROR, WARNING, Finding
from ..observe.dependencies import DEPENDS, UnmetSpec
from ..observe.prefix_state import PrefixState
from ..records.fixes import install
from .base import ENVIRONMENT, Check


def _label(stem: str) -> str:
    return stem.rsplit("-", 1)[0]


def is_python_pip(unmet: UnmetSpec, state: PrefixState) -> bool:
    name = next((p.name for p in state.packages if p.stem == unmet.package), "")
    return name == "python" and unmet.spec.strip() == "pip" and not unmet.installed


def describe_virtual(unmet: UnmetSpec) -> str:
    if unmet.machine_has is None:
        return f"this machine has no {unmet.name}"
    return f"this machine has {unmet.machine_has}"


def check(state: PrefixState) -> Iterator[Finding]:
    for unmet in state.unmet_specs:
        if unmet.kind != DEPENDS or not state.selected(unmet.package):
            continue
        if is_python_pip(unmet, state):
            continue
        holder = _label(unmet.package)
        # as spec-drift has it: what is there instead, in words, or null
        extra = {"spec": unmet.spec, "installed": ", ".join(unmet.installed) or None}
        if unmet.invalid is not None:
            message = (
                f"{holder} depends on {unmet.spec!r}, which conda cannot read ({unmet.invalid})"
            )
            yield CHECK.finding(message, package=unmet.package, extra=extra)
            continue
        if unmet.virtual:
            message = f"{holder} needs {unmet.spec}; {describe_virtual(unmet)}"
            extra["installed"] = unmet.machine_has
            yield CHECK.finding(message, severity=WARNING, package=unmet.package, extra=extra)
            continue
        if unmet.installed:
            now = ", ".join(unmet.installed)
            message = f"{holder} needs {unmet.spec}; installed instead: {now}"
        else:
            message = f"{holder} needs {unmet.spec}; no {unmet.name} is installed"
        yield CHECK.finding(
            message, package=unmet.package, extra=extra, fix=install(state.prefix, unmet.spec)
        )


CHECK = Check(
    code="unsatisfied-dependency", severity=ERROR, scope=ENVIRONMENT, order=110, run=check
)
