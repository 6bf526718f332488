"""The sdist and the wheel that ``python -m build`` makes, opened and read: what
they hold, nothing else, and the version they carry.

One build per session, in the ``packaging`` xdist group (pyproject.toml runs the
suite with ``--dist loadgroup``, so one worker does all of these), with one isolated
build environment: ``build-system.requires`` (hatchling, hatch-vcs) installed from
the package index, as ``python -m build`` does. It builds from a copy of the
working tree: a build writes ``conda_integrity/_version.py`` into the
tree it builds, and the tree under test must not change while other tests run.
The copy has no ``.git``, so the version hatch-vcs computes for the tree itself is
handed to the sdist build (``SETUPTOOLS_SCM_PRETEND_VERSION``); the wheel is then
built from the unpacked sdist with no such help, as conda-build builds it, so its
version can only come from the sdist's ``PKG-INFO``.
"""

from __future__ import annotations

import email.parser
import email.policy
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from email.message import Message
from importlib.metadata import PathDistribution
from pathlib import Path, PurePosixPath

import pyproject_hooks
import pytest
import tomllib
from build import ProjectBuilder
from build.env import DefaultIsolatedEnv
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from tests.support.layout import IN_SDIST, ROOT, repository_only
from tests.support.recipe import render

pytestmark = [pytest.mark.packaging, pytest.mark.xdist_group("packaging")]

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
PROJECT = PYPROJECT["project"]
PRETEND = "SETUPTOOLS_SCM_PRETEND_VERSION"


def tree_files() -> list[PurePosixPath]:
    """The files of the working tree as a build sees them (relative paths).

    In a checkout: git's tracked files and its untracked, not ignored ones (the
    same .gitignore rules hatchling applies). In an unpacked sdist: every file
    but a virtual environment and bytecode.
    """
    if IN_SDIST:
        skip = {".venv", "__pycache__", ".pytest_cache"}
        found = (path.relative_to(ROOT) for path in ROOT.rglob("*") if path.is_file())
        return [PurePosixPath(path.as_posix()) for path in found if not skip & set(path.parts)]
    listing = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    paths = [PurePosixPath(path) for path in listing.split("\0") if path]
    return [path for path in paths if (ROOT / path).is_file()]  # not deleted since


def copy_tree(destination: Path, *, leave_out: tuple[str, ...] = ()) -> Path:
    for path in tree_files():
        if str(path) not in leave_out:
            target = destination / path
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / path, target)
    return destination


class Backend:
    """The build backend in its isolated environment, for every build of the session."""

    def __init__(self, env: DefaultIsolatedEnv) -> None:
        self.env = env
        env.install(self.builder(ROOT).build_system_requires)

    def builder(self, source: Path, version: str | None = None) -> ProjectBuilder:
        extra = {PRETEND: version} if version else {}

        def runner(
            cmd: Sequence[str], cwd: str | None = None, env: Mapping[str, str] | None = None
        ) -> None:
            pyproject_hooks.quiet_subprocess_runner(cmd, cwd, {**(env or {}), **extra})

        return ProjectBuilder.from_isolated_env(self.env, source, runner=runner)

    def build(self, source: Path, kind: str, outdir: Path, version: str | None = None) -> Path:
        """Build an sdist or a wheel of ``source``; ``version`` stands in for git's."""
        builder = self.builder(source, version)
        self.env.install(builder.get_requires_for_build(kind))
        return Path(builder.build(kind, outdir))

    def version(self, source: Path) -> str:
        """The version the backend gives ``source`` (metadata only: it writes nothing there)."""
        with tempfile.TemporaryDirectory() as scratch:
            found = PathDistribution(Path(self.builder(source).metadata_path(scratch)))
            return str(found.metadata["Version"])


@pytest.fixture(scope="session")
def backend() -> Iterator[Backend]:
    with DefaultIsolatedEnv() as env:
        yield Backend(env)


@dataclass
class Built:
    version: str  # the one hatch-vcs computes for the working tree
    sdist: Path
    wheel: Path

    def sdist_members(self) -> dict[str, tarfile.TarInfo]:
        with tarfile.open(self.sdist) as archive:
            members = archive.getmembers()
        top = f"conda_integrity-{self.version}/"
        assert all(member.name.startswith(top) for member in members)
        return {member.name.removeprefix(top): member for member in members if member.isfile()}

    def sdist_file(self, name: str) -> bytes:
        with tarfile.open(self.sdist) as archive:
            extracted = archive.extractfile(f"conda_integrity-{self.version}/{name}")
            assert extracted is not None
            return extracted.read()

    def wheel_names(self) -> set[str]:
        with zipfile.ZipFile(self.wheel) as archive:
            return {name for name in archive.namelist() if not name.endswith("/")}

    def wheel_file(self, name: str) -> bytes:
        with zipfile.ZipFile(self.wheel) as archive:
            return archive.read(name)

    @property
    def dist_info(self) -> str:
        return f"conda_integrity-{self.version}.dist-info"


