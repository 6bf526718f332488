"""Root acts on nothing the owner of an environment wrote in its journal.

The tests run as root against an environment conda made and then handed to another
user (uid 65534), who has written a journal entry of their own into it: a transaction
"interrupted" whose command would run a shell command as root, or install into an
environment of root's. Root's verify reports it as theirs; nothing in it (its command,
plan, snapshot number, date) is run, looked up or ranked as root's.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.support.conda_cli import Conda
from tests.support.helpers import findings, verify
from tests.test_state_owner import OTHER, WARN, fingerprint, hand_over, needs_root

pytestmark = needs_root

#: a pid no process has (the entry's conda is gone)
GONE = 999_999
#: 2999-12-31, in the entry the owner dates in the future
FUTURE = 32_503_600_000.0
LIBFOO = "libfoo-1.0-h1234_0"


def plant(env: Path, argv: list[str], started: float | None = None, **fields: object) -> Path:
    """The owner's own journal entry in ``env``: a transaction of theirs that did not
    finish, which names ``argv`` as its command."""
    started = time.time() if started is None else started
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(started))
    entry_id = f"{stamp}.{int(started % 1 * 1e6):06d}-{GONE}"
    entry = {
        "id": entry_id,
        "command": "install",
        "argv": argv,
        "pid": GONE,
        "started": started,
        "state": "interrupted",
        "outcome": {"changed": True, "unlinked": [LIBFOO]},
        **fields,
    }
    path = env / "conda-meta" / "integrity" / "journal" / f"{entry_id}.json"
    path.write_text(json.dumps(entry))
    hand_over(env)
    return path


def shell_argv(env: Path, canary: Path) -> list[str]:
    """A command that, run by root, would write ``canary`` as root."""
    return ["conda", "run", "-p", str(env), "/bin/sh", "-c", f"touch {canary}"]


def integrity(sandbox: Conda, *args: str):
    return sandbox.run("integrity", *args, check=False, timeout=300)


def test_verify_reports_the_owners_interruption_as_theirs_without_its_command(
    sandbox: Conda, env: Path, tmp_path: Path
) -> None:
    canary = tmp_path / "ran-as-root"
    entry = plant(env, shell_argv(env, canary))

    (finding,) = findings(verify(sandbox, env), "interrupted-transaction")
    text = integrity(sandbox, "verify", "-p", str(env))

    assert text.returncode == 1, str(text)
    assert "touch" not in json.dumps(finding) and "touch" not in text.stdout, text.stdout
    assert finding["fix"] == f"conda integrity repair -p {env}"
    assert f"to fix: conda integrity repair -p {env}" in text.stdout
    # the interruption is still a fact worth showing: whose, where, what it left
    assert "uid 65534" in finding["message"] and str(entry) in finding["message"]
    assert f"removed {LIBFOO}" in finding["message"]
    assert finding["transaction"]["written_by"] == OTHER
    assert not canary.exists()


@pytest.mark.parametrize("target", ["shell", "root's env"])
def test_rollback_forward_refuses_the_owners_entry_and_runs_nothing(
    sandbox: Conda, env: Path, tmp_path: Path, target: str
) -> None:
    canary = tmp_path / "ran-as-root"
    mine = tmp_path / "mine"
    sandbox.create(mine, "libfoo=1.0")
    if target == "shell":
        argv = shell_argv(env, canary)
    else:
        argv = ["conda", "install", "-p", str(mine), "zlibby"]
    entry = plant(env, argv)
    env_before, mine_before = fingerprint(env), fingerprint(mine)

    result = integrity(sandbox, "rollback", "-p", str(env), "--forward", "-y")

    assert result.returncode == 2, str(result)
    (line,) = result.stderr.strip().splitlines()
    assert "uid 65534" in line and str(entry) in line, line
    assert f"conda integrity repair -p {env}" in line
    assert "zlibby" not in line and "touch" not in line
    assert "Traceback" not in result.stderr
    assert not canary.exists()
    assert fingerprint(mine) == mine_before
    assert fingerprint(env) == env_before


def test_the_owners_entry_chooses_nothing_root_rolls_back_or_repairs(
    sandbox: Conda, env: Path, tmp_path: Path
) -> None:
    """Root has a snapshot 1 of its own; the owner's entry names snapshot 1 as the one
    before it, and a plan that touched libfoo. Neither is root's to act on."""
    hand_over(env)
    taken = integrity(sandbox, "snapshot", "-p", str(env))
    assert "Snapshot 1" in taken.stdout, str(taken)
    canary = tmp_path / "ran-as-root"
    plant(env, shell_argv(env, canary), before=1, plan={"unlink": [LIBFOO], "link": [LIBFOO]})

    # no transaction of root's: no default snapshot to go back to
    default = integrity(sandbox, "rollback", "-p", str(env), "--dry-run")
    assert default.returncode == 2, str(default)
    assert "no guarded transaction with a snapshot before it" in default.stderr

    named = integrity(sandbox, "rollback", "-p", str(env), "1", "--dry-run", "--json")
    assert named.returncode == 0, str(named)
    plan = named.json()["plan"]
    assert (plan["interrupted"], plan["relink"], plan["move_aside"]) == ([], [], [])

    repair = integrity(sandbox, "repair", "-p", str(env), "--dry-run", "--json")
    assert repair.returncode == 0, str(repair)
    document = repair.json()
    assert [row["action"] for row in document["plan"]] == []
    (left,) = document["not_repaired"]
    assert left["code"] == "interrupted-transaction"
    assert "uid 65534" in left["reason"] and left["command"] == f"conda integrity repair -p {env}"
    assert "touch" not in repair.stdout
    assert not canary.exists()


