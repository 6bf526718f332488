"""Fix hints name a tool that can act, and never a command that cannot work.

Each kind of hint comes from a real environment: conda's, py-rattler's (pixi's
library), conda-pypi's wheels (where a conda that ships it is importable), pip's
and uv's. What "conda can fetch the package again" means is written in
conda_integrity/records/fixes.py.
"""

from __future__ import annotations

import functools
import http.server
import json
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.catalog import SITE_PACKAGES
from tests.support.conda_cli import Conda
from tests.support.helpers import STANDARD_SPECS, edit_in_place, findings, verify
from tests.support.rattler_env import rattler_install
from tests.support.trees import differences, tree
from tests.support.wheels import build_wheel
from tests.test_writers import RATTLER_SPECS, make_rattler_env, needs_conda_pypi, uv_install

LIBFOO_ARCHIVE = "linux-64/libfoo-1.0-h1234_0.tar.bz2"


@pytest.fixture
def own_channel(tmp_path: Path, channel: Path) -> Path:
    """A copy of the test channel that this test may take away."""
    copy = tmp_path / "channel"
    shutil.copytree(channel, copy)
    return copy


@pytest.fixture
def own_sandbox(tmp_path: Path, own_channel: Path) -> Conda:
    return Conda(tmp_path / "sandbox", own_channel)


def only_fix(report: dict, code: str, path: str) -> str:
    (finding,) = [f for f in findings(report, code) if f["path"] == path]
    return finding["fix"]


# -- conda's environments ---------------------------------------------------------------


def test_repair_while_conda_can_fetch_the_package(
    own_sandbox: Conda, own_channel: Path, tmp_path: Path
) -> None:
    prefix = tmp_path / "env"
    own_sandbox.create(prefix, *STANDARD_SPECS)
    (prefix / "include" / "foo.h").unlink()
    repair = f"conda integrity repair -p {prefix} libfoo"
    # from the package cache
    assert only_fix(verify(own_sandbox, prefix), "missing-file", "include/foo.h") == repair
    # the cache cleaned: from the channel, by the record's file:// URL
    own_sandbox.run("clean", "--all", "--force-pkgs-dirs", "--yes")
    assert only_fix(verify(own_sandbox, prefix), "missing-file", "include/foo.h") == repair

    # the channel gone too: nothing can fetch it, and the hint says so instead of
    # naming a command that would fail
    shutil.rmtree(own_channel)
    fix = only_fix(verify(own_sandbox, prefix), "missing-file", "include/foo.h")
    url = (own_channel / LIBFOO_ARCHIVE).as_uri()
    assert fix == (
        f"nothing here can reinstall libfoo-1.0: it came from {url}, and conda"
        " cannot fetch it again (no package cache holds it, and its file is gone)"
    )


