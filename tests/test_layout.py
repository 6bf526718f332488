"""The package's layers: each subpackage imports only from the layers below it,
and no module imports itself back through others (read from the source, as
imports are written, whether at module level, in a function or for typing)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "conda_integrity"
if not PACKAGE.is_dir():  # pragma: no cover (an installed wheel without sources here)
    pytest.skip("no package source beside the tests", allow_module_level=True)

#: bottom to top; a module may import from its own layer and from those before it
LAYERS = (
    (
        "_version",
        "exceptions",
        "findings",
        "progress",
        "safe_read",
        "settings",
        "compat",
        "output_schema",
    ),
    ("store",),
    ("records",),
    ("observe",),
    ("checks",),
    ("verify",),
    ("pkgs_dirs",),
    ("guard",),
    ("repair",),
    ("cli",),
    ("plugin",),
)
#: the modules of the bottom layer in the order they may import each other
BASE_ORDER = LAYERS[0]


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


MODULES = _modules()


def _imports(name: str, path: Path) -> set[str]:
    """The package's own modules that ``name`` imports."""
    is_package = path.name == "__init__.py"
    here = name.split(".") if is_package else name.split(".")[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = here[: len(here) - (node.level - 1)] if node.level > 1 else here
            module = ".".join(base + ([node.module] if node.module else []))
            candidates = [module] + [f"{module}.{alias.name}".lstrip(".") for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("conda_integrity"):
            module = node.module.removeprefix("conda_integrity").lstrip(".")  # type: ignore[union-attr]
            candidates = [module] + [f"{module}.{alias.name}".lstrip(".") for alias in node.names]
        elif isinstance(node, ast.Import):
            candidates = [
                alias.name.removeprefix("conda_integrity").lstrip(".")
                for alias in node.names
                if alias.name.startswith("conda_integrity")
            ]
        else:
            continue
        for candidate in candidates:
            while candidate and candidate not in MODULES:
                candidate = candidate.rpartition(".")[0]
            if candidate and candidate != name:
                found.add(candidate)
    return found


GRAPH = {name: _imports(name, path) for name, path in MODULES.items() if name}


def _layer(module: str) -> int:
    top = module.split(".")[0]
    for number, layer in enumerate(LAYERS):
        if top in layer:
            return number
    raise AssertionError(f"{module} belongs to no layer: add it to LAYERS")


def test_every_module_has_a_layer():
    for module in GRAPH:
        _layer(module)


def test_imports_only_go_down():
    upward = [
        f"{module} imports {target}"
        for module, targets in GRAPH.items()
        for target in targets
        if _layer(target) > _layer(module)
        or (
            _layer(module) == 0
            and _layer(target) == 0
            and BASE_ORDER.index(target.split(".")[0]) > BASE_ORDER.index(module.split(".")[0])
        )
    ]
    assert upward == []


def test_no_import_cycles():
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    cycles = []

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for target in sorted(GRAPH.get(module, ())):
            if state.get(target) == 1:
                cycles.append(" -> ".join([*path[path.index(target) :], target]))
            elif target not in state:
                visit(target, [*path, target])
        state[module] = 2

    for module in sorted(GRAPH):
        if module not in state:
            visit(module, [module])
    assert cycles == []


def test_subpackage_init_files_hold_no_code():
    # importing conda_integrity.guard.hooks must not import a layer's modules with it
    for path in PACKAGE.rglob("__init__.py"):
        if path.parent == PACKAGE:
            continue
        body = ast.parse(path.read_text(encoding="utf-8")).body
        code = [node for node in body if not isinstance(node, ast.Expr)]
        assert code == [], f"{path.relative_to(PACKAGE.parent)} holds code"


def test_asking_for_the_hooks_imports_no_layer_that_reads_a_prefix():
    # conda asks every plugin for its hooks on every command, guarded or not
    code = (
        "import sys\n"
        "from tests.support.real_conda import ensure_conda\n"
        "ensure_conda()\n"
        "from conda_integrity import plugin\n"
        "for hook in (plugin.conda_subcommands, plugin.conda_settings, plugin.conda_pre_commands,"
        " plugin.conda_post_commands, plugin.conda_pre_solves, plugin.conda_post_solves,"
        " plugin.conda_health_checks):\n"
        "    list(hook())\n"
        "print(' '.join(sorted(m for m in sys.modules if m.startswith('conda_integrity.'))))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=PACKAGE.parent,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    loaded = {name.split(".")[1] for name in result.stdout.split()}
    assert loaded, result.stdout
    assert loaded.isdisjoint({"store", "records", "observe", "checks", "verify", "pkgs_dirs"})
