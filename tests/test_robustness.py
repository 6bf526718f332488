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
from tests.support.conda_cli import Conda
from tests.support.helpers import edit_in_place, findings, summary, verify


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
    # no snapshot is listed (the index is unusable), the FIFO entry is skipped
    assert [(e["type"], e["id"]) for e in _log(sandbox, env)] == [
        ("transaction", id) for id in transactions
    ]


def _log(sandbox: Conda, env: Path) -> list[dict]:
    result = sandbox.run("integrity", "log", "-p", str(env), "--json", timeout=120)
    return json.loads(result.stdout)["events"]
