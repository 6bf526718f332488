"""Helpers for tests: run verify, pick findings, damage files as life does."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from functools import cache
from pathlib import Path

from packaging.version import Version

from tests.support.conda_cli import Conda, Result
from tests.support.real_conda import ensure_conda

ensure_conda()
import conda  # noqa: E402

#: the version of the conda under test (the subprocesses run the same one)
CONDA_VERSION = Version(conda.__version__)

#: the packages of a typical test environment: every path kind conda writes
STANDARD_SPECS = ("python", "libfoo=1.0", "footools", "pyfoo", "zlibby")


@cache
def _validator(name: str):
    import jsonschema

    from conda_integrity.output_schema import schema

    return jsonschema.Draft202012Validator(schema(name))


def check_schema(name: str, document: object) -> None:
    """Fail unless ``document`` is valid under the schema of ``name``'s ``--json``
    output (``conda_integrity/schemas/``), naming every error."""
    errors = [
        f"{'/'.join(map(str, error.absolute_path)) or '(top)'}: {error.message}"
        for error in _validator(name).iter_errors(document)
    ]
    assert errors == [], f"not a valid {name} document:\n" + "\n".join(errors)


def verify_json(conda: Conda, *args: str, **kwargs) -> tuple[dict, Result]:
    """``conda integrity verify --json ARGS``: the document, after checking that the
    exit code agrees with it, and the run."""
    result = conda.run("integrity", "verify", "--json", *args, check=False, **kwargs)
    assert result.returncode in (0, 1), str(result)
    document = json.loads(result.stdout)
    assert result.returncode == (0 if document["ok"] else 1), str(result)
    check_schema("verify", document)
    return document, result


def verify(conda: Conda, prefix: Path, *args: str, **kwargs) -> dict:
    """``conda integrity verify -p PREFIX --json``: the report."""
    return verify_json(conda, "-p", str(prefix), *args, **kwargs)[0]


def findings(report: dict, code: str | None = None) -> list[dict]:
    return [f for f in report["findings"] if code is None or f["code"] == code]


def summary(report: dict) -> set[tuple[str, str | None]]:
    """(code, path) of every finding: easy to compare in an assert."""
    return {(f["code"], f.get("path")) for f in report["findings"]}


def pip_install(conda: Conda, prefix: Path, wheel: Path, *args: str) -> str:
    """``PREFIX/bin/python -m pip install --no-index ARGS WHEEL``, offline: its output."""
    environ = {
        "PATH": f"{prefix / 'bin'}:/usr/bin:/bin",
        "HOME": str(conda.home),
        "PIP_CONFIG_FILE": os.devnull,
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        "PIP_NO_INPUT": "1",
    }
    result = subprocess.run(
        [str(prefix / "bin" / "python"), "-m", "pip", "install", "--no-index", *args, str(wheel)],
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def uv_install(conda: Conda, prefix: Path, *args: str) -> subprocess.CompletedProcess:
    """``uv pip install --no-index ARGS`` into the environment's python, offline."""
    from uv import find_uv_bin

    uv = find_uv_bin()
    environ = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(conda.home),
        "UV_CACHE_DIR": str(conda.root / "uv-cache"),
        "UV_NO_CONFIG": "1",
        "UV_OFFLINE": "1",
    }
    result = subprocess.run(
        [uv, "pip", "install", "--python", str(prefix / "bin" / "python"), "--no-index", *args],
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def record_of(prefix: Path, name: str) -> Path:
    (match,) = (prefix / "conda-meta").glob(f"{name}-*-*.json")
    return match


def edit_in_place(path: Path, offset: int = 0, data: bytes = b"X") -> None:
    """Overwrite bytes without changing size or inode (like a hex editor)."""
    with open(path, "r+b") as handle:
        handle.seek(offset)
        handle.write(data)


def replace_file(path: Path, content: bytes) -> None:
    """Write a new file over the old one (like most editors and sed -i)."""
    tmp = path.with_name(path.name + ".tmp-edit")
    tmp.write_bytes(content)
    shutil.copymode(path, tmp)
    os.replace(tmp, path)


def kill_mid_transaction(
    conda: Conda, prefix: Path, handshake: Path, *specs: str, command: str = "install", **env: str
):
    """Start ``conda COMMAND SPECS`` (which must include ``slowpost``) and SIGKILL it
    while slowpost's post-link script runs: files linked, records not yet written."""
    import signal
    import time

    handshake.mkdir(exist_ok=True)
    process = conda.popen(
        command,
        "-p",
        str(prefix),
        "--yes",
        *specs,
        env={"SLOWPOST_DIR": str(handshake), **env},
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        while not (handshake / "started").exists():
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline
            time.sleep(0.05)
        os.killpg(process.pid, signal.SIGKILL)
    finally:
        (handshake / "continue").touch()
        process.communicate()
    (handshake / "started").unlink()
    (handshake / "continue").unlink()


def start_waiting_transaction(conda: Conda, prefix: Path, handshake: Path, *specs: str):
    """Start ``conda install SPECS`` (with ``slowpost``) and return once it waits in
    slowpost's post-link script; the caller lets it go on by touching
    ``handshake / "continue"`` and then waits for the process."""
    import time

    handshake.mkdir(exist_ok=True)
    process = conda.popen(
        "install", "-p", str(prefix), "--yes", *specs, env={"SLOWPOST_DIR": str(handshake)}
    )
    deadline = time.monotonic() + 120
    while not (handshake / "started").exists():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.05)
    return process


def wrong_type(value: object) -> object:
    """A JSON value of another type than ``value`` (for damaging state and records)."""
    if isinstance(value, bool):
        return "yes"
    if isinstance(value, (int, float)):
        return "12"
    if isinstance(value, str):
        return 12
    if isinstance(value, list):
        return {"0": value}
    if isinstance(value, dict):
        return [value]
    return [[]]
