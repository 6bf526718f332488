"""The journal of guarded transactions: an entry per conda command that changes a prefix.

An entry is written (durably) before the transaction starts, with the command,
the process and the snapshot taken before, completed with the plan once conda
knows it, and closed when the command ends. While it runs, the command's process
holds a lock on the entry's lock file; the kernel releases it when the process
ends in any way (even SIGKILL), so "started" with a free lock means the process
is gone without finishing, and a held lock means another conda is at work now.
Entries and locks are opened relative to the journal's folder, never through a
symlink (:mod:`.state_dir`).

An entry read from a journal is known by its file (:class:`Written`): whose it is
and when it last changed, which tell what of it the runner may act on
(:mod:`.entry_writer`).
"""

from __future__ import annotations

import contextlib
import os
import stat
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import IO, Any, NamedTuple

from . import schema
from .paths import JOURNAL
from .state_dir import StateDir, running_user
from .state_file import StateFile

FOLDER = JOURNAL
KEEP = 200
#: an open entry's copy of conda-meta/history as it was before (``<id>.history``)
HISTORY_SUFFIX = ".history"
#: ids of the entries whose lock this process holds (its own command): a pid says
#: less, since a dead conda's pid may be this process's now
_HELD: set[str] = set()

STARTED = "started"  # the command is running, or died before it ended
FAILED = "failed"  # the command raised an error (seen on conda >= 26.5)
FINISHED = "finished"  # the command ended normally
CLOSED = "closed"  # it did not finish, but changed nothing (a failed solve, say)
INTERRUPTED = "interrupted"  # it did not finish and left the prefix changed
OPEN_STATES = (STARTED, FAILED)

#: conda's own steps of a transaction, in its order (24.7 and 26.7 alike): the
#: unlinks (files renamed to ``.c~``, then the record), the links, the records of
#: what it linked, and its history entry: the revision (``+``/``-`` lines), then
#: the spec lines; conda 26 runs the post-transaction actions after them, and
#: both delete their ``.c~`` backups last. A transaction is finished when all of
#: these are done; the outcome of one cut off names the first that is not.
UNLINK, LINK, RECORDS, HISTORY, HISTORY_SPECS = (
    "unlink",
    "link",
    "records",
    "history",
    "history-specs",
)
STEPS = (UNLINK, LINK, RECORDS, HISTORY, HISTORY_SPECS)
#: the plan's spec lists, by the kind conda's history names them (``# remove specs:``)
SPEC_KINDS = ("remove_specs", "update_specs", "neutered_specs")


class Written(NamedTuple):
    """An entry's file, as found in its journal."""

    #: its path
    path: str
    #: its owner: who wrote it (None: the platform has no owners of files)
    uid: int | None
    #: when it last changed (its ctime)
    changed: float


@dataclass
class Entry:
    id: str
    command: str
    argv: list[str]
    pid: int
    started: float
    state: str = STARTED
    #: number of the snapshot taken before the transaction
    before: int | None = None
    #: {"unlink": [stems], "link": [stems]}, once conda has solved, and the specs
    #: its history entry will list (``SPEC_KINDS``: those conda writes a line for)
    plan: dict[str, list[str]] | None = None
    ended: float | None = None
    #: number of the snapshot taken after it
    after: int | None = None
    #: finding codes the guard reported after it, or what an interruption left
    outcome: dict[str, Any] = field(default_factory=dict)
    #: its file, for an entry read from a journal (None: this process made it); never
    #: saved: it is what the file is, not what it says
    written: Written | None = field(default=None, compare=False)
    #: the size of conda-meta/history before it, kept as ``<id>.history`` (None: not kept)
    history_bytes: int | None = None


_STEMS = schema.list_of(schema.text)
#: what an entry's outcome may say (see ``verify.interruptions`` and ``guard.entry``)
OUTCOME_FORMAT = schema.fields(
    {},
    {
        **{
            key: _STEMS
            for key in (
                "findings",
                "unlinked",
                "still_recorded",
                "linked",
                "not_recorded",
                "backups",
                "records_added",
                "records_removed",
                "history_specs_missing",
                "half_written",
            )
        },
        **{key: schema.whole for key in ("files_without_record", "files_gone", "files_changed")},
        **{
            key: schema.flag
            for key in (
                "history_written",
                "history_out_of_step",
                "history_emptied",
                "changed",
            )
        },
        **{key: schema.text for key in ("error", "unchecked")},
        "step": schema.one_of(*STEPS),
    },
)


def _snapshot_number(value: Any) -> bool:
    return schema.whole(value) and value >= 1


