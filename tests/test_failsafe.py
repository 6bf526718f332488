"""The guard never breaks conda: an error inside any hook, or a check past its time
bound, is one line on stderr and conda's command goes on (warn), or a clean refusal
that says how to go on (refuse). Never a traceback, never a hang.

The errors are put there by ``tests/support/run_conda_with_fault.py``, which
replaces one function of conda-integrity before real conda starts.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from packaging.version import Version

from conda_integrity.compat import has_transaction_actions
from tests.support.conda_cli import Conda, Result
from tests.support.helpers import CONDA_VERSION, findings, record_of, verify
from tests.support.run_conda_with_fault import FAULT, MESSAGE

RUNNER = Path(__file__).parent / "support" / "run_conda_with_fault.py"
WARN = {"CONDA_PLUGINS_INTEGRITY_MODE": "warn"}
REFUSE = {"CONDA_PLUGINS_INTEGRITY_MODE": "refuse"}
ACTIONS = has_transaction_actions()
OBSERVERS = Version("26.5") <= CONDA_VERSION
COULD_NOT = "conda-integrity could not check"


def with_fault(conda: Conda, fault: str, *args: str, timeout: float = 120, **env: str) -> Result:
    """``conda ARGS`` with ``fault`` in place (see run_conda_with_fault.py); a run
    that does not end within ``timeout`` fails the test."""
    process = subprocess.Popen(
        [sys.executable, str(RUNNER), *args],
        env=conda.environ(**{FAULT: fault, **env}),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        raise AssertionError(f"conda {' '.join(args)} hangs with {fault}") from None
    return Result(tuple(args), process.returncode, stdout, stderr)


def install(conda: Conda, prefix: Path, fault: str, *specs: str, **env: str) -> Result:
    return with_fault(conda, fault, "install", "-p", str(prefix), "--yes", *specs, **env)


def said(result: Result) -> list[str]:
    """The guard's lines about its own failure."""
    return [line for line in result.stderr.splitlines() if COULD_NOT in line]


def assert_no_false_story(conda: Conda, prefix: Path) -> None:
    """The journal tells no interruption, and the prefix verifies clean."""
    report = verify(conda, prefix)
    assert findings(report) == [], report["findings"]


#: (hook, the function made to fail): one beneath each boundary conda calls
HOOK_FAULTS = [
    ("pre-command", "conda_integrity.guard.commands:_before_command"),
    ("pre-command check", "conda_integrity.guard.check:read_state"),
    ("pre-command journal", "conda_integrity.guard.entry:begin"),
    ("pre-solve", "conda_integrity.guard.commands:before_solve"),
    ("post-solve", "conda_integrity.guard.commands:after_solve"),
    ("post-command", "conda_integrity.guard.commands:_after_command"),
    ("post-command check", "conda_integrity.guard.commands:check_after"),
    ("post-command journal", "conda_integrity.guard.entry:finish"),
    pytest.param(
        "pre-transaction",
        "conda_integrity.guard.commands:before_transaction",
        marks=pytest.mark.skipif(not ACTIONS, reason="conda < 25.5 has no transaction actions"),
    ),
    pytest.param(
        "post-transaction",
        "conda_integrity.guard.commands:_after_transaction",
        marks=pytest.mark.skipif(not ACTIONS, reason="conda < 25.5 has no transaction actions"),
    ),
]


@pytest.mark.parametrize(("hook", "function"), HOOK_FAULTS)
def test_an_error_in_a_hook_is_one_line_and_conda_goes_on(
    sandbox: Conda, env: Path, hook: str, function: str
) -> None:
    result = install(sandbox, env, f"{function}:raise", "clobber-a", **WARN)
    assert result.returncode == 0, str(result)
    assert "Traceback" not in result.stderr, str(result)
    (line,) = said(result)
    assert line == f"{COULD_NOT} {env}: RuntimeError: {MESSAGE}; conda goes on"
    assert record_of(env, "clobber-a").is_file()
    # no journal entry left open, no false interruption: the prefix verifies clean
    assert_no_false_story(sandbox, env)
    # and the next guarded command is guarded again, with nothing to say
    after = sandbox.remove(env, "clobber-a", env=WARN)
    assert "conda-integrity" not in after.stderr, str(after)


@pytest.mark.parametrize(
    "function",
    ["conda_integrity.guard.commands:_before_command", "conda_integrity.guard.check:read_state"],
)
def test_refuse_mode_refuses_cleanly_and_says_how_to_go_on(
    sandbox: Conda, env: Path, function: str
) -> None:
    result = install(sandbox, env, f"{function}:raise", "clobber-a", **REFUSE)
    assert result.returncode == 1, str(result)
    assert "Traceback" not in result.stderr, str(result)
    assert f"{COULD_NOT} {env}: RuntimeError: {MESSAGE}" in result.stderr
    assert "CONDA_PLUGINS_INTEGRITY_MODE=warn conda install -p" in result.stderr
    assert not list((env / "conda-meta").glob("clobber-a-*.json"))
    assert_no_false_story(sandbox, env)


