"""Progress bars on stderr, with the tqdm that conda itself uses.

Bars appear only when the work takes more than a moment (``DELAY`` seconds),
never with ``--json`` or ``-q``, and never on stdout.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

DELAY = 0.5
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
