"""The repair primitives on real conda: conda's own relink of exact records, the
backup folder that keeps what repair moves aside, and the journal of a repair."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from conda_integrity.exceptions import IntegrityInputError
from conda_integrity.repair.transaction import installed_records
from tests.support.catalog import SITE_PACKAGES
from tests.support.conda_cli import Conda
from tests.support.helpers import findings, replace_file, verify
from tests.support.trees import differences, tree

RELINK = Path(__file__).parent / "support" / "run_relink.py"
TIMEOUT = 240


def relink(conda: Conda, prefix: Path, *names: str, journaled: bool = False, **kwargs):
    args = ["--journaled"] if journaled else []
    return conda.run(*args, str(prefix), *names, runner=RELINK, timeout=TIMEOUT, **kwargs)


def test_relink_puts_back_what_conda_linked(sandbox: Conda, env: Path) -> None:
    """Deleted, replaced and chmod-ed files of prefix-replaced text and binary files,
    symlinks, a noarch python package's .pyc and entry point: conda links them again,
    byte for byte as before."""
    before = tree(env, skip=("conda-meta",))
    (env / "bin" / "foo-config").unlink()  # text, prefix replaced
    (env / "share" / "foo" / "runtime.bin").unlink()  # binary, prefix replaced
    (env / "lib" / "libfoo.so").unlink()  # a symlink
    (env / "bin" / "pyfoo").unlink()  # an entry point conda wrote
    pycache = env / SITE_PACKAGES / "pyfoo" / "__pycache__"
    for pyc in pycache.iterdir():
        pyc.unlink()
    replace_file(env / SITE_PACKAGES / "pyfoo" / "__init__.py", b"VERSION = 'edited'\n")
    (env / "bin" / "footool").chmod(0o644)  # its own copy (prefix replaced): the cache's keeps +x
    assert differences(before, tree(env, skip=("conda-meta",)))

    relink(sandbox, env, "libfoo", "pyfoo", "footools")

    assert differences(before, tree(env, skip=("conda-meta",))) == []
    assert verify(sandbox, env)["findings"] == []


def test_journaled_relink_is_a_finished_transaction(sandbox: Conda, env: Path) -> None:
    (env / "bin" / "foo-config").unlink()
    relink(sandbox, env, "libfoo", journaled=True)
    log = sandbox.run("integrity", "log", "-p", str(env), "--json", timeout=TIMEOUT).json()
    (repair,) = [e for e in log["events"] if e.get("command") == "repair"]
    assert repair["state"] == "finished"
    assert repair["plan"] == {"unlink": ["libfoo-1.0-h1234_0"], "link": ["libfoo-1.0-h1234_0"]}
    assert repair["before"] and repair["after"] and repair["after"] > repair["before"]
    assert verify(sandbox, env)["findings"] == []


def test_journaled_relink_that_fails_changes_nothing_and_is_no_interruption(
    channel: Path, tmp_path: Path
) -> None:
    """conda cannot get the package (gone from the cache and from its channel): the
    relink fails, the prefix is as it was, and its journal entry is no interruption."""
    own_channel = tmp_path / "channel"
    shutil.copytree(channel, own_channel)
    sandbox = Conda(tmp_path / "sandbox", own_channel)
    env = tmp_path / "env"
    sandbox.create(env, "libfoo=1.0")
    (env / "bin" / "foo-config").unlink()
    before = tree(env, skip=("conda-meta/integrity",))
    for gone in [*sandbox.pkgs_dir.glob("libfoo-*"), *own_channel.glob("*/libfoo-*")]:
        shutil.rmtree(gone) if gone.is_dir() else gone.unlink()

    result = relink(sandbox, env, "libfoo", journaled=True, check=False)

    assert result.returncode != 0
    assert differences(before, tree(env, skip=("conda-meta/integrity",))) == []
    assert findings(verify(sandbox, env), "interrupted-transaction") == []


def test_backup_moves_aside_and_keeps_a_manifest(tmp_path: Path) -> None:
    from conda_integrity.repair.backup import new_backup

    prefix = tmp_path / "env"
    (prefix / "conda-meta").mkdir(parents=True)
    (prefix / "share" / "doc").mkdir(parents=True)
    (prefix / "share" / "doc" / "a.txt").write_text("a")
    (prefix / "share" / "debris").mkdir()
    (prefix / "share" / "debris" / "b").write_text("b")
    cache = tmp_path / "pkgs" / "foo-1.0-0"
    cache.mkdir(parents=True)
    (cache / "x").write_text("x")

    backup = new_backup(str(prefix))
    backup.move_aside("share/doc/a.txt", "altered")
    backup.move_aside(str(prefix / "share" / "debris"), "debris")
    backup.move_aside(str(cache), "damaged in the cache")

    folder = Path(backup.path)
    assert folder.parent == prefix / "conda-meta" / "integrity" / "backups"
    assert not (prefix / "share" / "doc" / "a.txt").exists()
    assert (folder / "prefix" / "share" / "doc" / "a.txt").read_text() == "a"
    assert (folder / "prefix" / "share" / "debris" / "b").read_text() == "b"
    assert (folder / "pkgs" / "0" / "foo-1.0-0" / "x").read_text() == "x"
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["pkgs_dirs"] == [str(tmp_path / "pkgs")]
    assert [(i["source"], i["reason"]) for i in manifest["items"]] == [
        (str(prefix / "share" / "doc" / "a.txt"), "altered"),
        (str(prefix / "share" / "debris"), "debris"),
        (str(cache), "damaged in the cache"),
    ]
    assert manifest["items"][0]["kept_as"] == str(folder / "prefix" / "share" / "doc" / "a.txt")


def test_backup_never_follows_a_symlink(tmp_path: Path) -> None:
    from conda_integrity.repair.backup import new_backup

    prefix = tmp_path / "env"
    (prefix / "conda-meta" / "integrity").mkdir(parents=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (prefix / "conda-meta" / "integrity" / "backups").symlink_to(elsewhere)
    (prefix / "a.txt").write_text("a")

    backup = new_backup(str(prefix))
    with pytest.raises(OSError):
        backup.move_aside("a.txt", "altered")
    assert (prefix / "a.txt").read_text() == "a"
    assert list(elsewhere.iterdir()) == []


def test_the_records_to_relink_are_read_as_conda_loads_them(env: Path) -> None:
    """A record that is gone means the package is not installed; one that is there
    but conda cannot load stops the relink before anything changes."""
    (env / "conda-meta" / "zlibby-1.3-h0_1.json").unlink()
    found = installed_records(str(env), ["libfoo-1.0-h1234_0", "zlibby-1.3-h0_1"])
    assert list(found) == ["libfoo-1.0-h1234_0"]
    assert found["libfoo-1.0-h1234_0"].name == "libfoo"
    assert len(found["libfoo-1.0-h1234_0"].paths_data.paths) > 0
    record = env / "conda-meta" / "libfoo-1.0-h1234_0.json"
    raw = json.loads(record.read_text())
    raw["build_number"] = "zero"  # conda's PrefixRecord rejects it
    record.write_text(json.dumps(raw))
    rejected = r"cannot relink libfoo-1\.0-h1234_0: conda cannot load conda-meta/"
    with pytest.raises(IntegrityInputError, match=rejected):
        installed_records(str(env), ["libfoo-1.0-h1234_0"])
    record.write_text("{")
    with pytest.raises(IntegrityInputError, match="its record is not valid JSON"):
        installed_records(str(env), ["libfoo-1.0-h1234_0"])
