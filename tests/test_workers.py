"""verify's worker processes: the same findings as in-process, the same safety rules."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from conda_integrity.observe.hashing import FileChanged, HashJob, file_digest
from conda_integrity.observe.workers import (
    MIN_CORES,
    MIN_FILES_VARIABLE,
    WORKERS_VARIABLE,
    WorkerPool,
)
from conda_integrity.progress import Progress
from conda_integrity.verify.read import VerifyOptions
from conda_integrity.verify.report import Report
from conda_integrity.verify.run import verify_prefix
from tests.support.catalog import SITE_PACKAGES
from tests.support.conda_cli import Conda
from tests.support.helpers import edit_in_place, replace_file

IN_PROCESS = {WORKERS_VARIABLE: "1"}
#: the pool for any number of files, with two workers whatever the machine
POOLED = {WORKERS_VARIABLE: "2", MIN_FILES_VARIABLE: "0"}


def _damage(env: Path) -> None:
    (env / "include" / "foo.h").unlink()
    edit_in_place(env / SITE_PACKAGES / "pyfoo" / "__init__.py")
    replace_file(env / "share" / "footools" / "README", b"not what conda wrote\n")


def _in_process(job: HashJob) -> str | OSError:
    try:
        return file_digest(job.full_path, job.ino, job.algorithm)
    except OSError as error:
        return error


def test_a_worker_keeps_every_rule_of_hashing_in_process(tmp_path: Path) -> None:
    regular = tmp_path / "regular"
    regular.write_bytes(b"content\n")
    large = tmp_path / "large"
    large.write_bytes(os.urandom(3 << 20))
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)  # opening it for reading would block: it must not be waited on
    link = tmp_path / "link"
    link.symlink_to(regular)  # a symlink swapped in after the lstat: not followed
    swapped = tmp_path / "swapped"  # another file than the one lstat saw
    swapped.write_bytes(b"x")
    jobs = [
        HashJob("regular", str(regular), regular.stat().st_ino, 8),
        HashJob("large", str(large), large.stat().st_ino, 3 << 20),
        HashJob("fifo", str(fifo), fifo.stat().st_ino, 0),
        HashJob("link", str(link), regular.stat().st_ino, 8),
        HashJob("swapped", str(swapped), regular.stat().st_ino, 1),
        HashJob("gone", str(tmp_path / "gone"), 1, 1),
        HashJob("md5", str(regular), regular.stat().st_ino, 8, "md5"),
    ]
    pool = WorkerPool(workers=2)
    try:
        for job in jobs:
            pool.submit(job)
        pooled = dict(pool.results())
    finally:
        pool.close()
    assert pooled[jobs[0]] == hashlib.sha256(b"content\n").hexdigest()
    assert pooled[jobs[1]] == hashlib.sha256(large.read_bytes()).hexdigest()
    assert isinstance(pooled[jobs[2]], FileChanged)
    assert isinstance(pooled[jobs[4]], FileChanged)
    for job in jobs:
        expected = _in_process(job)
        if isinstance(expected, OSError):
            assert type(pooled[job]) is type(expected), job
            assert str(pooled[job]) == str(expected), job
            assert pooled[job].strerror == expected.strerror  # what a finding says
        else:
            assert pooled[job] == expected, job
    assert pool.processes == []


def _verify_through_a_pool(env: Path) -> tuple[Report, int]:
    """verify --no-cache given a pool of started workers: the report, and how many
    files the workers hashed (none unless verify chose to use them)."""
    pool = WorkerPool()
    pool.start(wait=True)  # so small an environment is done before they start
    try:
        report = verify_prefix(
            str(env), VerifyOptions(use_cache=False), Progress(enabled=False), pool=pool
        )
    finally:
        pool.close()
    return report, pool.hashed_by_workers


def test_verify_through_worker_processes_finds_what_it_finds_in_process(
    sandbox: Conda, env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _damage(env)
    reports = {}
    for label, settings in (("in process", IN_PROCESS), ("pooled", POOLED)):
        for name, value in settings.items():
            monkeypatch.setenv(name, value)
        report, by_workers = _verify_through_a_pool(env)
        reports[label] = report
        if label == "pooled":
            assert by_workers == report.hashed_files > 0  # the workers did
        else:
            assert by_workers == 0
        monkeypatch.delenv(MIN_FILES_VARIABLE, raising=False)
    alone, pooled = reports["in process"], reports["pooled"]
    assert {(f.code, f.path) for f in alone.findings} == {
        ("missing-file", "include/foo.h"),
        ("altered-file", f"{SITE_PACKAGES}/pyfoo/__init__.py"),
        ("altered-file", "share/footools/README"),
    }
    assert [f.to_dict() for f in pooled.findings] == [f.to_dict() for f in alone.findings]
    assert (pooled.files, pooled.bytes, pooled.hashed_files, pooled.hashed_bytes) == (
        alone.files,
        alone.bytes,
        alone.hashed_files,
        alone.hashed_bytes,
    )


def test_no_workers_unless_there_are_cores_to_spare(
    sandbox: Conda, env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # on two cores verify's own process and its hashing thread keep both busy: the
    # pool made it slower there, so it starts workers on more cores only (or when told)
    monkeypatch.setenv(MIN_FILES_VARIABLE, "0")
    monkeypatch.delenv(WORKERS_VARIABLE, raising=False)
    _damage(env)
    available = os.sched_getaffinity(0)
    counts = sorted({1, min(2, len(available)), len(available)})
    try:
        # a setting that is no number is no setting
        for count, setting in [(count, None) for count in counts] + [(counts[-1], "many")]:
            if setting is not None:
                monkeypatch.setenv(WORKERS_VARIABLE, setting)
            os.sched_setaffinity(0, sorted(available)[:count])
            report, by_workers = _verify_through_a_pool(env)
            assert len(report.findings) == 3
            if count >= MIN_CORES:
                assert by_workers == report.hashed_files > 0, (count, setting)
            else:
                assert by_workers == 0, (count, setting)
    finally:
        os.sched_setaffinity(0, available)


def test_an_unreadable_file_is_reported_alike_by_a_worker(
    sandbox: Conda, readable_env: Path
) -> None:
    env = readable_env
    (env / "include" / "foo.h").chmod(0o000)
    edit_in_place(env / SITE_PACKAGES / "pyfoo" / "__init__.py")
    documents = []
    for settings in (IN_PROCESS, POOLED):
        result = sandbox.verify(env, "--no-cache", "--json", unprivileged=True, env=settings)
        assert result.returncode == 1, result
        documents.append(json.loads(result.stdout)["findings"])
    alone, pooled = documents
    assert {(f["code"], f["path"]) for f in alone} == {
        ("unreadable", "include/foo.h"),
        ("altered-file", f"{SITE_PACKAGES}/pyfoo/__init__.py"),
    }
    assert pooled == alone


def test_pkgs_dirs_through_worker_processes_reports_alike(sandbox: Conda, env: Path) -> None:
    libfoo = sandbox.pkgs_dir / "libfoo-1.0-h1234_0"
    edit_in_place(libfoo / "include" / "foo.h")  # the environment's link too
    (libfoo / "share" / "foo" / "1.0.txt").unlink()
    edit_in_place(sandbox.pkgs_dir / "libfoo-1.0-h1234_0.tar.bz2", 100, b"\x00\x01")
    documents = []
    for settings in (IN_PROCESS, POOLED):
        result = sandbox.run(
            "integrity", "verify", "--pkgs-dirs", "--json", check=False, env=settings
        )
        assert result.returncode == 1, result
        document = json.loads(result.stdout)
        document.pop("elapsed_s", None)
        documents.append(document)
    alone, pooled = documents
    assert {(f["path"], f["detail"]) for f in alone["findings"]} == {
        ("include/foo.h", "sha256"),
        ("share/foo/1.0.txt", "missing"),
        ("libfoo-1.0-h1234_0.tar.bz2", "sha256"),
    }
    assert pooled == alone