def test_an_edit_through_a_hard_link_needs_an_archive_or_the_channel(
    own_sandbox: Conda, own_channel: Path, tmp_path: Path
) -> None:
    """The cache's extracted copy was edited too: it is no source for a repair."""
    prefix = tmp_path / "env"
    own_sandbox.create(prefix, *STANDARD_SPECS)
    edit_in_place(prefix / "include" / "foo.h", 0, b"/")
    repair = f"conda integrity repair -p {prefix} libfoo"
    assert only_fix(verify(own_sandbox, prefix), "altered-file", "include/foo.h") == repair
    (own_sandbox.pkgs_dir / LIBFOO_ARCHIVE.split("/")[1]).unlink()  # only the edited copy left
    assert only_fix(verify(own_sandbox, prefix), "altered-file", "include/foo.h") == repair
    shutil.rmtree(own_channel)
    fix = only_fix(verify(own_sandbox, prefix), "altered-file", "include/foo.h")
    assert fix.startswith("nothing here can reinstall libfoo-1.0: ")
    assert fix.endswith("(its package cache copy is damaged, and its file is gone)"), fix


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def http_channel(own_channel: Path) -> Iterator[str]:
    """The test channel served over HTTP on the loopback address."""
    handler = functools.partial(_QuietHandler, directory=str(own_channel))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_a_channel_url_counts_unless_conda_is_offline(
    tmp_path: Path, own_channel: Path, http_channel: str
) -> None:
    """No server is asked: a channel URL is one conda can reach, except when conda is
    offline (it mounts no downloader for http then)."""
    conda = Conda(tmp_path / "remote", own_channel)
    online = {"CONDA_OFFLINE": "false"}
    prefix = tmp_path / "env"
    conda.run(
        "create",
        "-p",
        str(prefix),
        "--yes",
        "--override-channels",
        "-c",
        http_channel,
        "libfoo=1.0",
        env=online,
    )
    record = json.loads((prefix / "conda-meta" / "libfoo-1.0-h1234_0.json").read_text())
    assert record["url"] == f"{http_channel}/{LIBFOO_ARCHIVE}"
    conda.run("clean", "--all", "--force-pkgs-dirs", "--yes")
    (prefix / "include" / "foo.h").unlink()
    repair = f"conda integrity repair -p {prefix} libfoo"
    assert only_fix(verify(conda, prefix, env=online), "missing-file", "include/foo.h") == repair
    offline = only_fix(verify(conda, prefix), "missing-file", "include/foo.h")  # the sandbox's
    assert offline.endswith("(no package cache holds it, and conda is offline (offline: true))"), (
        offline
    )


def test_offline_with_the_package_missing_repair_and_rollback_change_nothing(
    tmp_path: Path, own_channel: Path, http_channel: str
) -> None:
    """The package cache lacks the package, its channel is a URL and conda is
    offline: repair and rollback say what is missing and stop before any change."""
    conda = Conda(tmp_path / "remote", own_channel)
    online = {"CONDA_OFFLINE": "false"}
    prefix = tmp_path / "env"
    channel_args = ("--override-channels", "-c", http_channel)
    conda.run("create", "-p", str(prefix), "--yes", *channel_args, "libfoo=1.0", env=online)
    conda.run("install", "-p", str(prefix), "--yes", *channel_args, "libfoo=2.0", env=online)
    conda.run("clean", "--all", "--force-pkgs-dirs", "--yes")
    (prefix / "include" / "foo.h").unlink()
    # verify's own caches aside (a file written a moment ago is hashed again)
    state = ("conda-meta/integrity",)
    before = tree(prefix, skip=state), tree(conda.pkgs_dir)

    repaired = conda.run("integrity", "repair", "-p", str(prefix), "-y", check=False)
    assert repaired.returncode == 1, str(repaired)
    assert "Nothing was changed" in repaired.stdout
    assert f"conda is offline (offline: true) and would have to download {http_channel}/" in (
        repaired.stdout
    )
    rolled = conda.run("integrity", "rollback", "-p", str(prefix), "-y", check=False)
    assert rolled.returncode == 2, str(rolled)
    assert "offline, and the package cache lacks libfoo-1.0-h1234_0" in rolled.stderr
    assert "nothing was changed" in rolled.stderr
    for result in (repaired, rolled):
        assert "Traceback" not in result.stdout + result.stderr
    assert differences(before[0], tree(prefix, skip=state)) == []
    assert differences(before[1], tree(conda.pkgs_dir)) == []


# -- rattler's (pixi's) environments -----------------------------------------------------


def test_a_plain_rattler_environment(sandbox: Conda, own_channel: Path, tmp_path: Path) -> None:
    """py-rattler made it and pixi does not manage it: conda can relink a package
    from the channel rattler used (rattler's own cache is not one of conda's)."""
    prefix = tmp_path / "env"
    rattler_install(own_channel, prefix, tmp_path / "rattler-cache", *RATTLER_SPECS)
    (prefix / "include" / "foo.h").unlink()
    fix = only_fix(verify(sandbox, prefix), "missing-file", "include/foo.h")
    assert fix == f"conda integrity repair -p {prefix} libfoo"
    shutil.rmtree(own_channel)
    fix = only_fix(verify(sandbox, prefix), "missing-file", "include/foo.h")
    assert fix == (
        f"nothing here can reinstall libfoo-1.0: it came from "
        f"{(own_channel / LIBFOO_ARCHIVE).as_uri()}, and conda cannot fetch it again"
        " (no package cache holds it, and its file is gone)"
    )


