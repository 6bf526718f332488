"""Odd things in a prefix never hang, crash or mislead verify."""

from __future__ import annotations

import json
import os
import socket
import stat
import time
from pathlib import Path

import pytest

from conda_integrity.observe.known_hashes import RACY_SECONDS
from tests.support.audit_open import audited_run
from tests.support.conda_cli import Conda
from tests.support.helpers import (
    edit_in_place,
    findings,
    kill_mid_transaction,
    summary,
    verify,
    wrong_type,
)


def make_socket(path: Path) -> None:
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(path))
    server.close()


def test_special_files_are_never_opened(sandbox: Conda, env: Path) -> None:
    fifo = env / "include" / "foo.h"
    fifo.unlink()
    os.mkfifo(fifo)  # reading it would block forever
    sock = env / "share" / "footools" / "README"
    sock.unlink()
    make_socket(sock)
    os.mkfifo(env / "share" / "untracked-fifo")
    report = verify(sandbox, env, "--untracked", timeout=120)
    types = {f["path"]: f["actual"]["type"] for f in findings(report, "altered-file")}
    assert types == {"include/foo.h": "fifo", "share/footools/README": "socket"}
    assert ("untracked-file", "share/untracked-fifo") in summary(report)


def test_device_file(sandbox: Conda, env: Path) -> None:
    target = env / "include" / "foo.h"
    target.unlink()
    try:
        os.mknod(target, stat.S_IFCHR | 0o600, os.makedev(1, 3))
    except PermissionError:
        pytest.skip("creating device files needs CAP_MKNOD")
    (finding,) = verify(sandbox, env)["findings"]
    assert (finding["detail"], finding["actual"]["type"]) == ("type", "device")


def test_symlink_loops(sandbox: Conda, env: Path) -> None:
    helper = env / "bin" / "pyfoo-helper"
    helper.unlink()
    helper.symlink_to("pyfoo-helper")  # points at itself
    (env / "share" / "loop").symlink_to(".")  # a folder loop, not owned
    report = verify(sandbox, env, "--untracked", timeout=120)
    assert summary(report) == {
        ("altered-file", "bin/pyfoo-helper"),
        ("untracked-file", "share/loop"),
    }


def test_file_names_that_are_not_utf8(sandbox: Conda, env: Path) -> None:
    share = os.fsencode(env / "share")
    for name in (b"caf\xe9-\xff.txt", b"ok-\xe2\x9c\x93.txt"):
        with open(os.path.join(share, name), "wb") as handle:
            handle.write(b"an untracked file\n")
    result = sandbox.verify(env, "--json", "--untracked")
    report = json.loads(result.stdout)
    assert summary(report) == {
        ("untracked-file", "share/caf\\xe9-\\xff.txt"),
        ("untracked-file", "share/ok-\u2713.txt"),
    }
    text = sandbox.verify(env, "--untracked")
    assert "share/caf\\xe9-\\xff.txt" in text.stdout
    assert text.returncode == 0


def test_control_characters_in_file_names_are_shown_escaped(sandbox: Conda, env: Path) -> None:
    """A name another user chose can neither split a line nor reach the terminal."""
    hostile = "x\nfake 0 errors\x1b[2K\x9b1A\x7f\u202etxt.exe"
    (env / "share" / hostile).write_text("mine\n")
    (env / "share" / (hostile + ".c~")).write_text("left\n")
    report = json.loads(sandbox.verify(env, "--json", "--untracked").stdout)
    assert summary(report) == {
        ("untracked-file", f"share/{hostile}"),
        ("transaction-debris", f"share/{hostile}.c~"),
    }
    text = sandbox.verify(env, "--untracked", "-v").stdout
    assert not any(c in text for c in "\x1b\x9b\x7f\r\u202e")
    shown = "share/x\\x0afake 0 errors\\x1b[2K\\x9b1A\\x7f\\u202etxt.exe"
    lines = text.splitlines()
    assert [line.split()[:2] for line in lines if shown + ":" in line] == [
        ["info", "untracked-file"]
    ]
    assert [line.split()[:2] for line in lines if shown + ".c~:" in line] == [
        ["warning", "transaction-debris"]
    ]
    assert not any(line.startswith("fake") for line in lines)


def test_huge_files_are_not_read_needlessly(sandbox: Conda, env: Path) -> None:
    huge = env / "include" / "foo.h"
    huge.unlink()
    with open(huge, "wb") as handle:
        handle.truncate(64 << 30)  # 64 GiB, sparse: reading it would take minutes
    with open(env / "share" / "huge-untracked.bin", "wb") as handle:
        handle.truncate(64 << 30)
    report = verify(sandbox, env, "--untracked", timeout=120)
    (finding,) = findings(report, "altered-file")
    assert (finding["detail"], finding["actual"]["size"]) == ("size", 64 << 30)
    assert report["checked"]["hashed_bytes"] < 64 << 20


