"""The automatic guard around real conda commands: warn, refuse, catch interruptions."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from conda_integrity.compat import has_transaction_actions
from tests.support.catalog import SITE_PACKAGES
from tests.support.conda_cli import Conda
from tests.support.helpers import (
    findings,
    kill_mid_transaction,
    record_of,
    start_waiting_transaction,
    summary,
    verify,
)
from tests.support.real_conda import ensure_conda

ensure_conda()

REFUSE = {"CONDA_PLUGINS_INTEGRITY_MODE": "refuse"}
WARN = {"CONDA_PLUGINS_INTEGRITY_MODE": "warn"}
#: transaction actions (conda >= 25.5): refusal before anything changes, roll-back after
ACTIONS = has_transaction_actions()
needs_actions = pytest.mark.skipif(not ACTIONS, reason="conda < 25.5 has no transaction actions")
without_actions = pytest.mark.skipif(ACTIONS, reason="conda >= 25.5 rolls back instead")


def meta_of(prefix: Path) -> dict[str, bytes]:
    """conda's own records and history (not conda-integrity's state)."""
    meta = prefix / "conda-meta"
    return {p.name: p.read_bytes() for p in meta.iterdir() if p.is_file()}


def guard_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "conda-integrity" in line]


# -- the setting ---------------------------------------------------------------------


@pytest.mark.parametrize("where", ["environment", "condarc"])
def test_unknown_mode_is_a_clear_error(channel: Path, tmp_path: Path, where: str) -> None:
    conda = Conda(
        tmp_path / "sandbox",
        channel,
        "plugins:\n  integrity_mode: strict\n" if where == "condarc" else "",
    )
    env = {"CONDA_PLUGINS_INTEGRITY_MODE": "strict"} if where == "environment" else {}
    prefix = tmp_path / "env"
    conda.create(prefix, "libfoo=1.0", env={"CONDA_PLUGINS_INTEGRITY_MODE": "warn"})
    result = conda.install(prefix, "zlibby", check=False, env=env)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert "integrity_mode must be one of off, warn, refuse, not 'strict'" in result.stderr
    assert not list((prefix / "conda-meta").glob("zlibby-*.json"))


def test_mode_from_condarc(channel: Path, tmp_path: Path) -> None:
    conda = Conda(tmp_path / "sandbox", channel, "plugins:\n  integrity_mode: refuse\n")
    prefix = tmp_path / "env"
    conda.create(prefix, "libfoo=1.0")
    (prefix / "include" / "foo.h").unlink()
    assert conda.install(prefix, "zlibby", check=False).returncode == 1


# -- before the transaction ------------------------------------------------------------


def test_warn_reports_a_damaged_environment_and_lets_conda_go_on(sandbox: Conda, env: Path) -> None:
    (env / "include" / "foo.h").unlink()
    result = sandbox.install(env, "clobber-a", env=WARN)
    assert result.returncode == 0
    assert f"conda-integrity: 1 problem(s) in {env}:" in result.stderr
    assert "missing-file" in result.stderr and "include/foo.h" in result.stderr
    assert record_of(env, "clobber-a").is_file()


def test_refuse_stops_conda_and_leaves_the_environment_as_it_was(sandbox: Conda, env: Path) -> None:
    (env / "include" / "foo.h").unlink()
    before = meta_of(env)
    result = sandbox.install(env, "clobber-a", check=False, env=REFUSE)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "IntegrityRefusal" in result.stderr and "missing-file" in result.stderr
    # conda integrity repair is not a command the guard stops: no setting before it
    assert f"\n  conda integrity repair -p {env} libfoo\n" in result.stderr
    assert meta_of(env) == before
    assert not (env / "share" / "clobbered.txt").exists()
    assert not (env / ".condatmp").exists()


def test_off_says_and_keeps_nothing(sandbox: Conda, env: Path) -> None:
    (env / "include" / "foo.h").unlink()
    log_before = sandbox.run("integrity", "log", "-p", str(env), "--json").json()["events"]
    result = sandbox.install(env, "clobber-a", env={"CONDA_PLUGINS_INTEGRITY_MODE": "off"})
    assert guard_lines(result.stderr) == []
    log_after = sandbox.run("integrity", "log", "-p", str(env), "--json").json()["events"]
    assert log_after == log_before


def test_changes_between_two_conda_commands_are_seen(sandbox: Conda, env: Path) -> None:
    """A tool writing into a conda package's files between two conda commands."""
    subprocess.run(
        [
            str(env / "bin" / "python"),
            "-c",
            "import pathlib, pyfoo.cli as m; p = pathlib.Path(m.__file__); "
            "p.write_text(p.read_text() + '# patched\\n')",
        ],
        check=True,
    )
    result = sandbox.install(env, "clobber-a", env=WARN)
    assert "changed since conda's last transaction" not in result.stderr  # it is a finding:
    assert "altered-file" in result.stderr and f"{SITE_PACKAGES}/pyfoo/cli.py" in result.stderr