def write_pixi_marker(prefix: Path, manifest: Path, environment: str) -> None:
    """``conda-meta/pixi`` as pixi 0.77 writes it: ``write_environment_file`` in
    crates/pixi_core/src/environment/mod.rs serializes ``EnvironmentFile`` with
    ``serde_json::to_string_pretty`` (two-space indent, fields in declaration order,
    ``source_fingerprints`` left out when empty); pixi is not on PyPI."""
    marker = {
        "manifest_path": str(manifest),
        "environment_name": environment,
        "pixi_version": "0.77.0",
        "environment_lock_file_hash": "8f1c0e2d4b6a7389",
        "resolved_platform": {"subdir": "linux-64", "virtual_packages": []},
        "minimum_supported_platform": {"subdir": "linux-64"},
    }
    (prefix / "conda-meta" / "pixi").write_text(json.dumps(marker, indent=2))


def test_an_environment_pixi_manages_is_fixed_by_pixi(
    sandbox: Conda, channel: Path, tmp_path: Path
) -> None:
    """The marker names the manifest and the environment, wherever the prefix is
    (pixi's detached-environments setting puts it outside the workspace)."""
    workspace = tmp_path / "workspace"
    manifest = workspace / "pixi.toml"
    prefix = make_rattler_env(channel, tmp_path / "detached", "workspace-1234")
    write_pixi_marker(prefix, manifest, "test")
    assert verify(sandbox, prefix, "--untracked")["findings"] == []
    (prefix / "include" / "foo.h").unlink()
    record = prefix / "conda-meta" / "zlibby-1.0-0.json"
    record.write_text("{")
    report = verify(sandbox, prefix)
    pixi = f"pixi reinstall --manifest-path {manifest} -e test"
    assert only_fix(report, "missing-file", "include/foo.h") == f"{pixi} libfoo"
    # a record conda cannot load: moved aside, then pixi puts the package back
    assert only_fix(report, "corrupt-record", "conda-meta/zlibby-1.0-0.json") == (
        f"mv {record} {record}.damaged && {pixi} zlibby"
    )


def test_pixi_gets_its_cache_copy_removed_after_an_edit_through_a_hard_link(
    sandbox: Conda, channel: Path, tmp_path: Path
) -> None:
    workspace = tmp_path / "workspace"
    prefix = make_rattler_env(channel, workspace / ".pixi" / "envs", "default")
    write_pixi_marker(prefix, workspace / "pixi.toml", "default")
    edit_in_place(prefix / "include" / "foo.h", 0, b"/")
    fix = only_fix(verify(sandbox, prefix), "altered-file", "include/foo.h")
    record = json.loads((prefix / "conda-meta" / "libfoo-1.0-h1234_0.json").read_text())
    assert fix == (
        f"rm -rf {record['extracted_package_dir']}"
        f" && pixi reinstall --manifest-path {workspace / 'pixi.toml'} -e default libfoo"
    )


# -- conda-pypi's wheels, pip and uv -----------------------------------------------------


def test_pip_and_uv_over_conda_packages_keep_conda_the_tool(sandbox: Conda, tmp_path: Path) -> None:
    """A conda package uv wrote over is still conda's to put back; the overlap itself
    is the user's to settle (no fix)."""
    prefix = tmp_path / "env"
    sandbox.create(prefix, "python", "pyfoo")
    wheel = build_wheel(tmp_path / "wheels", "pyfoo", "1.0", {"pyfoo/__init__.py": b""})
    uv_install(sandbox, prefix, "--reinstall", str(wheel))
    report = verify(sandbox, prefix)
    (overlap,) = findings(report, "pip-overlap")
    assert "fix" not in overlap
    fix = only_fix(report, "missing-file", f"{SITE_PACKAGES}/pyfoo/cli.py")
    assert fix == f"conda integrity repair -p {prefix} pyfoo"


