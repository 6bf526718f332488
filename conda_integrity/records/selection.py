"""The installed records that match the package specs a user named (``verify PKG ...``)."""

from __future__ import annotations

from ..exceptions import IntegrityInputError
from .model import Record


def select(records: list[Record], specs: tuple[str, ...]) -> list[Record]:
    """The records matching any of ``specs``; each spec must match one at least."""
    from conda.exceptions import CondaError
    from conda.models.match_spec import MatchSpec

    chosen: set[str] = set()
    for text in specs:
        try:
            spec = MatchSpec(text)
        except CondaError as error:
            raise IntegrityInputError(f"{text!r} is not a package name or spec: {error}") from None
        matches = [r.stem for r in records if _matches(spec, r)]
        if not matches:
            raise IntegrityInputError(f"no installed package matches {text!r}")
        chosen.update(matches)
    return [record for record in records if record.stem in chosen]


def _matches(spec, record: Record) -> bool:  # type: ignore[no-untyped-def]
    if spec.name not in ("*", record.name):
        return False
    try:
        return bool(spec.match(record.raw))
    except Exception:  # a record conda cannot turn into a PackageRecord: name must do
        return bool(spec.name == record.name)
