"""Other platforms, as far as this machine can show them.

Environments conda creates here for another platform (``conda create --platform``,
as constructor and conda-pack users do on a build machine): conda writes a
``.condarc`` into them, does not replace binary placeholders for win-64, and
records the ``.pyc`` files it could not compile with an interpreter that cannot run
here. They verify with no finding, and damage in them is found.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.support import catalog, packages
from tests.support.catalog import OTHER_SUBDIRS, SITE_PACKAGES
from tests.support.conda_cli import Conda
from tests.support.helpers import edit_in_place, summary, verify
from tests.support.packages import BINARY_PLACEHOLDER, TEXT_PLACEHOLDER

WARN = {"CONDA_PLUGINS_INTEGRITY_MODE": "warn"}


@pytest.fixture(scope="module")
def platform_channel(channel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = packages.copy_channel(channel, tmp_path_factory.mktemp("platforms") / "channel")
    catalog.build_platform_channel(root)
    return root


def create_for(channel: Path, root: Path, subdir: str) -> tuple[Conda, Path]:
    """``conda create --platform SUBDIR`` of python, a library and a noarch python
    package. A sandbox of its own: offline, conda offers every package of its cache
    whatever its subdir."""
    conda = Conda(root / "sandbox", channel)
    prefix = root / subdir
    conda.run(
        "create",
        "--platform",
        subdir,
        "-p",
        str(prefix),
        "--yes",
        "--quiet",
        "--offline",
        "--override-channels",
        "-c",
        channel.as_uri(),
        "python",
        "platlib",
        "pyfoo",
        env=WARN,
    )
    return conda, prefix


def _files(prefix: Path, subdir: str) -> dict[str, str]:
    """The paths each test looks at, as the package of ``subdir`` has them."""
    if subdir.startswith("win"):
        return {
            "binary": "Library/bin/platlib.dll",
            "text": "Scripts/platlib-config.bat",
            "plain": "Library/include/Platlib.h",
            "executable": "python.exe",
        }
    return {
        "binary": "lib/libplatlib.so.1",
        "text": "bin/platlib-config",
        "plain": "include/platlib.h",
        "executable": "bin/platlib-config",
    }


def guard_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "conda-integrity" in line]


@pytest.mark.parametrize("subdir", OTHER_SUBDIRS)
def test_an_environment_for_another_platform_is_clean(
    platform_channel: Path, tmp_path: Path, subdir: str
) -> None:
    conda, prefix = create_for(platform_channel, tmp_path, subdir)
    files = _files(prefix, subdir)
    # as conda-facts.md says conda makes them
    assert (prefix / ".condarc").read_text().strip() == f"subdir: {subdir}"
    binary = (prefix / files["binary"]).read_bytes()
    assert (BINARY_PLACEHOLDER.encode() in binary) == subdir.startswith("win")
    assert TEXT_PLACEHOLDER not in (prefix / files["text"]).read_text()
    (pyfoo,) = (prefix / "conda-meta").glob("pyfoo-*.json")
    pycs = [path for path in json.loads(pyfoo.read_text())["files"] if path.endswith(".pyc")]
    assert pycs and not any((prefix / path).exists() for path in pycs)

    for args in ([], ["--untracked"], ["--no-cache"]):
        assert verify(conda, prefix, *args)["findings"] == [], args

    # a later command for that platform: the guard finds nothing to say
    later = conda.install(prefix, "platextra", env={**WARN, "CONDA_SUBDIR": subdir})
    assert guard_lines(later.stderr) == []
    assert verify(conda, prefix, "--untracked")["findings"] == []


@pytest.mark.parametrize("subdir", OTHER_SUBDIRS)
def test_damage_in_an_environment_for_another_platform(
    platform_channel: Path, tmp_path: Path, subdir: str
) -> None:
    conda, prefix = create_for(platform_channel, tmp_path, subdir)
    files = _files(prefix, subdir)
    (prefix / files["plain"]).unlink()
    edit_in_place(prefix / files["binary"], offset=2)
    edit_in_place(prefix / f"{SITE_PACKAGES}/pyfoo/cli.py")
    os.chmod(prefix / files["executable"], 0o644)
    report = verify(conda, prefix)
    assert summary(report) == {
        ("missing-file", files["plain"]),
        ("altered-file", files["binary"]),
        ("altered-file", f"{SITE_PACKAGES}/pyfoo/cli.py"),
        ("mode-changed", files["executable"]),
    }

    # the guard of a later command for that platform names them too (the files
    # verify remembers as settled by their stat as problems, the others as changed)
    later = conda.install(prefix, "platextra", env={**WARN, "CONDA_SUBDIR": subdir})
    said = guard_lines(later.stderr)
    assert said[0].startswith("conda-integrity: ") and str(prefix) in said[0], later.stderr
    assert f"missing-file            {files['plain']}: missing" in later.stderr
    for changed in (files["binary"], f"{SITE_PACKAGES}/pyfoo/cli.py"):
        assert (
            f"altered-file            {changed}: content differs" in later.stderr
            or f"  content         {changed}\n" in later.stderr
        ), later.stderr