@pytest.fixture(scope="session")
def built(backend: Backend, tmp_path_factory: pytest.TempPathFactory) -> Built:
    work = tmp_path_factory.mktemp("packaging")
    version = backend.version(ROOT)
    source = copy_tree(work / "source", leave_out=("PKG-INFO",))
    sdist = backend.build(source, "sdist", work / "dist", version=version)
    with tarfile.open(sdist) as archive:
        archive.extractall(work / "unpacked", filter="data")
    (unpacked,) = (work / "unpacked").iterdir()
    wheel = backend.build(unpacked, "wheel", work / "dist")
    return Built(version, sdist, wheel)


def metadata(raw: bytes) -> Message:
    # core metadata is UTF-8 (the README in its body is not ASCII); BytesParser would
    # read it as ASCII
    return email.parser.Parser(policy=email.policy.compat32).parsestr(raw.decode("utf-8"))


def requirements(texts: list[str]) -> dict[str, str]:
    return {canonicalize_name(r.name): str(r.specifier) for r in map(Requirement, texts)}


# --- the wheel ---------------------------------------------------------------------------


def test_wheel_holds_the_package_and_its_metadata_only(built: Built) -> None:
    package = {str(path) for path in tree_files() if path.parts[0] == "conda_integrity"}
    package.add("conda_integrity/_version.py")
    dist_info = {
        f"{built.dist_info}/{name}"
        for name in ("METADATA", "WHEEL", "entry_points.txt", "RECORD", "licenses/LICENSE")
    }
    assert built.wheel_names() == package | dist_info
    assert built.wheel.name == f"conda_integrity-{built.version}-py3-none-any.whl"


