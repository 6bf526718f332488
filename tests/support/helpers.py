"""Helpers for tests: run verify, pick findings, damage files as life does."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from packaging.version import Version

from tests.support.conda_cli import Conda
from tests.support.real_conda import ensure_conda

ensure_conda()
import conda  # noqa: E402

#: the version of the conda under test (the subprocesses run the same one)
CONDA_VERSION = Version(conda.__version__)

#: the packages of a typical test environment: every path kind conda writes
STANDARD_SPECS = ("python", "libfoo=1.0", "footools", "pyfoo", "zlibby")


def verify(conda: Conda, prefix: Path, *args: str, **kwargs) -> dict:
    """``conda integrity verify --json``: the report, after checking the exit code."""
    result = conda.verify(prefix, "--json", *args, **kwargs)
    assert result.returncode in (0, 1), str(result)
    report = json.loads(result.stdout)
    assert result.returncode == (0 if report["ok"] else 1), str(result)
    return report


def findings(report: dict, code: str | None = None) -> list[dict]:
    return [f for f in report["findings"] if code is None or f["code"] == code]


def summary(report: dict) -> set[tuple[str, str | None]]:
    """(code, path) of every finding: easy to compare in an assert."""
    return {(f["code"], f.get("path")) for f in report["findings"]}


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