#: an entry's file: the fields of :class:`Entry`, each of its type
ENTRY_FORMAT = schema.exactly(
    {
        "id": schema.file_name,
        "command": schema.text,
        "argv": schema.list_of(schema.text),
        "pid": schema.whole,
        "started": schema.timestamp,
    },
    {
        "state": schema.one_of(STARTED, FAILED, FINISHED, CLOSED, INTERRUPTED),
        "before": schema.optional(_snapshot_number),
        "plan": schema.optional(
            schema.fields({"unlink": _STEMS, "link": _STEMS}, {kind: _STEMS for kind in SPEC_KINDS})
        ),
        "ended": schema.optional(schema.timestamp),
        "after": schema.optional(_snapshot_number),
        "outcome": OUTCOME_FORMAT,
        "history_bytes": schema.optional(schema.whole),
    },
)


@dataclass(frozen=True)
class OpenTransaction:
    """A journal entry that has not ended normally."""

    entry: Entry
    #: its conda is at work right now (another process)
    running: bool


def _folder(guard_dir: StateDir) -> StateDir:
    return guard_dir.sub(FOLDER)


def _entry_file(guard_dir: StateDir, name: str) -> StateFile:
    """The file of one entry (``<id>.json``): no format number, as always; written
    durably, since it must outlive the command it tells of."""
    return StateFile.in_folder(_folder(guard_dir), name, None, durable=True)


def saved(entry: Entry) -> dict[str, Any]:
    """What the entry's file holds (:data:`ENTRY_FORMAT`): all it says, not its file."""
    data = asdict(entry)
    del data["written"]
    return data


def save(guard_dir: StateDir, entry: Entry) -> None:
    """Write ``entry`` (OSError when that fails); the history kept for it goes once
    it ended without leaving anything to put back."""
    _entry_file(guard_dir, entry.id + ".json").write(saved(entry))
    if entry.history_bytes is not None and entry.state in (FINISHED, CLOSED):
        with contextlib.suppress(OSError):
            _folder(guard_dir).remove(entry.id + HISTORY_SUFFIX)


def keep_history(guard_dir: StateDir, entry: Entry, prefix: str) -> None:
    """Keep the prefix's ``conda-meta/history`` as it is before the transaction: a
    hard link to it in the journal (no copy: it costs no room, which may be short),
    and its size in the entry. conda appends to the file in place, so its first
    ``history_bytes`` stay those of before, even when a roll-back or a full disk
    puts another file in its place. Nothing is kept when the link cannot be made, nor
    of another user's history (a link changes its ctime, and is not ours to keep)."""
    path = os.path.join(prefix, "conda-meta", "history")
    try:
        info = os.lstat(path)
        if not stat.S_ISREG(info.st_mode) or info.st_uid != running_user():
            return
        with _folder(guard_dir).opened(write=True) as folder:
            name, dir_fd = folder.at(entry.id + HISTORY_SUFFIX)
            os.link(path, name, dst_dir_fd=dir_fd, follow_symlinks=False)
    except (OSError, NotImplementedError):
        return
    entry.history_bytes = info.st_size


def kept_history(guard_dir: StateDir, entry: Entry, max_bytes: int) -> bytes | None:
    """conda-meta/history as it was before ``entry``'s transaction, if it was kept
    (and is still a regular file of the journal's owner, at least that long)."""
    if entry.history_bytes is None or entry.history_bytes > max_bytes:
        return None
    data = _folder(guard_dir).read(entry.id + HISTORY_SUFFIX, max_bytes)
    if data is None or len(data) < entry.history_bytes:
        return None
    return data[: entry.history_bytes]


def begin(
    guard_dir: StateDir,
    command: str,
    argv: list[str],
    before: int | None,
    prefix: str | None = None,
) -> tuple[Entry, IO]:
    """Write a new entry and take its lock (with ``prefix``, keep its history as it is
    now); keep the returned file open until the end."""
    entry = _new_entry(command, argv, before)
    lock = _folder(guard_dir).open_lock(entry.id + ".lock")
    try:
        _lock(lock, exclusive=True)
    except BaseException:
        lock.close()
        raise
    _HELD.add(entry.id)
    if prefix is not None:
        keep_history(guard_dir, entry, prefix)
    save(guard_dir, entry)
    _prune(guard_dir)
    return entry, lock


def _new_entry(command: str, argv: list[str], before: int | None) -> Entry:
    now = time.time()
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now)) + f".{int(now % 1 * 1e6):06d}"
    return Entry(
        id=f"{stamp}-{os.getpid()}",
        command=command,
        argv=argv,
        pid=os.getpid(),
        started=now,
        before=before,
    )


