"""Make a real conda importable as ``conda`` for the test suite.

conda is not on PyPI. When a real conda is importable (a conda base
environment, or a source checkout on ``PYTHONPATH``) the tests use it. Otherwise
they use the full conda 24.7.1 source that the PyPI package conda-lock ships as
``conda_lock._vendor.conda``: a ``sys.meta_path`` finder answers every ``conda``
and ``conda.<rest>`` import with the already imported vendored module, so each
module exists once (``conda.base.context is conda_lock._vendor.conda.base.context``)
and conda's singletons (``context``, the plugin manager) stay single.

Nothing in the shipped package imports this module.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
import types

VENDOR_PREFIX = "conda_lock._vendor."


class _AliasLoader(importlib.abc.Loader):
    def __init__(self, module: types.ModuleType) -> None:
        self.module = module
        self.original_spec = module.__spec__
        self.original_name = module.__name__

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        return self.module

    def exec_module(self, module: types.ModuleType) -> None:
        # importlib stamped the alias spec on the shared module; put the real one back
        module.__spec__ = self.original_spec
        module.__name__ = self.original_name


class _VendoredCondaFinder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path=None, target=None):  # type: ignore[no-untyped-def]
        if fullname != "conda" and not fullname.startswith("conda."):
            return None
        try:
            module = importlib.import_module(VENDOR_PREFIX + fullname)
        except ModuleNotFoundError:
            return None
        return importlib.util.spec_from_loader(fullname, _AliasLoader(module))


def _bare_package(name: str) -> None:
    """Register package ``name`` without running its ``__init__``.

    conda-lock's own ``__init__`` imports its whole CLI (about 0.35 s); the
    vendored conda needs none of it.
    """
    if name in sys.modules:
        return
    spec = importlib.util.find_spec(name)
    if spec is None or spec.submodule_search_locations is None:
        raise ModuleNotFoundError(name)
    module = types.ModuleType(name)
    module.__path__ = list(spec.submodule_search_locations)
    module.__spec__ = spec
    module.__file__ = spec.origin
    sys.modules[name] = module


def _native_conda_available() -> bool:
    if any(isinstance(f, _VendoredCondaFinder) for f in sys.meta_path):
        return False
    spec = importlib.util.find_spec("conda")
    if spec is None or spec.submodule_search_locations is None:
        return False
    # conda 4.3 from PyPI has no plugin system; it is of no use here
    return importlib.util.find_spec("conda.plugins") is not None


def ensure_conda() -> None:
    """Make ``import conda`` work, preferring a native conda."""
    if _native_conda_available() or any(isinstance(f, _VendoredCondaFinder) for f in sys.meta_path):
        return
    _bare_package("conda_lock")
    sys.meta_path.insert(0, _VendoredCondaFinder())


def describe() -> str:
    """One line naming the conda under test, for the pytest header."""
    ensure_conda()
    import conda
    from conda.plugins import hookspec

    vendored = sys.modules.get(VENDOR_PREFIX + "conda") is conda
    origin = "conda-lock's vendored copy" if vendored else "native"
    hooks = sorted(
        name.removeprefix("conda_")
        for name in dir(hookspec.CondaSpecs)
        if name.startswith("conda_")
    )
    return (
        f"conda {conda.__version__} ({origin}, {conda.__file__}); plugin hooks: {', '.join(hooks)}"
    )
