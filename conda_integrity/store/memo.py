"""Results of the checks across records, kept with the key of what they were
computed from, in ``conda-meta/integrity/<name>.json``.

A memo written by another version of conda-integrity is ignored, so a change
of how a result is computed never reuses an old one.
"""

from __future__ import annotations

import contextlib
from typing import Any

from .. import __version__
from . import schema
from .state_file import StateFile

FORMAT = 1


def _file(prefix: str, name: str) -> StateFile:
    return StateFile.in_prefix(prefix, name, FORMAT, version=__version__)


def load(prefix: str, name: str, key: Any, shape: schema.Shape) -> Any:
    """The value kept under ``name`` if it was computed from ``key`` and has ``shape``
    (the format its owner writes), else None."""
    data = _file(prefix, name).read()
    if data is None or not schema.valid(lambda kept: kept.get("key") == key, data):
        return None
    value = data.get("value")
    return value if schema.valid(shape, value) else None


def save(prefix: str, name: str, key: Any, value: Any) -> None:
    """Keep ``value`` as computed from ``key`` (a cache: failures are ignored)."""
    with contextlib.suppress(OSError):
        _file(prefix, name).write({"key": key, "value": value})
