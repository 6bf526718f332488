"""``verify --all``: every environment conda knows, on real environments made by conda."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.support.catalog import SITE_PACKAGES
from tests.support.conda_cli import Conda, Result
from tests.support.helpers import (
    STANDARD_SPECS,
    edit_in_place,
    replace_file,
    summary,
    verify_json,
)

ZLIBBY_ARCHIVE = "lib/libzlibby.a"  # 3 MiB: hashed on a worker thread


def verify_all(conda: Conda, *args: str, **kwargs) -> tuple[dict, Result]:
    return verify_json(conda, "--all", *args, **kwargs)


def by_prefix(document: dict) -> dict[str, dict]:
    return {entry["prefix"]: entry for entry in document["environments"]}


@pytest.fixture
def machine(sandbox: Conda, tmp_path: Path) -> dict[str, Path]:
    """A conda with several environments that share its package cache, one deleted
    behind conda's back, and a folder in environments.txt that is no environment."""
    sandbox.run("create", "-n", "one", "--yes", "--quiet", *STANDARD_SPECS)
    sandbox.run("create", "-n", "two", "--yes", "--quiet", *STANDARD_SPECS)
    elsewhere = tmp_path / "elsewhere" / "three"
    sandbox.create(elsewhere, "libfoo", "zlibby")  # -p: registered in environments.txt
    gone = tmp_path / "elsewhere" / "gone"
    sandbox.create(gone, "libfoo")
    shutil.rmtree(gone)
    plain = tmp_path / "plain-folder"
    plain.mkdir()
    registry = sandbox.home / ".conda" / "environments.txt"
    with registry.open("a") as handle:
        handle.write(f"{plain}\n")
    return {
        "one": sandbox.envs_dir / "one",
        "two": sandbox.envs_dir / "two",
        "three": elsewhere,
        "gone": gone,
        "plain": plain,
    }


def test_every_environment_conda_knows(sandbox: Conda, machine: dict[str, Path]) -> None:
    registry = sandbox.home / ".conda" / "environments.txt"
    before = registry.read_bytes()
    document, result = verify_all(sandbox)
    assert set(document) == {"environments", "ok"}
    assert document["ok"] is True
    entries = by_prefix(document)
    for name in ("one", "two", "three"):
        report = entries[str(machine[name])]
        assert report["ok"] is True and report["findings"] == [], report
        assert set(report) >= {"prefix", "ok", "mode", "checked", "counts", "findings"}
    assert report["checked"]["packages"] == 2  # three: libfoo, zlibby
    assert entries[str(machine["gone"])] == {
        "prefix": str(machine["gone"]),
        "skipped": "it does not exist",
    }
    assert entries[str(machine["plain"])] == {
        "prefix": str(machine["plain"]),
        "skipped": "it has no conda-meta folder",
    }
    # conda's own list is covered, and conda's list was not rewritten behind the user
    listed = sandbox.run("env", "list", "--json").json()["envs"]
    assert set(listed) <= set(entries)
    assert registry.read_bytes() == before
    assert result.stderr == ""


def test_one_damaged_environment_fails_the_run(sandbox: Conda, machine: dict[str, Path]) -> None:
    (machine["two"] / "include" / "foo.h").unlink()
    document, _ = verify_all(sandbox)
    assert document["ok"] is False
    entries = by_prefix(document)
    assert summary(entries[str(machine["two"])]) == {("missing-file", "include/foo.h")}
    assert entries[str(machine["one"])]["findings"] == []
    assert entries[str(machine["three"])]["findings"] == []


def test_text_report(sandbox: Conda, machine: dict[str, Path]) -> None:
    edit_in_place(machine["one"] / SITE_PACKAGES / "pyfoo" / "cli.py")  # noarch: a hard link
    result = sandbox.run("integrity", "verify", "--all", check=False)
    assert result.returncode == 1, str(result)
    lines = result.stdout.splitlines()
    for name in ("one", "two", "three"):
        assert sum(line.startswith(f"Verified {machine[name]}:") for line in lines) == 1
    assert f"Skipped {machine['gone']}: it does not exist" in lines
    assert f"Skipped {machine['plain']}: it has no conda-meta folder" in lines
    # every environment holding that inode shows the edit (both, through the cache)
    altered = [line for line in lines if "altered-file" in line]
    assert len(altered) == 2, result.stdout
    summary_line = lines[-1]
    assert summary_line.startswith("3 environments verified, ")
    assert "2 with errors; 2 errors, 0 warnings, 0 info." in summary_line
    assert "Traceback" not in result.stderr


def test_shared_files_are_hashed_once(sandbox: Conda, machine: dict[str, Path]) -> None:
    """One, two and three hold the cache's files by hard link: one hash per inode."""
    document, _ = verify_all(sandbox, "--no-cache")
    entries = by_prefix(document)
    reports = [entries[str(machine[name])] for name in ("one", "two", "three")]
    # whichever was verified first (the largest, then the others on every core)
    first, *others = sorted(
        (report["checked"] for report in reports), key=lambda checked: -checked["hashed_bytes"]
    )
    large = (machine["three"] / ZLIBBY_ARCHIVE).stat().st_size
    assert first["hashed_bytes"] >= large
    for checked in others:
        # only files that are not hard links of the cache (prefix-replaced copies)
        assert checked["hashed_bytes"] < 10_000, checked
        assert checked["bytes"] >= large + checked["hashed_bytes"]