def test_the_details_with_verbose(sandbox: Conda, env: Path) -> None:
    fault = "conda_integrity.guard.check:read_state:raise"
    quiet = install(sandbox, env, fault, "clobber-a", **WARN)
    assert "Traceback" not in quiet.stderr
    loud = with_fault(sandbox, fault, "remove", "-p", str(env), "--yes", "-v", "clobber-a", **WARN)
    assert loud.returncode == 0, str(loud)
    assert "Traceback" in loud.stderr and f"RuntimeError: {MESSAGE}" in loud.stderr


@pytest.mark.skipif(not OBSERVERS, reason="conda < 26.5 has no exception observers")
def test_an_error_in_the_exception_observer(sandbox: Conda, env: Path) -> None:
    fault = "conda_integrity.guard.commands:on_failure:raise"
    result = install(sandbox, env, fault, "no-such-package", **WARN)
    assert result.returncode == 1  # conda's own error, as without the plugin
    assert "no-such-package" in result.stderr
    assert "Traceback" not in result.stderr, str(result)
    assert_no_false_story(sandbox, env)


def test_an_error_in_the_health_check(sandbox: Conda, env: Path) -> None:
    args = ["doctor", "-p", str(env)]
    if Version("26.1") <= CONDA_VERSION:
        args.append("integrity")
    result = with_fault(sandbox, "conda_integrity.verify.run:verify_prefix:raise", *args)
    assert result.returncode == 0, str(result)
    assert "Traceback" not in result.stderr + result.stdout, str(result)
    assert f"{COULD_NOT} {env}: RuntimeError: {MESSAGE}" in result.stdout


def test_an_error_in_the_settings_hook(sandbox: Conda, env: Path) -> None:
    result = install(sandbox, env, "conda_integrity.settings:conda_settings:raise", "clobber-a")
    assert result.returncode == 0, str(result)
    assert "Traceback" not in result.stderr, str(result)
    lines = [line for line in result.stderr.splitlines() if "conda-integrity" in line]
    assert lines == [
        f"conda-integrity could not load its settings: RuntimeError: {MESSAGE}; "
        "conda goes on without them"
    ]
    assert record_of(env, "clobber-a").is_file()


def test_an_error_in_a_command_of_ours_is_one_line_and_exit_2(sandbox: Conda, env: Path) -> None:
    fault = "conda_integrity.verify.log:events:raise"
    result = with_fault(sandbox, fault, "integrity", "log", "-p", str(env))
    assert result.returncode == 2, str(result)
    assert "Traceback" not in result.stderr, str(result)
    assert f"conda integrity log could not finish: RuntimeError: {MESSAGE}" in result.stderr


# -- the time bound ---------------------------------------------------------------


def test_a_slow_check_before_is_abandoned_at_the_bound(sandbox: Conda, env: Path) -> None:
    fault = "conda_integrity.guard.check:read_state:sleep=60"
    started = time.monotonic()
    result = install(sandbox, env, fault, "clobber-a", CONDA_PLUGINS_INTEGRITY_TIMEOUT="2", **WARN)
    took = time.monotonic() - started
    assert result.returncode == 0, str(result)
    assert took < 40, took  # the check would take a minute; conda does not wait for it
    (line,) = said(result)
    assert line == (
        f"{COULD_NOT} {env}: its check took longer than 2 s (plugins.integrity_timeout); "
        "conda goes on"
    )
    assert record_of(env, "clobber-a").is_file()
    assert_no_false_story(sandbox, env)


def test_a_slow_check_after_is_abandoned_and_its_entry_closed(sandbox: Conda, env: Path) -> None:
    fault = "conda_integrity.guard.commands:check_after:sleep=60"
    result = install(sandbox, env, fault, "clobber-a", CONDA_PLUGINS_INTEGRITY_TIMEOUT="2", **WARN)
    assert result.returncode == 0, str(result)
    (line,) = said(result)
    assert "its check took longer than 2 s" in line
    assert_no_false_story(sandbox, env)
    events = sandbox.run("integrity", "log", "-p", str(env), "--json").json()["events"]
    newest = next(e for e in events if e["type"] == "transaction")
    assert newest["state"] == "finished"
    assert "took longer than 2 s" in newest["outcome"]["unchecked"]


def test_a_refusing_guard_past_its_bound(sandbox: Conda, env: Path) -> None:
    fault = "conda_integrity.guard.check:read_state:sleep=60"
    result = install(
        sandbox, env, fault, "clobber-a", CONDA_PLUGINS_INTEGRITY_TIMEOUT="2", **REFUSE
    )
    assert result.returncode == 1, str(result)
    assert "Traceback" not in result.stderr
    assert "its check took longer than 2 s" in result.stderr
    assert "CONDA_PLUGINS_INTEGRITY_MODE=warn conda install" in result.stderr
    assert not list((env / "conda-meta").glob("clobber-a-*.json"))


def test_the_time_bound_is_a_setting(sandbox: Conda, env: Path) -> None:
    described = sandbox.run("config", "--describe", "plugins.integrity_timeout", check=False)
    if described.returncode == 0:  # conda 24.7 cannot describe one plugin setting
        assert "integrity_timeout" in described.stdout
    bad = sandbox.install(
        env, "clobber-a", check=False, env={"CONDA_PLUGINS_INTEGRITY_TIMEOUT": "soon"}
    )
    assert "Traceback" not in bad.stderr, str(bad)
    assert "integrity_timeout" in bad.stderr
