"""Which ``depends`` and ``constrains`` entries of the installed records are not
met, judged with conda's own ``MatchSpec`` against the installed records and
the machine's virtual packages.

This is the costly part of the dependency checks: a ``MatchSpec`` takes tens of
microseconds to parse and an environment has thousands of entries. The result
is kept in a memo (``conda-meta/integrity/dependencies.json``) with the key of the
record files (:func:`..records.installed.records_key`) and of the machine
(:func:`.virtual.machine_key`), so a run over an unchanged environment parses
nothing and does not ask conda for the virtual packages. The checks
(``unsatisfied-dependency``, ``constraint-violation``) judge what is kept here.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from ..records.installed import InstalledPackage
from ..store import memo, schema
from .virtual import machine_key, virtual_packages

MEMO = "dependencies.json"
DEPENDS = "depends"
CONSTRAINS = "constrains"


@dataclass(frozen=True)
class UnmetSpec:
    """One ``depends`` or ``constrains`` entry the environment does not meet."""

    #: the stem of the record holding the entry
    package: str
    #: DEPENDS or CONSTRAINS
    kind: str
    #: the entry as the record writes it
    spec: str
    #: the package name the entry is about (empty when it does not parse)
    name: str
    #: stems of the installed records of that name that do not match (depends: all
    #: of that name; constrains: those that violate it)
    installed: tuple[str, ...] = ()
    #: the name is a virtual package (``__glibc``) and no record provides it
    virtual: bool = False
    #: the machine's virtual package of that name (``__glibc 2.36``), if it has one
    machine_has: str | None = None
    #: why the entry could not be read, when conda's MatchSpec rejects it
    invalid: str | None = None


#: what the memo keeps: each :class:`UnmetSpec` as a JSON object
MEMO_FORMAT = schema.list_of(
    schema.exactly(
        {
            "package": schema.text,
            "kind": schema.one_of(DEPENDS, CONSTRAINS),
            "spec": schema.text,
            "name": schema.text,
        },
        {
            "installed": schema.list_of(schema.text),
            "virtual": schema.flag,
            "machine_has": schema.optional(schema.text),
            "invalid": schema.optional(schema.text),
        },
    )
)


def unmet_specs(
    prefix: str,
    packages: tuple[InstalledPackage, ...],
    records_key: str,
    reuse: bool,
    save: bool,
) -> tuple[UnmetSpec, ...]:
    """The unmet entries of ``packages``: the ones kept in the memo (if ``reuse``)
    when ``records_key`` and the machine's key are unchanged, else judged now and
    kept (if ``save``)."""
    key = [records_key, *machine_key()]
    kept = memo.load(prefix, MEMO, key, MEMO_FORMAT) if reuse else None
    if isinstance(kept, list):
        try:
            return tuple(_from_json(item) for item in kept)
        except (TypeError, KeyError):
            pass  # an entry of another shape: compute again
    found = find_unmet(packages, _LazyVirtualPackages())
    if save:
        memo.save(prefix, MEMO, key, [asdict(unmet) for unmet in found])
    return found


def _from_json(item: dict[str, Any]) -> UnmetSpec:
    item = dict(item)
    item["installed"] = tuple(item["installed"])
    return UnmetSpec(**item)


class _LazyVirtualPackages:
    """conda's virtual packages, asked for only when an entry names one."""

    def __init__(self) -> None:
        self.asked = False
        self.records: dict[str, Any] | None = None

    def get(self, name: str) -> Any:
        if not self.asked:
            self.records, self.asked = virtual_packages(), True
        return None if self.records is None else self.records.get(name)

    @property
    def known(self) -> bool:
        return self.records is not None


def find_unmet(packages: tuple[InstalledPackage, ...], virtual: Any) -> tuple[UnmetSpec, ...]:
    """Judge every entry; each distinct spec string is parsed once."""
    from conda.exceptions import CondaError
    from conda.models.match_spec import MatchSpec

    by_name: dict[str, list[InstalledPackage]] = {}
    for package in packages:
        by_name.setdefault(package.name.lower(), []).append(package)
    parsed: dict[str, Any] = {}
    records: dict[str, Any] = {}
    found: list[UnmetSpec] = []

    def record_of(package: InstalledPackage) -> Any:
        if package.stem not in records:
            records[package.stem] = package_record(package)
        return records[package.stem]

    for package in packages:
        for kind, entries in ((DEPENDS, package.depends), (CONSTRAINS, package.constrains)):
            for text in entries:
                if text.strip().endswith("@"):  # a track_features entry, not a package
                    continue
                spec = parsed.get(text)
                if spec is None:
                    try:
                        spec = parsed[text] = MatchSpec(text)
                    except (CondaError, ValueError, TypeError) as error:
                        found.append(UnmetSpec(package.stem, kind, text, "", invalid=str(error)))
                        continue
                unmet = _judge(package, kind, text, spec, by_name, record_of, virtual)
                if unmet is not None:
                    found.append(unmet)
    return tuple(found)


def _judge(  # type: ignore[no-untyped-def]
    package: InstalledPackage, kind: str, text: str, spec, by_name, record_of, virtual
) -> UnmetSpec | None:
    name = str(spec.name).lower()
    if name == "*":
        return None
    candidates = by_name.get(name, [])
    if candidates:
        misses = [c for c in candidates if not matches(spec, record_of(c))]
        if kind == DEPENDS and len(misses) == len(candidates):
            return UnmetSpec(package.stem, kind, text, name, tuple(c.stem for c in misses))
        if kind == CONSTRAINS and misses:
            return UnmetSpec(package.stem, kind, text, name, tuple(c.stem for c in misses))
        return None
    if not name.startswith("__"):
        return None if kind == CONSTRAINS else UnmetSpec(package.stem, kind, text, name)
    record = virtual.get(name)
    if not virtual.known:
        return None  # conda could not say what the machine has: judge nothing
    if record is None:
        if kind == CONSTRAINS:
            return None
        return UnmetSpec(package.stem, kind, text, name, virtual=True)
    if matches(spec, record):
        return None
    has = f"{record.name} {record.version}" + (
        f" {record.build}" if record.build not in ("0", "", None) else ""
    )
    return UnmetSpec(package.stem, kind, text, name, virtual=True, machine_has=has)


def matches(spec: Any, record: Any) -> bool:
    if record is None:  # a record conda cannot represent: do not accuse it
        return True
    try:
        return bool(spec.match(record))
    except Exception:
        return True


def package_record(package: InstalledPackage) -> Any:
    """A conda ``PackageRecord`` of the package, for ``MatchSpec.match``."""
    from conda.models.records import PackageRecord

    fields = {k: v for k, v in package.fields.items() if k != "python_site_packages_path"}
    try:
        return PackageRecord(**fields)
    except Exception:
        try:  # odd fields (channel, features) must not hide the identity
            return PackageRecord(
                name=package.name,
                version=package.version,
                build=package.build,
                build_number=fields.get("build_number", 0),
            )
        except Exception:
            return None