def test_a_shared_inode_edited_shows_everywhere(sandbox: Conda, machine: dict[str, Path]) -> None:
    """The hash of an inode is shared within a run, so is its damage: never a stale hash."""
    edit_in_place(machine["three"] / ZLIBBY_ARCHIVE, 1000, b"XX")
    document, _ = verify_all(sandbox, "--no-cache")
    entries = by_prefix(document)
    for name in ("one", "two", "three"):
        assert summary(entries[str(machine[name])]) == {("altered-file", ZLIBBY_ARCHIVE)}


@pytest.mark.parametrize(
    "args, message",
    [
        (["--all", "-n", "base"], "not allowed with argument --all"),
        (["--all", "-p", "/tmp"], "not allowed with argument --all"),
        (["--all", "libfoo"], "--all verifies everything"),
        (["--all", "--pkgs-dirs"], "not allowed with argument"),
        (["--all", "--file", "environment.yml"], "--file describes one environment"),
    ],
    ids=["name", "prefix", "package", "pkgs-dirs", "file"],
)
def test_all_with_a_target_is_a_usage_error(
    shared_sandbox: Conda, args: list[str], message: str
) -> None:
    result = shared_sandbox.run("integrity", "verify", *args, check=False)
    assert result.returncode == 2, str(result)
    assert "usage:" in result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def test_a_bar_over_environments_on_stderr(
    machine: dict[str, Path],
    sandbox: Conda,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """In conda's process, as `conda integrity verify --all` runs it: the bar shows
    at once here (these environments take less than the usual moment)."""
    from conda.base.context import reset_context

    from conda_integrity import progress
    from conda_integrity.verify.all_envs import verify_all
    from conda_integrity.verify.read import VerifyOptions

    for name, value in sandbox.environ().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(progress, "DELAY", 0)
    reset_context()
    try:
        every = verify_all(VerifyOptions(), progress.Progress(enabled=True))
    finally:
        monkeypatch.undo()
        reset_context()
    out, err = capsys.readouterr()
    count = len(every.environments)
    assert count >= 4  # one, two, three, plain (skipped) and conda's root prefix
    assert out == ""
    assert "Verifying environments" in err and f" 0/{count} [" in err and "env/s" in err


def test_environments_spread_over_processes_report_as_one_after_another(
    sandbox: Conda, machine: dict[str, Path]
) -> None:
    (machine["two"] / "include" / "foo.h").unlink()
    replace_file(machine["three"] / ZLIBBY_ARCHIVE, b"not what conda wrote")  # its own inode
    runs = []
    for workers in ("1", "3"):  # one process; this one and two forked
        document, result = verify_all(
            sandbox, "--no-cache", env={"CONDA_PLUGINS_INTEGRITY_WORKERS": workers}
        )
        assert result.stderr == ""
        for entry in document["environments"]:  # hashed here or by another process
            entry.pop("elapsed_s", None)
            for key in ("hashed_files", "hashed_bytes"):
                entry.get("checked", {}).pop(key, None)
        runs.append(document)
    alone, spread = runs
    assert summary(by_prefix(alone)[str(machine["two"])]) == {("missing-file", "include/foo.h")}
    assert summary(by_prefix(alone)[str(machine["three"])]) == {("altered-file", ZLIBBY_ARCHIVE)}
    assert spread == alone


@pytest.mark.parametrize("workers", ["1", "2"])
def test_records_alike_in_two_environments_are_judged_in_each(
    sandbox: Conda, machine: dict[str, Path], workers: str
) -> None:
    """A run parses and judges a record file once for every environment holding the
    same bytes; what the bytes mean still depends on the file's name, and a record
    conda cannot load is reported wherever it is."""
    one, two = machine["one"] / "conda-meta", machine["two"] / "conda-meta"
    (libfoo,) = one.glob("libfoo-*.json")
    (zlibby,) = one.glob("zlibby-*.json")
    # in two, the bytes of one's libfoo record under a name that is not libfoo's
    # (conda wrote them alike but for the order of their keys)
    (two / libfoo.name).unlink()
    (two / "libfoo-9.9-misnamed.json").write_bytes(libfoo.read_bytes())
    # in both, the same record with a field conda's model rejects
    damaged = json.loads(zlibby.read_text())
    damaged["depends"] = 5
    for meta in (one, two):
        (meta / zlibby.name).write_text(json.dumps(damaged))
    document, _ = verify_all(sandbox, env={"CONDA_PLUGINS_INTEGRITY_WORKERS": workers})
    entries = by_prefix(document)

    def corrupt(name: str) -> dict[str, str]:
        report = entries[str(machine[name])]
        return {
            f["path"]: f["message"] for f in report["findings"] if f["code"] == "corrupt-record"
        }

    misnamed = "conda-meta/libfoo-9.9-misnamed.json"
    assert set(corrupt("one")) == {f"conda-meta/{zlibby.name}"}
    assert set(corrupt("two")) == {f"conda-meta/{zlibby.name}", misnamed}
    assert "depends" in corrupt("one")[f"conda-meta/{zlibby.name}"]
    assert "is named libfoo-9.9-misnamed.json but describes" in corrupt("two")[misnamed]
