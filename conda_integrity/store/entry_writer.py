"""Who wrote a journal entry, and what of it the runner may act on.

An entry read from a journal is known by its file (:class:`.journal.Written`):
whose it is (the file's owner) and when it last changed (its ctime, which no one
but root can set). Another user's entry (the journal of an environment they own,
read by root's ``verify``) tells of their transaction: it may be reported, but
nothing in it is the runner's to act on (:func:`by_runner`), and the time it claims
is believed only up to when its file last changed (:func:`trusted_start`).
"""

from __future__ import annotations

from .journal import Entry
from .paths import user_name
from .state_dir import running_user


def by_runner(entry: Entry) -> bool:
    """Whether the user running us wrote the entry (its file is theirs, or this
    process made it): only such an entry's command, plan, snapshot numbers and
    times are acted on."""
    return entry.written is None or entry.written.uid == running_user()


def writer(entry: Entry) -> int | None:
    """The uid of who wrote the entry (None: the platform has no owners of files)."""
    return running_user() if entry.written is None else entry.written.uid


def writer_name(entry: Entry) -> str:
    """Who wrote the entry, in words ("nobody (uid 65534)")."""
    uid = writer(entry)
    return user_name(uid) if uid is not None else "another user"


def where(entry: Entry) -> str:
    """The entry's file (its id, for one this process made)."""
    return entry.written.path if entry.written is not None else entry.id


def trusted_start(entry: Entry) -> float:
    """When the entry's transaction started, as far as the runner can tell: what
    their own entry says; another user's, no later than its file last changed (an
    entry dated in the future would outrank every later transaction)."""
    if by_runner(entry) or entry.written is None:
        return entry.started
    return min(entry.started, entry.written.changed)


def running_command(entry: Entry) -> str:
    """The entry's command in words, for a message about a conda at work: the runner's
    own command line, or for another user's entry only whose it is (the words in
    their file are never repeated as if they were a command)."""
    if by_runner(entry):
        return "`conda " + " ".join(entry.argv[1:] or [entry.command]) + "`"
    return f"a conda of {writer_name(entry)}"
