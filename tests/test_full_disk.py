"""A full disk: conda transactions that run out of space at each of their steps.

The prefix and the package cache (or the package cache alone, or our state folder
alone) live on a small tmpfs the test mounts; right
before a chosen change on disk, ``kill_at.py`` fills it (``KILL_FILL``), and conda
goes on into a full disk. What conda leaves must be as it was, or reported and
repairable once there is room again: conda then accepts the environment.
Skipped where the machine forbids mounting (not root, or no tmpfs).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.conda_cli import Conda
from tests.support.fault_sweep import KILL_RUNNER
from tests.support.helpers import findings, verify
from tests.support.kill_at import fill_disk

BASE = ("python", "libfoo=1.0")
WARN = {"CONDA_PLUGINS_INTEGRITY_MODE": "warn"}
FOOTOOLS = "footools-1.0-h5678_0.json"


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


def _state_files_whole(prefix: Path) -> list[str]:
    """Our state files that do not parse (a torn write would be one)."""
    torn = []
    for path in (prefix / "conda-meta" / "integrity").rglob("*.json"):
        try:
            json.loads(path.read_bytes())
        except ValueError:
            torn.append(str(path))
    return torn


#: (step, a path part, k): space runs out right before that change of conda's
SQUEEZES = [
    # the first change conda makes in the prefix (its temporary folder, a copy)
    ("files", "/env/", 1),
    ("record", f"/conda-meta/{FOOTOOLS}", 1),
    # the copy of the history conda keeps (after an open to see it is writable)
    ("history", "/conda-meta/history", 2),
]


@pytest.mark.parametrize(("step", "match", "k"), SQUEEZES, ids=[s[0] for s in SQUEEZES])
def test_a_full_disk_at_each_step_is_as_before_or_repairable(
    on_disk: tuple[Conda, Path], disk: Path, step: str, match: str, k: int
) -> None:
    conda, prefix = on_disk
    records_before = sorted(p.name for p in (prefix / "conda-meta").glob("*.json"))
    history_before = (prefix / "conda-meta" / "history").read_bytes()
    filler = disk / "filler"
    result = _full_at(conda, prefix, filler, match, k, "install", "footools")
    assert "Traceback" not in result.stderr, str(result)
    # the guard's own writes failed too: one line at most, never a crash
    assert len([line for line in result.stderr.splitlines() if "conda-integrity" in line]) <= 1
    filler.unlink()
    assert _state_files_whole(prefix) == []
    report = verify(conda, prefix)
    # conda 26 may leave its .condatmp behind (a transaction-debris warning, true)
    if [f for f in report["findings"] if f["severity"] == "error"]:
        assert findings(report, "interrupted-transaction"), report["findings"]
        repaired = conda.run("integrity", "repair", "-p", str(prefix), "--yes", check=False)
        assert repaired.returncode == 0, str(repaired)
        assert verify(conda, prefix)["findings"] == []
        assert sorted(p.name for p in (prefix / "conda-meta").glob("*.json")) == records_before
    else:  # as it was, or as the install leaves it
        records = sorted(p.name for p in (prefix / "conda-meta").glob("*.json"))
        assert records in (records_before, sorted([*records_before, FOOTOOLS]))
    assert (prefix / "conda-meta" / "history").read_bytes().startswith(history_before)
    assert conda.run("list", "-p", str(prefix), check=False).returncode == 0


@pytest.fixture
def full_state(tmp_path: Path, sandbox: Conda) -> Iterator[Path]:
    """An environment on the ordinary disk whose state folder alone is a full disk."""
    prefix = tmp_path / "env"
    sandbox.create(prefix, *BASE)
    state = prefix / "conda-meta" / "integrity"
    kept = tmp_path / "state-before"
    shutil.copytree(state, kept, symlinks=True)
    _mount(state, "1m")
    try:
        shutil.copytree(kept, state, symlinks=True, dirs_exist_ok=True)
        fill_disk(str(state / "filler"))
        yield prefix
    finally:
        subprocess.run(["umount", "-l", str(state)], check=False)


def test_a_full_state_folder_never_fails_or_slows_conda(sandbox: Conda, full_state: Path) -> None:
    prefix = full_state
    started = time.monotonic()
    result = sandbox.install(prefix, "footools", env=WARN)
    took = time.monotonic() - started
    guard = [line for line in result.stderr.splitlines() if "conda-integrity" in line]
    assert len(guard) <= 1, result.stderr
    assert (prefix / "conda-meta" / FOOTOOLS).is_file()
    assert _state_files_whole(prefix) == []
    assert sandbox.run("list", "-p", str(prefix), check=False).returncode == 0
    assert took < 120


@pytest.fixture
def full_cache(tmp_path: Path, channel: Path) -> Iterator[tuple[Conda, Path]]:
    """An environment on the ordinary disk whose package cache alone is a small disk."""
    conda = Conda(tmp_path / "sandbox", channel)
    _mount(conda.pkgs_dir, "64m")
    try:
        prefix = tmp_path / "env"
        conda.create(prefix, *BASE)
        yield conda, prefix
    finally:
        subprocess.run(["umount", "-l", str(conda.pkgs_dir)], check=False)


@pytest.mark.parametrize("k", [1, 3, 6])
def test_a_full_package_cache_leaves_the_environment_as_it_was(
    full_cache: tuple[Conda, Path], k: int
) -> None:
    """Space runs out while conda fetches or extracts a new package into the cache:
    the environment is as it was, verify says so, the cache's damage (if any) is named
    as the cache's, and the same install goes through once there is room again."""
    conda, prefix = full_cache
    records_before = sorted(p.name for p in (prefix / "conda-meta").glob("*.json"))
    filler = conda.pkgs_dir / "filler"
    result = conda.run(
        "install",
        "-p",
        str(prefix),
        "--yes",
        "footools",
        check=False,
        runner=KILL_RUNNER,
        env={
            "KILL_ROOTS": str(conda.pkgs_dir),
            "KILL_MATCH": "footools",
            "KILL_AT": str(k),
            "KILL_FILL": str(filler),
            **WARN,
        },
    )
    assert "Traceback" not in result.stderr, str(result)
    assert filler.exists(), "the disk was not filled: no such change"
    filler.unlink()
    records = sorted(p.name for p in (prefix / "conda-meta").glob("*.json"))
    if result.returncode != 0:
        assert records == records_before
    report = verify(conda, prefix)
    assert [f for f in report["findings"] if f["severity"] == "error"] == [], report["findings"]
    cache = json.loads(
        conda.run("integrity", "verify", "--pkgs-dirs", "--json", check=False).stdout
    )
    assert {f.get("package", "") for f in cache["findings"]} <= {"footools-1.0-h5678_0"}, cache
    conda.install(prefix, "footools", env=WARN)
    assert verify(conda, prefix)["findings"] == []
