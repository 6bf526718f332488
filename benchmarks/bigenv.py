"""A large, realistic conda environment, made by real conda from real PyPI wheels.

Wheels are turned into conda packages the way conda-forge packages look:
binary wheels become ``linux-64`` packages under ``lib/pythonX.Y/site-packages``
with compiled ``.pyc`` files shipped; pure-Python wheels become ``noarch:
python`` packages, for which conda itself writes the ``.pyc`` files and entry
points at install time. conda then creates the environment from a local
``file://`` channel. Everything is kept under a work folder and reused by the
next run.
"""

from __future__ import annotations

import argparse
import configparser
import hashlib
import json
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.support import catalog, packages  # noqa: E402
from tests.support.conda_cli import Conda  # noqa: E402

#: real PyPI projects with many files and many bytes (torch comes from the
#: machine's wheel folder when pip finds it there)
WHEELS = (
    "torch==2.13.0",
    "numpy",
    "scipy",
    "pandas",
    "matplotlib",
    "pillow",
    "scikit-learn",
    "sympy",
    "networkx",
    "plotly",
    "botocore",
    "transformers",
    "mypy",
    "pyarrow",
    "jax",
    "jaxlib",
    "tzdata",
)
PY = catalog.PY_VERSION
SITE_PACKAGES = catalog.SITE_PACKAGES


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def download_wheels(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    if not any(folder.glob("*.whl")):
        log(f"downloading {len(WHEELS)} wheels from PyPI into {folder}")
        subprocess.run(
            [
                sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                "--only-binary=:all:", "--python-version", PY,
                "--platform", "manylinux_2_28_x86_64", "--platform", "manylinux2014_x86_64",
                "--platform", "manylinux_2_17_x86_64", "--platform", "linux_x86_64",
                "--dest", str(folder), *WHEELS,
            ],
            check=True,
        )  # fmt: skip
    return sorted(folder.glob("*.whl"))


def _conda_name(project: str) -> str:
    return re.sub(r"[-_.]+", "-", project).lower()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _move_wheel_data(site: Path, prefix_root: Path, scripts_dir: str) -> None:
    """Put a wheel's ``*.data`` folders where an installer would."""
    for data in site.glob("*.data"):
        for kind in data.iterdir():
            if kind.name in ("purelib", "platlib"):
                target = site
            elif kind.name == "scripts":
                target = prefix_root / scripts_dir
            elif kind.name == "headers":
                target = prefix_root / "include"
            else:
                target = prefix_root
            shutil.copytree(kind, target, dirs_exist_ok=True)
        shutil.rmtree(data)


def _entry_points(site: Path) -> list[str]:
    points = []
    for info in site.glob("*.dist-info/entry_points.txt"):
        parser = configparser.ConfigParser(delimiters=("=",))
        parser.optionxform = str  # type: ignore[assignment,method-assign]
        parser.read(info)
        if parser.has_section("console_scripts"):
            points += [f"{k.strip()} = {v.strip()}" for k, v in parser["console_scripts"].items()]
    return points


def wheel_to_conda(wheel: Path, channel: Path) -> Path:
    """Turn one wheel into a ``.conda`` package in ``channel``."""
    project, version, *_, platform = wheel.stem.split("-")
    name = _conda_name(project)
    local = version.partition("+")[2]
    version = version.partition("+")[0]
    noarch = platform == "any"
    build = f"{'pyh' if noarch else 'py' + PY.replace('.', '')}{'_' + local if local else ''}_0"
    with tempfile.TemporaryDirectory(prefix="wheel-") as tmp:
        root = Path(tmp)
        site = root / ("site-packages" if noarch else SITE_PACKAGES)
        site.mkdir(parents=True)
        with zipfile.ZipFile(wheel) as archive:
            archive.extractall(site)
        _move_wheel_data(site, root, "python-scripts" if noarch else "bin")
        for installer in site.glob("*.dist-info/INSTALLER"):
            installer.write_text("conda\n")
        for record in site.glob("*.dist-info/RECORD"):
            record.unlink()  # conda packages carry no RECORD from the wheel
        entry_points = _entry_points(site) if noarch else []
        if not noarch:  # conda-forge ships the bytecode of non-noarch packages
            subprocess.run(
                [sys.executable, "-m", "compileall", "-q", "-j", "0", str(site)],
                check=False,
                stdout=subprocess.DEVNULL,
            )
        files = sorted(
            p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file() or p.is_symlink()
        )
        paths = []
        for rel in files:
            path = root / rel
            if path.is_symlink():
                entry = {"path_type": "softlink", "sha256": "0" * 64, "size_in_bytes": 0}
            else:
                size = path.stat().st_size
                entry = {"path_type": "hardlink", "sha256": _sha256(path), "size_in_bytes": size}
            paths.append({"_path": rel, **entry})
        info = root / "info"
        info.mkdir()
        index = {
            "name": name,
            "version": version,
            "build": build,
            "build_number": 0,
            "depends": [f"python >={PY}"] if noarch else [f"python {PY}.*"],
            "license": "see the wheel's metadata",
            "subdir": "noarch" if noarch else "linux-64",
            "timestamp": 1700000000000,
        }
        if noarch:
            index["noarch"] = "python"
            link = {"noarch": {"type": "python", "entry_points": entry_points},
                    "package_metadata_version": 1}  # fmt: skip
            (info / "link.json").write_text(json.dumps(link))
        else:
            index.update(platform="linux", arch="x86_64")
        (info / "index.json").write_text(json.dumps(index, indent=2))
        (info / "paths.json").write_text(json.dumps({"paths": paths, "paths_version": 1}))
        (info / "files").write_text("".join(f + "\n" for f in files))
        members = files + ["info/" + p.name for p in sorted(info.iterdir())]
        subdir = channel / index["subdir"]
        subdir.mkdir(parents=True, exist_ok=True)
        from conda_package_handling.api import create

        out = f"{name}-{version}-{build}.conda"
        create(str(root), members, out, out_folder=str(subdir), compression_level=3)
        return subdir / out


#: the packages of the small environment (``--small``: the test suite's own, made
#: in seconds, to check that a benchmark runs; its figures mean nothing)
SMALL = ("python", "libfoo=1.0", "footools", "pyfoo", "zlibby")


def small_work(work: Path) -> Path:
    """The work folder of the small environment, beside the big one's."""
    return work.with_name(work.name + "-small")


def _is_small(work: Path) -> bool:
    return work.name.endswith("-small")


def build_channel(work: Path) -> Path:
    """The channel of conda packages made from the wheels (built once, reused)."""
    channel = work / "channel"
    if _is_small(work):
        if not (channel / "noarch" / "repodata.json").exists():
            for package in catalog.channel_packages():
                packages.build(package, channel)
            packages.write_repodata(channel)
        return channel
    if not (channel / "noarch" / "repodata.json").exists():
        wheels = download_wheels(work / "wheels")
        shutil.rmtree(channel, ignore_errors=True)
        for wheel in wheels:
            log(f"converting {wheel.name}")
            wheel_to_conda(wheel, channel)
        packages.build(catalog.python_package(), channel)
        packages.write_repodata(channel)
    return channel


def package_names(channel: Path) -> list[str]:
    """Every package name of the channel: the big environment installs them all."""
    if _is_small(channel.parent):
        return list(SMALL)
    return sorted(
        {
            record["name"]
            for sub in ("noarch", "linux-64")
            for record in _repodata_records(channel / sub)
        }
    )


def build_environment(work: Path) -> tuple[Conda, Path]:
    """The channel, a conda sandbox and the big environment (built once, reused)."""
    channel = work / "channel"
    conda = Conda(work / "sandbox", channel)
    prefix = work / "env"
    done = work / "env.done"
    if done.exists():
        return conda, prefix
    build_channel(work)
    names = package_names(channel)
    shutil.rmtree(prefix, ignore_errors=True)
    log(f"conda create with {len(names)} packages into {prefix}")
    conda.create(prefix, *names)
    done.touch()
    return conda, prefix


def build_shared_environments(work: Path, count: int) -> tuple[Conda, list[Path]]:
    """``count`` copies of the big environment, made by conda from one channel into
    one package cache of their own (a sandbox apart from ``build_environment``'s, so
    that conda knows exactly these environments): their files are hard links of
    the same cached files. Named ``env01``, ``env02``... in the sandbox's envs dir."""
    channel = build_channel(work)
    conda = Conda(work / "sandbox-shared", channel)
    names = package_names(channel)
    prefixes = []
    for number in range(1, count + 1):
        name = f"env{number:02d}"
        prefix = conda.envs_dir / name
        done = conda.root / f"{name}.done"
        if not done.exists():
            shutil.rmtree(prefix, ignore_errors=True)
            log(f"conda create -n {name} with {len(names)} packages")
            conda.run("create", "-n", name, "--yes", "--quiet", *names)
            done.touch()
        prefixes.append(prefix)
    return conda, prefixes


def _repodata_records(subdir: Path) -> list[dict]:
    repodata = json.loads((subdir / "repodata.json").read_text())
    return [*repodata["packages"].values(), *repodata["packages.conda"].values()]


def arguments(
    doc: str | None, repeat: int = 5, small: str | None = "the small test environment"
) -> argparse.ArgumentParser:
    """The parser of a benchmark's options (``--repeat``, ``--work``, ``--small``),
    for the script to add its own to."""
    parser = argparse.ArgumentParser(description=(doc or "").split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=repeat)
    parser.add_argument("--work", type=Path, default=ROOT / "benchmarks" / ".work")
    if small is not None:
        parser.add_argument("--small", action="store_true", help=small)
    return parser


def work_folder(work: Path, small: bool) -> Path:
    """The work folder a benchmark uses: ``work``, or with ``--small`` the small one."""
    return small_work(work) if small else work


def content_of(prefix: Path) -> tuple[int, int]:
    """(files, bytes) the records of ``prefix`` own (regular files, counted once)."""
    seen: set[str] = set()
    size = 0
    for record in (prefix / "conda-meta").glob("*.json"):
        for path in json.loads(record.read_text())["files"]:
            if path in seen:
                continue
            seen.add(path)
            full = prefix / path
            if full.is_file() and not full.is_symlink():
                size += full.stat().st_size
    return len(seen), size


if __name__ == "__main__":
    work = Path(sys.argv[1] if len(sys.argv) > 1 else ROOT / "benchmarks" / ".work")
    _, env = build_environment(work)
    files, size = content_of(env)
    print(f"{env}: {files} files, {size / 1e9:.2f} GB")
