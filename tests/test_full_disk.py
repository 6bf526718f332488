"""A full disk: conda transactions that run out of space at each of their steps.

The prefix and the package cache live on a small tmpfs the test mounts; right
before a chosen change on disk, ``kill_at.py`` fills it (``KILL_FILL``), and conda
goes on into a full disk. What conda leaves must be as it was, or reported and
repairable once there is room again: conda then accepts the environment.
Skipped where the machine forbids mounting (not root, or no tmpfs).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.conda_cli import Conda
from tests.support.fault_sweep import KILL_RUNNER
from tests.support.helpers import findings, verify

BASE = ("python", "libfoo=1.0")
WARN = {"CONDA_PLUGINS_INTEGRITY_MODE": "warn"}


def _mount(folder: Path, size: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        pytest.skip(f"this machine does not let a test mount a tmpfs: {mounted.stderr.strip()}")


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[Path]:
    """A small disk of the test's own."""
    folder = tmp_path / "disk"
    _mount(folder, "64m")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


@pytest.fixture
def on_disk(disk: Path, channel: Path) -> tuple[Conda, Path]:
    """A conda whose package cache is on the small disk, and an environment there."""
    conda = Conda(disk / "sandbox", channel)
    prefix = disk / "env"
    conda.create(prefix, *BASE)
    return conda, prefix


def _full_at(conda: Conda, prefix: Path, filler: Path, match: str, k: int, *args: str):
    """``conda ARGS -p PREFIX`` with the disk filled right before its ``k``-th change
    of a path that contains ``match``."""
    return conda.run(
        args[0],
        "-p",
        str(prefix),
        "--yes",
        *args[1:],
        check=False,
        runner=KILL_RUNNER,
        env={
            "KILL_ROOTS": str(prefix),
            "KILL_MATCH": match,
            "KILL_AT": str(k),
            "KILL_FILL": str(filler),
            **WARN,
        },
    )


def test_no_room_for_the_new_record(on_disk: tuple[Conda, Path], disk: Path) -> None:
    """The files fitted, the record did not: conda leaves a 0-byte record (and conda
    24.7 an emptied history) and then refuses the environment; verify reports the
    interruption, and repair puts back the environment as the guard's snapshot had it."""
    conda, prefix = on_disk
    history = prefix / "conda-meta" / "history"
    history_before = history.read_bytes()
    record = prefix / "conda-meta" / "clobber-a-1.0-0.json"
    filler = disk / "filler"
    result = _full_at(
        conda, prefix, filler, "/conda-meta/clobber-a-1.0-0.json", 1, "install", "clobber-a"
    )
    assert result.returncode != 0, str(result)
    assert record.exists() and record.stat().st_size == 0
    listed = conda.run("list", "-p", str(prefix), check=False)
    assert "CorruptedEnvironmentError" in listed.stderr, str(listed)
    filler.unlink()  # room again
    report = verify(conda, prefix)
    (finding,) = findings(report, "interrupted-transaction")
    assert "conda-meta/clobber-a-1.0-0.json" in finding["message"], finding["message"]
    if history.stat().st_size == 0:  # conda 24.7's roll-back
        assert "emptied conda-meta/history" in finding["message"], finding["message"]
    repaired = conda.run("integrity", "repair", "-p", str(prefix), "--yes", check=False)
    assert repaired.returncode == 0, str(repaired)
    assert conda.run("list", "-p", str(prefix), check=False).returncode == 0
    assert not record.exists()
    assert history.read_bytes().startswith(history_before)
    assert verify(conda, prefix)["findings"] == []