def write_finished(guard_dir: StateDir, command: str, argv: list[str], after: int) -> Entry:
    """Write an entry of work already done, finished from its first write: a kill
    while writing it leaves either no entry or a finished one, never an open one."""
    entry = _new_entry(command, argv, None)
    entry.state, entry.after, entry.ended = FINISHED, after, entry.started
    save(guard_dir, entry)
    _prune(guard_dir)
    return entry


def end(guard_dir: StateDir, entry: Entry, lock: IO | None) -> None:
    """Write the entry's final state and let go of its lock."""
    entry.ended = entry.ended or time.time()
    save(guard_dir, entry)
    _HELD.discard(entry.id)
    if lock is not None:
        lock.close()
        with contextlib.suppress(OSError):
            _folder(guard_dir).remove(entry.id + ".lock")


def discard(guard_dir: StateDir, entry: Entry, lock: IO | None) -> None:
    """Remove an entry and its lock file, as if it had never been begun."""
    _HELD.discard(entry.id)
    folder = _folder(guard_dir)
    with contextlib.suppress(OSError):
        folder.remove(entry.id + HISTORY_SUFFIX)
    try:
        folder.remove(entry.id + ".json")
    except FileNotFoundError:
        pass
    except OSError:  # it stays: closed, so that nobody takes it for an interruption
        entry.state, entry.outcome = CLOSED, {"changed": False}
        with contextlib.suppress(OSError):
            save(guard_dir, entry)
    if lock is not None:
        lock.close()
    with contextlib.suppress(OSError):
        folder.remove(entry.id + ".lock")


def release(entry: Entry, lock: IO | None) -> None:
    """Let go of the entry's lock without ending it (the next run judges it)."""
    _HELD.discard(entry.id)
    if lock is not None:
        lock.close()


def newest_first(guard_dir: StateDir, skipped: list[str] | None = None) -> Iterator[Entry]:
    """The entries kept, newest first, read one by one; unusable ones are skipped
    (and named in ``skipped``, if given)."""
    for _, entry in _named_entries(guard_dir, skipped):
        yield entry


def _named_entries(
    guard_dir: StateDir, skipped: list[str] | None = None
) -> Iterator[tuple[str, Entry]]:
    """The usable entries kept with their file names, newest first."""
    folder = _folder(guard_dir)
    names = sorted((n for n in folder.names() if n.endswith(".json")), reverse=True)
    for name in names:
        data = _entry_file(guard_dir, name).read()
        # after the read: a file put in its place since changed later still
        info = folder.lstat(name) if data is not None else None
        # the entry's id names its files: it must be the name it was found under
        if (
            data is not None
            and info is not None
            and schema.valid(ENTRY_FORMAT, data)
            and data["id"] + ".json" == name
        ):
            uid = info.st_uid if running_user() is not None else None
            written = Written(os.path.join(folder.path, name), uid, info.st_ctime)
            yield name, Entry(**data, written=written)
        elif skipped is not None:
            skipped.append(f"{FOLDER}/{name}: not a journal entry we can read")


def is_own(entry: Entry) -> bool:
    """Whether the entry is this process's own command, at work."""
    return entry.id in _HELD


def is_running(guard_dir: StateDir, entry: Entry) -> bool:
    """Whether the entry's process still holds its lock (is still at work)."""
    if entry.id in _HELD:
        return True  # this process's own command (its lock would refuse us too)
    # never blocks: a FIFO in its place is not waited on, a symlink not followed
    handle = _folder(guard_dir).open_existing(entry.id + ".lock")
    if handle is None:
        return False  # lock files go away only when an entry ends (or not a lock file)
    with handle:
        try:
            _lock(handle, exclusive=False)
        except OSError:
            return True
        return False


def _lock(handle: IO, exclusive: bool) -> None:
    """Lock without waiting; OSError when another process holds the lock."""
    if sys.platform == "win32":  # a byte-range lock does the same there
        import msvcrt

        handle.seek(0)
        msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
    else:
        import fcntl

        mode = fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH
        fcntl.flock(handle.fileno(), mode | fcntl.LOCK_NB)


def _prune(guard_dir: StateDir) -> None:
    folder = _folder(guard_dir)
    names = sorted((n for n in folder.names() if n.endswith(".json")), reverse=True)
    # only the entries beyond the newest KEEP are read: this runs on every command
    for name in names[KEEP:]:
        data = _entry_file(guard_dir, name).read()
        if data is None or not schema.valid(ENTRY_FORMAT, data) or data["state"] in OPEN_STATES:
            continue
        # by the file's name, not the id it holds
        stem = name.removesuffix(".json")
        for file_name in (name, stem + ".lock", stem + HISTORY_SUFFIX):
            with contextlib.suppress(OSError):
                folder.remove(file_name)
