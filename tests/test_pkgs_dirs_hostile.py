"""``verify --pkgs-dirs`` on a package cache someone else may have written: each file
of a cached package is read as the prefix's records are (never through a symlink,
never a FIFO or device, bounded size and nesting, every field checked), and what
cannot be read so, or states what cannot be true, is a ``cache-corrupt`` finding
naming the package and why: never a crash, a hang or silence. ``repair`` does not
link from such a package.

Each case is planted in a copy of a package cache conda filled (one ``conda
create`` for the module), and each run has a time limit: a hang fails its case.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.conda_cli import Conda
from tests.support.helpers import STANDARD_SPECS, replace_file, verify, verify_json

LIBFOO = "libfoo-1.0-h1234_0"  # a .tar.bz2 archive
ZLIBBY = "zlibby-1.3-h0_1"  # a .conda archive, with a symlink
#: the time a run gets: a clean cache takes a few seconds
LIMIT = 60
is_root = os.geteuid() == 0 if hasattr(os, "geteuid") else False


@pytest.fixture(scope="module")
def filled(tmp_path_factory: pytest.TempPathFactory, channel: Path) -> Conda:
    """A sandbox whose package cache one ``conda create`` filled."""
    sandbox = Conda(tmp_path_factory.mktemp("hostile-cache"), channel)
    sandbox.create(sandbox.envs_dir / "filled", *STANDARD_SPECS)
    return sandbox


@pytest.fixture
def cache(filled: Conda, tmp_path: Path) -> Path:
    """A copy of the filled package cache, for this case to damage."""
    copy = tmp_path / "pkgs"
    shutil.copytree(filled.pkgs_dir, copy, symlinks=True)
    return copy


def _paths_json(cache: Path, package: str = LIBFOO) -> Path:
    return cache / package / "info" / "paths.json"


def _edit_entry(**fields: object) -> Callable[[Path], None]:
    """Set fields of the first file entry of libfoo's paths.json."""

    def plant(cache: Path) -> None:
        path = _paths_json(cache)
        data = json.loads(path.read_text())
        entry = next(e for e in data["paths"] if e.get("path_type", "hardlink") == "hardlink")
        entry.update(fields)
        path.write_text(json.dumps(data))

    return plant


def _replace(name: str, by: Callable[[Path], None]) -> Callable[[Path], None]:
    """Put something else (``by(path)``) in place of libfoo's ``info/NAME``."""

    def plant(cache: Path) -> None:
        path = cache / LIBFOO / "info" / name
        path.unlink()
        by(path)

    return plant


def _fifo(path: Path) -> None:
    os.mkfifo(path)  # opening it would wait for a writer forever


def _device(path: Path) -> None:
    os.mknod(path, 0o600 | stat.S_IFCHR, os.makedev(1, 5))  # /dev/zero: reads never end


def _link_to_zero(path: Path) -> None:
    path.symlink_to("/dev/zero")


def _link_outside(path: Path) -> None:
    outside = path.parents[3] / f"outside-{path.name}"
    outside.write_text('{"paths": [], "paths_version": 1}')  # a file nobody checks
    path.symlink_to(outside)


def _nested(depth: int) -> Callable[[Path], None]:
    def by(path: Path) -> None:
        path.write_text('{"paths": [], "x": ' + "[" * depth + "]" * depth + "}")

    return by


def _info_outside(cache: Path) -> None:
    info = cache / LIBFOO / "info"
    outside = cache.parent / "outside-info"
    shutil.move(info, outside)
    info.symlink_to(outside, target_is_directory=True)


def _archive(by: Callable[[Path], None]) -> Callable[[Path], None]:
    def plant(cache: Path) -> None:
        archive = cache / f"{LIBFOO}.tar.bz2"
        archive.unlink()
        by(archive)

    return plant


def _record(**fields: object) -> Callable[[Path], None]:
    def plant(cache: Path) -> None:
        path = cache / LIBFOO / "info" / "repodata_record.json"
        path.write_text(json.dumps({**json.loads(path.read_text()), **fields}))

    return plant


