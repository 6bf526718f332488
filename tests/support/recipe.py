"""Render ``recipe/meta.yaml`` as conda-build does for conda-forge's linux-64 build,
and compare it with ``pyproject.toml``.

conda-build (``conda_build/metadata.py``) reads a meta.yaml in three steps, and
``render`` takes the same three:

1. Jinja2 over the whole text (comments included), with undefined names an error.
   Its globals are the selector names below, the build environment's variables
   (``PYTHON``, ``PREFIX``, ``environ``, ...) and the variant from the pinning
   (conda-forge's ``python_min``); a ``{% set %}`` in the recipe wins over them.
   conda-build's context functions (``load_file_data``, ``pin_compatible``,
   ``compiler``, ...) are not provided: the recipe uses none, and a recipe that
   starts to use one fails here loudly.
2. Line selectors: a line ending in ``# [expr]`` is kept, without the selector,
   when ``expr`` is true for the target platform, and dropped otherwise; comment
   lines are blanked.
3. YAML, with every scalar a string (conda-build keeps numbers as strings too, so
   that ``version: 1.10`` is not the float 1.1).

conda-forge builds ``noarch: python`` recipes on linux-64, so that is the platform
rendered. conda-build evaluates a selector with ``eval`` over its names; this
evaluator accepts only the expressions selectors are written in (names, literals,
``and``/``or``/``not``, comparisons, ``in``, tuples) and refuses the rest (calls,
attributes such as ``os.environ.get``) instead of running them. As in conda-build,
a name it does not define counts as false. conda-build also defines every
environment variable as a selector name; those are left out, so that the render
does not depend on the machine running the test.
"""

from __future__ import annotations

import ast
import operator
import re
from collections.abc import Mapping
from typing import Any

import jinja2
from packaging.licenses import canonicalize_license_expression
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version
from ruamel.yaml import YAML

#: conda-forge's pinning (conda-forge-pinning-feedstock, recipe/conda_build_config.yaml)
#: for linux-64: the variant keys a noarch python recipe can see
CONDA_FORGE_LINUX_64 = {
    "python": "3.10.* *_cpython",
    "python_min": "3.10",
    "numpy": "2",
    "perl": "5.32.1",
    "target_platform": "linux-64",
}

#: conda's subdirs (conda.base.constants.KNOWN_SUBDIRS): conda-build makes a
#: selector name of every operating system and architecture in them
_OPERATING_SYSTEMS = ("emscripten", "freebsd", "linux", "osx", "wasi", "win", "zos")
_ARCHITECTURES = (
    "aarch64",
    "arm64",
    "armv6l",
    "armv7l",
    "ppc64",
    "ppc64le",
    "riscv64",
    "s390x",
    "wasm32",
    "x86",
    "x86_64",
    "z",
)

#: the host environment's path while conda-build renders (a placeholder path)
HOST_PREFIX = "/home/conda/feedstock_root/build_artifacts/conda-integrity/_h_env_placehold"


def linux_64_names(variant: Mapping[str, str] = CONDA_FORGE_LINUX_64) -> dict[str, Any]:
    """The selector names conda-build defines for a linux-64 build with ``variant``."""
    names: dict[str, Any] = {name: name == "linux" for name in _OPERATING_SYSTEMS}
    names.update({arch: arch in ("x86", "x86_64") for arch in _ARCHITECTURES})
    names.update(linux32=False, linux64=True, arm=False, unix=True, win32=False, win64=False)
    names.update(nomkl=False, build_platform="linux-64")
    major, minor = variant["python"].split()[0].split(".")[:2]
    py = int(major + minor)
    names.update(py=py, py3k=major == "3", py2k=major == "2")
    names.update({f"py{v}": py == v for v in (26, 27, 33, 34, 35, 36)})
    names["np"] = int("".join(variant["numpy"].split(".")[:2]))
    names.update(pl=variant["perl"], lua="5", luajit=False)
    for key, value in variant.items():  # the variant itself; numbers become ints
        if key not in names:
            try:
                names[key] = int(value)
            except ValueError:
                names[key] = value
    return names


_COMPARISONS = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.In: lambda a, b: a in b,
    ast.NotIn: lambda a, b: a not in b,
    ast.Is: operator.is_,
    ast.IsNot: operator.is_not,
}


def evaluate_selector(expression: str, names: Mapping[str, Any]) -> Any:
    """The value of the selector ``expression`` (``linux and py>=310``) over ``names``."""
    return _evaluate(ast.parse(expression.strip(), mode="eval").body, names)


def _evaluate(node: ast.AST, names: Mapping[str, Any]) -> Any:
    if isinstance(node, ast.Name):
        return names.get(node.id, False)
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, (ast.Tuple, ast.List)):
        return tuple(_evaluate(item, names) for item in node.elts)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        return not _evaluate(node.operand, names)
    if isinstance(node, ast.BoolOp):  # Python's own short-circuit and value
        value: Any = None
        for operand in node.values:
            value = _evaluate(operand, names)
            if bool(value) == isinstance(node.op, ast.Or):
                return value
        return value
    if isinstance(node, ast.Compare):
        left = _evaluate(node.left, names)
        for op, comparator in zip(node.ops, node.comparators):
            right = _evaluate(comparator, names)
            if not _COMPARISONS[type(op)](left, right):
                return False
            left = right
        return True
    raise ValueError(f"selector syntax this evaluator does not support: {ast.dump(node)}")


