"""recipe/meta.yaml, rendered as conda-build renders it for conda-forge, agrees with
pyproject.toml; and the comparison does fail when one changes without the other."""

from __future__ import annotations

import copy
import sys
from collections.abc import Callable
from typing import Any

import pytest
import tomllib
from packaging.specifiers import SpecifierSet

from tests.support.helpers import CONDA_VERSION
from tests.support.layout import IN_SDIST, ROOT, SDIST_LACKS
from tests.support.recipe import (
    CONDA_FORGE_LINUX_64,
    conda_requirement,
    disagreements,
    evaluate_selector,
    linux_64_names,
    render,
    select_lines,
)

if IN_SDIST:  # the recipe is read at import
    pytest.skip(SDIST_LACKS, allow_module_level=True)

PYPROJECT: dict[str, Any] = tomllib.loads((ROOT / "pyproject.toml").read_text())
RECIPE_TEXT = (ROOT / "recipe" / "meta.yaml").read_text()
VERSION_LINE = next(line for line in RECIPE_TEXT.splitlines() if "set version =" in line)


def edit(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, f"{old!r} is not in the recipe once"
    return text.replace(old, new)


def test_recipe_and_pyproject_agree() -> None:
    assert disagreements(render(RECIPE_TEXT), PYPROJECT) == []


def test_version_is_set_once_for_the_package_the_source_and_the_test() -> None:
    recipe = render(edit(RECIPE_TEXT, VERSION_LINE, '{% set version = "9.8.7" %}'))
    assert recipe["package"]["version"] == "9.8.7"
    assert recipe["source"]["url"].endswith("/conda_integrity-9.8.7.tar.gz")
    assert any("== '9.8.7'" in command for command in recipe["test"]["commands"])
    assert disagreements(recipe, PYPROJECT) == []


def test_python_comes_from_the_python_min_of_the_pinning() -> None:
    recipe = render(RECIPE_TEXT, {**CONDA_FORGE_LINUX_64, "python_min": "3.12"})
    assert "python 3.12" in recipe["requirements"]["host"]
    assert "python >=3.12" in recipe["requirements"]["run"]
    assert "python 3.12" in recipe["test"]["requires"]


def test_linux_render_keeps_the_unix_verify_and_drops_the_windows_one() -> None:
    commands = render(RECIPE_TEXT)["test"]["commands"]
    assert 'python -m conda integrity verify -p "$PREFIX"' in commands
    assert not any("%PREFIX%" in command for command in commands)


def test_recipe_requires_the_conda_the_suite_runs_on() -> None:
    run = dict(conda_requirement(e) for e in render(RECIPE_TEXT)["requirements"]["run"])
    assert CONDA_VERSION in run["conda"]
    if sys.modules.get("conda_lock._vendor.conda") is sys.modules["conda"]:
        # the suite's own conda is its oldest: the recipe's floor is that release series
        assert run["conda"] == SpecifierSet(f">={CONDA_VERSION.major}.{CONDA_VERSION.minor}")


# --- a change to one side only must be caught -----------------------------------------


def recipe_edit(old: str, new: str) -> Callable[[str, dict], tuple[str, dict]]:
    return lambda text, pyproject: (edit(text, old, new), pyproject)


def pyproject_edit(change: Callable[[dict], None]) -> Callable[[str, dict], tuple[str, dict]]:
    def apply(text: str, pyproject: dict) -> tuple[str, dict]:
        changed = copy.deepcopy(pyproject)
        change(changed["project"])
        return text, changed

    return apply


MISMATCHES = {
    "run bound": (recipe_edit("pluggy >=1.0.0", "pluggy >=1.1"), "run: pluggy >=1.1 in the recipe"),
    "run upper bound": (
        recipe_edit("ruamel.yaml >=0.11.14", "ruamel.yaml >=0.11.14,<0.18"),
        "run: ruamel-yaml <0.18,>=0.11.14 in the recipe",
    ),
    "run dependency dropped": (
        recipe_edit("    - packaging >=23.0\n", ""),
        "run: packaging is in pyproject.toml, not in the recipe",
    ),
    "run dependency added": (
        recipe_edit("    - pluggy >=1.0.0\n", "    - pluggy >=1.0.0\n    - tqdm\n"),
        "run: tqdm is in the recipe, not in pyproject.toml",
    ),
    "pyproject dependency added": (
        pyproject_edit(lambda p: p["dependencies"].append("tqdm>=4")),
        "run: tqdm is in pyproject.toml, not in the recipe",
    ),
    "pyproject bound": (
        pyproject_edit(lambda p: p["dependencies"].__setitem__(0, "pluggy>=1.5")),
        "run: pluggy >=1.0.0 in the recipe, >=1.5 in pyproject.toml",
    ),
    "host build backend": (
        recipe_edit("hatchling >=1.27", "hatchling"),
        "host: hatchling (no bound) in the recipe",
    ),
    "conda dropped": (recipe_edit("    - conda >=24.7\n", ""), "run: conda is missing"),
    "python floor": (
        pyproject_edit(lambda p: p.__setitem__("requires-python", ">=3.11")),
        "python: the recipe builds for python >=3.10",
    ),
    "python pinned by hand": (
        recipe_edit("python >={{ python_min }}", "python >=3.9"),
        "run: python is not >=3.10",
    ),
    "name": (pyproject_edit(lambda p: p.__setitem__("name", "conda-verify")), "name:"),
    "static version": (
        pyproject_edit(lambda p: p.__setitem__("version", "0.1.0")),
        "version: pyproject.toml must leave the version dynamic",
    ),
    "dev version": (
        recipe_edit(VERSION_LINE, '{% set version = "0.1.0.dev3" %}'),
        "version: 0.1.0.dev3 is not a normalised release version",
    ),
    "sdist name": (
        recipe_edit("conda_integrity-{{ version }}", "{{ name }}-{{ version }}"),
        "source: https://pypi.org/packages/source/c/conda-integrity/conda-integrity-0.1.0",
    ),
    "entry point": (
        pyproject_edit(lambda p: p["entry-points"]["conda"].__setitem__("conda-integrity", "x")),
        "entry point: pyproject.toml declares",
    ),
    "plugin not imported": (
        recipe_edit("    - conda_integrity.plugin\n", ""),
        "test: does not import conda_integrity.plugin",
    ),
    "bare conda in the test": (
        recipe_edit("- python -m conda integrity --help", "- conda integrity --help"),
        "runs conda-build's conda",
    ),
    "license": (
        pyproject_edit(lambda p: p.__setitem__("license", "MIT")),
        "license: BSD-3-Clause in the recipe, MIT in pyproject.toml",
    ),
    "license file": (
        recipe_edit("license_file: LICENSE", "license_file: COPYING"),
        "license: files ['COPYING'] vs ['LICENSE']",
    ),
    "summary": (
        pyproject_edit(lambda p: p.__setitem__("description", "Something else.")),
        "about: summary is not pyproject's description",
    ),
    "home page": (
        pyproject_edit(lambda p: p["urls"].__setitem__("Homepage", "https://example.org")),
        "about: home https://github.com/conda-incubator/conda-integrity is not pyproject's",
    ),
}


@pytest.mark.parametrize("change, expected", MISMATCHES.values(), ids=MISMATCHES.keys())
def test_a_change_on_one_side_only_is_caught(change: Callable, expected: str) -> None:
    text, pyproject = change(RECIPE_TEXT, PYPROJECT)
    problems = disagreements(render(text), pyproject)
    assert any(expected in problem for problem in problems), problems


AGREEMENTS = {
    "spacing": pyproject_edit(lambda p: p["dependencies"].__setitem__(0, "pluggy >= 1.0.0")),
    "name spelling": pyproject_edit(
        lambda p: p["dependencies"].__setitem__(2, "ruamel_yaml>=0.11.14")
    ),
    "bound order": lambda text, pyproject: (
        edit(text, "packaging >=23.0", "packaging <30,>=23.0"),
        {
            **pyproject,
            "project": {
                **pyproject["project"],
                "dependencies": ["pluggy>=1.0.0", "packaging>=23.0,<30", "ruamel.yaml>=0.11.14"],
            },
        },
    ),
    "python_min set by the recipe for a newer floor": lambda text, pyproject: (
        '{% set python_min = "3.11" %}\n' + text,
        {**pyproject, "project": {**pyproject["project"], "requires-python": ">=3.11"}},
    ),
}


@pytest.mark.parametrize("change", AGREEMENTS.values(), ids=AGREEMENTS.keys())
def test_equivalent_spellings_still_agree(change: Callable) -> None:
    text, pyproject = change(RECIPE_TEXT, PYPROJECT)
    assert disagreements(render(text), pyproject) == []


# --- the selector evaluator --------------------------------------------------------------

LINUX_64 = linux_64_names()


@pytest.mark.parametrize(
    "selector, value",
    [
        ("linux", True),
        ("linux64", True),
        ("unix", True),
        ("x86_64", True),
        ("win", False),
        ("osx", False),
        ("aarch64 or ppc64le", False),
        ("not win", True),
        ("linux and not osx", True),
        ("py3k", True),
        ("py == 310", True),
        ("py<310", False),
        ("py>=39 and py<313", True),
        ("py2k", False),
        ('target_platform == "linux-64"', True),
        ('target_platform in ("osx-64", "win-64")', False),
        ("build_platform != target_platform", False),
        ("(linux or osx) and not (win or py2k)", True),
        ("undefined_name", False),
        ("not undefined_name", True),
    ],
)
def test_selectors_for_linux_64(selector: str, value: bool) -> None:
    assert bool(evaluate_selector(selector, LINUX_64)) is value


def test_selector_evaluator_refuses_what_it_does_not_know() -> None:
    with pytest.raises(ValueError, match="does not support"):
        evaluate_selector("os.environ.get('CI')", LINUX_64)
    with pytest.raises(SyntaxError):
        evaluate_selector("linux and", LINUX_64)


def test_select_lines_keeps_true_lines_and_drops_false_ones() -> None:
    text = (
        "# a comment line\n"
        "a: 1\n"
        "b: 2  # [linux]\n"
        "c: 3  # [win]\n"
        "d: 4  # a note [py<310]\n"
        "e: [x, y]\n"
        'f: "quoted"  # [unix]\n'
        "see [the docs](https://example.org)  # no selector\n"
    )
    assert select_lines(text, LINUX_64).splitlines() == [
        "",
        "a: 1",
        "b: 2",
        "e:",  # conda-build reads a flow list that ends a line as a selector
        'f: "quoted"',
        "see [the docs](https://example.org)  # no selector",
    ]
