"""spec-drift: with ``--file``, an entry of that file the environment no longer meets.

- a conda spec (environment.yml, spec list): some installed record of that name
  must match it, judged by conda's ``MatchSpec`` (channel included, when the
  spec names one);
- an explicit file's URL: the record of that name must be that
  name-version-build, with the same md5 or sha256 where the file gives one;
- a pip requirement: some distribution of that project in site-packages
  (installed by pip or by conda) must have a version the requirement allows;
  a requirement whose environment markers do not apply here is skipped.

``installed`` says what is there instead (null: nothing of that name).
"""

from __future__ import annotations

from collections.abc import Iterator

from ..findings import ERROR, Finding
from ..observe.dependencies import matches, package_record
from ..observe.environment_file import CONDA, EXPLICIT, PIP, FileSpec
from ..observe.prefix_state import PrefixState
from ..observe.site_packages import canonical_name
from ..records.installed import InstalledPackage
from .base import ENVIRONMENT, Check


def _drift(spec: FileSpec, message: str, installed: str | None, package: str | None) -> Finding:
    return CHECK.finding(
        message, package=package, extra={"spec": spec.text, "installed": installed}
    )


def _instead(candidates: list[InstalledPackage]) -> str:
    return ", ".join(c.stem for c in candidates)


def _conda(spec: FileSpec, by_name: dict[str, list[InstalledPackage]]) -> Finding | None:
    name = str(spec.parsed.name).lower()
    candidates = by_name.get(name, [])
    for candidate in candidates:
        if matches(spec.parsed, package_record(candidate)):
            return None
    if not candidates:
        return _drift(spec, f"{spec.text} is not met: no {name} is installed", None, None)
    return _drift(
        spec,
        f"{spec.text} is not met: installed instead: {_instead(candidates)}",
        _instead(candidates),
        candidates[0].stem,
    )


def _explicit(spec: FileSpec, by_name: dict[str, list[InstalledPackage]]) -> Finding | None:
    wanted = f"{spec.name}-{spec.version}-{spec.build}"
    candidates = by_name.get(spec.name.lower(), [])
    if not candidates:
        return _drift(spec, f"{wanted} is not installed (nor any {spec.name})", None, None)
    same = [c for c in candidates if c.stem == wanted]
    if not same:
        return _drift(
            spec,
            f"{wanted} is not installed: installed instead: {_instead(candidates)}",
            _instead(candidates),
            candidates[0].stem,
        )
    package = same[0]
    for algorithm in ("sha256", "md5"):
        given, recorded = getattr(spec, algorithm), package.fields.get(algorithm)
        if given and isinstance(recorded, str) and recorded.lower() != given:
            return _drift(
                spec,
                f"{wanted} is installed, but from another archive: the file gives "
                f"{algorithm} {given}, the record {recorded}",
                package.stem,
                package.stem,
            )
    return None


def _pip(spec: FileSpec, state: PrefixState) -> Finding | None:
    requirement = spec.parsed
    if requirement.marker is not None and not requirement.marker.evaluate():
        return None
    key = canonical_name(requirement.name)
    site = state.site_packages
    found = [d for d in (site.distributions if site else ()) if d.key == key]
    if any(_allows(requirement.specifier, d.version) for d in found):
        return None
    if not found:
        return _drift(
            spec,
            f"pip requirement {spec.text} is not met: {requirement.name} is not installed",
            None,
            None,
        )
    instead = ", ".join(
        f"{d.name} {d.version} ({'conda' if d.conda_record else d.installer or 'not conda'})"
        for d in found
    )
    package = next((d.conda_record for d in found if d.conda_record), None)
    return _drift(
        spec,
        f"pip requirement {spec.text} is not met: installed instead: {instead}",
        instead,
        package,
    )


def _allows(specifier, version: str) -> bool:  # type: ignore[no-untyped-def]
    try:
        return bool(specifier.contains(version, prereleases=True))
    except ValueError:  # not a PEP 440 version: only a requirement without versions allows it
        return not str(specifier)


def check(state: PrefixState) -> Iterator[Finding]:
    if state.environment_file is None:
        return
    by_name: dict[str, list[InstalledPackage]] = {}
    for package in state.packages:
        by_name.setdefault(package.name.lower(), []).append(package)
    for spec in state.environment_file.specs:
        if spec.kind == CONDA:
            finding = _conda(spec, by_name)
        elif spec.kind == EXPLICIT:
            finding = _explicit(spec, by_name)
        elif spec.kind == PIP:
            finding = _pip(spec, state)
        else:  # pragma: no cover
            continue
        if finding is not None and (finding.package is None or state.selected(finding.package)):
            yield finding


CHECK = Check(code="spec-drift", severity=ERROR, scope=ENVIRONMENT, order=150, run=check)