# -- after the transaction -------------------------------------------------------------


def test_a_transaction_that_clobbers_a_file_is_reported(sandbox: Conda, env: Path) -> None:
    sandbox.install(env, "clobber-a")
    result = sandbox.install(env, "clobber-b", env=WARN)
    assert result.returncode == 0
    assert "this transaction left 1 problem(s)" in result.stderr
    assert "clobbered-file" in result.stderr and "share/clobbered.txt" in result.stderr
    events = sandbox.run("integrity", "log", "-p", str(env), "--json").json()["events"]
    last = next(e for e in events if e["type"] == "transaction")
    assert (last["state"], last["outcome"]) == ("finished", {"findings": ["clobbered-file"]})


@without_actions
def test_refuse_fails_a_transaction_that_clobbers_after_the_fact(sandbox: Conda, env: Path):
    sandbox.install(env, "clobber-a")
    result = sandbox.install(env, "clobber-b", check=False, env=REFUSE)
    assert result.returncode == 1
    assert "clobbered-file" in result.stderr
    assert "cannot roll a finished transaction back" in result.stderr


@needs_actions
def test_refuse_rolls_back_a_transaction_that_clobbers(sandbox: Conda, env: Path) -> None:
    sandbox.install(env, "clobber-a")
    records = {name for name in meta_of(env) if name.endswith(".json")}
    result = sandbox.install(env, "clobber-b", check=False, env=REFUSE)
    assert result.returncode == 1
    assert "conda rolls it back" in result.stderr
    assert {name for name in meta_of(env) if name.endswith(".json")} == records
    # conda deleted clobber-a's file to write clobber-b's; its roll-back cannot bring
    # it back, and verify says so
    assert not (env / "share" / "clobbered.txt").exists()
    report = verify(sandbox, env)
    assert ("missing-file", "share/clobbered.txt") in summary(report)


@needs_actions
def test_refuse_in_the_transaction_removes_nothing_and_adds_nothing(
    sandbox: Conda, env: Path
) -> None:
    (env / "include" / "foo.h").unlink()
    before = meta_of(env)
    result = sandbox.install(env, "libfoo=2.0", check=False, env=REFUSE)
    assert result.returncode == 1 and "missing-file" in result.stderr
    assert meta_of(env) == before
    assert (env / "share" / "foo" / "1.0.txt").is_file()


# -- interruptions ---------------------------------------------------------------------


