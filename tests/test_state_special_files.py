"""No state file of ours is opened unless its ``lstat`` shows a regular file: a FIFO
or a device in its place is never opened at all (not only never waited on), and the
command finishes with its normal findings. Watched through an audit hook in the
conda process (``tests/support/audit_open.py``).
"""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from conda_integrity.observe.known_hashes import RACY_SECONDS
from tests.support.audit_open import audited_run
from tests.support.conda_cli import Conda
from tests.support.helpers import summary, verify

WARN = {"CONDA_PLUGINS_INTEGRITY_MODE": "warn"}
is_root = os.geteuid() == 0 if hasattr(os, "geteuid") else False


def _fifo(path: Path) -> None:
    os.mkfifo(path)


def _device(path: Path) -> None:
    os.mknod(path, 0o600 | stat.S_IFCHR, os.makedev(1, 5))  # what /dev/zero is


KINDS: dict[str, Callable[[Path], None]] = {"fifo": _fifo}
if is_root:
    KINDS["device"] = _device


def _plant(state: Path, plant: Callable[[Path], None]) -> set[str]:
    """Every JSON file of our state folder replaced by a FIFO or a device; their names."""
    names = set()
    for path in sorted(state.rglob("*.json")):
        path.unlink()
        plant(path)
        names.add(path.name)
    return names


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_no_state_file_that_is_not_a_regular_file_is_opened(
    sandbox: Conda, env: Path, tmp_path: Path, kind: str
) -> None:
    verify(sandbox, env)
    time.sleep(RACY_SECONDS + 0.2)  # old enough for verify to keep what it learns
    verify(sandbox, env)
    state = env / "conda-meta" / "integrity"
    assert {"hash-cache.json", "modes.json", "tree.json"} <= {p.name for p in state.iterdir()}
    (env / "include" / "foo.h").unlink()  # a real damage, which must still be found
    names = _plant(state, KINDS[kind])
    assert {"hash-cache.json", "modes.json", "index.json"} <= names
    log = tmp_path / "opened.log"
    audited = audited_run(log, names, **WARN)

    report = verify(sandbox, env, timeout=120, **audited)
    assert summary(report) == {("missing-file", "include/foo.h")}
    for command in (
        ("integrity", "snapshot", "-p", str(env)),
        ("integrity", "log", "-p", str(env)),
        ("install", "-p", str(env), "--yes", "--quiet", "slowpost"),
    ):
        result = sandbox.run(*command, timeout=300, **audited)  # type: ignore[arg-type]
        assert "Traceback" not in result.stderr, str(result)
    assert log.read_text() == ""
