"""Parallel condas and read-only installs.

conda takes no lock on a prefix or on a package cache: two commands on one
environment, several creates filling one cache, a load of guarded commands over
several environments. Whatever conda does then, the guard and verify must not
crash, hang, tear their own state or leave a lock behind, and every error they
report must be true: each test checks what is on disk against the packages as
the catalog built them, without our code. A prefix and a cache nobody may write
are verified all the same, with nothing written and one line about what could
not be kept.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.support import catalog
from tests.support.conda_cli import RUNNER, Conda, Result, finish
from tests.support.helpers import edit_in_place, verify
from tests.support.packages import Package
from tests.support.real_conda import ensure_conda

ensure_conda()

WARN = {"CONDA_PLUGINS_INTEGRITY_MODE": "warn"}
REFUSE = {"CONDA_PLUGINS_INTEGRITY_MODE": "refuse"}
ANOTHER = "another conda process"

#: packages whose files conda writes as their archives hold them (no prefix to
#: replace), so that what is on disk can be checked against the catalog directly
PLAIN: dict[str, Package] = {
    package.dist: package
    for package in (
        catalog.zlibby(),
        catalog.alpha("1.0"),
        catalog.alpha("2.0"),
        catalog.chmodder(),
        catalog.foolimit(),
        catalog.clobberer("clobber-a"),
    )
}
CREATE_SPECS = ("zlibby", "alpha=1.0", "chmodder", "foolimit", "clobber-a")


def damaged(prefix: Path) -> set[str]:
    """The paths of the installed packages that differ from what the catalog built
    (missing, another content or link): the truth any error must match."""
    found = set()
    for record in (prefix / "conda-meta").glob("*.json"):
        fields = json.loads(record.read_text())
        package = PLAIN[f"{fields['name']}-{fields['version']}-{fields['build']}"]
        for file in package.files:
            path = prefix / file.path
            if file.symlink_to is not None:
                good = path.is_symlink() and os.readlink(path) == file.symlink_to
            else:
                good = (
                    path.is_file() and not path.is_symlink() and path.read_bytes() == file.content
                )
            if not good:
                found.add(file.path)
    return found


def errors_named(report: dict) -> set[str | None]:
    return {f.get("path") for f in report["findings"] if f["severity"] == "error"}


def guard_lines(result: Result) -> list[str]:
    return [line for line in result.stderr.splitlines() if "conda-integrity" in line]


def assert_no_crash(result: Result) -> None:
    assert "Traceback" not in result.stderr, str(result)
    assert "conda_integrity" not in result.stderr, str(result)
    assert "could not check" not in result.stderr, str(result)


def assert_state_whole(conda: Conda, prefix: Path) -> None:
    """No lock left, no torn state file, no transaction left open."""
    state = prefix / "conda-meta" / "integrity"
    assert not list(state.rglob("*.lock")), sorted(state.rglob("*"))
    assert not [p for p in state.rglob("*") if ".tmp" in p.name], sorted(state.rglob("*"))
    for path in state.rglob("*.json"):
        json.loads(path.read_bytes())  # written whole, or not at all
    log = conda.run("integrity", "log", "-p", str(prefix), "--json").json()
    assert log.get("skipped", []) == [], log
    states = {e["state"] for e in log["events"] if e["type"] == "transaction"}
    assert states <= {"finished", "closed"}, log


def assert_true(conda: Conda, prefix: Path) -> dict:
    """verify names exactly the damaged paths (none, as a rule): no false alarm."""
    report = verify(conda, prefix)
    assert errors_named(report) == damaged(prefix), report
    return report


def start(conda: Conda, *args: str, env: dict[str, str]) -> subprocess.Popen:
    return conda.popen(*args, env=env)


def at_once(conda: Conda, commands: list[tuple[str, ...]], env: dict[str, str]) -> list[Result]:
    """Start every command at the same moment; their results once all ended."""
    processes = [start(conda, *args, env=env) for args in commands]
    return [finish(process, args) for process, args in zip(processes, commands)]


# -- two guarded commands on one prefix ---------------------------------------------


def _install_or_remove(prefix: Path, name: str) -> tuple[str, ...]:
    """The command that changes ``name`` in ``prefix``: a remove if it is installed,
    else an install (alpha: the other version)."""
    where = ("-p", str(prefix), "--yes", "--quiet")
    installed = {json.loads(p.read_text())["name"]: p for p in prefix.glob("conda-meta/*.json")}
    if name == "alpha":
        other = "1.0" if json.loads(installed["alpha"].read_text())["version"] == "2.0" else "2.0"
        return ("install", *where, f"alpha={other}")
    return ("remove" if name in installed else "install", *where, name)


@pytest.mark.parametrize("mode", ["warn", "refuse"])
def test_two_guarded_commands_on_one_prefix_at_once(
    sandbox: Conda, tmp_path: Path, mode: str
) -> None:
    prefix = tmp_path / "env"
    sandbox.create(prefix, "alpha=1.0", "zlibby", env=WARN)
    sandbox.install(prefix, "clobber-a", "foolimit", env=WARN)  # everything cached
    sandbox.remove(prefix, "clobber-a", "foolimit", env=WARN)
    rounds = [("clobber-a", "foolimit"), ("clobber-a", "chmodder"), ("alpha", "foolimit")]
    setting = WARN if mode == "warn" else REFUSE
    for names in rounds:
        commands = [_install_or_remove(prefix, name) for name in names]
        for result in at_once(sandbox, commands, setting):
            assert_no_crash(result)
            if result.returncode != 0:  # refused: the other one was at work
                assert mode == "refuse" and "IntegrityRefusal" in result.stderr, str(result)
                assert ANOTHER in result.stderr, str(result)
            elif guard_lines(result):  # warned: it says why
                assert ANOTHER in result.stderr, str(result)
        assert_state_whole(sandbox, prefix)
    assert_true(sandbox, prefix)


# -- several creates sharing one package cache ----------------------------------------


def test_creates_sharing_one_package_cache_at_once(sandbox: Conda, tmp_path: Path) -> None:
    """Four creates fill one empty package cache at the same moment."""
    prefixes = [tmp_path / f"env{number}" for number in range(4)]
    commands = [("create", "-p", str(p), "--yes", "--quiet", *CREATE_SPECS) for p in prefixes]
    for result in at_once(sandbox, commands, WARN):
        assert_no_crash(result)
        assert guard_lines(result) == [], str(result)
    for prefix in prefixes:
        if (prefix / "conda-meta").is_dir():
            assert_true(sandbox, prefix)
    cache = sandbox.run("integrity", "verify", "--pkgs-dirs", "--json", check=False)
    assert cache.returncode in (0, 1), str(cache)
    assert_no_crash(cache)
    named = {
        (f["package"], f.get("path"))
        for f in json.loads(cache.stdout)["findings"]
        if f["severity"] == "error"
    }
    truth = {
        (dist, file.path)
        for dist, package in PLAIN.items()
        if (sandbox.pkgs_dir / dist).is_dir()
        for file in package.files
        if file.symlink_to is None
        and (sandbox.pkgs_dir / dist / file.path).read_bytes() != file.content
    }
    assert named == truth, cache.stdout


# -- a load of guarded commands --------------------------------------------------------

#: packages the load installs and removes (alpha switches between its versions)
LOAD_PACKAGES = ("zlibby", "chmodder", "foolimit", "clobber-a")


def plan(seed: int, environments: int, steps: int) -> list[list[tuple[str, ...]]]:
    """For each environment, its commands in order: installs, removes, an update
    of alpha and verifies, picked at random (every command can succeed)."""
    chance = random.Random(seed)
    plans = []
    for _ in range(environments):
        installed: set[str] = set()
        alpha = "1.0"
        steps_of: list[tuple[str, ...]] = []
        for _ in range(steps):
            action = chance.choice(["install", "install", "remove", "alpha", "verify"])
            if action == "remove" and installed:
                name = chance.choice(sorted(installed))
                installed.discard(name)
                steps_of.append(("remove", name))
            elif action == "alpha":
                alpha = "2.0" if alpha == "1.0" else "1.0"
                steps_of.append(("install", f"alpha={alpha}"))
            elif action == "verify" or len(installed) == len(LOAD_PACKAGES):
                steps_of.append(("verify",))
            else:
                name = chance.choice([n for n in LOAD_PACKAGES if n not in installed])
                installed.add(name)
                steps_of.append(("install", name))
        plans.append(steps_of)
    return plans


def run_load(
    conda: Conda, tmp_path: Path, *, environments: int, workers: int, steps: int, limit: float
) -> None:
    prefixes = [tmp_path / f"load{number}" for number in range(environments)]
    # the package cache holds every package first: the load's condas share it, and
    # what filling it at once does is the test above
    conda.create(tmp_path / "warm", *LOAD_PACKAGES, "alpha=1.0", env=WARN)
    conda.install(tmp_path / "warm", "alpha=2.0", env=WARN)
    for prefix in prefixes:
        conda.create(prefix, "alpha=1.0", env=WARN)
    deadline = time.monotonic() + limit
    done: list[str] = []
    lock = threading.Lock()

    def work(prefix: Path, steps_of: list[tuple[str, ...]]) -> None:
        for step in steps_of:
            assert time.monotonic() < deadline, f"past {limit} s after {len(done)} commands"
            left = max(deadline - time.monotonic(), 1)
            if step == ("verify",):
                assert_true(conda, prefix)
                report = verify(conda, prefix, timeout=left)
                assert report["findings"] == [], report
            else:
                verb, spec = step
                result = conda.run(
                    verb, "-p", str(prefix), "--yes", "--quiet", spec, env=WARN, timeout=left
                )
                assert_no_crash(result)
                assert guard_lines(result) == [], str(result)
            with lock:
                done.append(f"{prefix.name}: {' '.join(step)}")

    plans = plan(20261208, environments, steps)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for future in [pool.submit(work, p, s) for p, s in zip(prefixes, plans)]:
            future.result()
    assert len(done) == environments * steps
    for prefix in prefixes:
        assert_state_whole(conda, prefix)
        report = assert_true(conda, prefix)
        assert report["findings"] == [] and damaged(prefix) == set(), report


def test_a_small_load_of_guarded_commands(sandbox: Conda, tmp_path: Path) -> None:
    run_load(sandbox, tmp_path, environments=2, workers=2, steps=3, limit=240)


@pytest.mark.slow
def test_a_load_of_guarded_commands(sandbox: Conda, tmp_path: Path) -> None:
    """36 commands over three environments, three at a time."""
    run_load(sandbox, tmp_path, environments=3, workers=3, steps=12, limit=900)


# -- a prefix and a cache nobody may write -----------------------------------------------


def _read_only(conda: Conda, folders: list[Path], *args: str) -> Result:
    """``conda ARGS`` in a mount namespace of its own where ``folders`` are read-only
    (bind-mounted onto themselves): no user, root included, may write there."""
    mounts = " && ".join(
        f"mount --bind '{f}' '{f}' && mount -o remount,ro,bind '{f}' '{f}'" for f in folders
    )
    command = [
        "unshare", "--mount", "--propagation", "private",
        "sh", "-c", f'{mounts} && exec "$@"', "sh", sys.executable, str(RUNNER), *args,
    ]  # fmt: skip
    process = subprocess.run(
        command, env=conda.environ(), capture_output=True, text=True, timeout=300
    )
    return Result(args, process.returncode, process.stdout, process.stderr)


def _can_mount_read_only(tmp_path: Path) -> str | None:
    """Why read-only mounts cannot be made here (None: they can)."""
    probe = tmp_path / "probe"
    probe.mkdir()
    try:
        result = subprocess.run(
            [
                "unshare",
                "--mount",
                "--propagation",
                "private",
                "sh",
                "-c",
                f"mount --bind '{probe}' '{probe}' && mount -o remount,ro,bind '{probe}' "
                f"'{probe}' && ! touch '{probe}/x' 2>/dev/null",
            ],
            capture_output=True,
            text=True,
            timeout=30,
        )
    except OSError as error:
        return f"no unshare: {error}"
    return None if result.returncode == 0 else f"no read-only mount: {result.stderr.strip()}"


def tree(*folders: Path) -> dict[str, tuple[int, int, int]]:
    """Every path below ``folders``: its inode, size and mtime (what a write changes)."""
    found = {}
    for folder in folders:
        for path in [folder, *folder.rglob("*")]:
            info = path.lstat()
            found[str(path)] = (info.st_ino, info.st_size, info.st_mtime_ns)
    return found


@pytest.mark.parametrize("cache_folder", ["writable", "read-only"])
def test_a_read_only_prefix_and_cache(sandbox: Conda, tmp_path: Path, cache_folder: str) -> None:
    why = _can_mount_read_only(tmp_path)
    if why is not None:
        pytest.skip(why)
    prefix = tmp_path / "env"
    sandbox.create(prefix, "alpha=1.0", "zlibby", "foolimit", env=WARN)
    folders = [prefix, sandbox.pkgs_dir]
    if cache_folder == "read-only":
        folders.append(sandbox.home)
    before = tree(*folders)
    verb = ("integrity", "verify", "-p", str(prefix))
    result = _read_only(sandbox, folders, *verb)
    assert_no_crash(result)
    assert result.returncode == 0 and "No problems found." in result.stdout, str(result)
    said = [line for line in result.stderr.splitlines() if "could not keep" in line]
    if cache_folder == "read-only":
        assert said == [
            f"conda-integrity: could not keep what verify learned about {prefix} ("
            + said[0].split(" (", 1)[1]
        ], str(result)
        assert "Read-only file system" in said[0]
    else:
        assert said == [], str(result)

    cache = _read_only(sandbox, folders, "integrity", "verify", "--pkgs-dirs")
    assert_no_crash(cache)
    assert cache.returncode == 0 and "No problems found." in cache.stdout, str(cache)
    assert tree(*folders) == before  # nothing written

    edit_in_place(prefix / "lib" / "libzlibby.a", 0, b"!")
    before = tree(*folders)
    damaged_run = _read_only(sandbox, folders, *verb, "--json")
    assert_no_crash(damaged_run)
    assert damaged_run.returncode == 1, str(damaged_run)
    assert errors_named(json.loads(damaged_run.stdout)) == {"lib/libzlibby.a"}
    assert damaged_run.stderr.count("could not keep") == (cache_folder == "read-only")
    assert tree(*folders) == before  # nothing written
