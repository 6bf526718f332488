"""conda-meta entries that are not what they claim, and records conda itself cannot
load: each is a finding that says what is wrong, and no run blocks, reads without
bound, opens a file outside the prefix or prints a traceback.

Every run here has a time limit: a FIFO or /dev/zero read by mistake fails the test
instead of stopping the suite.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from conda_integrity.observe.known_hashes import RACY_SECONDS
from conda_integrity.records.conda_verdict import CondaVerdicts
from conda_integrity.records.reader import read_records, record_files
from tests.support.conda_cli import RUNNER, Conda
from tests.support.helpers import findings, record_of, replace_file, summary, verify
from tests.support.real_conda import ensure_conda

ensure_conda()
from conda.exceptions import CondaError  # noqa: E402
from conda.models.match_spec import MatchSpec  # noqa: E402

#: seconds any one command may take here; a hang fails the test
LIMIT = 120
STEM = "footools-1.0-h5678_0"
RECORD = f"conda-meta/{STEM}.json"
WARN = {"CONDA_PLUGINS_INTEGRITY_MODE": "warn"}
REFUSE = {"CONDA_PLUGINS_INTEGRITY_MODE": "refuse"}


def corrupt(report: dict) -> dict[str, str]:
    """path -> message of each corrupt-record finding."""
    return {f["path"]: f["message"] for f in findings(report, "corrupt-record")}


def rewrite(path: Path, change: Callable[[dict], None]) -> None:
    """Edit a record as a script or an editor would: parse, change, write back."""
    raw = json.loads(path.read_bytes())
    change(raw)
    replace_file(path, json.dumps(raw, indent=2).encode())


def make_socket(path: Path) -> None:
    """A Unix socket at ``path`` (bound by its name from its folder: a socket's
    address may be only 107 bytes long)."""
    here = os.getcwd()
    os.chdir(path.parent)
    try:
        server = socket.socket(socket.AF_UNIX)
        server.bind(path.name)
        server.close()
    finally:
        os.chdir(here)


# -- entries of conda-meta that are not regular files ------------------------------------


# each puts something in place of the record at ``path``; the good record is at
# ``original``, outside the prefix


def _fifo(path: Path, original: Path) -> None:
    os.mkfifo(path)  # opened for reading, it waits for a writer forever


def _device(path: Path, original: Path) -> None:
    try:
        os.mknod(path, stat.S_IFCHR | 0o644, os.makedev(1, 5))  # what /dev/zero is
    except PermissionError:
        pytest.skip("creating device files needs CAP_MKNOD")


def _outside_fifo(path: Path, original: Path) -> None:
    fifo = original.with_name("outside-fifo")
    os.mkfifo(fifo)
    path.symlink_to(fifo)


IN_PLACE = {
    "fifo": (_fifo, "is a FIFO, which is never opened"),
    "symlink to /dev/zero": (
        lambda path, original: path.symlink_to("/dev/zero"),
        "is a symbolic link (to /dev/zero), which is never followed",
    ),
    "symlink to /dev/null": (
        lambda path, original: path.symlink_to("/dev/null"),
        "is a symbolic link (to /dev/null), which is never followed",
    ),
    "device": (_device, "is a device, which is never opened"),
    "socket": (lambda path, original: make_socket(path), "is a socket, which is never opened"),
    "folder": (lambda path, original: path.mkdir(), "is a folder, not a file"),
    # read through, the good copy would pass for the record: nothing would be said
    "symlink to the good copy outside": (
        lambda path, original: path.symlink_to(original),
        "is a symbolic link (to {original}), which is never followed",
    ),
    "symlink to a FIFO outside": (_outside_fifo, "is a symbolic link (to "),
}


@pytest.mark.parametrize("kind", sorted(IN_PLACE))
def test_a_record_that_is_not_a_regular_file(
    sandbox: Conda, env: Path, tmp_path: Path, kind: str
) -> None:
    make, words = IN_PLACE[kind]
    path, original = env / RECORD, tmp_path / "original.json"
    path.rename(original)
    make(path, original)
    report = verify(sandbox, env, timeout=LIMIT)
    message = corrupt(report)[RECORD]
    assert message.startswith("the record " + words.format(original=original)), message
    (finding,) = findings(report, "corrupt-record")
    assert finding["package"] == STEM and finding["fix"].startswith("mv ")
    # the other records are verified as usual, and find nothing wrong
    assert summary(report) == {("corrupt-record", RECORD)}
    assert report["checked"]["packages"] == 4


def test_a_fifo_named_like_a_new_record(sandbox: Conda, env: Path) -> None:
    os.mkfifo(env / "conda-meta" / "x-1-0.json")
    report = verify(sandbox, env, timeout=LIMIT)
    assert corrupt(report) == {
        "conda-meta/x-1-0.json": "the record is a FIFO, which is never opened"
    }
    # the history does not list it: said, as for any record the history lacks
    assert summary(report) == {
        ("corrupt-record", "conda-meta/x-1-0.json"),
        ("history-mismatch", "conda-meta/history"),
    }


def test_a_record_larger_than_any_real_one(sandbox: Conda, env: Path) -> None:
    with open(env / RECORD, "r+b") as handle:
        handle.truncate(1 << 30)  # sparse: 1 GiB that would take memory, not disk
    report = verify(sandbox, env, timeout=LIMIT)
    assert corrupt(report) == {
        RECORD: "the record is larger than 134217728 bytes, the most that is read"
    }


def test_a_record_only_root_can_read(sandbox: Conda, readable_env: Path) -> None:
    env = readable_env
    (env / RECORD).chmod(0o000)
    time.sleep(RACY_SECONDS + 0.2)  # old enough for root's verdict on it to be kept
    if os.geteuid() == 0:  # root reads it, as conda run by root does
        assert verify(sandbox, env, timeout=LIMIT)["findings"] == []
    result = sandbox.verify(env, "--json", unprivileged=True, timeout=LIMIT)
    assert result.returncode == 1, result
    report = json.loads(result.stdout)
    assert corrupt(report) == {RECORD: "the record cannot be opened: Permission denied"}
    # conda itself cannot load the environment as that user either
    listed = sandbox.run("list", "-p", str(env), check=False, unprivileged=True, timeout=LIMIT)
    assert listed.returncode != 0


# -- conda-meta/history that is not a regular file -------------------------------------------


def _history_fifo(path: Path, outside: Path) -> None:
    path.unlink()
    os.mkfifo(path)


def _history_to_dev_zero(path: Path, outside: Path) -> None:
    path.unlink()
    path.symlink_to("/dev/zero")


def _history_outside(path: Path, outside: Path) -> None:
    path.rename(outside)
    path.symlink_to(outside)


def _history_folder(path: Path, outside: Path) -> None:
    path.unlink()
    path.mkdir()


def _history_too_large(path: Path, outside: Path) -> None:
    with open(path, "r+b") as handle:
        handle.truncate(1 << 30)


HISTORY_KINDS = {
    "fifo": (_history_fifo, "is a FIFO, which is never opened"),
    "symlink to /dev/zero": (_history_to_dev_zero, "is a symbolic link (to /dev/zero)"),
    "symlink to a copy outside": (_history_outside, "is a symbolic link (to "),
    "folder": (_history_folder, "is a folder, not a file"),
    "too large": (_history_too_large, "is larger than 134217728 bytes"),
}


@pytest.mark.parametrize("kind", sorted(HISTORY_KINDS))
def test_a_history_that_is_not_a_regular_file(
    sandbox: Conda, env: Path, tmp_path: Path, kind: str
) -> None:
    make, words = HISTORY_KINDS[kind]
    make(env / "conda-meta" / "history", tmp_path / "outside-history")
    report = verify(sandbox, env, timeout=LIMIT)
    (finding,) = report["findings"]
    assert (finding["code"], finding["path"]) == ("history-mismatch", "conda-meta/history")
    assert finding["message"].startswith(f"conda-meta/history {words}"), finding["message"]
    assert finding["message"].endswith("; verify did not read it")


def test_a_history_only_root_can_read(sandbox: Conda, readable_env: Path) -> None:
    (readable_env / "conda-meta" / "history").chmod(0o000)
    time.sleep(RACY_SECONDS + 0.2)  # old enough for what root reads of it to be kept
    if os.geteuid() == 0:
        assert verify(sandbox, readable_env, timeout=LIMIT)["findings"] == []
    result = sandbox.verify(readable_env, "--json", unprivileged=True, timeout=LIMIT)
    (finding,) = json.loads(result.stdout)["findings"]
    assert finding["message"] == (
        "conda-meta/history cannot be opened: Permission denied; verify did not read it"
    )


@pytest.mark.parametrize("spec", ["a[[[", "<2.0"])
def test_a_history_spec_conda_cannot_parse(sandbox: Conda, env: Path, spec: str) -> None:
    """A finding exactly when the running conda's MatchSpec rejects the spec, which is
    exactly when conda install fails on it (conda 26 rejects 'a[[[', conda 24.7 takes it)."""
    try:
        MatchSpec(spec)
        rejected = False
    except CondaError:
        rejected = True
    history = env / "conda-meta" / "history"
    history.write_text(history.read_text() + f"# update specs: [{spec!r}]\n")
    messages = [f["message"] for f in findings(verify(sandbox, env), "history-mismatch")]
    if rejected:
        (message,) = messages
        assert f"has a spec conda cannot read, {spec!r}" in message
    else:
        assert messages == []
    installed = sandbox.install(env, "clobber-a", check=False, env=WARN, timeout=LIMIT)
    assert (installed.returncode != 0) == rejected, installed


# -- path entries: every field of the type conda gives it, paths that can exist ---------------


def _entry(field: str, value: object) -> Callable[[dict], None]:
    def change(raw: dict) -> None:
        raw["paths_data"]["paths"][0][field] = value

    return change


def _path(new: str) -> Callable[[dict], None]:
    def change(raw: dict) -> None:
        old = raw["paths_data"]["paths"][0]["_path"]
        raw["paths_data"]["paths"][0]["_path"] = new
        raw["files"] = [new if path == old else path for path in raw["files"]]

    return change


PATH_ENTRIES = {
    "path_type a list": (
        _entry("path_type", ["hardlink"]),
        "gives 'bin/footool' (paths_data entry 0) a 'path_type' that is a list, "
        "not one of conda's path types",
    ),
    "path_type an object": (
        _entry("path_type", {"type": "hardlink"}),
        "gives 'bin/footool' (paths_data entry 0) a 'path_type' that is an object",
    ),
    "prefix_placeholder a number": (
        _entry("prefix_placeholder", 5),
        "gives 'bin/footool' (paths_data entry 0) a 'prefix_placeholder' that is 5, not text",
    ),
    "file_mode unknown": (
        _entry("file_mode", "octal"),
        "a 'file_mode' that is 'octal', not 'text' or 'binary'",
    ),
    "size_in_bytes text": (_entry("size_in_bytes", "12"), "a 'size_in_bytes' that is '12'"),
    "no_link a number": (_entry("no_link", 1), "a 'no_link' that is 1, not true or false"),
    "inode_paths text": (
        _entry("inode_paths", "a"),
        "a 'inode_paths' that is 'a', not a list of paths",
    ),
    "_path of 5,000 characters": (_path("share/" + "x" * 4994), "a path of 5,000 bytes"),
    "a name too long": (_path("share/" + "n" * 300), "a path with a name of 300 bytes"),
    "3,000 levels deep": (_path("d/" * 3000 + "f"), "a path of 6,001 bytes"),
    "a lone surrogate": (_path("share/\ud800"), "which is not a usable path"),
}


@pytest.mark.parametrize("damage", sorted(PATH_ENTRIES))
def test_a_path_entry_conda_could_not_have_written(sandbox: Conda, env: Path, damage: str) -> None:
    change, words = PATH_ENTRIES[damage]
    rewrite(env / RECORD, change)
    report = verify(sandbox, env, timeout=LIMIT)
    assert words in corrupt(report)[RECORD], corrupt(report)
    # the record itself is what is broken: no warning about paths that cannot be looked at
    assert summary(report) == {("corrupt-record", RECORD)}


# -- records conda's own model cannot load -------------------------------------------------


def _top(field: str, value: object) -> Callable[[dict], None]:
    def change(raw: dict) -> None:
        raw[field] = value

    return change


def _paths_version(raw: dict) -> None:
    raw["paths_data"]["paths_version"] = "one"


#: a value of each field that conda's PrefixRecord rejects (conda 24.7 and 26.7 alike)
CONDA_REJECTS = {
    "depends": ("depends", _top("depends", "libfoo >=1.0")),
    "constrains": ("constrains", _top("constrains", 5)),
    "noarch": ("noarch", _top("noarch", 5)),
    "link": ("link", _top("link", "hardlink")),
    "channel": ("channel", _top("channel", 5)),
    "url": ("url", _top("url", ["https://example.com/footools.conda"])),
    "subdir": ("subdir", _top("subdir", {"name": "linux-64"})),
    "build_number": ("build_number", _top("build_number", "zero")),
    "md5": ("md5", _top("md5", ["0" * 32])),
    "fn": ("fn", _top("fn", {"name": "footools.conda"})),
    "timestamp": ("timestamp", _top("timestamp", "yesterday")),
    "track_features": ("track_features", _top("track_features", 5)),
    "license": ("license", _top("license", ["MIT"])),
    "requested_spec": ("requested_spec", _top("requested_spec", ["footools"])),
    "paths_data": ("paths_data", _top("paths_data", [])),
    "paths_version": ("paths_data", _paths_version),
}


@pytest.mark.parametrize("field", sorted(CONDA_REJECTS))
def test_a_field_conda_cannot_load(sandbox: Conda, env: Path, field: str) -> None:
    named, change = CONDA_REJECTS[field]
    rewrite(env / RECORD, change)
    report = verify(sandbox, env, timeout=LIMIT)
    assert summary(report) == {("corrupt-record", RECORD)}, report
    assert f"'{named}'" in corrupt(report)[RECORD]
    # conda itself stops on it
    assert sandbox.run("list", "-p", str(env), check=False, timeout=LIMIT).returncode != 0


ENCODINGS = {
    "UTF-16": ("utf-16", "is UTF-16 text (it starts with a byte-order mark)"),
    "UTF-8 with a BOM": ("utf-8-sig", "starts with a UTF-8 byte-order mark"),
    "UTF-16 without a BOM": ("utf-16-le", "is UTF-16 or UTF-32 text (it has NUL bytes)"),
}


@pytest.mark.parametrize("encoding", sorted(ENCODINGS))
def test_a_record_in_another_encoding(sandbox: Conda, env: Path, encoding: str) -> None:
    """What an editor saving "Unicode" leaves: text Python's json reads, conda's
    (before 26.5) does not."""
    codec, words = ENCODINGS[encoding]
    path = env / RECORD
    replace_file(path, path.read_text(encoding="utf-8").encode(codec))
    report = verify(sandbox, env, timeout=LIMIT)
    assert summary(report) == {("corrupt-record", RECORD)}
    assert corrupt(report)[RECORD].startswith(f"the record {words}")


@pytest.mark.parametrize("field", ["name", "version", "build"])
def test_a_lone_surrogate_in_the_name(sandbox: Conda, env: Path, field: str) -> None:
    rewrite(env / RECORD, lambda raw: raw.update({field: raw[field] + "\ud800"}))
    report = verify(sandbox, env, timeout=LIMIT)
    assert summary(report) == {("corrupt-record", RECORD)}
    assert "\\ud800" in corrupt(report)[RECORD]
    text = sandbox.verify(env, timeout=LIMIT)
    assert text.returncode == 1 and "Traceback" not in text.stderr, text
    assert "\\ud800" in text.stdout and "corrupt-record" in text.stdout


def test_a_record_nested_too_deep(sandbox: Conda, env: Path) -> None:
    path = env / RECORD
    text = path.read_text()
    deep = "[" * 100_000 + "]" * 100_000
    replace_file(path, text.replace('"depends": [', f'"depends": [{deep}, ', 1).encode())
    result = sandbox.verify(env, timeout=LIMIT)
    assert result.returncode == 1 and "Traceback" not in result.stderr, result
    report = verify(sandbox, env, timeout=LIMIT)
    assert corrupt(report) == {
        RECORD: "the record nests lists or objects too deep to be read (conda cannot either)"
    }


def test_conda_judges_a_record_again_only_when_it_changed(sandbox: Conda, env: Path) -> None:
    """conda's model costs four times the JSON parse: an unchanged record keeps its
    verdict, by the stat key of its file."""
    time.sleep(RACY_SECONDS + 0.2)  # old enough to be remembered
    assert verify(sandbox, env)["findings"] == []
    prefix = str(env)

    def judged() -> int:
        files = record_files(prefix)
        verdicts = CondaVerdicts.load(prefix, files, time.time_ns())
        records, bad = read_records(prefix, list(files), verdicts)
        assert bad == [] and len(records) == 5
        return verdicts.judged

    assert judged() == 0
    path = env / RECORD
    replace_file(path, path.read_bytes())  # the same content, a new file
    assert judged() == 1


# -- the guard shares all of this ------------------------------------------------------------


def test_the_guard_refuses_quickly_on_a_fifo_record(sandbox: Conda, env: Path) -> None:
    path = env / RECORD
    path.unlink()
    os.mkfifo(path)
    result = sandbox.install(env, "zlibby", check=False, env=REFUSE, timeout=LIMIT)
    assert result.returncode == 1, result
    assert "Traceback" not in result.stderr
    assert "corrupt-record" in result.stderr and "FIFO" in result.stderr


def test_in_warn_mode_the_guard_reports_a_fifo_record_before_conda_reads_it(
    sandbox: Conda, env: Path, tmp_path: Path
) -> None:
    """conda itself then waits on the FIFO (its own doing): the guard said so first."""
    path = env / RECORD
    path.unlink()
    os.mkfifo(path)
    stderr = tmp_path / "stderr"
    with open(stderr, "w") as sink:
        process = subprocess.Popen(
            [sys.executable, str(RUNNER), "install", "-p", str(env), "--yes", "clobber-a"],
            env=sandbox.environ(**WARN),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=sink,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + LIMIT
        while "corrupt-record" not in stderr.read_text():
            assert process.poll() is None, stderr.read_text()
            assert time.monotonic() < deadline, stderr.read_text()
            time.sleep(0.1)
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    text = stderr.read_text()
    assert "FIFO" in text and "Traceback" not in text


def test_in_warn_mode_the_guard_reports_and_conda_goes_on(
    sandbox: Conda, env: Path, tmp_path: Path
) -> None:
    """Records conda itself still loads: a symlink to a good copy outside, a path that
    cannot exist. The guard names both; conda installs."""
    rewrite(record_of(env, "zlibby"), _path("share/" + "x" * 4994))
    path, outside = env / RECORD, tmp_path / "outside.json"
    path.rename(outside)
    path.symlink_to(outside)
    result = sandbox.install(env, "clobber-a", check=False, env=WARN, timeout=LIMIT)
    assert result.returncode == 0, result
    assert "Traceback" not in result.stderr
    guard = [line for line in result.stderr.splitlines() if "corrupt-record" in line]
    assert len(guard) == 2, result.stderr
    assert record_of(env, "clobber-a").is_file()
