"""What a state file must hold, checked field by field before anything uses it.

Our state is a cache or a record of the past, never a reason to fail: a file
that parses but holds a value of another type anywhere (a damaged disk, a hand
edit, a format this version does not know) is not used, and its owner starts
afresh. A shape is a plain function ``value -> bool``; the functions here build
the shape of each format (its owner module declares it). A shape looks only as
deep as its format goes, so a value nested deeper than that is rejected without
being walked.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from typing import Any

Shape = Callable[[Any], bool]

#: later than any time a state file can honestly hold (the year 3000), and small
#: enough for ``time.localtime``
LATEST_TIME = 32_503_680_000


def anything(value: Any) -> bool:
    return True


def text(value: Any) -> bool:
    return isinstance(value, str)


def flag(value: Any) -> bool:
    return isinstance(value, bool)


def whole(value: Any) -> bool:
    """An integer (not a bool) of at least 0."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def number(value: Any) -> bool:
    """A finite number of at least 0 (not a bool)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    return math.isfinite(value) and value >= 0


def timestamp(value: Any) -> bool:
    """Seconds since the epoch that ``time.localtime`` can show."""
    return number(value) and value <= LATEST_TIME


#: a ``..`` part of a path, in any line (one pass, not a split of every path:
#: names such as ``foo..bar`` are common in a large environment)
_PARENT_PART = re.compile(r"(?:^|/)\.\.(?:/|$)", re.MULTILINE)


def path_lines(value: Any) -> bool:
    """Paths that stay inside the prefix, one per line ("" for none): relative, with
    no ``..`` part and no NUL. A few substring searches, however many paths."""
    if not isinstance(value, str):
        return False
    if "\0" in value or value.startswith("/") or "\n/" in value:
        return False
    if ".." not in value:  # the usual case: no need to look at each part
        return True
    return _PARENT_PART.search(value) is None


def relative_path(value: Any) -> bool:
    """A path that stays inside the prefix ("" is the prefix itself)."""
    return isinstance(value, str) and "\n" not in value and path_lines(value)


def relative_paths(values: Iterable[Any]) -> bool:
    """Whether every one of ``values`` is a :func:`relative_path` (checked at once:
    the folders of a prefix are thousands)."""
    try:
        return path_lines("\n".join(values))
    except TypeError:  # not all strings
        return False


def file_name(value: Any) -> bool:
    """One name in a folder: no separator, not ``.`` or ``..``."""
    return (
        isinstance(value, str)
        and value not in ("", ".", "..")
        and "/" not in value
        and "\0" not in value
    )


def optional(shape: Shape) -> Shape:
    """``shape``, or null."""
    return lambda value: value is None or shape(value)


def one_of(*choices: Any) -> Shape:
    """One of these strings (or other plain values)."""
    allowed = frozenset(choices)
    return lambda value: isinstance(value, str) and value in allowed


def list_of(shape: Shape) -> Shape:
    """A list whose every item has ``shape``."""
    return lambda value: isinstance(value, list) and all(shape(item) for item in value)


def dict_of(shape: Shape, key: Shape = text) -> Shape:
    """An object whose every key has ``key`` and every value ``shape``."""
    return lambda value: (
        isinstance(value, dict) and all(key(name) and shape(item) for name, item in value.items())
    )


def row(*shapes: Shape) -> Shape:
    """A list of exactly these items, each of its shape."""
    return lambda value: (
        isinstance(value, list)
        and len(value) == len(shapes)
        and all(shape(item) for shape, item in zip(shapes, value))
    )


def fields(required: dict[str, Shape], maybe: dict[str, Shape] | None = None) -> Shape:
    """An object with every ``required`` key and any of the ``maybe`` ones, each of
    its shape; other keys are allowed (a later version may add some)."""
    optional_keys = maybe or {}

    def check(value: Any) -> bool:
        if not isinstance(value, dict):
            return False
        if not all(key in value and shape(value[key]) for key, shape in required.items()):
            return False
        return all(key not in value or shape(value[key]) for key, shape in optional_keys.items())

    return check


def exactly(required: dict[str, Shape], maybe: dict[str, Shape] | None = None) -> Shape:
    """:func:`fields`, and no other key (for a payload made into a dataclass)."""
    known = set(required) | set(maybe or {})
    loose = fields(required, maybe)
    return lambda value: loose(value) and set(value) <= known


def valid(shape: Shape, value: Any) -> bool:
    """Whether ``value`` has ``shape``; a value that breaks the check itself (nested
    too deep to compare, say) has not."""
    try:
        return bool(shape(value))
    except (RecursionError, TypeError, ValueError):
        return False


def good_items(shape: Shape, items: Iterable[Any]) -> list[Any]:
    """The items of ``items`` that have ``shape``."""
    return [item for item in items if valid(shape, item)]


def checked(payload: dict[str, Any] | None, shape: Shape) -> dict[str, Any] | None:
    """``payload`` (a state file's, as read) if it has ``shape``, else None."""
    return payload if payload is not None and valid(shape, payload) else None