def test_odd_files_in_place_of_our_state(sandbox: Conda, env: Path, tmp_path: Path) -> None:
    """Our state is read only from regular files of bounded size, parsed without
    crashing: anything else reads as no state, and is replaced by the next write."""
    time.sleep(RACY_SECONDS + 0.2)  # old enough for verify to keep what it learns
    verify(sandbox, env)
    verify(sandbox, env)
    state = env / "conda-meta" / "integrity"
    for name in ("hash-cache.json", "verdicts.json", "tree.json", "modes.json"):
        assert (state / name).is_file(), name
    edit_in_place(env / "include" / "foo.h")
    expected = verify(sandbox, env, "--no-cache")
    transactions = [e["id"] for e in _log(sandbox, env) if e["type"] == "transaction"]

    os.unlink(state / "hash-cache.json")
    os.mkfifo(state / "hash-cache.json")  # reading it would wait for a writer forever
    (state / "tree.json").unlink()
    (state / "tree.json").symlink_to("/dev/zero")  # reading it would never end
    outside = tmp_path / "outside.json"
    outside.write_text("not ours")
    (state / "verdicts.json").unlink()
    (state / "verdicts.json").symlink_to(outside)
    with open(state / "dependencies.json", "wb") as handle:
        handle.truncate(1 << 30)  # sparse, and over the bound
    (state / "history.json").write_text("[" * 100_000 + "]" * 100_000)  # too deep to parse
    (state / "snapshots").mkdir(exist_ok=True)
    (state / "snapshots" / "index.json").unlink(missing_ok=True)
    (state / "snapshots" / "index.json").symlink_to("/dev/zero")
    (state / "journal").mkdir(exist_ok=True)
    os.mkfifo(state / "journal" / "20990101-000000.000000-1.json")

    report = verify(sandbox, env, timeout=120)
    assert summary(report) == summary(expected) == {("altered-file", "include/foo.h")}
    for key in ("packages", "files", "bytes", "hashed_files"):
        assert report["checked"][key] == expected["checked"][key], key
    # written again as regular files, the symlink replaced, not followed
    for name in ("hash-cache.json", "tree.json", "verdicts.json"):
        assert stat.S_ISREG(os.lstat(state / name).st_mode), name
    assert outside.read_text() == "not ours"
    # the snapshots are listed from their files (the index is unusable), the FIFO
    # entry is skipped, and log says so
    events = _log(sandbox, env)
    assert [e["id"] for e in events if e["type"] == "transaction"] == transactions
    assert [e["type"] for e in events].count("snapshot") >= 1
    assert _log(sandbox, env, "skipped") == [
        "snapshots/index.json: unusable; listed from the snapshot files instead",
        "journal/20990101-000000.000000-1.json: not a journal entry we can read",
    ]


def _log(sandbox: Conda, env: Path, key: str = "events") -> list:
    result = sandbox.run("integrity", "log", "-p", str(env), "--json", timeout=120)
    return json.loads(result.stdout)[key]


# -- our own state, damaged every way: conda goes on, verify/log/diff answer ---------

WARN = {"CONDA_PLUGINS_INTEGRITY_MODE": "warn"}
#: nested past what JSON parsing can take, and deep but parseable
TOO_DEEP, DEEP = 100_000, 400


def _nested(depth: int) -> list:
    value: list = []
    for _ in range(depth):
        value = [value]
    return value


def _each_leaf(value: object, change) -> object:  # type: ignore[no-untyped-def]
    """``value`` with ``change`` applied to every value below the top level."""
    if isinstance(value, dict):
        return {key: change(item) for key, item in value.items()}
    if isinstance(value, list):
        return [change(item) for item in value]
    return change(value)


def _first_deepest(value: object) -> object:
    """``value`` with the first value of the first entry at each level of the wrong type
    (a record's first field, say), everything else as it was."""
    if isinstance(value, dict) and value:
        key = next(iter(value))
        inner = value[key]
        changed = _first_deepest(inner) if isinstance(inner, (dict, list)) and inner else None
        return {**value, key: changed if changed is not None else wrong_type(inner)}
    if isinstance(value, list) and value:
        inner = value[0]
        changed = _first_deepest(inner) if isinstance(inner, (dict, list)) and inner else None
        return [changed if changed is not None else wrong_type(inner), *value[1:]]
    return wrong_type(value)


HEADER_KEYS = ("format", "version")


