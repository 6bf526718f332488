"""Read ``conda-meta/history``: the state it ends in, and the lines conda cannot read.

The history is conda's log of transactions, append-only:

    ==> 2024-05-01 10:00:00 <==          a revision starts
    # cmd: conda install numpy            comments (command, conda version, specs)
    -conda-forge/linux-64::numpy-1.26.3-py311h_0
    +conda-forge/linux-64::numpy-1.26.4-py311h_0

Our own parser, not conda's ``History`` class: that one raises on a malformed
file (``CondaHistoryError``, ``UnicodeDecodeError``, and an ``IndexError`` for a
leading comment before 24.7), its behaviour differs from version to version,
and this check must turn every oddity into a finding, never a crash. It follows
conda's reading of the format (``History.parse`` and ``construct_states``):

- lines before the first header are ignored;
- a revision with ``+``/``-`` lines is a diff; one without is a full state
  (very old histories). A revision with no package line at all is what conda
  writes when a transaction changed nothing by its count (``--force-reinstall``);
  conda then reads the state as empty and writes the next revision as a full
  list of ``+`` lines. So it resets the state as conda does, but when the
  history ends in one, the state before it is the one the records must match;
- packages are compared by ``name-version-build`` only: the channel part before
  ``::`` may be a canonical name, a URL (mamba) or absent (old histories).

The file is read only when it is a regular file of at most MAX_HISTORY_BYTES
(never through a symlink, never a FIFO or device); anything else is a problem
of the whole file. The parse is kept in a memo by the history file's stat key
and conda's version, whose ``MatchSpec`` judges the spec lines
(``conda-meta/integrity/history.json``): a large history is read once.
"""

from __future__ import annotations

import ast
import os
import re
import stat
from dataclasses import dataclass, field

from ..records.model import not_read
from ..records.reader import readable
from ..safe_read import ABSENT, read_file
from ..store import memo, schema

HISTORY = "conda-meta/history"
MEMO = "history.json"
#: the largest history read: conda appends a few hundred bytes per transaction,
#: so this is hundreds of thousands of transactions
MAX_HISTORY_BYTES = 128 * 1024 * 1024
#: what the memo keeps (see ``_to_json``)
MEMO_FORMAT = schema.fields(
    {
        "exists": schema.flag,
        "revisions": schema.whole,
        "installed": schema.list_of(schema.text),
        "problems": schema.list_of(schema.row(schema.whole, schema.text, schema.text)),
    }
)
_HEADER = re.compile(r"==>\s*(.+?)\s*<==")
_SPECS = re.compile(r"#\s*(\w+)\s*specs:\s*(.+)?")
_EXTENSIONS = (".tar.bz2", ".conda")
#: what each kind of problem does to conda
UNREADABLE_LINE = "conda cannot read this history and stops recording transactions in it"
UNLISTABLE = "conda list --revisions fails on it"
UNREADABLE_SPECS = "conda install, update and remove fail while this line is there"


@dataclass(frozen=True)
class HistoryProblem:
    """A line of the history that conda cannot read, or the file as a whole."""

    #: 1-based line number; 0 for the whole file
    line: int
    text: str
    reason: str


@dataclass(frozen=True)
class HistoryState:
    """What ``conda-meta/history`` says is installed."""

    exists: bool = True
    #: revisions (header lines) read
    revisions: int = 0
    #: name-version-build of each package the last state lists
    installed: frozenset[str] = field(default_factory=frozenset)
    problems: tuple[HistoryProblem, ...] = ()


def dist_of(entry: str) -> str | None:
    """``name-version-build`` of a history entry, or None if it is not one."""
    dist = entry.rsplit("::", 1)[-1].rsplit("/", 1)[-1].strip()
    for extension in _EXTENSIONS:
        if dist.endswith(extension):
            dist = dist[: -len(extension)]
    parts = dist.rsplit("-", 2)
    if len(parts) != 3 or not all(parts) or " " in dist:
        return None
    return dist


def parse_history(text: str) -> HistoryState:
    """The state a history's text ends in, and the lines conda cannot read."""
    problems: list[HistoryProblem] = []
    sections: list[list[tuple[int, str]]] = []
    spec_lines: list[tuple[int, str]] = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line:
            continue
        if _HEADER.match(line):
            sections.append([])
        elif not sections:
            continue  # before the first header: conda ignores it (pixi writes a comment there)
        elif line.startswith("#"):
            if _SPECS.match(line):
                spec_lines.append((number, line))
        else:
            sections[-1].append((number, line))

    state: set[str] = set()
    before_empty: set[str] | None = None
    for entries in sections:
        diff = any(line.startswith(("+", "-")) for _, line in entries)
        if not entries:
            before_empty = set(state) if before_empty is None else before_empty
            state = set()
            continue
        before_empty = None
        if not diff:
            state = set()
        for number, line in entries:
            sign, entry = (line[0], line[1:]) if diff else ("+", line)
            dist = dist_of(entry) if sign in "+-" else None
            if dist is None:
                reason = (
                    f"is not a +/- package line inside a revision of changes: {UNREADABLE_LINE}"
                    if sign not in "+-"
                    else f"does not name a package as name-version-build: {UNLISTABLE}"
                )
                problems.append(HistoryProblem(number, line, reason))
                continue
            if sign == "+":
                state.add(dist)
            else:
                state.discard(dist)
    if before_empty is not None:
        state = before_empty
    problems.extend(_spec_problems(spec_lines))
    return HistoryState(True, len(sections), frozenset(state), tuple(problems))


