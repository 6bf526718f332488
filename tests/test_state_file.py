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
