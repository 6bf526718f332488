"""A clean environment that conda just made reports nothing: no false positives.

Every kind of path conda writes is in these environments: hard-linked and
copied files, text and binary prefix-replaced files, relative and absolute
symlinks, noarch python files relocated into site-packages, generated .pyc
files and entry points, a .conda and .tar.bz2 packages.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.support.catalog import PY_VERSION, SITE_PACKAGES
from tests.support.conda_cli import Conda
from tests.support.helpers import STANDARD_SPECS, record_of, verify


def assert_clean(conda: Conda, prefix: Path) -> dict:
    report = verify(conda, prefix, "--untracked")
    assert report["findings"] == [], json.dumps(report["findings"], indent=2)
    assert report["ok"] is True
    return report


def test_new_environment_reports_nothing(sandbox: Conda, env: Path) -> None:
    report = assert_clean(sandbox, env)
    owned = set()
    for record_file in (env / "conda-meta").glob("*.json"):
        owned.update(json.loads(record_file.read_text())["files"])
    assert report["checked"]["packages"] == len(STANDARD_SPECS)
    assert report["checked"]["files"] == len(owned)
    # the 3 MiB archive member, hashed on a worker thread, is among the checked bytes
    assert report["checked"]["bytes"] > 3 * 1024 * 1024
    kinds = {
        entry["path_type"]
        for record_file in (env / "conda-meta").glob("*.json")
        for entry in json.loads(record_file.read_text())["paths_data"]["paths"]
    }
    assert kinds == {"hardlink", "softlink", "pyc_file", "unix_python_entry_point"}


def test_install_update_and_remove_keep_it_clean(sandbox: Conda, tmp_path: Path) -> None:
    prefix = tmp_path / "env"
    sandbox.create(prefix, "python", "libfoo=1.0")
    assert_clean(sandbox, prefix)
    sandbox.install(prefix, "footools", "pyfoo", "zlibby")
    assert_clean(sandbox, prefix)
    sandbox.install(prefix, "libfoo=2.0")
    assert record_of(prefix, "libfoo").name == "libfoo-2.0-h1234_0.json"
    assert_clean(sandbox, prefix)
    sandbox.remove(prefix, "footools", "pyfoo")
    assert not (prefix / "bin" / "pyfoo").exists()
    assert_clean(sandbox, prefix)
    # conda writes a revision without package lines, and reads it as an empty state
    sandbox.install(prefix, "--force-reinstall", "zlibby")
    assert_clean(sandbox, prefix)
    sandbox.install(prefix, "clobber-a")
    # ... so it lists every package again, python included, as added
    assert "::python-" in (prefix / "conda-meta" / "history").read_text().split("<==")[-1]
    assert_clean(sandbox, prefix)
    sandbox.remove(prefix, "zlibby")
    assert_clean(sandbox, prefix)


def test_python_writing_bytecode_is_normal(sandbox: Conda, env: Path) -> None:
    python = env / "bin" / "python"
    subprocess.run(
        [str(python), "-c", "import pyfoo.cli, footools_helper"],
        check=True,
        env={"PATH": "/usr/bin:/bin"},
    )
    subprocess.run([str(env / "bin" / "pyfoo")], check=True, capture_output=True)
    subprocess.run(
        [str(python), "-m", "compileall", "-q", "-f", str(env / SITE_PACKAGES / "pyfoo")],
        check=True,
    )
    tag = "cpython-" + PY_VERSION.replace(".", "")
    assert (env / SITE_PACKAGES / "__pycache__" / f"footools_helper.{tag}.pyc").is_file()
    assert_clean(sandbox, env)


@pytest.mark.parametrize(
    "setting",
    ["always_copy: true", "always_softlink: true", "safety_checks: disabled"],
)
def test_link_settings_keep_it_clean(channel: Path, tmp_path: Path, setting: str) -> None:
    conda = Conda(tmp_path / "sandbox", channel, extra_condarc=setting + "\n")
    prefix = tmp_path / "env"
    conda.create(prefix, *STANDARD_SPECS)
    assert_clean(conda, prefix)
    if setting.startswith("safety_checks"):
        # conda leaves regular files out of paths_data when it skips verification
        record = json.loads(record_of(prefix, "libfoo").read_text())
        assert len(record["paths_data"]["paths"]) < len(record["files"])


def test_records_without_paths_data(sandbox: Conda, env: Path) -> None:
    """Records written before conda 4.4 list only "files"."""
    for name in ("libfoo", "pyfoo"):
        path = record_of(env, name)
        record = json.loads(path.read_text())
        del record["paths_data"]
        path.write_text(json.dumps(record, indent=2))
    assert_clean(sandbox, env)
    (env / "include" / "foo.h").unlink()
    report = verify(sandbox, env)
    assert {(f["code"], f["path"]) for f in report["findings"]} == {
        ("missing-file", "include/foo.h")
    }
