"""The store type of our own JSON state: what it writes, and that reading a
file that is not a usable state file gives None, never a hang or a crash."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import pytest

from conda_integrity.safe_read import read_regular_file
from conda_integrity.store.state_dir import StateDir, running_user
from conda_integrity.store.state_file import StateFile
from tests.support.helpers import wrong_type


def folder(path: Path) -> StateDir:
    """The state folder ``path`` (its parent opened as named)."""
    return StateDir(str(path.parent), (path.name,), running_user())


@pytest.fixture
def state(tmp_path: Path) -> StateFile:
    (tmp_path / "conda-meta").mkdir()
    return StateFile.in_prefix(str(tmp_path), "thing.json", 2, version="1.2.3")


def test_writes_format_and_version_beside_the_payload(state: StateFile) -> None:
    state.write({"records": {"a": 1}})
    # the layout every existing state file has: format, version, then the payload
    assert Path(state.path).read_bytes() == b'{"format":2,"version":"1.2.3","records":{"a":1}}'
    assert state.read() == {"records": {"a": 1}}
    assert os.path.dirname(state.path).endswith(os.path.join("conda-meta", "integrity"))


def test_a_file_without_a_format_number(tmp_path: Path) -> None:
    entry = StateFile.in_folder(folder(tmp_path / "journal"), "1.json", None, durable=True)
    entry.write({"id": "1", "format": "free text"})
    assert json.loads(Path(entry.path).read_text()) == {"id": "1", "format": "free text"}
    assert entry.read() == {"id": "1", "format": "free text"}


@pytest.mark.parametrize(
    "content",
    [
        b'{"format":1,"version":"1.2.3","records":{}}',  # another format
        b'{"format":2,"version":"1.2.2","records":{}}',  # another version
        b'{"format":2,"records":{}}',  # no version
        b"[2]",  # not an object
        b'{"format":2,"version":"1.2.3","rec',  # cut short
        b"\xff\xfe\xfa",  # not text
        b"[" * 100_000 + b"]" * 100_000,  # nested too deep to parse
    ],
)
def test_unusable_content_reads_as_none(state: StateFile, content: bytes) -> None:
    os.makedirs(os.path.dirname(state.path), exist_ok=True)
    Path(state.path).write_bytes(content)
    assert state.read() is None


def test_a_file_over_the_bound_reads_as_none(tmp_path: Path) -> None:
    small = StateFile(folder(tmp_path / "state"), "small.json", 1, max_bytes=64)
    small.write({"value": "x" * 40})
    assert small.read() == {"value": "x" * 40}
    small.write({"value": "x" * 80})
    assert small.read() is None


def _read_within(state: StateFile, seconds: float = 10) -> object:
    """``state.read()``, failing the test if it does not return in time."""
    result: list[object] = []
    reader = threading.Thread(target=lambda: result.append(state.read()), daemon=True)
    reader.start()
    reader.join(seconds)
    assert not reader.is_alive(), f"reading {state.path} hangs"
    return result[0]


def test_special_files_read_as_none(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    valid = state / "valid.json"
    valid.write_text('{"format":1,"value":1}')
    (state / "link.json").symlink_to(valid)
    (state / "zero.json").symlink_to("/dev/zero")
    os.mkfifo(state / "fifo.json")
    (state / "folder.json").mkdir()
    assert _read_within(StateFile(folder(state), "valid.json", 1)) == {"value": 1}
    for name in ("link.json", "zero.json", "fifo.json", "folder.json", "absent.json"):
        assert _read_within(StateFile(folder(state), name, 1)) is None, name
    assert read_regular_file("/dev/zero") is None


def test_a_write_replaces_a_symlink_without_following_it(tmp_path: Path) -> None:
    outside = tmp_path / "outside.json"
    outside.write_text("not ours")
    state = StateFile(folder(tmp_path / "state"), "thing.json", 1)
    Path(state.path).parent.mkdir()
    Path(state.path).symlink_to(outside)
    state.write({"value": 1})
    assert not os.path.islink(state.path)
    assert outside.read_text() == "not ours"
    assert state.read() == {"value": 1}


# -- what a state file holds: every field's type checked against its format ----------


def _samples() -> dict[str, tuple[object, object]]:
    """Each format, with a value as its owner writes it."""
    from dataclasses import asdict

    from conda_integrity.observe import (
        clean_records,
        conda_history,
        dependencies,
        modes,
        site_packages,
        walk,
    )
    from conda_integrity.store import journal, snapshots

    entry = journal.Entry("20261124-000000.000000-1", "install", ["conda", "install"], 1, 1.5)
    entry.plan, entry.before, entry.outcome = {"unlink": [], "link": ["a-1-0"]}, 1, {"linked": []}
    unmet = dependencies.UnmetSpec("a-1-0", dependencies.DEPENDS, "b >=2", "b", ("b-1-0",))
    return {
        "tree": (walk.TREE_FORMAT, {"folders": {"": [1, 2], "lib": [3, 4]}, "debris": {}}),
        "verdict": (
            clean_records.ENTRY_FORMAT,
            {
                "name": "a",
                "digest": "d",
                "record": [1, 2],
                "paths": "lib/a\nlib/b",
                "keys": "k",
                "bytes": 10,
                "package": {"name": "a", "version": "1", "build": "0", "depends": ["b"]},
            },
        ),
        "modes": (modes.ENTRY_FORMAT, {"id": "a-1-0:x", "source": "archive", "executables": []}),
        "journal": (journal.ENTRY_FORMAT, journal.saved(entry)),
        "snapshot summary": (
            snapshots.SUMMARY_FORMAT,
            {
                "number": 1,
                "created": 1.5,
                "kind": "after",
                "label": None,
                "command": "conda install",
                "packages": 1,
                "files": 2,
                "digests": {"a-1-0": "d"},
            },
        ),
        "history memo": (
            conda_history.MEMO_FORMAT,
            {"exists": True, "revisions": 2, "installed": ["a-1-0"], "problems": [[3, "x", "y"]]},
        ),
        "dependencies memo": (dependencies.MEMO_FORMAT, [asdict(unmet) | {"installed": ["b-1-0"]}]),
        "site-packages memo": (
            site_packages.MEMO_FORMAT,
            {
                "distributions": [
                    asdict(site_packages.Distribution("lib/x.dist-info", "x", "1", installer="pip"))
                ],
                "foreign": {"lib/x.dist-info": [1, 2]},
            },
        ),
    }


def _each_field_wrong(value: object):  # type: ignore[no-untyped-def]
    """``value`` with one field (at any depth) of another type, for each field."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield key, {**value, key: wrong_type(item)}
            for where, inner in _each_field_wrong(item):
                yield f"{key}.{where}", {**value, key: inner}
    elif isinstance(value, list):
        for index, item in enumerate(value):
            changed = list(value)
            changed[index] = wrong_type(item)
            yield str(index), changed
            for where, inner in _each_field_wrong(item):
                yield f"{index}.{where}", [*value[:index], inner, *value[index + 1 :]]


