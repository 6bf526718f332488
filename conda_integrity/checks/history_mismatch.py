"""history-mismatch: ``conda-meta/history`` and the records disagree.

After every transaction conda appends what it linked and unlinked to the
history, after writing the records; the state the history ends in is what
conda diffs the next transaction against. A package the records have and the
history lacks (or the other way round) means a transaction was cut off
between the two writes, or a tool other than conda changed the environment.
Lines conda cannot read are findings too: conda stops updating such a history
(and a spec line it cannot parse makes every later install fail).

A history with no revision at all (empty, or only a comment, as pixi writes)
records nothing to compare; conda writes the full state at its next transaction.
"""

from __future__ import annotations

from collections.abc import Iterator

from ..findings import WARNING, Finding
from ..observe.conda_history import HISTORY
from ..observe.prefix_state import PrefixState
from ..observe.site_packages import canonical_name
from .base import ENVIRONMENT, Check

CAUSE = (
    "a transaction was cut off before it wrote the history, or another tool changed the environment"
)


def _name(dist: str) -> str:
    return dist.rsplit("-", 2)[0]


def _pip_replacement(name: str, state: PrefixState) -> str | None:
    """The distribution conda did not install that has this package's name, if any:
    conda deletes the record of a package pip uninstalled (conda issue #14423)."""
    site = state.site_packages
    if site is None:
        return None
    key = canonical_name(name)
    for distribution in site.foreign:
        if distribution.key == key:
            installer = distribution.installer or "a tool other than conda"
            return f"{installer}'s {distribution.name} {distribution.version}"
    return None


def check(state: PrefixState) -> Iterator[Finding]:
    history = state.history
    if history is None:
        return
    stems = {p.stem for p in state.packages} | {b.stem for b in state.bad_records}
    if not history.exists:
        if stems and state.whole:
            yield CHECK.finding(
                "conda-meta/history is missing: conda records every transaction there, "
                "and conda 25.5 and later do not take a folder without it for an environment",
                path=HISTORY,
            )
        return
    if state.whole:
        for problem in history.problems:
            where = f"line {problem.line} ({problem.text!r}) " if problem.line else ""
            yield CHECK.finding(
                f"{where}{problem.reason}",
                path=HISTORY,
                extra={"line": problem.line} if problem.line else {},
            )
    if not history.revisions:
        return
    recorded: dict[str, set[str]] = {}
    for stem in stems:
        recorded.setdefault(_name(stem), set()).add(stem)
    in_history: dict[str, set[str]] = {}
    for dist in history.installed:
        in_history.setdefault(_name(dist), set()).add(dist)
    for name in sorted(set(recorded) | set(in_history)):
        have, said = recorded.get(name, set()), in_history.get(name, set())
        if have == said:
            continue
        package = sorted(have)[0] if have else sorted(said)[0]
        if not state.selected(package):
            continue
        listed, recorded_as = ", ".join(sorted(said)), ", ".join(sorted(have))
        if not said:
            what = f"installed (conda-meta/{package}.json), but the history does not list it"
        elif not have:
            what = f"the history lists {listed} as installed, but there is no record of it"
            replaced = _pip_replacement(name, state)
            if replaced is not None:
                yield CHECK.finding(
                    f"{what}: {replaced} replaced it, and conda's pip interoperability "
                    "(conda list, conda env export) then deleted conda's record",
                    package=package,
                    path=HISTORY,
                    extra={"history": sorted(said), "records": []},
                )
                continue
        else:
            what = f"the history lists {listed}, the records {recorded_as}"
        yield CHECK.finding(
            f"{what}: {CAUSE}",
            package=package,
            path=HISTORY,
            extra={"history": sorted(said), "records": sorted(have)},
        )


CHECK = Check(code="history-mismatch", severity=WARNING, scope=ENVIRONMENT, order=130, run=check)