def test_kill_9_is_reported_by_the_next_verify_and_the_next_install(
    sandbox: Conda, env: Path, tmp_path: Path
) -> None:
    kill_mid_transaction(sandbox, env, tmp_path / "handshake", "libfoo=2.0", "slowpost")
    report = verify(sandbox, env)
    (finding,) = findings(report, "interrupted-transaction")
    transaction = finding["transaction"]
    plan = dict(transaction["plan"])
    # the specs conda's history entry will list (set order: conda's own)
    assert sorted(plan.pop("update_specs")) == ["libfoo=2.0", "slowpost"]
    assert plan == {
        "unlink": ["libfoo-1.0-h1234_0"],
        "link": ["libfoo-2.0-h1234_0", "slowpost-1.0-0"],
    }
    progress = transaction["progress"]
    assert progress["unlinked"] == ["libfoo-1.0-h1234_0"]
    assert progress["not_recorded"] == ["libfoo-2.0-h1234_0", "slowpost-1.0-0"]
    assert progress["files_without_record"] > 0
    assert "include/foo.h.c~" in progress["backups"]
    assert progress["history_written"] is False
    assert finding["fix"] == f"conda install -p {env} --yes libfoo=2.0 slowpost"
    # what it left is in the journal now: conda's next install deletes the .c~ files
    refused = sandbox.install(env, "zlibby", check=False, env=REFUSE)
    assert refused.returncode == 1 and "interrupted-transaction" in refused.stderr
    result = sandbox.install(env, "zlibby", env=WARN)
    assert "interrupted-transaction" in result.stderr
    # a transaction that finished since supersedes the interruption
    assert findings(verify(sandbox, env), "interrupted-transaction") == []


def test_kill_9_of_a_create_is_reported_until_it_is_made_anew(
    sandbox: Conda, tmp_path: Path
) -> None:
    prefix = tmp_path / "new"
    specs = ("libfoo=1.0", "slowpost")
    kill_mid_transaction(sandbox, prefix, tmp_path / "handshake", *specs, command="create")
    (finding,) = findings(verify(sandbox, prefix), "interrupted-transaction")
    progress = finding["transaction"]["progress"]
    assert progress["not_recorded"] == ["libfoo-1.0-h1234_0", "slowpost-1.0-0"]
    assert progress["files_without_record"] > 0
    # conda does not create over what it left: the fix removes it first
    fix = f"rm -rf {prefix} && conda create -p {prefix} --yes libfoo=1.0 slowpost"
    assert finding["fix"] == fix
    shutil.rmtree(prefix)
    sandbox.create(prefix, "libfoo=1.0")
    assert verify(sandbox, prefix)["findings"] == []


def test_a_create_that_fails_leaves_nothing_and_no_alarm(sandbox: Conda, tmp_path: Path) -> None:
    prefix = tmp_path / "new"
    assert sandbox.create(prefix, "no-such-package", check=False).returncode == 1
    assert not prefix.exists()
    sandbox.create(prefix, "libfoo=1.0")
    assert verify(sandbox, prefix)["findings"] == []


def test_a_failed_solve_is_no_interruption(sandbox: Conda, env: Path) -> None:
    result = sandbox.install(env, "no-such-package", check=False)
    assert result.returncode == 1 and guard_lines(result.stderr) == []
    assert verify(sandbox, env)["findings"] == []
    events = sandbox.run("integrity", "log", "-p", str(env), "--json").json()["events"]
    last = next(e for e in events if e["type"] == "transaction")
    assert last["state"] == "closed"


def test_a_second_conda_at_work_is_not_an_interruption(
    sandbox: Conda, env: Path, tmp_path: Path
) -> None:
    handshake = tmp_path / "handshake"
    first = start_waiting_transaction(sandbox, env, handshake, "slowpost")
    try:
        assert findings(verify(sandbox, env), "interrupted-transaction") == []
        refused = sandbox.install(env, "clobber-a", check=False, env=REFUSE)
        assert refused.returncode == 1
        assert "another conda process" in refused.stderr
    finally:
        (handshake / "continue").touch()
        first.communicate(timeout=120)
    assert first.returncode == 0
    assert verify(sandbox, env)["findings"] == []


def test_modes_compare_with_the_snapshot_after_the_transaction(sandbox: Conda, env: Path):
    """A post-link script may set a mode the archive does not have."""
    sandbox.install(env, "chmodder")
    assert verify(sandbox, env)["findings"] == []
    (env / "share" / "chmodder" / "tool").chmod(0o644)
    (finding,) = findings(verify(sandbox, env), "mode-changed")
    assert finding["path"] == "share/chmodder/tool"
    assert "it was executable at snapshot" in finding["message"]


