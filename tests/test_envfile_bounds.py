"""verify --file has bounds: a file past them (too large, too many entries, YAML whose
aliases expand past reason, YAML nested too deep) is a clear exit 2 at once, never
minutes of work."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from conda_integrity.exceptions import IntegrityInputError
from conda_integrity.observe.environment_file import (
    MAX_ENTRIES,
    MAX_FILE_BYTES,
    read_environment_file,
)
from tests.support.conda_cli import Conda

MB = 1024 * 1024


def _laughs(levels: int = 9, width: int = 9) -> str:
    """The "billion laughs": each level an alias list of the one before (~400 bytes)."""
    lines = ["l0: &l0 [" + ", ".join(["lol"] * width) + "]"]
    for level in range(1, levels + 1):
        lines.append(f"l{level}: &l{level} [" + ", ".join([f"*l{level - 1}"] * width) + "]")
    return "\n".join([*lines, f"dependencies: [*l{levels}]", ""])


def _merge_laughs(levels: int = 9, width: int = 9) -> str:
    """The same with ``<<`` merge keys: each level merges the one before many times."""
    lines = ["m0: &m0 {" + ", ".join(f"k{i}: lol" for i in range(width)) + "}"]
    for level in range(1, levels + 1):
        merged = ", ".join([f"*m{level - 1}"] * width)
        lines.append(f"m{level}: &m{level} {{<<: [{merged}], n{level}: [{merged}]}}")
    return "\n".join([*lines, f"dependencies: [python]\nextra: *m{levels}", ""])


def _write(text: str | bytes) -> Callable[[Path], None]:
    def plant(path: Path) -> None:
        path.write_bytes(text if isinstance(text, bytes) else text.encode())

    return plant


def _zeros(size: int) -> Callable[[Path], None]:
    def plant(path: Path) -> None:
        with open(path, "wb") as handle:
            handle.truncate(size)  # a file of zeros (sparse: written at once)

    return plant


def _dev_zero(path: Path) -> None:
    path.symlink_to("/dev/zero")  # the user's own link: followed, and read to the bound


LIMIT_WORDS = f"larger than {MAX_FILE_BYTES // MB} MiB, the most verify --file reads"
CASES: dict[str, tuple[Callable[[Path], None], str]] = {
    "billion-laughs": (_write(_laughs()), "once its aliases are expanded"),
    "merge-key-laughs": (_write(_merge_laughs()), "once its aliases are expanded"),
    "alias-in-itself": (_write("dependencies: &a [python, *a]\n"), "inside the node it refers to"),
    "too-deep": (
        _write("dependencies: " + "[" * 5000 + "]" * 5000 + "\n"),
        "nests YAML more than 100 deep",
    ),
    "spec-list-100mb": (_write(b"libfoo=1.0\n" * (100 * MB // 11)), LIMIT_WORDS),
    "environment-yml-100mb": (
        _write("dependencies:\n" + "  - libfoo=1.0\n" * (100 * MB // 15)),
        LIMIT_WORDS,
    ),
    "zeros-100mb": (_zeros(100 * MB), LIMIT_WORDS),
    "dev-zero": (_dev_zero, LIMIT_WORDS),
    "too-many-entries": (
        _write("".join(f"pkg{i}\n" for i in range(MAX_ENTRIES + 1))),
        f"more than {MAX_ENTRIES:,}, the most verify --file reads",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_file_past_the_bounds_is_refused_at_once(tmp_path: Path, case: str) -> None:
    plant, words = CASES[case]
    path = tmp_path / "environment.yml"
    plant(path)
    started = time.perf_counter()
    with pytest.raises(IntegrityInputError) as raised:
        read_environment_file(str(path))
    assert time.perf_counter() - started < 1.0
    assert words in str(raised.value) and str(path) in str(raised.value)


@pytest.mark.parametrize("case", ["billion-laughs", "merge-key-laughs", "zeros-100mb"])
def test_verify_says_so_in_one_line_and_exits_2(
    shared_sandbox: Conda, shared_env: Path, tmp_path: Path, case: str
) -> None:
    plant, words = CASES[case]
    path = tmp_path / "environment.yml"
    plant(path)
    result = shared_sandbox.verify(shared_env, "--file", str(path), timeout=60)
    assert result.returncode == 2, str(result)
    assert result.stdout == "" and "Traceback" not in result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert words in line
    as_json = shared_sandbox.verify(shared_env, "--file", str(path), "--json", timeout=60)
    assert as_json.returncode == 2 and words in json.loads(as_json.stdout)["message"]


def test_files_within_the_bounds_are_read(tmp_path: Path) -> None:
    """An environment file with aliases that expand a little, and a long spec list."""
    path = tmp_path / "environment.yml"
    path.write_text("base: &base [python, libfoo=1.0]\ndependencies: *base\n")
    assert [spec.text for spec in read_environment_file(str(path)).specs] == [
        "python",
        "libfoo=1.0",
    ]
    path.write_text("".join(f"pkg{i}\n" for i in range(2000)))
    assert len(read_environment_file(str(path)).specs) == 2000
    assert os.path.getsize(path) < MAX_FILE_BYTES
