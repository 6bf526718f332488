"""Build real conda packages and a local ``file://`` channel for the tests.

A package is described by a :class:`Package` (files with content, modes,
symlinks, prefix placeholders, noarch python entry points, link scripts) and
written as ``.tar.bz2`` or ``.conda`` with the ``info/`` metadata conda reads:
``index.json``, ``paths.json``, ``files``, ``has_prefix`` and ``link.json``.
``write_repodata`` indexes a channel the way a channel server would.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import tarfile
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

#: conda's default text placeholder (``conda.base.constants.PREFIX_PLACEHOLDER``)
TEXT_PLACEHOLDER = "/opt/anaconda1anaconda2anaconda3"
#: a long placeholder, as conda-build uses for binary files, so that any test
#: prefix is short enough to be padded into it
BINARY_PLACEHOLDER = "/opt/conda-integrity-test-placeholder" + "_placehold" * 20


#: the ``platform`` and ``arch`` of index.json for each subdir the tests build for
PLATFORMS = {
    "linux-64": ("linux", "x86_64"),
    "linux-aarch64": ("linux", "aarch64"),
    "osx-arm64": ("osx", "arm64"),
    "win-64": ("win", "x86_64"),
}


@dataclass
class File:
    """One path in a package."""

    path: str
    content: bytes = b""
    mode: int = 0o644
    symlink_to: str | None = None
    #: "text" or "binary" to make conda replace a placeholder in this file
    prefix_mode: str | None = None

    @property
    def placeholder(self) -> str | None:
        if self.prefix_mode == "text":
            return TEXT_PLACEHOLDER
        if self.prefix_mode == "binary":
            return BINARY_PLACEHOLDER
        return None


@dataclass
class Package:
    """A conda package to build."""

    name: str
    version: str
    build: str = "0"
    build_number: int = 0
    subdir: str = "linux-64"
    depends: tuple[str, ...] = ()
    constrains: tuple[str, ...] = ()
    files: list[File] = field(default_factory=list)
    #: noarch python: ``files`` paths start with ``site-packages/`` or
    #: ``python-scripts/``; conda relocates them and writes the entry points
    noarch_python: bool = False
    entry_points: tuple[str, ...] = ()
    #: link scripts, by kind ("post-link", "pre-unlink", ...)
    scripts: dict[str, str] = field(default_factory=dict)
    extension: str = ".tar.bz2"

    @property
    def dist(self) -> str:
        return f"{self.name}-{self.version}-{self.build}"

    @property
    def fn(self) -> str:
        return self.dist + self.extension

    def index_json(self) -> dict:
        index: dict = {
            "name": self.name,
            "version": self.version,
            "build": self.build,
            "build_number": self.build_number,
            "depends": list(self.depends),
            "subdir": "noarch" if self.noarch_python else self.subdir,
            "license": "BSD-3-Clause",
            "timestamp": 1700000000000,
        }
        if self.constrains:
            index["constrains"] = list(self.constrains)
        if self.noarch_python:
            index["noarch"] = "python"
        else:
            index["platform"], index["arch"] = PLATFORMS[self.subdir]
        return index


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _stage(package: Package, root: Path) -> list[str]:
    """Write the package's payload and ``info/`` under ``root``; return its paths."""
    payload: list[str] = []
    all_files = list(package.files)
    for kind, body in package.scripts.items():
        folder = "Scripts" if kind.endswith(".bat") else "bin"
        all_files.append(File(f"{folder}/.{package.name}-{kind}.sh", body.encode(), mode=0o755))
    paths_json = []
    has_prefix = []
    for item in all_files:
        target = root / item.path
        target.parent.mkdir(parents=True, exist_ok=True)
        entry: dict = {"_path": item.path}
        if item.symlink_to is not None:
            os.symlink(item.symlink_to, target)
            entry["path_type"] = "softlink"
            # conda-build hashes what the link points at (empty when dangling)
            pointee = target.parent / item.symlink_to
            data = pointee.read_bytes() if pointee.is_file() else b""
            entry["sha256"], entry["size_in_bytes"] = _sha256(data), len(data)
        else:
            content = item.content
            if item.placeholder and item.prefix_mode == "binary":
                assert item.placeholder.encode() in content, item.path
            target.write_bytes(content)
            os.chmod(target, item.mode)
            entry["path_type"] = "hardlink"
            entry["sha256"], entry["size_in_bytes"] = _sha256(content), len(content)
            if item.placeholder:
                entry["prefix_placeholder"] = item.placeholder
                entry["file_mode"] = item.prefix_mode
                has_prefix.append(f"{item.placeholder} {item.prefix_mode} {item.path}")
        paths_json.append(entry)
        payload.append(item.path)

    info = root / "info"
    info.mkdir()
    (info / "index.json").write_text(json.dumps(package.index_json(), indent=2))
    (info / "paths.json").write_text(
        json.dumps({"paths": paths_json, "paths_version": 1}, indent=2)
    )
    (info / "files").write_text("".join(p + "\n" for p in payload))
    if has_prefix:
        (info / "has_prefix").write_text("".join(line + "\n" for line in has_prefix))
    if package.noarch_python:
        link = {
            "noarch": {"type": "python", "entry_points": list(package.entry_points)},
            "package_metadata_version": 1,
        }
        (info / "link.json").write_text(json.dumps(link, indent=2))
    metadata = ["info/" + p.name for p in sorted(info.iterdir())]
    return payload + metadata


