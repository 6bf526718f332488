"""What reaches the terminal besides the report's text: progress bars on stderr,
with the tqdm that conda itself uses, and the streams' escaping.

Bars appear only when the work takes more than a moment (``DELAY`` seconds),
never with ``--json`` or ``-q``, and never on stdout.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

DELAY = 0.5
#: the error handlers with which a stream fails on a character its encoding lacks
_FAILING = ("strict", "surrogateescape")
Update = Callable[[int], None]


def _ignore(_: int) -> None:
    pass


class Progress:
    """Factory of progress bars; disabled ones cost nothing."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    @contextmanager
    def bar(self, description: str, total: int, unit: str = "file") -> Iterator[Update]:
        if not self.enabled or total <= 0:
            yield _ignore
            return
        from tqdm import tqdm

        options = dict(
            desc=description,
            total=total,
            unit=unit,
            unit_scale=unit == "B",
            file=sys.stderr,
            leave=False,
            dynamic_ncols=True,
        )
        try:
            bar = tqdm(delay=DELAY, **options)
        except TypeError:  # pragma: no cover (tqdm < 4.60 has no delay)
            bar = tqdm(**options)
        try:
            yield bar.update
        finally:
            bar.close()


@contextmanager
def escaping() -> Iterator[None]:
    """While the block runs, ``sys.stdout`` and ``sys.stderr`` write a character
    their encoding cannot take as ``\\xe9``, ``\\u65e5`` instead of failing (a
    console on cp1252, ``PYTHONIOENCODING=ascii``, the C locale); conda's own output
    before and after keeps the streams as conda found them."""
    changed = []
    for stream in (sys.stdout, sys.stderr):
        errors = getattr(stream, "errors", None)
        if errors in _FAILING and hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
            changed.append((stream, errors))
    try:
        yield
    finally:
        for stream, errors in changed:
            stream.reconfigure(errors=errors)
