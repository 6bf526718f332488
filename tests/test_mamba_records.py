"""Records as mamba writes them, judged by what they promise.

mamba is not on PyPI, so these environments are made by conda and each record is
then rewritten the way mamba's linker writes it (``LinkPackage::execute`` in
libmamba/src/core/link.cpp, mamba 2.x): noarch python paths where they were
installed; every linked path with a ``sha256_in_prefix`` (a file's content in the
environment, a softlink's the content its target resolves to, or the SHA-256 of
nothing for a broken one), the package's ``sha256`` and ``size_in_bytes`` (its
size before prefix replacement, as mamba's own comment says); no
``prefix_placeholder`` or ``file_mode``; ``.pyc`` files and entry points with a
path type only; ``package_tarball_full_path`` the extracted folder plus
``.tar.bz2``; the record written with an indent of four.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from tests.support.catalog import SITE_PACKAGES
from tests.support.conda_cli import Conda
from tests.support.helpers import STANDARD_SPECS, findings, replace_file, summary, verify

#: MAMBA_EMPTY_SHA: what mamba records for a softlink whose target is not there
EMPTY_SHA = hashlib.sha256(b"").hexdigest()
_WRITTEN = ("pyc_file", "unix_python_entry_point")


def _installed_path(path: str, noarch_python: bool) -> str:
    """conda's and mamba's get_python_noarch_target_path, for this environment."""
    if noarch_python and path.startswith("site-packages/"):
        return f"{SITE_PACKAGES}/{path[len('site-packages/') :]}"
    if noarch_python and path.startswith("python-scripts/"):
        return f"bin/{path[len('python-scripts/') :]}"
    return path


def _target_content_sha256(prefix: Path, path: str) -> str:
    target = (prefix / path).resolve()
    if not target.is_file():
        return EMPTY_SHA
    return hashlib.sha256(target.read_bytes()).hexdigest()


def rewrite_as_mamba(prefix: Path, record_file: Path) -> None:
    """Rewrite one of conda's records the way mamba's linker would have written it."""
    raw = json.loads(record_file.read_text())
    noarch_python = raw.get("noarch") == "python"
    linked, written = [], []
    for entry in raw["paths_data"]["paths"]:
        kind = entry.get("path_type", "hardlink")
        path = _installed_path(entry["_path"], noarch_python)
        if kind in _WRITTEN:
            written.append({"_path": path, "path_type": kind})
            continue
        if kind == "softlink":
            in_prefix = _target_content_sha256(prefix, path)
        else:
            in_prefix = entry.get("sha256_in_prefix") or entry["sha256"]
        mamba = {"_path": path, "sha256_in_prefix": in_prefix}
        if entry.get("sha256"):
            mamba["sha256"] = entry["sha256"]
        mamba["path_type"] = kind
        if entry.get("no_link"):
            mamba["no_link"] = True
        if entry.get("size_in_bytes"):
            mamba["size_in_bytes"] = entry["size_in_bytes"]
        linked.append(mamba)
    # the .pyc files come before the entry points, both after every linked path
    written.sort(key=lambda entry: entry["path_type"] != "pyc_file")
    paths = linked + written
    raw["paths_data"] = {"paths": paths, "paths_version": 1}
    raw["files"] = [entry["_path"] for entry in paths]
    raw["requested_spec"] = raw.get("requested_spec") or ""
    raw["package_tarball_full_path"] = raw["extracted_package_dir"] + ".tar.bz2"
    raw["link"] = {"source": raw["extracted_package_dir"], "type": 1}
    record_file.write_text(json.dumps(raw, indent=4))


def mamba_env(sandbox: Conda, prefix: Path) -> Path:
    sandbox.create(prefix, *STANDARD_SPECS)
    for record_file in (prefix / "conda-meta").glob("*.json"):
        rewrite_as_mamba(prefix, record_file)
    return prefix


def test_a_healthy_environment_mamba_wrote_reports_nothing(sandbox: Conda, tmp_path: Path) -> None:
    prefix = mamba_env(sandbox, tmp_path / "env")
    footools = json.loads((prefix / "conda-meta" / "footools-1.0-h5678_0.json").read_text())
    (script,) = [e for e in footools["paths_data"]["paths"] if e["_path"] == "bin/footool"]
    # a text file whose prefix mamba replaced: the package's size, nothing saying so
    # but a content hash unlike the package's
    assert "prefix_placeholder" not in script and script["sha256_in_prefix"] != script["sha256"]
    assert script["size_in_bytes"] != (prefix / "bin" / "footool").stat().st_size
    # first without hashing (sizes only, nothing remembered yet), then hashing
    assert verify(sandbox, prefix, "--fast")["findings"] == []
    assert verify(sandbox, prefix, "--untracked", "--no-cache")["findings"] == []


def test_damage_in_an_environment_mamba_wrote(sandbox: Conda, tmp_path: Path) -> None:
    prefix = mamba_env(sandbox, tmp_path / "env")
    script = prefix / "bin" / "footool"
    replace_file(script, script.read_bytes() + b"# edited\n")  # the hash tells
    replace_file(prefix / "lib" / "libfoo.so.1", b"not the library\n")  # a softlink's target
    (prefix / SITE_PACKAGES / "pyfoo" / "cli.py").unlink()  # recorded where installed
    report = verify(sandbox, prefix)
    assert summary(report) == {
        ("altered-file", "bin/footool"),
        ("altered-file", "lib/libfoo.so.1"),
        ("missing-file", f"{SITE_PACKAGES}/pyfoo/cli.py"),
    }
    (edited,) = [f for f in findings(report, "altered-file") if f["path"] == "bin/footool"]
    assert edited["detail"] == "sha256"  # not its size: the record holds the package's
    # the softlink whose target changed is judged on the target, which its record owns
    retargeted = prefix / "lib" / "libfoo.so"
    retargeted.unlink()
    retargeted.symlink_to("/etc/hostname")
    report = verify(sandbox, prefix)
    (moved,) = [f for f in findings(report, "altered-file") if f["path"] == "lib/libfoo.so"]
    assert moved["detail"] == "symlink-target"
    assert moved["actual"] == {"target": "/etc/hostname"}
