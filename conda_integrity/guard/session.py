"""The command being guarded in this conda process, from its pre-command to its end.

conda runs one command per process, so the guard watches at most one: :data:`WATCH`
holds it between the hooks that conda calls one after another.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import IO, Optional

from ..findings import Finding
from ..store import journal, snapshots
from ..store.state_dir import StateDir
from ..verify.read import EarlierRead

#: (code, package, path): what identifies a finding across two checks of a prefix
FindingKey = tuple[str, Optional[str], Optional[str]]  # evaluated at run time: 3.9 too


def command_line() -> str:
    """The conda command line being guarded, as a snapshot records it."""
    return "conda " + " ".join(sys.argv[1:])


def finding_key(finding: Finding) -> FindingKey:
    """What identifies ``finding`` across two checks of one prefix."""
    return finding.code, finding.package, finding.path


@dataclass
class Session:
    """The command being guarded."""

    prefix: str
    mode: str
    command: str
    #: where its journal entry and snapshots are kept
    guard_dir: StateDir
    entry: journal.Entry | None = None
    lock: IO | None = None
    #: what was wrong before the transaction
    known: set[FindingKey] = field(default_factory=set)
    #: the problems that make refuse mode stop the command, in words
    refusal: str | None = None
    #: the error findings among them (their fix commands go into the refusal)
    problems: list[Finding] = field(default_factory=list)
    #: the post-check ran inside the transaction, where conda can roll back (>= 25.5)
    checked_in_transaction: bool = False
    after_findings: list[Finding] = field(default_factory=list)
    #: other condas at work on the prefix when the post-check read it (what they
    #: have half done may be among ``after_findings``)
    others_after: list[journal.OpenTransaction] = field(default_factory=list)
    #: the pre-check's read, which the reads after the transaction build on
    earlier: EarlierRead | None = None
    #: the snapshot before the transaction, once built or loaded
    before: snapshots.Snapshot | None = None
    #: the snapshot the post-check built
    after: snapshots.Snapshot | None = None
    #: a ``conda create`` of a new prefix: journaled in the user's folder, not checked
    creating: bool = False
    #: the specs conda writes into its history after the transaction, by kind
    #: ("remove_specs", "update_specs", "neutered_specs"), as its solver got them
    specs: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class Watch:
    """What the guard watches in this process."""

    session: Session | None = None
    #: a command whose target only its transaction tells (``conda env update -f FILE``)
    deferred: str | None = None

    def take(self) -> tuple[Session | None, str | None]:
        """The session and the deferred command, no longer watched."""
        taken = self.session, self.deferred
        self.session, self.deferred = None, None
        return taken


WATCH = Watch()