def test_a_guarded_command_does_not_make_a_chmod_by_hand_the_baseline(
    sandbox: Conda, env: Path
) -> None:
    """The snapshots a guarded command takes keep the modes of what it did not link:
    verify goes on naming a mode changed by hand, after an install of something else
    and after an update of the package itself (which relinks it, as a repair would)."""
    (env / "bin" / "foo-config").chmod(0o644)
    assert summary(verify(sandbox, env)) == {("mode-changed", "bin/foo-config")}

    sandbox.install(env, "chmodder", env=WARN)
    sandbox.remove(env, "chmodder", env=WARN)

    assert summary(verify(sandbox, env)) == {("mode-changed", "bin/foo-config")}
    sandbox.install(env, "libfoo=2.0", env=WARN)  # linked anew: as its package has it
    assert verify(sandbox, env)["findings"] == []


@needs_actions
def test_env_update_from_a_file_is_guarded(sandbox: Conda, tmp_path: Path) -> None:
    """`conda env update -f FILE` names its target only in the file; conda 25.5 and
    later tell it to the transaction actions, where the guard starts."""
    sandbox.run("create", "-n", "fromfile", "--yes", "--quiet", "libfoo=1.0")
    prefix = sandbox.envs_dir / "fromfile"
    (prefix / "include" / "foo.h").unlink()
    spec = tmp_path / "environment.yml"
    spec.write_text(
        f"name: fromfile\nchannels:\n  - {sandbox.channel.as_uri()}\n"
        "dependencies:\n  - libfoo=1.0\n  - clobber-a\n"
    )
    before = meta_of(prefix)
    refused = sandbox.run("env", "update", "-f", str(spec), check=False, env=REFUSE)
    assert refused.returncode == 1, str(refused)
    assert "IntegrityRefusal" in refused.stderr and "include/foo.h" in refused.stderr
    assert meta_of(prefix) == before
    warned = sandbox.run("env", "update", "-f", str(spec), env=WARN)
    assert f"conda-integrity: 1 problem(s) in {prefix}:" in warned.stderr
    assert record_of(prefix, "clobber-a").is_file()
    events = sandbox.run("integrity", "log", "-n", "fromfile", "--json").json()["events"]
    last = next(e for e in events if e["type"] == "transaction")
    assert (last["command"], last["state"]) == ("env_update", "finished")


def test_env_create_from_a_file_writes_into_no_other_environment(
    sandbox: Conda, env: Path, tmp_path: Path
) -> None:
    """`conda env create -f FILE` names its target only in the file; conda's own
    target is then the active environment, which must stay untouched."""
    spec = tmp_path / "environment.yml"
    spec.write_text(
        f"name: fromfile\nchannels:\n  - {sandbox.channel.as_uri()}\n"
        "dependencies:\n  - libfoo=1.0\n"
    )
    active = {"CONDA_DEFAULT_ENV": str(env)}
    log = ("integrity", "log", "-p", str(env), "--json")
    before = sandbox.run(*log).json()["events"]
    sandbox.run("env", "create", "-f", str(spec), env=active)
    assert record_of(sandbox.envs_dir / "fromfile", "libfoo").is_file()
    assert sandbox.run(*log).json()["events"] == before
    assert verify(sandbox, sandbox.envs_dir / "fromfile")["findings"] == []


# -- snapshot, log, diff ---------------------------------------------------------------


