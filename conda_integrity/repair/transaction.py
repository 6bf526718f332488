"""Unlink and link exact records through conda's own transaction.

This is what ``conda install --force-reinstall`` does once its solver has
answered: a ``PrefixSetup`` that unlinks records and links records (for a
reinstall, the same ones), conda's ``ProgressiveFetchExtract`` to get each
package to link into the package cache (from an extracted copy there, its
archive, or its URL), then the transaction. Prefix replacement, ``.pyc``
compilation, entry points, link scripts, ``conda-meta`` and the history are
conda's; nothing here copies a file.

The guard's hooks during a repair: they fire inside this transaction (conda's
transaction actions, 25.5 and later) but only act for a command the guard
watches (``guard.hooks``: the ``commands`` module imported and watching the
prefix). ``conda integrity`` is not a guarded command, so the guard neither
refuses the repair (whatever ``integrity_mode`` says) nor journals it a second
time: the repair journals itself (:mod:`.run`).

Right before conda's transaction runs, every path it will touch is looked at
once more (:func:`last_look`): none may lie below a symlink that leaves the
prefix.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from typing import Any

from ..exceptions import IntegrityInputError
from ..records.model import BadRecord, read_raw
from .on_the_way import LeavesPrefix, leaving


def _package_record(record: Any) -> Any:
    """The channel's record of an installed one: what conda fetches and links."""
    from conda.models.records import PackageRecord

    if type(record) is PackageRecord:
        return record
    # a PrefixRecord or PackageCacheRecord: what says where it was linked or
    # extracted is not the package's
    return PackageRecord.from_objects(record)


def _requested_specs(records: Iterable[Any]) -> tuple[Any, ...]:
    """The specs the user asked for, of the records relinked: given to conda as the
    transaction's specs, so that each record keeps its ``requested_spec``."""
    from conda.models.match_spec import MatchSpec

    specs = []
    for record in records:
        spec = getattr(record, "requested_spec", None)
        if isinstance(spec, str) and spec and spec != "None":
            try:
                specs.append(MatchSpec(spec))
            except Exception:  # a spec conda cannot read again: the record loses it
                continue
    return tuple(specs)


def installed_records(prefix: str, stems: Iterable[str]) -> dict[str, Any]:
    """conda's ``PrefixRecord`` of each installed package ``stems`` names, by stem,
    read from its own record file; a stem without a record file is left out (not
    installed). IntegrityInputError when a record file is there but conda could
    not unlink by it (unreadable, or rejected by conda's model): nothing has
    changed yet, and conda's own load of the prefix would stop on it.

    Only these files are read: conda's load of the whole ``conda-meta`` happens
    once, in :func:`relink` (in a large prefix one load costs a second).
    """
    from conda.models.records import PrefixRecord

    found = {}
    for stem in stems:
        file = f"conda-meta/{stem}.json"
        path = os.path.join(prefix, file)
        raw = read_raw(path)
        if isinstance(raw, BadRecord):
            if not os.path.lexists(path):
                continue
            raise IntegrityInputError(f"cannot relink {stem}: its record {raw.reason}")
        try:
            found[stem] = PrefixRecord(**raw)
        except Exception as error:  # conda's model raises more than its own errors
            raise IntegrityInputError(
                f"cannot relink {stem}: conda cannot load {file} ({str(error).strip()})"
            ) from None
    return found


def forget_caches(prefix: str) -> None:
    """Make conda read the prefix's records and the package caches again (they
    were loaded before this process moved anything aside)."""
    from conda.core.package_cache_data import PackageCacheData
    from conda.core.prefix_data import PrefixData

    PackageCacheData.clear()
    PrefixData(prefix).reload()


def relink(prefix: str, unlink: Sequence[Any], link: Sequence[Any]) -> None:
    """Unlink the records ``unlink`` (``PrefixRecord``s of ``prefix``) and link
    ``link`` (``PackageRecord``s or ``PrefixRecord``s) through conda's transaction.

    conda gets each package to link into its cache first (downloading it when
    no cached copy matches), then carries the transaction out. conda's errors
    (``CondaError``) pass through as they are; conda rolls back what it did.
    """
    from conda.core.link import PrefixSetup, UnlinkLinkTransaction

    forget_caches(prefix)
    link_records = tuple(_package_record(record) for record in link)
    setup = PrefixSetup(
        target_prefix=prefix,
        unlink_precs=tuple(unlink),
        link_precs=link_records,
        remove_specs=(),
        update_specs=_requested_specs(link),
        neutered_specs=(),
    )
    transaction = UnlinkLinkTransaction(setup)
    transaction.download_and_extract()
    last_look(prefix, transaction)
    # conda's own link and unlink actions keep its loaded records up to date: no
    # reload of them after (in a large prefix that costs a second)
    transaction.execute()


def last_look(prefix: str, transaction: Any) -> None:
    """LeavesPrefix when a path conda's transaction (its packages extracted) will
    unlink or write in ``prefix`` lies below a symlink that leaves it: the paths
    are conda's own, from its prepared actions (``.pyc`` files, entry points and
    records too), right before it runs. Where this conda does not tell them, the
    looks made before (:mod:`.on_the_way`) stand."""
    try:
        transaction.prepare()  # what execute() does first; done once
        groups = transaction.prefix_action_groups[prefix]
        paths = {
            path
            for kind in groups
            for group in kind
            for action in group.actions
            for path in getattr(action, "target_short_paths", None) or ()
            if isinstance(path, str)
        }
    except (AttributeError, KeyError, TypeError):  # another conda's shape
        return
    # a symlink that is itself one of the transaction's paths is a package's own,
    # but not a folder conda makes or removes: one with paths of the transaction below
    folders = {path.rsplit("/", n)[0] for path in paths for n in range(1, path.count("/") + 1)}
    found = leaving(prefix, sorted(paths), own=paths - folders)
    if found:
        raise LeavesPrefix(prefix, found)