def last_revision_specs(text: str) -> frozenset[str] | None:
    """The spec lists (``remove_specs``, ``update_specs``, ``neutered_specs``) the
    history's last revision has a line for; None when it has no revision.

    conda writes a revision in two appends (``History.update``, then
    ``write_specs``): a transaction cut off between them leaves the revision
    without its spec lines."""
    kinds: set[str] | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if _HEADER.match(line):
            kinds = set()
        elif kinds is not None:
            match = _SPECS.match(line)
            if match is not None:
                kinds.add(f"{match.group(1)}_specs")
    return frozenset(kinds) if kinds is not None else None


def read_last_revision_specs(prefix: str) -> frozenset[str] | None:
    """:func:`last_revision_specs` of the prefix's history (None: no revision, or
    a history that cannot be read as text)."""
    data = read_file(os.path.join(prefix, HISTORY), MAX_HISTORY_BYTES).data
    if data is None:
        return None
    try:
        return last_revision_specs(data.decode("utf-8"))
    except UnicodeDecodeError:
        return None


def _spec_problems(lines: list[tuple[int, str]]) -> list[HistoryProblem]:
    """Spec comments conda's ``History.get_requested_specs_map`` would fail on: the
    solver reads them on every install, update and remove."""
    from conda.exceptions import CondaError
    from conda.models.match_spec import MatchSpec

    problems = []
    for number, line in lines:
        match = _SPECS.match(line)
        assert match is not None
        text = (match.group(2) or "").strip()
        if text.startswith("["):
            try:
                specs = ast.literal_eval(text)
            except (ValueError, SyntaxError, MemoryError, RecursionError):
                problems.append(
                    HistoryProblem(
                        number, line, f"has a spec list conda cannot read: {UNREADABLE_SPECS}"
                    )
                )
                continue
            if not isinstance(specs, list) or not all(isinstance(s, str) for s in specs):
                problems.append(
                    HistoryProblem(
                        number, line, f"has specs that are not strings: {UNREADABLE_SPECS}"
                    )
                )
                continue
        elif "[" in text:
            problems.append(
                HistoryProblem(
                    number, line, f"has a spec list conda cannot read: {UNREADABLE_SPECS}"
                )
            )
            continue
        else:
            continue  # conda < 4.5 wrote "a,b >=1,<2": ambiguous commas, read loosely by conda
        for spec in specs:
            if not spec or spec.endswith("@"):
                continue
            try:
                MatchSpec(spec)
            except (CondaError, ValueError, TypeError) as error:
                problems.append(
                    HistoryProblem(
                        number,
                        line,
                        f"has a spec conda cannot read, {spec!r} ({error}): {UNREADABLE_SPECS}",
                    )
                )
    return problems


def _stat_key(info: os.stat_result) -> list[int]:
    return [info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns]


def read_history(prefix: str, settled_ns: int, reuse: bool, save: bool) -> HistoryState:
    """The parsed ``conda-meta/history`` of ``prefix`` (kept in a memo by its stat key:
    read from it if ``reuse``, written to it if ``save``)."""
    from conda import __version__ as conda_version

    path = os.path.join(prefix, HISTORY)
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return HistoryState(exists=False)
    except OSError as error:
        return _unreadable(f"cannot be examined ({error.strerror or error})")
    key = [*_stat_key(info), str(conda_version)]
    # what was read of it says nothing about whether this user may read it
    usable = stat.S_ISREG(info.st_mode) and readable(path)
    kept = memo.load(prefix, MEMO, key, MEMO_FORMAT) if reuse and usable else None
    if isinstance(kept, dict):
        try:
            return _from_json(kept)
        except (TypeError, KeyError, ValueError):
            pass
    read = read_file(path, MAX_HISTORY_BYTES)
    data = read.data
    if data is None:
        if read.problem == ABSENT:
            return HistoryState(exists=False)
        return _unreadable(not_read(path, read.problem))
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        state = HistoryState(
            problems=(
                HistoryProblem(
                    0,
                    "",
                    f"conda-meta/history is not UTF-8 text ({error.reason} at byte {error.start}): "
                    f"{UNREADABLE_LINE}",
                ),
            )
        )
    else:
        state = parse_history(text)
    if save and info.st_ctime_ns < settled_ns:
        memo.save(prefix, MEMO, key, _to_json(state))
    return state


def _unreadable(reason: str) -> HistoryState:
    """The history as a whole could not be read: ``reason`` says why."""
    text = f"conda-meta/history {reason}; verify did not read it"
    return HistoryState(problems=(HistoryProblem(0, "", text),))


def _to_json(state: HistoryState) -> dict:
    return {
        "exists": state.exists,
        "revisions": state.revisions,
        "installed": sorted(state.installed),
        "problems": [[p.line, p.text, p.reason] for p in state.problems],
    }


def _from_json(data: dict) -> HistoryState:
    return HistoryState(
        exists=bool(data["exists"]),
        revisions=int(data["revisions"]),
        installed=frozenset(data["installed"]),
        problems=tuple(HistoryProblem(int(n), str(t), str(r)) for n, t, r in data["problems"]),
    )