#: a selector is a ``[...]`` (no brackets inside) after a ``#``, with nothing but a note
#: without parentheses after it; or, without a ``#``, a ``[...]`` that ends the line, so
#: conda-build also reads a YAML flow list ending a line (``a: [x, y]``) as a selector
_SELECTOR = re.compile(
    r"(?P<line>.+?)\s*(?:#.*\[(?P<noted>[^\[\]]+)\][^()]*|\[(?P<bare>[^\[\]]+)\])$"
)


def select_lines(text: str, names: Mapping[str, Any]) -> str:
    """``text`` with the lines whose selector is false dropped, and comment lines blanked."""
    kept = []
    for raw in text.splitlines():
        line = raw.rstrip()
        if not line or line.lstrip().startswith("#"):
            kept.append("")
            continue
        match = _SELECTOR.match(line) if "[" in line and "]" in line else None
        if match is None:
            kept.append(line)
        elif evaluate_selector(match["noted"] or match["bare"], names):
            quote = line[-1] if line[-1] in "'\"" else ""  # a line quoted whole
            kept.append((match["line"] + quote).rstrip())
    return "\n".join(kept) + "\n"


def render(text: str, variant: Mapping[str, str] = CONDA_FORGE_LINUX_64) -> dict[str, Any]:
    """The recipe as conda-build reads it for a linux-64 build with ``variant``."""
    names = linux_64_names(variant)
    build_env = {"PREFIX": HOST_PREFIX, "PYTHON": f"{HOST_PREFIX}/bin/python"}
    jinja = jinja2.Environment(undefined=jinja2.StrictUndefined)
    jinja.globals.update(names, **build_env, environ=dict(build_env))
    selected = select_lines(jinja.from_string(text).render(), names)
    return YAML(typ="base", pure=True).load(selected) or {}


# --- recipe vs pyproject.toml ---------------------------------------------------------

_CLAUSE = re.compile(r"(==|!=|<=|>=|<|>)([0-9][0-9A-Za-z.+!*-]*)")
_BARE_VERSION = re.compile(r"[0-9][0-9A-Za-z.+!-]*")


def conda_requirement(entry: str) -> tuple[str, SpecifierSet]:
    """``"ruamel.yaml >=0.11.14,<0.19"`` as a canonical name and a specifier set.

    Only the part of conda's spec syntax that PEP 440 can say is accepted:
    comma-separated ``op version`` clauses, or a bare version, which conda reads
    as that version and its patch releases (``python 3.10`` is ``==3.10.*``).
    Anything else is an error to look at.
    """
    name, _, spec = entry.strip().partition(" ")
    spec = spec.replace(" ", "")
    if _BARE_VERSION.fullmatch(spec):
        return canonicalize_name(name), SpecifierSet(f"=={spec}.*")
    clauses = [clause for clause in spec.split(",") if clause]
    for clause in clauses:
        if not _CLAUSE.fullmatch(clause):
            raise ValueError(f"{entry!r}: {clause!r} is not a bound this test can compare")
    return canonicalize_name(name), SpecifierSet(",".join(clauses))


def _requirements(entries: list[str]) -> dict[str, SpecifierSet]:
    return dict(conda_requirement(entry) for entry in entries)


def _pep508(requirements: list[str]) -> dict[str, SpecifierSet]:
    parsed = [Requirement(text) for text in requirements]
    return {canonicalize_name(r.name): r.specifier for r in parsed}


def sdist_url(name: str, version: str) -> str:
    """Where PyPI serves the sdist of ``name`` ``version`` that hatchling builds."""
    stem = re.sub(r"[-_.]+", "_", name).lower()  # PEP 625
    return f"https://pypi.org/packages/source/{name[0]}/{name}/{stem}-{version}.tar.gz"


def _compare_bounds(
    problems: list[str], where: str, recipe: dict[str, SpecifierSet], pyproject: dict
) -> None:
    for name in sorted(pyproject.keys() - recipe.keys()):
        problems.append(f"{where}: {name} is in pyproject.toml, not in the recipe")
    for name in sorted(recipe.keys() - pyproject.keys()):
        problems.append(f"{where}: {name} is in the recipe, not in pyproject.toml")
    for name in sorted(recipe.keys() & pyproject.keys()):
        if recipe[name] != pyproject[name]:
            problems.append(
                f"{where}: {name} {recipe[name] or '(no bound)'} in the recipe, "
                f"{pyproject[name] or '(no bound)'} in pyproject.toml"
            )


