"""Interruptions of real conda transactions: every kill point seen, no false alarm.

The fault sweep (tests/support/fault_sweep.py) kills a real conda process right
before its k-th change on disk and judges what the user is told. The default run
kills each transaction at a few telling points; ``pytest -m fault_sweep`` at
every one (see the README for its last figures).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.conda_cli import RUNNER, Conda
from tests.support.fault_sweep import (
    AFTER,
    KILL_RUNNER,
    OUT_OF_STEP,
    TRANSACTIONS,
    Sweep,
    figures,
    sample,
)
from tests.support.helpers import findings, start_waiting_transaction, verify

WARN = {"CONDA_PLUGINS_INTEGRITY_MODE": "warn"}
BY_NAME = {transaction.name: transaction for transaction in TRANSACTIONS}


def guard_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "conda-integrity" in line]


# -- the sweep --------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(BY_NAME))
def test_kill_points_sample(channel: Path, tmp_path: Path, name: str) -> None:
    sweep = Sweep(channel, tmp_path, BY_NAME[name])
    sweep.prepare()
    outcomes = [sweep.point(k) for k in sample(sweep.changes)]
    assert [str(o) for o in outcomes if not o.ok] == []
    # the sample reaches both a state out of step and one after conda's work
    assert {OUT_OF_STEP, AFTER} <= {o.state for o in outcomes}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(BY_NAME))
def test_ctrl_c_at_the_sample_points(channel: Path, tmp_path: Path, name: str) -> None:
    """SIGINT instead of SIGKILL: conda's handler rolls back what it did, and what it
    leaves is judged the same way."""
    sweep = Sweep(channel, tmp_path, BY_NAME[name])
    sweep.prepare()
    outcomes = [sweep.point(k, interrupt=True) for k in sample(sweep.changes)]
    assert [str(o) for o in outcomes if not o.ok] == []


@pytest.mark.fault_sweep
@pytest.mark.parametrize("signal", ["KILL", "INT"])
@pytest.mark.parametrize("name", sorted(BY_NAME))
def test_every_kill_point(channel: Path, tmp_path: Path, name: str, signal: str) -> None:
    """SIGKILL (``kill -9``) or SIGINT (Ctrl-C) at every kill point; with
    ``FAULT_SWEEP_LOG`` set, each transaction's figures (and what was not ok) are
    appended to that file as they come, for the README."""
    sweep = Sweep(channel, tmp_path, BY_NAME[name])
    total = sweep.prepare()
    outcomes = [sweep.point(k, interrupt=signal == "INT") for k in range(1, total + 1)]
    line = {"transaction": name, "signal": signal, **figures(outcomes)}
    wrong = [str(o) for o in outcomes if not o.ok]
    log = os.environ.get("FAULT_SWEEP_LOG")
    if log:
        with open(log, "a") as handle:
            handle.write(json.dumps({**line, "not_ok": wrong}) + "\n")
    print(f"\n{json.dumps(line)}")
    assert wrong == []


# -- what a finished transaction leaves ---------------------------------------------------


def test_the_backup_of_a_folder_symlink_after_an_update_is_no_finding(
    sandbox: Conda, tmp_path: Path
) -> None:
    """conda keeps ``dirlink.c~`` after replacing a symlink to a folder, even when the
    transaction finished: that is no interruption and no debris to report."""
    prefix = tmp_path / "env"
    sandbox.create(prefix, "alpha=1.0")
    sandbox.install(prefix, "alpha=2.0")
    assert (prefix / "share" / "alpha" / "dirlink.c~").is_symlink()  # conda's leftover
    assert verify(sandbox, prefix)["findings"] == []
    assert guard_lines(sandbox.install(prefix, "zlibby").stderr) == []
    assert verify(sandbox, prefix, "--untracked")["findings"] == []


# -- the journal's process ----------------------------------------------------------------


def _kill_at_first_link(sandbox: Conda, prefix: Path, *specs: str) -> None:
    """``conda install SPECS`` killed right before its first file linked."""
    result = sandbox.run(
        "install",
        "-p",
        str(prefix),
        "--yes",
        *specs,
        check=False,
        runner=KILL_RUNNER,
        env={"KILL_ROOTS": str(prefix / "lib"), "KILL_AT": "2"},
    )
    assert result.returncode == -9, str(result)


def _journal_entry(prefix: Path) -> Path:
    """The newest entry (ids begin with the time)."""
    return sorted((prefix / "conda-meta" / "integrity" / "journal").glob("*.json"))[-1]


def _entry_of_pid(prefix: Path, pid: int) -> None:
    """The pid of the killed conda is reused: another process has it now."""
    path = _journal_entry(prefix)
    data = json.loads(path.read_text())
    data["pid"] = pid
    path.write_text(json.dumps(data))


def test_an_interruption_whose_pid_another_process_has_now(sandbox: Conda, env: Path) -> None:
    _kill_at_first_link(sandbox, env, "libfoo=2.0")
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        _entry_of_pid(env, other.pid)
        (finding,) = findings(verify(sandbox, env), "interrupted-transaction")
        assert finding["transaction"]["progress"]["not_recorded"] == ["libfoo-2.0-h1234_0"]
    finally:
        other.kill()
        other.wait()


def test_an_interruption_whose_pid_the_verifying_process_has_now(sandbox: Conda, env: Path) -> None:
    _kill_at_first_link(sandbox, env, "libfoo=2.0")
    entry = _journal_entry(env)
    # a process that writes its own pid into the entry, then becomes conda verify
    become_verify = (
        "import json, os, sys\n"
        f"path = {str(entry)!r}\n"
        "data = json.loads(open(path).read()); data['pid'] = os.getpid()\n"
        "open(path, 'w').write(json.dumps(data))\n"
        "os.execv(sys.executable, [sys.executable, *sys.argv[1:]])\n"
    )
    verify_args = ["integrity", "verify", "-p", str(env), "--json"]
    process = subprocess.run(
        [sys.executable, "-c", become_verify, str(RUNNER), *verify_args],
        env=sandbox.environ(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    report = json.loads(process.stdout)
    assert "interrupted-transaction" in {f["code"] for f in report["findings"]}, process.stderr


def test_a_second_conda_on_the_same_prefix_is_told_and_neither_is_an_interruption(
    sandbox: Conda, env: Path, tmp_path: Path
) -> None:
    handshake = tmp_path / "handshake"
    first = start_waiting_transaction(sandbox, env, handshake, "slowpost")
    try:
        second = sandbox.install(env, "clobber-a", env=WARN)
        assert "another conda process" in second.stderr
        assert findings(verify(sandbox, env), "interrupted-transaction") == []
    finally:
        (handshake / "continue").touch()
        first.communicate(timeout=120)
    assert first.returncode == 0
    # two condas at once may leave conda's history out of step (a warning): no error
    report = verify(sandbox, env)
    assert [f for f in report["findings"] if f["severity"] == "error"] == []


# -- a kill in the guard's own steps ------------------------------------------------------


#: (a path part, k): the guard's journal writes before conda changes anything (the
#: first, and the rename that saves the entry) and after conda's work (the removal
#: of the entry's lock file, the very last)
GUARD_POINTS = {
    "pre-check": [("/integrity/journal/", 1), ("/integrity/journal/", 5)],
    "post-check": [(".lock", 2)],
}


@pytest.mark.parametrize("step", ["pre-check", "post-check"])
def test_a_kill_in_the_guards_own_step_is_no_false_alarm(
    sandbox: Conda, env: Path, step: str
) -> None:
    """Killed while the guard writes its journal, before conda changed anything or
    after conda's work was done: the prefix is in step, nothing is reported, and
    the transaction is not called interrupted."""
    for match, k in GUARD_POINTS[step]:
        result = sandbox.run(
            "install",
            "-p",
            str(env),
            "--yes",
            "clobber-a",
            check=False,
            runner=KILL_RUNNER,
            env={"KILL_ROOTS": str(env), "KILL_MATCH": match, "KILL_AT": str(k)},
        )
        assert result.returncode == -9, str(result)
        assert (env / "share" / "clobbered.txt").exists() == (step == "post-check")
        assert findings(verify(sandbox, env)) == [], k
        next_command = sandbox.install(env, "zlibby")
        assert guard_lines(next_command.stderr) == [], k
        sandbox.remove(env, "zlibby")
        if step == "post-check":
            sandbox.remove(env, "clobber-a")
    log = sandbox.run("integrity", "log", "-p", str(env), "--json").json()["events"]
    states = [e["state"] for e in log if e["type"] == "transaction"]
    assert "interrupted" not in states


# -- conda's history entry: the last of its own steps -------------------------------------


def _remove_killed_in_its_history_step(sandbox: Conda, prefix: Path, k: int) -> str:
    """``conda remove zlibby pyfoo`` killed right before its ``k``-th change of
    ``conda-meta/history`` (or ``history.c~``): the history's text after it."""
    result = sandbox.run(
        "remove",
        "-p",
        str(prefix),
        "--yes",
        "zlibby",
        "pyfoo",
        check=False,
        runner=KILL_RUNNER,
        env={"KILL_ROOTS": str(prefix), "KILL_MATCH": "/conda-meta/history", "KILL_AT": str(k)},
    )
    assert result.returncode == -9, str(result)
    return (prefix / "conda-meta" / "history").read_text()


