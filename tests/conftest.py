"""Fixtures that build a real conda channel and real environments.

The test channel is built once per session (per xdist worker). Tests that
damage an environment get their own sandbox: own package cache, own condarc,
own environment, because editing a hard-linked file in place also edits the
package cache.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import catalog, packages
from tests.support.conda_cli import Conda
from tests.support.helpers import STANDARD_SPECS
from tests.support.real_conda import describe, ensure_conda

ensure_conda()


def pytest_report_header(config: pytest.Config) -> str:
    return f"conda under test: {describe()}"


@pytest.fixture(scope="session")
def channel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("channel")
    for package in catalog.channel_packages():
        packages.build(package, root)
    packages.write_repodata(root)
    return root


@pytest.fixture
def sandbox(tmp_path: Path, channel: Path) -> Conda:
    """A conda of its own (package cache, condarc, home) for this test."""
    return Conda(tmp_path / "sandbox", channel)


@pytest.fixture
def env(sandbox: Conda, tmp_path: Path) -> Path:
    """A fresh environment with every kind of path, for this test to damage."""
    prefix = tmp_path / "env"
    sandbox.create(prefix, *STANDARD_SPECS)
    return prefix


@pytest.fixture
def readable_env(env: Path) -> Path:
    """``env``, reachable by a process without permission-bypassing powers."""
    for folder in (env, *env.parents):
        if folder == Path("/"):
            break
        folder.chmod(folder.stat().st_mode | 0o055)
    return env


@pytest.fixture(scope="session")
def shared_sandbox(tmp_path_factory: pytest.TempPathFactory, channel: Path) -> Conda:
    return Conda(tmp_path_factory.mktemp("shared-sandbox"), channel)


@pytest.fixture(scope="session")
def shared_env(shared_sandbox: Conda, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One clean environment for tests that only read it (verify's cache aside)."""
    prefix = tmp_path_factory.mktemp("shared") / "env"
    shared_sandbox.create(prefix, *STANDARD_SPECS)
    return prefix
