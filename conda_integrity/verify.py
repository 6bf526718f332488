"""``verify``: read the prefix, compute the findings, hand back a report.

Data flows one way: records from ``conda-meta`` (:mod:`.prefix`), a walk of
the prefix (:mod:`.tree`), what the disk shows for every owned path
(:mod:`.disk`), then the checks (:mod:`.checks`), which only compare.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from .checks import CHECKS, PrefixState
from .disk import observe, owners_of
from .exceptions import IntegrityInputError
from .hashcache import HashCache
from .modes import ModeBaseline
from .prefix import load_prefix
from .progress import Progress
from .records import Record
from .report import Report
from .state import can_write
from .tree import walk_prefix

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class VerifyOptions:
    """How deep and how wide ``verify`` looks."""

    #: match specs of the packages to verify; empty: the whole prefix
    packages: tuple[str, ...] = ()
    #: stat only, no new hashing
    fast: bool = False
    #: trust the hash cache (``--no-cache`` hashes everything again)
    use_cache: bool = True
    #: also report files no record owns
    untracked: bool = False


def select(records: tuple[Record, ...], specs: tuple[str, ...]) -> tuple[Record, ...]:
    """The records matching any of ``specs``; each spec must match one at least."""
    from conda.exceptions import CondaError
    from conda.models.match_spec import MatchSpec

    chosen: dict[str, Record] = {}
    for text in specs:
        try:
            spec = MatchSpec(text)
        except CondaError as error:
            raise IntegrityInputError(f"{text!r} is not a package name or spec: {error}") from None
        matches = [r for r in records if _matches(spec, r)]
        if not matches:
            raise IntegrityInputError(f"no installed package matches {text!r}")
        chosen.update((record.stem, record) for record in matches)
    return tuple(record for record in records if record.stem in chosen)


def _matches(spec, record: Record) -> bool:  # type: ignore[no-untyped-def]
    if spec.name not in ("*", record.name):
        return False
    try:
        return bool(spec.match(record.raw))
    except Exception:  # a record conda cannot turn into a PackageRecord: name must do
        return bool(spec.name == record.name)


def verify_prefix(prefix: str, options: VerifyOptions, progress: Progress) -> Report:
    """Verify one prefix. Raises IntegrityInputError when it is no environment."""
    started = time.perf_counter()
    model = load_prefix(prefix)
    prefix = model.prefix
    whole = not options.packages
    records = select(model.records, options.packages) if options.packages else model.records

    tree = walk_prefix(prefix, collect_files=options.untracked) if whole else None
    all_owners = owners_of(model.records)
    owners = (
        all_owners
        if whole
        else {owned.path: all_owners[owned.path] for record in records for owned in record.paths}
    )
    hash_cache = HashCache.load(prefix) if options.use_cache else HashCache()
    modes = ModeBaseline.load(prefix)
    disk = observe(
        prefix,
        records,
        owners,
        tree,
        fast=options.fast,
        hash_cache=hash_cache,
        modes=modes,
        progress=progress,
    )
    if can_write(prefix):
        if whole:
            hash_cache.forget_all_but(set(all_owners))
            modes.forget_all_but({record.stem for record in model.records})
        try:
            hash_cache.save(prefix)
            modes.save(prefix)
        except OSError as error:  # the state is a cache: verify still stands
            log.debug("cannot save conda-integrity state in %s: %s", prefix, error)

    state = PrefixState(
        prefix=prefix,
        records=records,
        bad_records=model.bad_records if whole else (),
        owners=owners,
        disk=disk,
        tree=tree,
        untracked=options.untracked,
    )
    findings = [finding for check in CHECKS for finding in check(state)]
    return Report(
        prefix=prefix,
        mode="fast" if options.fast else "full",
        packages=len(records),
        files=len(owners),
        bytes=disk.verified_bytes,
        hashed_files=disk.hashed_files,
        hashed_bytes=disk.hashed_bytes,
        findings=findings,
        elapsed_s=time.perf_counter() - started,
    )
