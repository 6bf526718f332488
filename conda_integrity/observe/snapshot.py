"""The snapshot of a read: a prefix's records and the stats of every owned path, as
a whole-prefix read (:class:`~.prefix_state.PrefixState`) saw them."""

from __future__ import annotations

import time

from ..exceptions import IntegrityInputError
from ..store import snapshots
from .prefix_state import PrefixState


def snapshot_of(
    state: PrefixState,
    kind: str,
    label: str | None,
    command: str | None,
    digests: dict[str, str] | None = None,
    base: snapshots.Snapshot | None = None,
    base_modes: frozenset[str] = frozenset(),
) -> snapshots.Snapshot:
    """A snapshot of the prefix as ``state`` (a whole-prefix read) saw it.

    With the ``digests`` of the read, a record whose digest ``base`` has too
    takes its block from ``base`` instead of encoding it again. The records named
    in ``base_modes`` keep the modes ``base`` saw for their files: a mode changed
    by hand is not made the baseline by a transaction that did not link them.
    """
    digests = digests or {}
    reusable = base.digests if base is not None else {}

    def reused(stem: str) -> bytes | None:
        digest = digests.get(stem)
        if base is None or digest is None or reusable.get(stem) != digest:
            return None
        return base.blocks.get(stem)

    records: list[snapshots.SnapshotRecord] = []
    blocks: dict[str, bytes] = {}
    owned: set[str] = set()
    disk = state.disk
    for record in state.records:
        records.append(snapshots.snapshot_record(record.stem, record.raw))
        paths = tuple(owned_path.path for owned_path in record.paths)
        owned.update(paths)
        block = reused(record.stem)
        if block is None:
            infos = [disk.stats.get(path) for path in paths]
            modes = _modes_of(base, record.stem) if record.stem in base_modes else None
            block = snapshots.stats_block(state.prefix, paths, infos, disk.link_targets, modes)
        blocks[record.stem] = block
    for unchanged in state.unchanged:
        records.append(snapshots.snapshot_record(unchanged.stem, unchanged.package.fields))
        owned.update(unchanged.paths)
        block = reused(unchanged.stem)
        if block is None:
            modes = _modes_of(base, unchanged.stem) if unchanged.stem in base_modes else None
            stats = list(unchanged.stats)
            block = snapshots.stats_block(state.prefix, unchanged.paths, stats, {}, modes)
        blocks[unchanged.stem] = block
    records.sort()
    kept = {stem: digest for stem, digest in digests.items() if stem in blocks}
    return snapshots.Snapshot(
        0, time.time(), kind, label, command, records, blocks, len(owned), kept
    )


def _modes_of(base: snapshots.Snapshot | None, stem: str) -> dict[str, int] | None:
    """The modes ``base`` saw for the files of record ``stem`` (None: none it can tell)."""
    if base is None:
        return None
    try:
        return {path: item.mode for path, item in base.files_of(stem).items() if item.mode}
    except IntegrityInputError:
        return None