def _write_tar_bz2(root: Path, members: list[str], out: Path) -> None:
    with tarfile.open(out, "w:bz2", compresslevel=1) as tar:
        for member in members:
            tar.add(root / member, arcname=member, recursive=False)


def _write_conda(root: Path, members: list[str], out: Path) -> None:
    from conda_package_handling.api import create

    create(str(root), members, out.name, out_folder=str(out.parent))


def build(package: Package, channel: Path) -> Path:
    """Build ``package`` into ``channel/<subdir>/`` and return the archive's path."""
    subdir = "noarch" if package.noarch_python else package.subdir
    out = channel / subdir / package.fn
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="pkg-") as tmp:
        root = Path(tmp)
        members = _stage(package, root)
        if package.extension == ".conda":
            _write_conda(root, members, out)
        else:
            _write_tar_bz2(root, members, out)
    return out


def write_repodata(channel: Path, subdirs: tuple[str, ...] = ("linux-64", "noarch")) -> None:
    """Index every package in ``channel`` into ``<subdir>/repodata.json``."""
    for subdir in subdirs:
        folder = channel / subdir
        folder.mkdir(parents=True, exist_ok=True)
        repodata: dict = {
            "info": {"subdir": subdir},
            "packages": {},
            "packages.conda": {},
            "repodata_version": 1,
        }
        for archive in sorted(folder.iterdir()):
            if archive.name.endswith(".tar.bz2"):
                section = "packages"
            elif archive.name.endswith(".conda"):
                section = "packages.conda"
            else:
                continue
            data = archive.read_bytes()
            record = _read_index_json(archive)
            record.update(
                md5=hashlib.md5(data).hexdigest(),
                sha256=_sha256(data),
                size=len(data),
            )
            repodata[section][archive.name] = record
        (folder / "repodata.json").write_text(json.dumps(repodata, indent=2))


def _read_index_json(archive: Path) -> dict:
    if archive.name.endswith(".tar.bz2"):
        with tarfile.open(archive, "r:bz2") as tar:
            member = tar.extractfile("info/index.json")
            assert member is not None
            return json.load(member)
    from conda_package_streaming.package_streaming import stream_conda_info

    with archive.open("rb") as fileobj:
        for tar, member in stream_conda_info(archive.name, fileobj):
            if member.name == "info/index.json":
                extracted = tar.extractfile(member)
                assert extracted is not None
                return json.load(io.BytesIO(extracted.read()))
    raise ValueError(f"no info/index.json in {archive}")


def copy_channel(source: Path, target: Path) -> Path:
    """A private copy of a channel (tests that add packages must not share one)."""
    shutil.copytree(source, target, symlinks=True)
    return target