def disagreements(recipe: dict[str, Any], pyproject: dict[str, Any]) -> list[str]:
    """Every way the rendered ``recipe`` and ``pyproject`` disagree (empty: none)."""
    problems: list[str] = []
    project = pyproject["project"]
    package, source, about = recipe["package"], recipe["source"], recipe["about"]
    requirements, test = recipe["requirements"], recipe["test"]

    if package["name"] != canonicalize_name(project["name"]):
        problems.append(f"name: {package['name']} in the recipe, {project['name']} in pyproject")

    # version: pyproject's comes from git tags, the recipe names a release of it
    if "version" not in project.get("dynamic", ()) or "version" in project:
        problems.append("version: pyproject.toml must leave the version dynamic")
    if pyproject["tool"]["hatch"]["version"].get("source") != "vcs":
        problems.append("version: pyproject.toml must take the version from git (hatch-vcs)")
    version = Version(package["version"])
    if str(version) != package["version"] or version.is_devrelease or version.local:
        problems.append(f"version: {package['version']} is not a normalised release version")
    if source["url"] != sdist_url(project["name"], package["version"]):
        problems.append(
            f"source: {source['url']} is not the sdist hatchling names "
            f"({sdist_url(project['name'], package['version'])})"
        )
    if not re.fullmatch(r"[0-9a-f]{64}", source.get("sha256", "")):
        problems.append("source: sha256 is not a SHA-256")

    # build: a pure-Python conda plugin, installed by pip from the sdist
    build = recipe["build"]
    if build.get("noarch") != "python":
        problems.append("build: not noarch: python")
    if build.get("script") != (
        f"{HOST_PREFIX}/bin/python -m pip install . --no-deps --no-build-isolation -vv"
    ):
        problems.append(f"build: script is {build.get('script')!r}")

    # the Python floor (CFEP-25): host and test pin python_min, run takes it and newer;
    # python_min is conda-forge's, or the recipe's own {% set %} where it needs a newer one
    host = _requirements(requirements["host"])
    run = _requirements(requirements["run"])
    test_requires = _requirements(test.get("requires", []))
    pin = re.fullmatch(r"==([0-9.]+)\.\*", str(host.pop("python", "")))  # `python 3.10`
    python_min = pin.group(1) if pin else CONDA_FORGE_LINUX_64["python_min"]
    if pin is None:
        problems.append("host: python is not pinned to python_min")
    elif Version(python_min) not in SpecifierSet(project["requires-python"]):
        problems.append(
            f"python: the recipe builds for python >={python_min}, pyproject.toml "
            f"requires {project['requires-python']}: set python_min in the recipe"
        )
    if run.pop("python", None) != SpecifierSet(f">={python_min}"):
        problems.append(f"run: python is not >={python_min} (python_min)")
    if test_requires.pop("python", None) != SpecifierSet(f"=={python_min}.*"):
        problems.append(f"test: python is not {python_min} (python_min)")
    if "pip" not in test_requires:
        problems.append("test: requires no pip, which `pip check` needs")

    # dependencies: run = conda + pyproject's; host = pip + pyproject's build-system
    for where, entries, name in (("run", run, "conda"), ("host", host, "pip")):
        if entries.pop(name, None) is None:
            problems.append(f"{where}: {name} is missing")
    _compare_bounds(problems, "run", run, _pep508(project["dependencies"]))
    _compare_bounds(problems, "host", host, _pep508(pyproject["build-system"]["requires"]))

    # the entry point: the conda plugin module, imported and run as `conda integrity`
    entry_points = project.get("entry-points", {})
    if entry_points.get("conda") != {"conda-integrity": "conda_integrity.plugin"}:
        problems.append(f"entry point: pyproject.toml declares {entry_points}")
    for module in ("conda_integrity", *entry_points.get("conda", {}).values()):
        if module not in test.get("imports", []):
            problems.append(f"test: does not import {module}")
    commands = test.get("commands", [])
    if "python -m conda integrity --help" not in commands:
        problems.append("test: does not run `python -m conda integrity --help`")
    if not any(command.startswith("python -m conda integrity verify -p ") for command in commands):
        problems.append("test: does not verify the test environment")
    for command in commands:
        if re.match(r"conda\s+integrity\b", command):  # see the recipe's comment
            problems.append(f"test: {command!r} runs conda-build's conda, not the test env's")

    # license and metadata
    spdx = [canonicalize_license_expression(e) for e in (about["license"], project["license"])]
    if spdx[0] != spdx[1]:
        problems.append(f"license: {spdx[0]} in the recipe, {spdx[1]} in pyproject.toml")
    license_files = about["license_file"]
    license_files = [license_files] if isinstance(license_files, str) else license_files
    if sorted(license_files) != sorted(project["license-files"]):
        problems.append(f"license: files {license_files} vs {project['license-files']}")
    if about["summary"] != project["description"]:
        problems.append("about: summary is not pyproject's description")
    urls = project["urls"]
    for key, label in (("home", "Homepage"), ("dev_url", "Source"), ("doc_url", "Documentation")):
        if about.get(key) != urls.get(label):
            problems.append(f"about: {key} {about.get(key)} is not pyproject's {label}")
    if not recipe.get("extra", {}).get("recipe-maintainers"):
        problems.append("extra: no recipe-maintainers")
    return problems
