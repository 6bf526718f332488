"""What a check is given: the loaded prefix."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..disk import DiskState, Owners
from ..findings import Finding
from ..records import BadRecord, Record
from ..tree import PrefixTree
from ..verdicts import UnchangedRecord

if TYPE_CHECKING:
    from ..transactions import OpenTransaction


@dataclass(frozen=True)
class PrefixState:
    """Everything a check may look at."""

    prefix: str
    #: the records being verified (all of them, or those named on the command line)
    records: tuple[Record, ...]
    #: record files that could not be used
    bad_records: tuple[BadRecord, ...]
    #: each path of the verified records, with every record that owns it
    owners: Owners
    disk: DiskState
    #: the walk of the whole prefix; None when only some packages are verified
    tree: PrefixTree | None
    #: records verified clean earlier and untouched since: not checked again, but
    #: their names and paths count for the checks across records
    unchanged: tuple[UnchangedRecord, ...] = ()
    #: run the untracked-file check
    untracked: bool = False
    #: guarded transactions that have not ended normally (whole-prefix reads only)
    transactions: tuple[OpenTransaction, ...] = ()


Check = Callable[[PrefixState], Iterable[Finding]]