@pytest.fixture
def wheel_env(sandbox: Conda, tmp_path: Path) -> tuple[Path, Path]:
    """An environment where conda (with the conda-pypi plugin) installed a wheel file."""
    prefix = tmp_path / "env"
    sandbox.create(prefix, "python", "pyfoo")
    wheel = build_wheel(tmp_path / "wheels", "newproj", "0.1", {"newproj/__init__.py": b"X = 1\n"})
    sandbox.install(prefix, str(wheel))
    return prefix, wheel


@needs_conda_pypi
def test_a_wheel_conda_can_fetch_again(sandbox: Conda, wheel_env: tuple[Path, Path]) -> None:
    prefix, wheel = wheel_env
    path = f"{SITE_PACKAGES}/newproj/__init__.py"
    (prefix / path).unlink()
    repair = f"conda integrity repair -p {prefix} newproj"
    # conda-pypi extracted the wheel into the package cache: conda links from there
    assert only_fix(verify(sandbox, prefix), "missing-file", path) == repair
    sandbox.run("clean", "--all", "--force-pkgs-dirs", "--yes")
    assert only_fix(verify(sandbox, prefix), "missing-file", path) == repair  # the wheel file

    # neither: conda-pypi fetches it from the package index
    wheel.unlink()
    assert only_fix(verify(sandbox, prefix), "missing-file", path) == (
        f"conda remove -p {prefix} --force newproj && conda pypi install -p {prefix} newproj==0.1"
    )


@needs_conda_pypi
def test_a_wheel_uv_reinstalled_is_uvs_to_reinstall(
    sandbox: Conda, wheel_env: tuple[Path, Path]
) -> None:
    """uv wrote the wheel's files again: its INSTALLER now names uv, and once conda
    cannot fetch the wheel, uv is the installer that put it there."""
    prefix, wheel = wheel_env
    uv_install(sandbox, prefix, "--reinstall", "--no-deps", str(wheel))
    dist_info = prefix / SITE_PACKAGES / "newproj-0.1.dist-info"
    assert (dist_info / "INSTALLER").read_text().strip() == "uv"
    sandbox.run("clean", "--all", "--force-pkgs-dirs", "--yes")
    wheel.unlink()
    report = verify(sandbox, prefix)
    fix = only_fix(report, "altered-file", f"{SITE_PACKAGES}/newproj-0.1.dist-info/INSTALLER")
    assert fix == (
        f"uv pip install --python {prefix}/bin/python --reinstall --no-deps newproj==0.1"
    )


@needs_conda_pypi
def test_a_wheel_from_a_url(
    sandbox: Conda, tmp_path: Path, own_channel: Path, http_channel: str
) -> None:
    """conda-pypi installed a wheel from a URL: the record keeps it, and conda can
    fetch the wheel from there again."""
    prefix = tmp_path / "env"
    sandbox.create(prefix, "python", "pyfoo")
    build_wheel(own_channel / "wheels", "newproj", "0.1", {"newproj/__init__.py": b"X = 1\n"})
    url = f"{http_channel}/wheels/newproj-0.1-py3-none-any.whl"
    online = {"CONDA_OFFLINE": "false"}
    sandbox.install(prefix, url, env=online)
    (record,) = (prefix / "conda-meta").glob("newproj-*.json")
    assert json.loads(record.read_text())["url"] == url
    sandbox.run("clean", "--all", "--force-pkgs-dirs", "--yes")
    path = f"{SITE_PACKAGES}/newproj/__init__.py"
    (prefix / path).unlink()
    fix = only_fix(verify(sandbox, prefix, env=online), "missing-file", path)
    assert fix == f"conda integrity repair -p {prefix} newproj"
