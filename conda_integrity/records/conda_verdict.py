"""Whether conda itself can load a record, judged by conda's own record model.

conda loads every record of a prefix into a ``PrefixRecord`` (``PrefixData``
does it for ``conda list``, ``install``, ``remove``, ...), and a field of a type
its model rejects (a ``depends`` that is not a list of strings, a ``channel``
that is a number, a ``paths_data`` that is a list) stops the command. The same
model judges here, so the verdict is conda's, not a copy of its rules.

Building a ``PrefixRecord`` costs about four times parsing the JSON (0.2 s for
a 14,000-path record), so a record conda loaded is remembered with the stat key
of its file, and conda's version, in ``conda-meta/integrity/loadable.json``: an
unchanged record is not judged again.
"""

from __future__ import annotations

import contextlib
import os
from typing import Any

from .. import __version__
from ..store.state_file import StateFile
from .model import shown_value

FILE_NAME = "loadable.json"
FORMAT = 1
#: what a finding quotes of conda's own error message
_MESSAGE_CHARS = 200


def conda_rejects(raw: dict[str, Any]) -> str | None:
    """Why conda's ``PrefixRecord`` cannot be made of ``raw``, or None when it can."""
    from conda.models.records import PrefixRecord

    try:
        PrefixRecord(**raw)
    except Exception as error:  # conda's model raises many kinds: its verdict is any
        return _why(raw, error)
    return None


def _message(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    text = " ".join(line.strip() for line in lines) or type(error).__name__
    return text if len(text) <= _MESSAGE_CHARS else text[:_MESSAGE_CHARS] + "..."


def _why(raw: dict[str, Any], error: BaseException) -> str:
    """Name the field conda rejects: the first one that conda rejects on its own,
    in a record that has nothing else."""
    from conda.models.records import PrefixRecord

    least = {"name": "x", "version": "1", "build": "0", "build_number": 0}
    for key, value in raw.items():
        try:
            PrefixRecord(**{**least, key: value})
        except Exception as alone:
            return f"has a {key!r} conda cannot load, {shown_value(value)} ({_message(alone)})"
    return f"cannot be loaded by conda ({_message(error)})"


def _conda_version() -> str:
    from conda import __version__ as conda_version

    return str(conda_version)


def _stat_key(info: os.stat_result) -> list[int]:
    return [info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns]


class CondaVerdicts:
    """conda's verdicts on the records of one prefix: judged now, or remembered for
    a record file whose stat key has not changed since it was judged."""

    def __init__(
        self,
        record_files: dict[str, os.stat_result],
        settled_ns: int,
        remembered: dict[str, list[int]] | None = None,
    ) -> None:
        self.record_files = record_files
        #: records changed after this (timestamps are coarse) are not remembered
        self.settled_ns = settled_ns
        self.remembered = remembered or {}
        self.learned: dict[str, list[int]] = {}
        #: how many records conda's model judged in this run
        self.judged = 0

    @classmethod
    def load(
        cls, prefix: str, record_files: dict[str, os.stat_result], settled_ns: int
    ) -> CondaVerdicts:
        """The verdicts remembered for ``prefix`` (none when the file is unusable or
        was written for another conda)."""
        data = _file(prefix).read()
        records = data.get("records") if data is not None else None
        if data is None or data.get("conda") != _conda_version() or not isinstance(records, dict):
            return cls(record_files, settled_ns)
        return cls(record_files, settled_ns, records)

    def rejects(self, stem: str, raw: dict[str, Any], loadable: bool = False) -> str | None:
        """Why conda cannot load the record ``stem`` (parsed as ``raw``), or None.

        ``loadable``: conda's model loaded the same bytes earlier in this run.
        """
        info = self.record_files.get(stem)
        key = _stat_key(info) if info is not None else None
        if key is not None and self.remembered.get(stem) == key:
            return None
        if loadable:
            reason = None
        else:
            self.judged += 1
            reason = conda_rejects(raw)
        if reason is None and info is not None and info.st_ctime_ns < self.settled_ns:
            self.learned[stem] = _stat_key(info)
        return reason

    def save(self, prefix: str) -> None:
        """Keep the verdicts of the records still there and unchanged (a cache:
        failures are ignored)."""
        kept = {
            stem: key
            for stem, key in {**self.remembered, **self.learned}.items()
            if stem in self.record_files and _stat_key(self.record_files[stem]) == key
        }
        if kept == self.remembered:
            return
        with contextlib.suppress(OSError):
            _file(prefix).write({"conda": _conda_version(), "records": kept})
        self.remembered, self.learned = kept, {}


def _file(prefix: str) -> StateFile:
    return StateFile.in_prefix(prefix, FILE_NAME, FORMAT, version=__version__)
