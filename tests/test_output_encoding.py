"""Output on a stream that cannot take every character: a Windows console redirected
to a file (cp1252), ``PYTHONIOENCODING=ascii``, the C locale without UTF-8 mode.

Characters the stream cannot take are escaped (``\\xfc``, ``\\u65e5``) in the text
of every command; ``--json`` is ASCII (as conda's own JSON is) and parses back to
the names as they are.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

import pytest

from tests.support import packages
from tests.support.conda_cli import RUNNER, Conda
from tests.support.helpers import edit_in_place
from tests.support.packages import File, Package

#: a Latin name cp1252 can write, a Japanese one it cannot
LATIN, JAPANESE = "ünïcødé.txt", "日本語.txt"
#: a file name that is no UTF-8 (a Latin-1 ``ÿ``): Python names it with a lone surrogate
UNDECODABLE = b"caf\xff.txt"
OWNED = f"share/ünï/{JAPANESE}"
STREAMS = {
    "cp1252": ({"PYTHONIOENCODING": "cp1252"}, "cp1252"),
    "ascii": ({"PYTHONIOENCODING": "ascii"}, "ascii"),
    # no locale coercion, no UTF-8 mode: Python's streams are ASCII
    "C-locale": ({"LC_ALL": "C", "LANG": "C", "PYTHONUTF8": "0"}, "ascii"),
}


def unicodey() -> Package:
    return Package(
        name="unicodey",
        version="1.0",
        build="0",
        files=[File(OWNED, "こんにちは\n".encode()), File("share/ünï/plain.txt", b"plain\n")],
    )


@pytest.fixture(scope="module")
def unicode_channel(channel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = packages.copy_channel(channel, tmp_path_factory.mktemp("unicode") / "channel")
    packages.build(unicodey(), root)
    packages.write_repodata(root)
    return root


class Damaged(NamedTuple):
    conda: Conda
    prefix: Path
    #: the file of a package that was edited
    owned: str


def _damage(conda: Conda, prefix: Path, owned: str, *specs: str) -> Damaged:
    """An environment under a non-Latin path: a snapshot, then a file of a package
    edited and untracked files with Latin, Japanese and undecodable names."""
    conda.create(prefix, *specs)
    conda.run("integrity", "snapshot", "-p", str(prefix), "--label", f"before {JAPANESE}")
    edit_in_place(prefix / owned)
    (prefix / LATIN).write_text("x\n")
    (prefix / "share" / JAPANESE).write_text("x\n")
    with open(os.fsencode(prefix / "share") + b"/" + UNDECODABLE, "wb") as file:
        file.write(b"x\n")
    return Damaged(conda, prefix, owned)


@pytest.fixture(scope="module")
def environments(
    unicode_channel: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Damaged]:
    root = tmp_path_factory.mktemp("streams")
    conda = Conda(root / "sandbox", unicode_channel)
    named = _damage(conda, root / "ëñv-日本", OWNED, "libfoo=1.0", "unicodey")
    # where Python's file system encoding is ASCII, it cannot name a package's file
    # that is not (nor can conda): there, the package files are ASCII
    plain = _damage(conda, root / "plain-ëñv-日本", "share/foo/1.0.txt", "libfoo=1.0")
    return {"cp1252": named, "ascii": named, "C-locale": plain}


@pytest.fixture(params=STREAMS)
def stream(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def damaged(environments: dict[str, Damaged], stream: str) -> Damaged:
    return environments[stream]


def run(conda: Conda, stream: str, *args: str, **env: str) -> tuple[int, str, str]:
    """``conda ARGS`` writing to a stream of ``stream``: exit code and decoded output
    (which must decode: nothing the stream cannot take may reach it)."""
    extra, encoding = STREAMS[stream]
    process = subprocess.run(
        [sys.executable, str(RUNNER), *args],
        env=conda.environ(**extra, **env),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=300,
    )
    stdout, stderr = process.stdout.decode(encoding), process.stderr.decode(encoding)
    assert "could not finish" not in stderr and "Traceback" not in stderr, stderr
    return process.returncode, stdout, stderr


def escaped(name: str, stream: str) -> str:
    """``name`` as the report shows it on ``stream``."""
    encoding = STREAMS[stream][1]
    return name.encode(encoding, "backslashreplace").decode(encoding)


COMMANDS = {
    "verify": (("integrity", "verify", "--untracked"), 1),
    "verify-v": (("integrity", "verify", "--untracked", "-v"), 1),
    "diff": (("integrity", "diff"), 0),
    "log": (("integrity", "log"), 0),
    "repair": (("integrity", "repair", "--dry-run"), 0),
}


@pytest.mark.parametrize("command", COMMANDS)
def test_text_escapes_what_the_stream_cannot_take(
    damaged: Damaged, stream: str, command: str
) -> None:
    conda, prefix, owned = damaged
    args, code = COMMANDS[command]
    returncode, stdout, stderr = run(conda, stream, *args, "-p", str(prefix))
    assert returncode == code, stdout + stderr
    if command != "diff":
        assert escaped(str(prefix), stream) in stdout
    if command == "log":
        assert escaped(f"before {JAPANESE}", stream) in stdout
        return
    assert escaped(owned, stream) in stdout
    if command.startswith("verify"):
        assert f"{escaped('share/' + JAPANESE, stream)}: no package owns this file" in stdout
        assert f"{escaped(LATIN, stream)}: no package owns this file" in stdout
        assert "share/caf\\xff.txt: no package owns this file" in stdout


@pytest.mark.parametrize("command", COMMANDS)
def test_json_is_ascii_and_keeps_the_names(damaged: Damaged, stream: str, command: str) -> None:
    conda, prefix, owned = damaged
    args, code = COMMANDS[command]
    returncode, stdout, _ = run(conda, stream, *args, "-p", str(prefix), "--json")
    assert returncode == code
    assert stdout.isascii()
    document = json.loads(stdout)
    if command.startswith("verify"):
        paths = {finding["path"] for finding in document["findings"]}
        assert {owned, LATIN, f"share/{JAPANESE}", "share/caf\\xff.txt"} <= paths
        assert document["prefix"] == str(prefix)
    elif command == "log":
        assert f"before {JAPANESE}" in json.dumps(document, ensure_ascii=False)
    else:
        assert owned in json.dumps(document, ensure_ascii=False)


def test_a_snapshot_label_the_stream_cannot_take(damaged: Damaged, stream: str) -> None:
    label = f"{LATIN} {JAPANESE}"
    command = ("integrity", "snapshot", "-p", str(damaged.prefix), "--label", label)
    returncode, stdout, _ = run(damaged.conda, stream, *command)
    assert returncode == 0
    assert f"({escaped(label, stream)}): " in stdout


@pytest.mark.parametrize("stream", ["cp1252", "ascii"])
def test_the_guard_escapes_its_lines(unicode_channel: Path, tmp_path: Path, stream: str) -> None:
    """A guarded ``conda install`` in warn mode, before it a damaged file with a
    non-Latin name: the guard's lines on stderr, conda's transaction goes on (the
    environment's own path is ASCII: conda's summary of the transaction fails on
    one that is not)."""
    conda = Conda(tmp_path / "sandbox", unicode_channel)
    prefix = tmp_path / "env"
    conda.create(prefix, "libfoo=1.0", "unicodey")
    edit_in_place(prefix / OWNED)
    command = ("install", "-p", str(prefix), "--yes", "--quiet", "zlibby")
    returncode, _, stderr = run(conda, stream, *command, CONDA_PLUGINS_INTEGRITY_MODE="warn")
    assert returncode == 0, stderr
    assert f"conda-integrity: files of conda packages in {prefix} changed" in stderr
    assert f"  content         {escaped(OWNED, stream)}\n" in stderr
    assert list((prefix / "conda-meta").glob("zlibby-*.json"))