def _mutate_json(path: Path, how: str) -> None:
    document = json.loads(path.read_bytes())
    header = {k: v for k, v in document.items() if k in HEADER_KEYS}
    payload = {k: v for k, v in document.items() if k not in HEADER_KEYS}
    if how == "too-deep":
        deep = "[" * TOO_DEEP + "]" * TOO_DEEP
        keys = ", ".join(f"{json.dumps(key)}: {deep}" for key in payload)
        path.write_text(json.dumps(header)[:-1] + ", " + keys + "}")
        return
    if how == "deep":
        payload = _each_leaf(payload, lambda item: _nested(DEEP))  # type: ignore[assignment]
    elif how == "wrong-type":
        payload = _each_leaf(payload, wrong_type)  # type: ignore[assignment]
    elif how == "wrong-type-inside":
        payload = _first_deepest(payload)  # type: ignore[assignment]
    path.write_text(json.dumps({**header, **payload}))


def _mutate_snapshot(path: Path, how: str) -> None:
    """The same damage to a snapshot file's header (8 bytes of length, zlib of JSON)."""
    import zlib

    data = path.read_bytes()
    size = int.from_bytes(data[:8], "little")
    header = json.loads(zlib.decompress(data[8 : 8 + size]))
    keep = {k: header[k] for k in ("format", "byteorder")}
    rest = {k: v for k, v in header.items() if k not in keep}
    if how == "too-deep":
        head = (
            json.dumps(keep)[:-1] + ', "records": ' + "[" * TOO_DEEP + "]" * TOO_DEEP + "}"
        ).encode()
    else:
        if how == "deep":
            rest = _each_leaf(rest, lambda item: _nested(DEEP))  # type: ignore[assignment]
        elif how == "wrong-type":
            rest = _each_leaf(rest, wrong_type)  # type: ignore[assignment]
        else:
            rest = _first_deepest(rest)  # type: ignore[assignment]
        head = json.dumps({**keep, **rest}).encode()
    packed = zlib.compress(head)
    path.write_bytes(len(packed).to_bytes(8, "little") + packed + data[8 + size :])


def damage(path: Path, how: str) -> None:
    """Damage one of our state files as a disk, a crash or a hand would."""
    if how == "fifo":
        path.unlink()
        os.mkfifo(path)
    elif how == "folder":
        path.unlink()
        path.mkdir()
        (path / "inside").write_text("x")
    elif how == "truncated":
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])
    elif how == "garbage":
        path.write_bytes(bytes(range(256)) * 3)
    elif how == "empty":
        path.write_bytes(b"")
    elif how == "unreadable":
        path.chmod(0)
    elif path.suffix == ".snapshot":
        _mutate_snapshot(path, how)
    else:
        _mutate_json(path, how)


DAMAGE = (
    "fifo",
    "folder",
    "truncated",
    "garbage",
    "empty",
    "unreadable",
    "too-deep",
    "deep",
    "wrong-type",
    "wrong-type-inside",
)


def our_state_files(env: Path) -> list[Path]:
    """Every state file: the eight JSON files, the snapshot index and the newest
    snapshot, the newest journal entry."""
    state = env / "conda-meta" / "integrity"
    files = [
        state / name
        for name in (
            "hash-cache.json",
            "verdicts.json",
            "tree.json",
            "modes.json",
            "dependencies.json",
            "history.json",
            "site-packages.json",
        )
    ]
    files.append(state / "snapshots" / "index.json")
    files.append(sorted((state / "snapshots").glob("*.snapshot"))[-1])
    files.append(sorted((state / "journal").glob("*.json"))[-1])
    return files


@pytest.fixture
def lived_in(sandbox: Conda, env: Path) -> Path:
    """An environment with every state file there is: verified (old enough to be
    remembered) and changed by guarded commands (snapshots, journal)."""
    sandbox.install(env, "clobber-a", env=WARN)
    time.sleep(RACY_SECONDS + 0.2)
    verify(sandbox, env)
    for path in our_state_files(env):
        assert path.is_file(), path
    return env


def _answers(sandbox: Conda, env: Path, how: str) -> None:
    """verify, log and diff answer (a result or one line and exit 2), within a time
    limit; a guarded install succeeds with no traceback."""
    unprivileged = how == "unreadable"
    report = verify(sandbox, env, timeout=120, unprivileged=unprivileged)
    assert summary(report) == set(), report["findings"]
    log = sandbox.run(
        "integrity", "log", "-p", str(env), "--json", timeout=120, unprivileged=unprivileged
    )
    assert "Traceback" not in log.stderr, str(log)
    diff = sandbox.run(
        "integrity", "diff", "-p", str(env), check=False, timeout=120, unprivileged=unprivileged
    )
    assert diff.returncode in (0, 2) and "Traceback" not in diff.stderr, str(diff)
    if diff.returncode == 2:
        assert len(diff.stderr.strip().splitlines()) == 1, str(diff)
    installed = sandbox.install(
        env, "fooplugin", env=WARN, timeout=120, unprivileged=unprivileged, check=False
    )
    assert installed.returncode == 0, str(installed)
    assert "Traceback" not in installed.stderr, str(installed)
    assert "conda-integrity could not check" not in installed.stderr, str(installed)
    assert verify(sandbox, env, timeout=120)["findings"] == []