def test_a_future_dated_entry_of_the_owner_ends_with_roots_finished_transaction(
    sandbox: Conda, env: Path, tmp_path: Path
) -> None:
    """The owner dates their entry in the year 2999. It is believed only up to when
    its file last changed (which its writer cannot set): a transaction of root's that
    finishes after that supersedes it, as one of the owner's own would."""
    plant(env, shell_argv(env, tmp_path / "ran-as-root"), started=FUTURE)
    assert findings(verify(sandbox, env), "interrupted-transaction")

    sandbox.install(env, "zlibby", "--force-reinstall", env=WARN)  # root's, finished

    assert findings(verify(sandbox, env), "interrupted-transaction") == []


def test_the_plans_say_whose_environment_it_is(sandbox: Conda, env: Path) -> None:
    (env / "include" / "foo.h").unlink()
    hand_over(env)
    integrity(sandbox, "snapshot", "-p", str(env))
    said = (
        "the environment belongs to nobody (uid 65534), not to root (uid 0), who runs "
        "this: the files conda links in it will belong to root (uid 0)"
    )

    repair = integrity(sandbox, "repair", "-p", str(env), "--dry-run")
    assert f"Repair plan for {env}:\n  note: {said}\n" in repair.stdout, str(repair)
    document = integrity(sandbox, "repair", "-p", str(env), "--dry-run", "--json").json()
    assert document["ownership"]["owner"] == OTHER and document["ownership"]["runner"] == 0
    assert document["ownership"]["message"] == said
    assert {"prefix", "plan", "done", "not_repaired", "backup", "report"} < set(document)

    rollback = integrity(sandbox, "rollback", "-p", str(env), "1", "--dry-run")
    assert f"to snapshot 1:\n  note: {said}\n" in rollback.stdout, str(rollback)
    plan = integrity(sandbox, "rollback", "-p", str(env), "1", "--dry-run", "--json").json()
    assert plan["plan"]["ownership"]["message"] == said

    # root's own environment: nothing to say
    hand_over(env, 0)
    document = integrity(sandbox, "repair", "-p", str(env), "--dry-run", "--json").json()
    assert document["ownership"] is None
    assert "note:" not in integrity(sandbox, "repair", "-p", str(env), "--dry-run").stdout


def test_whose_an_entry_is_is_told_by_its_file(tmp_path: Path) -> None:
    """A unit test of the one rule: the file's owner, never a field the file holds."""
    from dataclasses import replace

    from conda_integrity.store import entry_writer, journal
    from conda_integrity.store.state_dir import StateDir

    mine = StateDir(str(tmp_path), ("mine",), 0)
    journal.save(mine, journal.Entry("20261124-000000.000000-1", "install", ["conda"], 1, FUTURE))
    (own,) = journal.newest_first(mine)
    assert entry_writer.by_runner(own) and entry_writer.trusted_start(own) == FUTURE

    (tmp_path / "mine").rename(tmp_path / "theirs")
    hand_over(tmp_path / "theirs")
    theirs = replace(mine, parts=("theirs",), owner=OTHER, writable=False)
    (entry,) = journal.newest_first(theirs)
    assert not entry_writer.by_runner(entry) and entry_writer.writer(entry) == OTHER
    assert entry_writer.writer_name(entry) == "nobody (uid 65534)"
    # dated in the future: believed up to when its file last changed
    assert entry_writer.trusted_start(entry) == entry.written.changed < time.time() + 1

    # a file cannot say whose it is: an entry with such a field is no entry
    path = tmp_path / "theirs" / "journal" / "20261124-000000.000000-1.json"
    data = json.loads(path.read_text())
    path.write_text(json.dumps({**data, "written": [str(path), 0, 0.0]}))
    hand_over(tmp_path / "theirs")
    assert list(journal.newest_first(theirs)) == []


def test_a_conda_of_the_owner_at_work_is_named_by_whose_it_is(sandbox: Conda, env: Path) -> None:
    """The owner's entry is open and its lock held (their conda at work, as far as root
    can tell): root's rollback waits, saying whose conda it is, not what the entry says."""
    import fcntl

    hand_over(env)
    integrity(sandbox, "snapshot", "-p", str(env))
    entry = plant(env, [], state="started", command="run -p / /bin/sh -c 'touch /x'")
    lock = entry.with_suffix(".lock")
    lock.touch()
    hand_over(env)
    with lock.open("rb") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)
        result = integrity(sandbox, "rollback", "-p", str(env), "1", "--dry-run")
        repaired = integrity(sandbox, "repair", "-p", str(env), "-y")
    assert result.returncode == 2, str(result)
    (line,) = result.stderr.strip().splitlines()
    whose = "a conda of nobody (uid 65534)"
    assert f"another conda is at work on {env} (pid {GONE}, {whose})" in line
    assert "touch" not in line
    assert repaired.returncode == 2, str(repaired)
    assert f"another conda is changing {env} now ({whose}, pid {GONE})" in repaired.stderr
    assert "touch" not in repaired.stderr
