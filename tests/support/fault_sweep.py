"""The fault sweep: kill a real conda transaction at each of its changes on disk in turn.

For one :class:`Transaction` the sweep makes a sandbox with the environment before
it, keeps a copy (``cp -a``: hard links between the package cache and the prefix
stay hard links), and runs the transaction once to the end through ``kill_at.py``
to learn how many changes it makes (its kill points) and what the prefix looks
like after it. Then, for each kill point ``k``, it puts the copy back, runs the
transaction again killed before its ``k``-th change, and classes what is on disk
as conda sees a prefix, its records against its files:

- ``before``: the records, the files and the history are those from before;
- ``after``: they are those of the finished transaction (only conda's own
  leftovers, ``*.c~`` backups say, may remain);
- ``out-of-step``: anything else (files without a record, a record without its
  files, records without their history entry, a half-written record).

Then it runs ``conda integrity verify`` and the next guarded command (a dry run
of an install into the prefix), to see what a user would be told.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.conda_cli import Conda, Result

KILL_RUNNER = Path(__file__).with_name("kill_at.py")
#: changes that write into an existing file (a hard-linked copy would share them)
IN_PLACE = frozenset(
    {"open", "os.chmod", "os.utime", "os.truncate", "shutil.copystat", "shutil.copymode"}
)

BEFORE = "before"
AFTER = "after"
OUT_OF_STEP = "out-of-step"

#: names conda gives its own leftovers: not part of a prefix's content
_LEFTOVER = re.compile(
    r"(\.c~|\.conda_trash)$|^\.condatmp(/|$)|^\.tmp\w{8}$|^\.tmp\.index\.json(\.\w{8})?$"
)


@dataclass(frozen=True)
class Transaction:
    """A conda command swept over: ``base`` are the specs of the environment before it
    (none: the command creates it), ``args`` the command (``-p PREFIX --yes`` added)."""

    name: str
    base: tuple[str, ...]
    args: tuple[str, ...]
    #: a package to name in the dry run that follows (installed or not, never mind)
    probe: str = "zlibby"


TRANSACTIONS = (
    # new packages: hard links, symlinks, prefix replacement, a post-link script
    Transaction("install", ("python", "libfoo=1.0"), ("install", "footools", "zlibby", "chmodder")),
    # unlinks (files renamed to .c~) and links of the new version
    Transaction("update", ("python", "libfoo=1.0", "footools"), ("install", "libfoo=2.0")),
    Transaction("remove", ("python", "libfoo=1.0", "footools", "zlibby"), ("remove", "zlibby")),
    # site-packages, .pyc files (compiled by a child process) and an entry point
    Transaction("noarch", ("python",), ("install", "pyfoo")),
    Transaction("create", (), ("create", "python", "libfoo=1.0", "pyfoo")),
)


@dataclass(frozen=True)
class DiskView:
    """A prefix as conda sees it: its records, its files, its history."""

    exists: bool
    #: it has a conda-meta folder (a create began the environment)
    meta: bool
    #: record stem -> the paths it lists (None: a record conda cannot read)
    records: dict[str, tuple[str, ...] | None]
    #: every file and symlink, outside conda-meta and but for conda's leftovers
    files: frozenset[str]
    #: conda-meta/history's lines, each revision's time left out (None: no history):
    #: a revision without its spec lines is neither the history before nor after
    history: tuple[str, ...] | None

    def same_as(self, other: DiskView) -> bool:
        return (
            self.meta == other.meta
            and self.records == other.records
            and self.files == other.files
            and self.history == other.history
        )

    @property
    def empty(self) -> bool:
        return not (self.meta or self.records or self.files or self.history is not None)


def view_of(prefix: Path) -> DiskView:
    """What is in ``prefix`` now."""
    if not prefix.is_dir():
        return DiskView(False, False, {}, frozenset(), None)
    files = set()
    for folder, dirs, names in os.walk(prefix):
        relative = os.path.relpath(folder, prefix)
        if relative == "conda-meta":
            dirs[:] = []
            continue
        links = [d for d in dirs if os.path.islink(os.path.join(folder, d))]
        for name in [*names, *links]:
            path = os.path.normpath(os.path.join(relative, name))
            if not _LEFTOVER.search(path):
                files.add(path)
    records: dict[str, tuple[str, ...] | None] = {}
    for record in (prefix / "conda-meta").glob("*.json"):
        try:
            records[record.stem] = tuple(json.loads(record.read_bytes())["files"])
        except (OSError, ValueError, KeyError, TypeError):
            records[record.stem] = None
    try:
        text = (prefix / "conda-meta" / "history").read_text(errors="replace")
        history: tuple[str, ...] | None = tuple(_history_line(line) for line in text.splitlines())
    except OSError:
        history = None
    return DiskView(True, (prefix / "conda-meta").is_dir(), records, frozenset(files), history)


def _history_line(line: str) -> str:
    """A history line as two runs of one transaction write it alike: a revision's
    time left out, a spec list sorted (conda writes a set's order, which differs
    from process to process)."""
    if line.startswith("==>"):
        return "==>"
    match = re.match(r"(# \w+ specs: )(\[.*\])$", line)
    if match is not None:
        try:
            return match.group(1) + repr(sorted(ast.literal_eval(match.group(2))))
        except (ValueError, SyntaxError, TypeError):
            pass
    return line


def classify(now: DiskView, before: DiskView, after: DiskView) -> str:
    if now.same_as(before) or (not before.exists and now.empty):
        return BEFORE
    if now.same_as(after):
        return AFTER
    return OUT_OF_STEP


@dataclass
class Outcome:
    """What one kill point left and what the user is told about it."""

    k: int
    #: the change conda was about to make (from the full run): event and path
    change: str
    returncode: int
    state: str
    #: error finding codes of ``verify``; its exit code
    errors: list[str]
    verify_exit: int
    #: the guard's lines in the next guarded command
    guard_says: list[str]
    #: tracebacks or unexpected exits, in words
    crashes: list[str] = field(default_factory=list)

    @property
    def caught(self) -> bool:
        return bool(self.errors) and bool(self.guard_says)

    @property
    def false_alarm(self) -> bool:
        return self.state == BEFORE and bool(self.errors or self.guard_says)

    @property
    def ok(self) -> bool:
        if self.crashes or self.false_alarm:
            return False
        if self.state == OUT_OF_STEP:
            return self.caught
        # a finished transaction that died after conda's work: no error either
        return not self.errors and not self.guard_says

    def __str__(self) -> str:
        return (
            f"k={self.k} [{self.change}] exit {self.returncode}: {self.state}; "
            f"verify {self.verify_exit} {self.errors}; guard {self.guard_says}; "
            f"crashes {self.crashes}"
        )


def _guard_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "conda-integrity" in line]


class Sweep:
    """One transaction's kill points, in a sandbox of their own under ``root``.

    Every point starts from the same sandbox, put back as hard links to a kept
    copy (``cp -al``): the prefix's files keep the inodes and times that the
    guard's snapshot knows, as if nothing had happened since. The few files a run
    changes in place (conda-meta/history, the package cache's index, ...) are
    copies of their own.
    """

    def __init__(self, channel: Path, root: Path, transaction: Transaction) -> None:
        self.transaction = transaction
        self.root = root
        self.live = root / "sandbox"
        self.template = root / "template"
        # one thread for each of conda's pools: the k-th change is the same in every run
        self.conda = Conda(self.live, channel, "default_threads: 1\n")
        self.prefix = self.live / "env"
        self.changes: list[str] = []
        self.own_copies: list[str] = []

    def prepare(self) -> int:
        """Make the environment before, run the transaction to its end; the number
        of kill points."""
        if self.transaction.base:
            self.conda.create(self.prefix, *self.transaction.base)
        self.live.rename(self.template)
        # a first run on a full copy tells which files a run changes in place
        subprocess.run(["cp", "-a", str(self.template), str(self.live)], check=True)
        log = self.root / "changes.log"
        assert self._run(None, KILL_LOG_FILE=str(log)).returncode == 0
        self.own_copies = sorted(
            {
                os.path.relpath(path, self.live)
                for event, path in (line.split("\t")[1:] for line in log.read_text().splitlines())
                if event in IN_PLACE
            }
        )
        log.unlink()
        self._restore()
        self.before = view_of(self.prefix)
        total = self.root / "total"
        result = self._run(None, KILL_LOG_FILE=str(log), KILL_COUNT_FILE=str(total))
        assert result.returncode == 0, str(result)
        self.after = view_of(self.prefix)
        self.changes = [line.split("\t", 1)[1] for line in log.read_text().splitlines()]
        assert int(total.read_text()) == len(self.changes)
        return len(self.changes)

    def _restore(self) -> None:
        if self.live.exists():
            shutil.rmtree(self.live)
        subprocess.run(["cp", "-al", str(self.template), str(self.live)], check=True)
        for relative in self.own_copies:
            path = self.live / relative
            if path.is_file() and not path.is_symlink():
                copy = path.with_name(path.name + ".own-copy")
                shutil.copy2(path, copy)
                os.replace(copy, path)

    def _run(self, kill_at: int | None, **env: str) -> Result:
        roots = os.pathsep.join(
            str(p) for p in (self.prefix, self.conda.pkgs_dir, self.conda.home / ".cache")
        )
        if kill_at is not None:
            env["KILL_AT"] = str(kill_at)
        # the channel's index, which conda refreshes before it solves: a kill there
        # is before the transaction, whatever it leaves
        env["KILL_SKIP"] = str(self.conda.pkgs_dir / "cache")
        args = (self.transaction.args[0], "-p", str(self.prefix), "--yes")
        return self.conda.run(
            *args,
            *self.transaction.args[1:],
            check=False,
            env={"KILL_ROOTS": roots, **env},
            runner=KILL_RUNNER,
            timeout=240,
        )

    def point(self, k: int, interrupt: bool = False) -> Outcome:
        """Kill the transaction before its ``k``-th change (with ``interrupt``, press
        Ctrl-C there instead); what that leaves."""
        self._restore()
        killed = self._run(k, **({"KILL_SIGNAL": "INT"} if interrupt else {}))
        state = classify(view_of(self.prefix), self.before, self.after)
        crashes = []
        # the guard's own writes before the transaction vary by one or two with the
        # time since the prefix last changed: the last points may find it finished
        if killed.returncode not in (-9, 0) and not interrupt:
            crashes.append(f"conda failed: {killed}")
        if "Traceback" in killed.stderr:
            crashes.append(f"conda: {killed}")
        report = self.conda.run("integrity", "verify", "-p", str(self.prefix), "--json", check=0)
        errors: list[str] = []
        if report.returncode in (0, 1):
            document = json.loads(report.stdout)
            errors = [f["code"] for f in document["findings"] if f["severity"] == "error"]
        elif not (report.returncode == 2 and state == BEFORE):
            crashes.append(f"verify: {report}")  # exit 2 only for "not an environment"
        if "Traceback" in report.stderr:
            crashes.append(f"verify: {report}")
        probe = self.conda.run(
            "install", "-p", str(self.prefix), "--dry-run", self.transaction.probe, check=False
        )
        if "Traceback" in probe.stderr:
            crashes.append(f"next command: {probe}")
        return Outcome(
            k,
            self.changes[k - 1] if k <= len(self.changes) else "?",
            killed.returncode,
            state,
            errors,
            report.returncode,
            _guard_lines(probe.stderr),
            crashes,
        )


def sample(changes: list[str]) -> list[int]:
    """A few telling kill points of a transaction (1-based): its first change, the
    first and the last change conda makes in the prefix, its first record written,
    its history written, the first and last of the guard's own writes after
    conda's work, and the last two of those in its journal."""

    def where(k: int) -> str:
        return changes[k - 1].split("\t", 1)[1]

    def ours(k: int) -> bool:
        return "/conda-meta/integrity" in where(k)

    everything = range(1, len(changes) + 1)
    in_prefix = [k for k in everything if "/env/" in where(k) and not ours(k)]
    records = [k for k in in_prefix if re.search(r"/conda-meta/[^/]+\.json$", where(k))]
    history = [k for k in in_prefix if where(k).endswith("/conda-meta/history")]
    last = in_prefix[-1] if in_prefix else 0
    guard_after = [k for k in everything if k > last and ours(k)]
    picked = {1, *in_prefix[:1], *in_prefix[-1:], *records[:1], *history[-1:]}
    picked.update(guard_after[:1] + guard_after[-1:])
    # the journal's last entry written: a kill there once left an open entry behind
    # a finished create
    journal = [k for k in guard_after if "/integrity/journal/" in where(k)]
    picked.update(journal[-2:])
    return sorted(picked)


def figures(outcomes: list[Outcome]) -> dict[str, int]:
    """The counts the README gives for a sweep."""
    out_of_step = [o for o in outcomes if o.state == OUT_OF_STEP]
    return {
        "points": len(outcomes),
        BEFORE: sum(o.state == BEFORE for o in outcomes),
        AFTER: sum(o.state == AFTER for o in outcomes),
        OUT_OF_STEP: len(out_of_step),
        "caught": sum(o.caught for o in out_of_step),
        "missed": sum(not o.caught for o in out_of_step),
        "false alarms": sum(o.false_alarm for o in outcomes),
        "crashes": sum(bool(o.crashes) for o in outcomes),
    }