CASES: dict[str, tuple[Callable[[Path], None], str, str]] = {
    # case: (plant, the finding's path, words of its message)
    "paths-fifo": (_replace("paths.json", _fifo), "info/paths.json", "is a FIFO"),
    "paths-dev-zero-link": (
        _replace("paths.json", _link_to_zero),
        "info/paths.json",
        "is a symbolic link",
    ),
    "paths-link-outside": (
        _replace("paths.json", _link_outside),
        "info/paths.json",
        "is a symbolic link",
    ),
    "paths-too-deep": (
        _replace("paths.json", _nested(100_000)),
        "info/paths.json",
        "nests lists or objects too deep",
    ),
    "paths-deep": (
        _replace("paths.json", _nested(500)),
        "info/paths.json",
        "nests lists or objects more than 64 deep",
    ),
    "paths-empty": (
        _replace("paths.json", lambda p: p.write_bytes(b"")),
        "info/paths.json",
        "is empty",
    ),
    "index-fifo": (_replace("index.json", _fifo), "info/index.json", "is a FIFO"),
    "record-fifo": (
        _replace("repodata_record.json", _fifo),
        "info/repodata_record.json",
        "is a FIFO",
    ),
    "info-link-outside": (_info_outside, "info", "is a symbolic link, which is never followed"),
    "size-string": (
        _edit_entry(size_in_bytes="12"),
        "info/paths.json",
        "'size_in_bytes' that is '12'",
    ),
    "size-negative": (
        _edit_entry(size_in_bytes=-1),
        "info/paths.json",
        "'size_in_bytes' that is -1",
    ),
    "sha256-int": (_edit_entry(sha256=5), "info/paths.json", "'sha256' that is 5"),
    "sha256-not-hex": (_edit_entry(sha256="z" * 64), "info/paths.json", "not a sha256 digest"),
    "path-type-unknown": (_edit_entry(path_type="hardish"), "info/paths.json", "unknown path_type"),
    "path-type-list": (
        _edit_entry(path_type=["hardlink"]),
        "info/paths.json",
        "'path_type' that is a list",
    ),
    "path-lone-surrogate": (
        _edit_entry(_path="lib/\ud800"),
        "info/paths.json",
        "not a usable path",
    ),
    "path-5000": (_edit_entry(_path="a" * 5000), "info/paths.json", "a path of 5,000 bytes"),
    "archive-folder": (
        _archive(lambda p: p.mkdir()),
        f"{LIBFOO}.tar.bz2",
        "is a folder, not a file",
    ),
    "archive-fifo": (_archive(_fifo), f"{LIBFOO}.tar.bz2", "is a FIFO"),
    "record-size-string": (
        _record(size="2050"),
        "info/repodata_record.json",
        "gives 'size' as '2050'",
    ),
    "record-sha256-int": (_record(sha256=1), "info/repodata_record.json", "gives 'sha256' as 1"),
}
if is_root:
    CASES["paths-device"] = (_replace("paths.json", _device), "info/paths.json", "is a device")


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_hostile_cache_entry_is_a_finding(filled: Conda, cache: Path, case: str) -> None:
    plant, path, words = CASES[case]
    plant(cache)
    report, result = verify_json(
        filled, "--pkgs-dirs", env={"CONDA_PKGS_DIRS": str(cache)}, timeout=LIMIT
    )
    assert result.returncode == 1, str(result)
    assert "Traceback" not in result.stderr, str(result)
    corrupt = [f for f in report["findings"] if f["code"] == "cache-corrupt"]
    assert [(f["package"], f["path"]) for f in corrupt] == [(LIBFOO, path)], corrupt
    assert words in corrupt[0]["message"], corrupt[0]["message"]
    # the text report says it too, and never fails for the words' encoding
    text = filled.run(
        "integrity",
        "verify",
        "--pkgs-dirs",
        env={"CONDA_PKGS_DIRS": str(cache)},
        check=False,
        timeout=LIMIT,
    )
    assert text.returncode == 1 and "Traceback" not in text.stderr, str(text)
    assert words in text.stdout


def test_repair_does_not_link_from_a_hostile_cache_entry(sandbox: Conda, env: Path) -> None:
    """libfoo's cached copy has a FIFO for its paths.json: repair cannot check it, so
    it moves it aside and lets conda extract the (whole) archive again."""
    replace_file(env / "include" / "foo.h", b"changed\n")  # a new inode: the cache keeps its own
    folder = sandbox.pkgs_dir / LIBFOO
    (folder / "info" / "paths.json").unlink()
    os.mkfifo(folder / "info" / "paths.json")
    result = sandbox.run(
        "integrity", "repair", "-p", str(env), "-y", "--json", check=False, timeout=120
    )
    assert result.returncode == 0, str(result)
    (plan,) = json.loads(result.stdout)["plan"]
    assert plan["source"]["how"] == "archive", plan
    assert plan["moves_aside"] == [str(folder)]
    assert verify(sandbox, env)["findings"] == []
    # extracted again by conda: a regular paths.json, and the file linked from it
    assert stat.S_ISREG(os.lstat(folder / "info" / "paths.json").st_mode)
    assert os.path.samefile(env / "include" / "foo.h", folder / "include" / "foo.h")
