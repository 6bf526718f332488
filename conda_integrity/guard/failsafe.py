"""The guard's fail-safe: what it says when its own work fails, and its time bound.

Light to import (the standard library only): the hooks conda calls use it around
everything else, even when the rest of conda-integrity cannot be imported.
"""

from __future__ import annotations

import logging
import shlex
import sys
import threading
import traceback
from collections.abc import Callable
from typing import TypeVar

from ..progress import escaping

log = logging.getLogger(__name__)
T = TypeVar("T")
#: how to go on when refuse mode stops a command the guard could not check
GO_ON = "CONDA_PLUGINS_INTEGRITY_MODE=warn"


class TimedOut(Exception):
    """The guard's check took longer than its time bound."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"its check took longer than {seconds:g} s (plugins.integrity_timeout)")


def within(seconds: float, work: Callable[[], T]) -> T:
    """``work()``, or TimedOut when it takes longer than ``seconds`` (0: no bound).

    The work runs on a worker thread that conda's command does not wait for
    past the bound: a check stuck in a read or slower than the bound is left
    behind (it only reads the prefix and refreshes our caches, which are keyed
    by what they were computed from), and the process does not wait for it
    when it exits.
    """
    if not seconds:
        return work()
    outcome: list[tuple[bool, object]] = []

    def run() -> None:
        try:
            outcome.append((True, work()))
        except BaseException as error:  # handed to the waiting thread as it is
            outcome.append((False, error))

    worker = threading.Thread(target=run, name="integrity-check", daemon=True)
    worker.start()
    worker.join(seconds)
    if not outcome:
        raise TimedOut(seconds)
    done, value = outcome[0]
    if not done:
        assert isinstance(value, BaseException)
        raise value
    return value  # type: ignore[return-value]


def what_failed(error: BaseException) -> str:
    """One line for an error of conda-integrity's own."""
    if isinstance(error, TimedOut):
        return str(error)
    lines = str(error).strip().splitlines()
    text = f"{type(error).__name__}: {lines[0]}" if lines else type(error).__name__
    return text if len(text) <= 200 else text[:197] + "..."


def could_not_check(prefix: str | None, error: BaseException) -> str:
    """The one line the guard says when its own work failed."""
    return f"conda-integrity could not check {prefix or 'the environment'}: {what_failed(error)}"


def refused(line: str) -> str:
    """The refusal of refuse mode when the guard could not check: how to go on."""
    command = shlex.join(["conda", *sys.argv[1:]])
    return "\n".join(
        [
            line,
            "(plugins.integrity_mode is refuse: conda-integrity stopped this command)",
            f"To run it without the check: {GO_ON} {command}",
        ]
    )


def say(line: str, error: BaseException) -> None:
    """Print ``line`` on stderr; the details too with ``-v`` or debug logging."""
    with escaping():
        sys.stderr.write(line + "\n")
        details(error)
        sys.stderr.flush()


def details(error: BaseException) -> None:
    """The traceback of ``error`` on stderr with ``-v`` or debug logging (else only to
    the debug log)."""
    if _verbose():
        traceback.print_exception(type(error), error, error.__traceback__, file=sys.stderr)
    else:
        log.debug("conda-integrity failed", exc_info=error)


def _verbose() -> bool:
    try:
        from conda.base.context import context

        return bool(context.verbosity >= 1) or logging.getLogger("conda").isEnabledFor(
            logging.DEBUG
        )
    except Exception:
        return False


_said: set[str] = set()


def say_once(line: str, error: BaseException) -> None:
    """:func:`say`, once per process (conda may ask for a hook more than once)."""
    if line not in _said:
        _said.add(line)
        say(line, error)