#: the changes of conda-meta/history in a remove (24.7.1 and 26.7.1 alike): two
#: opens to see it is writable, the copy to history.c~ (open, copystat, utime,
#: chmod), the revision appended, then its spec lines in an append of their own
BEFORE_THE_REVISION, BEFORE_THE_SPEC_LINES = 7, 8


def test_a_remove_killed_before_its_history_spec_lines_is_an_interruption(
    sandbox: Conda, env: Path
) -> None:
    """Records and files removed, the revision written, its ``# remove specs`` line
    not: conda had not finished, and its requested specs still name what it removed."""
    history = _remove_killed_in_its_history_step(sandbox, env, BEFORE_THE_SPEC_LINES)
    last = history[history.rindex("==>") :]
    assert "-" + sandbox.channel.as_uri() + "/linux-64::zlibby-1.3-h0_1" in last
    assert "# remove specs" not in last
    report = verify(sandbox, env)
    assert report["ok"] is False
    (finding,) = findings(report, "interrupted-transaction")
    assert finding["transaction"]["progress"]["step"] == "history-specs"
    assert (
        "wrote conda-meta/history without its spec lines (# remove specs)" in (finding["message"])
    )
    next_command = sandbox.run("install", "-p", str(env), "--dry-run", "zlibby", check=False)
    assert any("1 problem(s)" in line for line in guard_lines(next_command.stderr))


