"""Results of the checks across records, remembered with the key of what they
were computed from, in ``conda-meta/integrity/<name>.json``.

A memo written by another version of conda-integrity is ignored, so a change
of how a result is computed never reuses an old one.
"""

from __future__ import annotations

import contextlib
from typing import Any

from .. import __version__
from .paths import read_json, state_path, write_json

FORMAT = 1


def recall(prefix: str, name: str, key: Any) -> Any:
    """The value remembered under ``name`` if it was computed from ``key``, else None."""
    data = read_json(state_path(prefix, name))
    if (
        not isinstance(data, dict)
        or data.get("format") != FORMAT
        or data.get("version") != __version__
        or data.get("key") != key
    ):
        return None
    return data.get("value")


def remember(prefix: str, name: str, key: Any, value: Any) -> None:
    """Remember ``value`` as computed from ``key`` (a cache: failures are ignored)."""
    with contextlib.suppress(OSError):
        write_json(
            state_path(prefix, name),
            {"format": FORMAT, "version": __version__, "key": key, "value": value},
        )