@pytest.mark.parametrize("how", DAMAGE)
def test_every_state_file_damaged_at_once(sandbox: Conda, lived_in: Path, how: str) -> None:
    """Each kind of damage to all our state files at once: conda goes on, verify, log
    and diff answer, and the state is rebuilt."""
    for path in our_state_files(lived_in):
        damage(path, how)
    _answers(sandbox, lived_in, how)


@pytest.mark.parametrize("how", ["wrong-type-inside", "deep"])
def test_each_state_file_damaged_alone(sandbox: Conda, lived_in: Path, how: str) -> None:
    """A value of the wrong type (or nested deep) in one file while the others are
    sound, so that the code goes on to use it: verify finds nothing, a guarded
    command goes on with nothing to say, log and diff answer."""
    import shutil

    state = lived_in / "conda-meta" / "integrity"
    sound = lived_in.parent / "sound-state"
    shutil.copytree(state, sound, symlinks=True)
    for index in range(len(our_state_files(lived_in))):
        shutil.rmtree(state)
        shutil.copytree(sound, state, symlinks=True)
        path = our_state_files(lived_in)[index]
        damage(path, how)
        report = verify(sandbox, lived_in, timeout=120)
        assert summary(report) == set(), (path.name, report["findings"])
        if path.parent.name in ("snapshots", "journal"):
            for verb in ("log", "diff"):
                result = sandbox.run(
                    "integrity", verb, "-p", str(lived_in), check=False, timeout=120
                )
                assert result.returncode in (0, 2), (path.name, str(result))
                assert "Traceback" not in result.stderr, (path.name, str(result))
        # install and remove in turn: each is a guarded command
        verb = "remove" if index % 2 else "install"
        guarded = sandbox.run(
            verb, "-p", str(lived_in), "--yes", "fooplugin", env=WARN, timeout=120, check=False
        )
        assert guarded.returncode == 0 and "Traceback" not in guarded.stderr, (
            path.name,
            str(guarded),
        )
        assert "could not check" not in guarded.stderr, (path.name, str(guarded))


def test_log_says_which_entries_it_skipped(sandbox: Conda, lived_in: Path) -> None:
    state = lived_in / "conda-meta" / "integrity"
    entry = sorted((state / "journal").glob("*.json"))[-1]
    damage(entry, "wrong-type-inside")
    damage(state / "snapshots" / "index.json", "garbage")
    newest = sorted((state / "snapshots").glob("*.snapshot"))[-1]
    damage(newest, "truncated")
    document = sandbox.run("integrity", "log", "-p", str(lived_in), "--json").json()
    skipped = document["skipped"]
    assert f"journal/{entry.name}: not a journal entry we can read" in skipped
    assert "snapshots/index.json: unusable; listed from the snapshot files instead" in skipped
    assert any(line.startswith(f"snapshots/{newest.name}: ") for line in skipped)
    # the other snapshots are listed again, from their files
    numbers = [e["number"] for e in document["events"] if e["type"] == "snapshot"]
    assert numbers and int(newest.stem) not in numbers
    text = sandbox.run("integrity", "log", "-p", str(lived_in)).stdout
    assert f"  skipped journal/{entry.name}: not a journal entry we can read" in text
    # diff of the damaged snapshot: one line, exit 2
    diff = sandbox.run("integrity", "diff", "-p", str(lived_in), newest.stem, check=False)
    assert diff.returncode == 2 and "Traceback" not in diff.stderr, str(diff)
    assert f"snapshot {int(newest.stem)} cannot be read" in diff.stderr


def test_a_fifo_in_place_of_a_journal_lock(sandbox: Conda, env: Path, tmp_path: Path) -> None:
    """A transaction killed mid-way leaves its entry open and its lock file; a FIFO
    there is never opened, and makes neither verify nor the next install wait."""
    kill_mid_transaction(sandbox, env, tmp_path / "handshake", "libfoo=2.0", "slowpost", **WARN)
    (lock,) = (env / "conda-meta" / "integrity" / "journal").glob("*.lock")
    lock.unlink()
    os.mkfifo(lock)
    log = tmp_path / "opened.log"
    report = verify(sandbox, env, timeout=120, **audited_run(log, {lock.name}))
    assert ("interrupted-transaction", None) in summary(report)
    assert log.read_text() == ""  # not even opened without waiting
    installed = sandbox.install(env, "slowpost", env=WARN, timeout=120)
    assert "Traceback" not in installed.stderr