def test_a_remove_killed_before_its_history_revision_is_an_interruption(
    sandbox: Conda, env: Path
) -> None:
    history_before = (env / "conda-meta" / "history").read_text()
    assert _remove_killed_in_its_history_step(sandbox, env, BEFORE_THE_REVISION) == history_before
    (finding,) = findings(verify(sandbox, env), "interrupted-transaction")
    assert finding["transaction"]["progress"]["step"] == "history"
    assert "did not write conda-meta/history" in finding["message"]


@pytest.mark.parametrize("k", [BEFORE_THE_REVISION, BEFORE_THE_SPEC_LINES])
def test_a_remove_cut_off_in_its_history_step_is_finished_forward(
    sandbox: Conda, env: Path, k: int
) -> None:
    """Run again, the remove would find nothing to remove: going forward writes the
    history entry conda did not finish, with its spec lines, and nothing else."""
    _remove_killed_in_its_history_step(sandbox, env, k)
    result = sandbox.run("integrity", "rollback", "--forward", "-p", str(env), check=False)
    assert result.returncode == 0, str(result)
    assert "then write the history entry conda did not finish" in result.stdout
    history = (env / "conda-meta" / "history").read_text()
    last = history[history.rindex("==>") :]
    assert "-" + sandbox.channel.as_uri() + "/linux-64::zlibby-1.3-h0_1" in last
    spec_line = last.rstrip().splitlines()[-1]
    assert spec_line.startswith("# remove specs: [") and "'pyfoo'" in spec_line, last
    assert "'zlibby'" in spec_line, last
    assert verify(sandbox, env)["findings"] == []
    listed = sandbox.run("list", "-p", str(env), "--json").json()
    assert "zlibby" not in {p["name"] for p in listed}
    assert guard_lines(sandbox.install(env, "clobber-a").stderr) == []


def test_a_remove_cut_off_in_its_history_step_is_taken_back(sandbox: Conda, env: Path) -> None:
    _remove_killed_in_its_history_step(sandbox, env, BEFORE_THE_SPEC_LINES)
    result = sandbox.run("integrity", "repair", "-p", str(env), "--yes", check=False)
    assert result.returncode == 0, str(result)
    assert verify(sandbox, env)["findings"] == []  # the history's state is the records' too
    listed = sandbox.run("list", "-p", str(env), "--json").json()
    assert {"zlibby", "pyfoo"} <= {p["name"] for p in listed}
