"""The read model of a prefix: everything a check may look at."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..records.fixes import Reinstaller
from ..records.installed import InstalledPackage
from ..records.model import BadRecord, Record
from ..store.journal import OpenTransaction
from ..store.paths import UntrustedState
from .clean_records import UnchangedRecord
from .conda_history import HistoryState
from .dependencies import UnmetSpec
from .disk import Owners, PrefixDisk
from .environment_file import EnvironmentFile
from .site_packages import SitePackages
from .walk import PrefixTree


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
    disk: PrefixDisk
    #: the walk of the whole prefix; None when only some packages are verified
    tree: PrefixTree | None
    #: records verified clean earlier and untouched since: not checked again, but
    #: their names and paths count for the checks across records
    unchanged: tuple[UnchangedRecord, ...] = ()
    #: run the untracked-file check
    untracked: bool = False
    #: guarded transactions that have not ended normally (whole-prefix reads only)
    transactions: tuple[OpenTransaction, ...] = ()
    #: every usable record of the prefix (parsed or remembered), for the checks
    #: across records
    packages: tuple[InstalledPackage, ...] = ()
    #: the stems of the records named on the command line; None: the whole prefix
    selection: frozenset[str] | None = None
    #: depends/constrains entries the environment does not meet
    unmet_specs: tuple[UnmetSpec, ...] = ()
    #: what conda-meta/history says is installed
    history: HistoryState | None = None
    #: the Python distributions of site-packages (None: no python, no site-packages)
    site_packages: SitePackages | None = None
    #: the file given with --file
    environment_file: EnvironmentFile | None = None
    #: folders of the prefix's state folder that conda-integrity does not use
    untrusted_state: tuple[UntrustedState, ...] = ()
    #: what decides the tool a fix reinstalls with (pixi, conda-pypi, conda)
    reinstaller: Reinstaller = field(default_factory=Reinstaller)

    @property
    def whole(self) -> bool:
        """Whether the whole prefix is verified (no packages named)."""
        return self.selection is None

    def selected(self, stem: str) -> bool:
        """Whether findings about this record are wanted."""
        return self.selection is None or stem in self.selection
