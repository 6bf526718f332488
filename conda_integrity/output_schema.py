"""The JSON Schemas (draft 2020-12) of what ``conda integrity VERB --json`` prints.

They are shipped as data in ``conda_integrity/schemas/``: one file per verb, and
``common`` with what they share (the finding, the verify report), which the others
refer to by ``$ref``.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

#: the documents, by the verb that prints them; ``error`` is conda's error object
#: (exit code 2, any verb)
NAMES = ("verify", "repair", "rollback", "snapshot", "log", "diff", "error")
COMMON = "common"


def _load(name: str) -> dict[str, Any]:
    if name not in (*NAMES, COMMON):
        raise ValueError(f"no schema {name!r}: one of {', '.join(NAMES)}")
    text = (resources.files(__package__) / "schemas" / f"{name}.schema.json").read_text("utf-8")
    document: dict[str, Any] = json.loads(text)
    return document


def schema(name: str) -> dict[str, Any]:
    """The schema of ``name``'s document, whole: ``common`` is embedded under its own
    ``$id`` (a bundle, as draft 2020-12 defines it), so a validator needs no other file."""
    document = _load(name)
    if name == COMMON:
        return document
    return {**document, "$defs": {**document.get("$defs", {}), COMMON: _load(COMMON)}}