def test_wheel_ships_the_json_schemas_loadable_where_it_is_installed(
    built: Built, tmp_path: Path
) -> None:
    from conda_integrity.output_schema import COMMON, NAMES

    names = {f"conda_integrity/schemas/{name}.schema.json" for name in (*NAMES, COMMON)}
    assert names <= built.wheel_names()
    with zipfile.ZipFile(built.wheel) as archive:
        archive.extractall(tmp_path)  # what an installer puts in site-packages
    code = (
        "import json, sys\n"
        f"sys.path.insert(0, {str(tmp_path)!r})\n"
        "from conda_integrity import output_schema\n"
        "assert output_schema.__file__.startswith(sys.path[0]), output_schema.__file__\n"
        "print(json.dumps({n: output_schema.schema(n)['title'] for n in output_schema.NAMES}))\n"
    )
    shown = subprocess.run(
        [sys.executable, "-I", "-c", code],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert shown.returncode == 0, shown.stderr
    titles = json.loads(shown.stdout)
    assert titles["verify"] == "conda integrity verify --json"
    assert set(titles) == set(NAMES)


def test_wheel_declares_the_conda_entry_point(built: Built) -> None:
    entry_points = built.wheel_file(f"{built.dist_info}/entry_points.txt").decode()
    assert entry_points == "[conda]\nconda-integrity = conda_integrity.plugin\n"


def test_wheel_metadata_is_pyprojects(built: Built) -> None:
    meta = metadata(built.wheel_file(f"{built.dist_info}/METADATA"))
    assert Version(meta["Metadata-Version"]) >= Version("2.4")  # PEP 639
    assert meta["Name"] == PROJECT["name"]
    assert meta["Version"] == built.version
    assert meta["Summary"] == PROJECT["description"]
    assert meta["License-Expression"] == PROJECT["license"] == "BSD-3-Clause"
    assert meta.get_all("License-File") == PROJECT["license-files"] == ["LICENSE"]
    assert meta["License"] is None  # the old free-text field: PEP 639 replaces it
    assert meta["Requires-Python"] == PROJECT["requires-python"]
    assert requirements(meta.get_all("Requires-Dist")) == requirements(PROJECT["dependencies"])
    assert set(requirements(meta.get_all("Requires-Dist"))) == {
        "pluggy",
        "packaging",
        "ruamel-yaml",
    }
    urls = dict(url.split(", ", 1) for url in meta.get_all("Project-URL"))
    assert urls == PROJECT["urls"]
    assert meta["Description-Content-Type"] == "text/markdown"
    assert meta.get_payload() == (ROOT / "README.md").read_text()


def test_wheel_license_is_the_projects(built: Built) -> None:
    license_text = built.wheel_file(f"{built.dist_info}/licenses/LICENSE")
    assert license_text == (ROOT / "LICENSE").read_bytes()


def test_wheel_version_file_names_the_version(built: Built) -> None:
    namespace: dict = {}
    exec(built.wheel_file("conda_integrity/_version.py"), namespace)
    assert namespace["__version__"] == built.version


# --- the sdist ---------------------------------------------------------------------------

#: what [tool.hatch.build.targets.sdist] includes, and what hatchling always adds:
#: PKG-INFO, and the .gitignore whose rules a build from the sdist applies again
SDIST_TOP_LEVEL = {
    "conda_integrity",
    "tests",
    "LICENSE",
    "README.md",
    "pyproject.toml",
    "PKG-INFO",
    ".gitignore",
}


def test_sdist_holds_the_package_the_tests_and_the_project_files_only(built: Built) -> None:
    members = set(built.sdist_members())
    assert {PurePosixPath(name).parts[0] for name in members} == SDIST_TOP_LEVEL
    expected = {str(path) for path in tree_files() if path.parts[0] in ("conda_integrity", "tests")}
    expected |= {"conda_integrity/_version.py", "PKG-INFO"}
    expected |= SDIST_TOP_LEVEL - {"conda_integrity", "tests"}
    assert members == expected
    for name in members:  # said explicitly, though the set above already says it
        parts = PurePosixPath(name).parts
        assert parts[0] not in (".ci", "benchmarks", "recipe", ".venv", "demo"), name
        assert not {"__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache"} & set(parts)


def test_sdist_carries_the_project_files_as_they_are(built: Built) -> None:
    for name in ("LICENSE", "README.md", "pyproject.toml"):
        assert built.sdist_file(name) == (ROOT / name).read_bytes(), name


def test_wheel_built_from_the_sdist_takes_its_version_from_pkg_info(built: Built) -> None:
    pkg_info = metadata(built.sdist_file("PKG-INFO"))
    assert pkg_info["Version"] == built.version
    assert metadata(built.wheel_file(f"{built.dist_info}/METADATA"))["Version"] == built.version


# --- the version and the recipe ----------------------------------------------------------


@repository_only
def test_sdist_file_name_is_the_one_the_recipe_fetches(built: Built) -> None:
    text = (ROOT / "recipe" / "meta.yaml").read_text()
    version_line = next(line for line in text.splitlines() if "set version =" in line)
    text = text.replace(version_line, f'{{% set version = "{built.version}" %}}')
    url = render(text)["source"]["url"]
    assert url.rsplit("/", 1)[1] == built.sdist.name


def test_a_tree_without_git_or_pkg_info_gets_the_fallback_version(
    backend: Backend, tmp_path: Path
) -> None:
    source = copy_tree(tmp_path / "source", leave_out=("PKG-INFO",))
    assert backend.version(source) == PYPROJECT["tool"]["hatch"]["version"]["fallback-version"]


@repository_only
@pytest.mark.filterwarnings("ignore:.*is shallow:Warning")
def test_a_shallow_clone_is_a_dev_version_until_tagged_with_the_recipes(
    backend: Backend, tmp_path: Path
) -> None:
    """A shallow clone sees no tag (and counts one commit): a dev version of HEAD.
    Tagging HEAD ``v<the recipe's version>`` makes exactly the recipe's version."""
    clone = tmp_path / "clone"
    git = ["git", "-C", str(clone)]
    subprocess.run(
        ["git", "clone", "--quiet", "--depth", "1", ROOT.as_uri(), str(clone)], check=True
    )
    tags = subprocess.run([*git, "tag"], capture_output=True, text=True, check=True).stdout
    if tags.split():  # HEAD's own tag, when the checkout is a release
        subprocess.run([*git, "tag", "--delete", *tags.split()], check=True, capture_output=True)
    head = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True, check=True)
    with pytest.warns(match="is shallow"):  # hatch-vcs says so, and counts one commit
        untagged = Version(backend.version(clone))
    assert untagged.is_devrelease and untagged.dev == 1
    assert untagged.local is not None and head.stdout.startswith(untagged.local.removeprefix("g"))

    release = render((ROOT / "recipe" / "meta.yaml").read_text())["package"]["version"]
    subprocess.run([*git, "tag", "--force", f"v{release}"], check=True, capture_output=True)
    assert backend.version(clone) == release