@pytest.mark.parametrize("name", list(_samples()))
def test_every_field_of_every_format_is_checked(name: str) -> None:
    from conda_integrity.store import schema

    shape, sample = _samples()[name]
    assert schema.valid(shape, sample)  # as its owner writes it
    wrong = list(_each_field_wrong(sample))
    assert wrong
    for where, value in wrong:
        if name == "journal" and where.startswith("outcome."):
            continue  # outcome lists may be empty, and any other key is allowed
        assert not schema.valid(shape, value), where
    # and nested too deep to compare: rejected, not a crash
    deep: list = []
    for _ in range(100_000):
        deep = [deep]
    assert not schema.valid(shape, deep)


@pytest.mark.parametrize(
    ("path", "inside"),
    [
        ("", True),
        ("lib/python3.11/site-packages/a.py", True),
        (".hidden/a..b/c.", True),
        ("/etc", False),
        ("..", False),
        ("lib/../../etc", False),
        ("lib/..", False),
        ("a\0b", False),
    ],
)
def test_paths_that_leave_the_prefix_are_rejected(path: str, inside: bool) -> None:
    from conda_integrity.store import schema

    assert schema.relative_path(path) is inside
    assert schema.relative_paths(["lib", path]) is inside


def test_the_time_bound_leaves_a_stuck_check_behind() -> None:
    import time

    from conda_integrity.guard.failsafe import TimedOut, within

    started = time.monotonic()
    with pytest.raises(TimedOut, match=r"longer than 0\.2 s"):
        within(0.2, lambda: time.sleep(30))
    assert time.monotonic() - started < 5
    assert within(5, lambda: 42) == 42
    assert within(0, lambda: 42) == 42  # 0: no bound, no thread
    with pytest.raises(KeyError):
        within(5, lambda: {}["x"])


def test_the_journal_keeps_its_newest_entries_and_every_open_one(tmp_path: Path) -> None:
    """Past KEEP entries the oldest finished ones go; one still open stays."""
    from conda_integrity.store import journal

    folder = StateDir(str(tmp_path), ("integrity",), running_user())
    still_open, lock = journal.begin(folder, "install", ["conda", "install"], None)
    journal.release(still_open, lock)  # as a killed command leaves it
    for _ in range(journal.KEEP + 2):
        entry, lock = journal.begin(folder, "install", ["conda", "install"], None)
        entry.state = journal.FINISHED
        journal.end(folder, entry, lock)
    kept = list(journal.newest_first(folder))
    assert len(kept) == journal.KEEP + 1
    assert kept[-1].id == still_open.id
    assert kept[-1].state == journal.STARTED