def test_snapshot_log_and_diff(sandbox: Conda, env: Path) -> None:
    made = sandbox.run("integrity", "snapshot", "-p", str(env), "--label", "known good", "--json")
    number = made.json()["number"]
    (env / "include" / "foo.h").unlink()
    sandbox.install(env, "clobber-a", env=WARN)
    events = sandbox.run("integrity", "log", "-p", str(env), "--json").json()["events"]
    assert events[0]["type"] == "snapshot" and events[0]["kind"] == "after"
    assert any(e.get("label") == "known good" for e in events)
    diff = sandbox.run("integrity", "diff", "-p", str(env), str(number), "--json").json()
    assert diff["from"] == f"snapshot {number}" and diff["to"] == "now"
    assert diff["records"]["added"] == ["clobber-a-1.0-0"]
    changes = {(c["path"], c["change"]) for c in diff["files"]}
    assert {("include/foo.h", "removed"), ("share/clobbered.txt", "added")} <= changes
    text = sandbox.run("integrity", "diff", "-p", str(env), str(number)).stdout
    assert "+ clobber-a-1.0-0" in text and "removed         include/foo.h" in text
    missing = sandbox.run("integrity", "diff", "-p", str(env), "999", check=False)
    assert missing.returncode == 2 and "there is no snapshot 999" in missing.stderr


def test_snapshots_are_bounded(sandbox: Conda, env: Path) -> None:
    keep = {"CONDA_PLUGINS_INTEGRITY_SNAPSHOTS": "3"}
    for spec in ("clobber-a", "zlibby", "slowpost"):
        sandbox.install(env, spec, env=keep)
    snapshots = [
        e["number"]
        for e in sandbox.run("integrity", "log", "-p", str(env), "--json").json()["events"]
        if e["type"] == "snapshot"
    ]
    assert len(snapshots) == 3
    assert len(list((env / "conda-meta" / "integrity" / "snapshots").glob("*.snapshot"))) == 3


def test_json_of_a_failed_command_stays_clean(sandbox: Conda, env: Path) -> None:
    """With --json, the guard talks on stderr and conda's JSON error is alone on stdout."""
    (env / "include" / "foo.h").unlink()
    result = sandbox.install(env, "clobber-a", "--json", check=False, env=REFUSE)
    assert result.returncode == 1
    error = json.loads(result.stdout)
    # conda >= 25.5 reports a refusal from a transaction action in a CondaMultiError
    text = str(error.get("errors", "")) if ACTIONS else error["error"]
    assert "IntegrityRefusal" in text and "missing-file" in text


def test_a_prefix_the_user_cannot_write_is_guarded_from_the_users_cache(
    sandbox: Conda, env: Path
) -> None:
    """A shared environment the user may only read: the guard still checks it, and
    keeps its snapshots and journal in the user's cache, never in the prefix."""
    (env / "include" / "foo.h").unlink()
    folders = [env, *(p for p in env.rglob("*") if p.is_dir() and not p.is_symlink())]
    for folder in folders:
        folder.chmod(0o555)
    try:
        before = sorted((str(p), p.lstat().st_mtime_ns) for p in env.rglob("*"))
        made = sandbox.run("integrity", "snapshot", "-p", str(env), "--json", unprivileged=True)
        assert made.json()["number"] == 1
        install = sandbox.install(env, "clobber-a", check=False, env=WARN, unprivileged=True)
        assert install.returncode == 1 and "Traceback" not in install.stderr
        assert "missing-file" in install.stderr and "include/foo.h" in install.stderr
        assert sorted((str(p), p.lstat().st_mtime_ns) for p in env.rglob("*")) == before
        report = verify(sandbox, env, unprivileged=True)
        assert summary(report) == {("missing-file", "include/foo.h")}  # no interruption
        events = sandbox.run(
            "integrity", "log", "-p", str(env), "--json", unprivileged=True
        ).json()["events"]
    finally:
        for folder in folders:
            folder.chmod(0o755)
    transaction, snapshot = events[:2]  # the state before the install was snapshot 1's
    assert (transaction["type"], transaction["before"]) == ("transaction", 1)
    assert (snapshot["type"], snapshot["number"]) == ("snapshot", 1)
    assert transaction["state"] == "closed"  # conda could not write: nothing changed
    cached = sandbox.home / ".cache" / "conda-integrity" / "prefixes"
    assert len(list(cached.glob("*/snapshots/*.snapshot"))) == 1
