"""What conda's hooks call: light to import, and a fail-safe boundary.

conda asks every plugin for its hooks on every command. The guard, and
everything it reads a prefix with, is imported only when a command it guards
runs with the guard on; the hooks that only matter while the guard watches a
command (the plan, the transaction actions, a failure) do nothing unless it was
imported, so other conda commands pay nothing for the plugin.

Every function here is a boundary between conda and the guard: an error of the
guard's own, or its check running past ``integrity_timeout``, never reaches
conda as such. In ``warn`` mode the guard says so in one line and conda's
command goes on as if the plugin were absent; in ``refuse`` mode the command is
refused with the same line and the way to run it without the check. Only the
guard's refusals, and an unknown ``integrity_mode``, pass through.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import cache
from types import ModuleType
from typing import Any

from ..exceptions import IntegrityRefusal
from ..settings import OFF, REFUSE, integrity_mode
from . import failsafe


def _guard() -> ModuleType:
    from . import commands

    return commands


def _watching() -> ModuleType | None:
    """The guard, if it was imported in this process (else it watches nothing)."""
    return sys.modules.get(f"{__package__}.commands")


def _prefix() -> str | None:
    """The environment the failed work was about, as far as it can be told."""
    guard = _watching()
    if guard is not None and guard.last_prefix is not None:
        return str(guard.last_prefix)
    try:
        from ..compat import target_prefix

        return target_prefix()
    except Exception:
        return None


def _contained(mode: str, work: Callable[[], Any], refusable: bool = True) -> Any:
    """``work()``; an error of its own said in one line (or, in refuse mode, turned
    into a refusal), never passed to conda as it is."""
    try:
        return work()
    except IntegrityRefusal:
        raise
    except Exception as error:
        line = failsafe.could_not_check(_prefix(), error)
        if mode == REFUSE and refusable:
            failsafe.details(error)
            raise IntegrityRefusal(failsafe.refused(line)) from None
        failsafe.say(line + "; conda goes on", error)
        return None


def before_command(command: str) -> None:
    """``conda_pre_commands``."""
    mode = integrity_mode()  # an unknown value is the user's error: conda says it
    if mode != OFF:
        _contained(mode, lambda: _guard().before_command(command))


def after_command(command: str) -> None:
    """``conda_post_commands``."""
    mode = integrity_mode()
    if mode != OFF:
        _contained(mode, lambda: _guard().after_command(command))


def before_solve(specs_to_add: Any, specs_to_remove: Any) -> None:
    """``conda_pre_solves``: the specs conda will write into its history."""
    guard = _watching()
    if guard is not None:
        _contained(_mode(guard), lambda: guard.before_solve(specs_to_add, specs_to_remove))


def after_solve(repodata_fn: str, unlink_precs: Any, link_precs: Any) -> None:
    """``conda_post_solves``."""
    guard = _watching()
    if guard is not None:
        _contained(_mode(guard), lambda: guard.after_solve(repodata_fn, unlink_precs, link_precs))


def on_exception_event(event: Any) -> None:
    """``conda_exception_observers`` (conda >= 26.5): the command failed already."""
    guard = _watching()
    if guard is not None:
        _contained(_mode(guard), lambda: guard.on_failure(event.exc_value), refusable=False)


def _mode(guard: ModuleType) -> str:
    """The mode of the command being watched (read when it began)."""
    session = guard.WATCH.session
    return str(session.mode) if session is not None else integrity_mode()


@cache
def transaction_actions() -> tuple[type, type]:
    """The action classes for conda's transaction-action hooks (conda >= 25.5).

    Made on first use: their base class does not exist in older conda.
    """
    from conda.core.path_actions import Action

    def watching(action: Action) -> ModuleType | None:
        guard = _watching()
        return guard if guard is not None and guard.watches(action.target_prefix) else None

    def before(action: Action) -> Exception | None:
        guard = watching(action)
        if guard is None:
            return None
        specs = {
            "remove_specs": action.remove_specs,
            "update_specs": action.update_specs,
            "neutered_specs": action.neutered_specs,
        }
        return guard.before_transaction(action.unlink_precs or (), action.link_precs or (), specs)

    def after(action: Action) -> None:
        guard = watching(action)
        if guard is not None:
            guard.after_transaction()

    class GuardBefore(Action):
        """Refuses a damaged prefix before anything changes; learns the plan."""

        def verify(self) -> Exception | None:
            self._verified = True
            guard = _watching()
            if guard is None:
                return None
            try:
                return _contained(_mode(guard), lambda: before(self))
            except IntegrityRefusal as refusal:  # conda takes it as verify's answer
                return refusal

        def execute(self) -> None:
            pass

        def reverse(self) -> None:
            pass

        def cleanup(self) -> None:
            pass

    class GuardAfter(Action):
        """Checks the transaction while conda can still roll it back."""

        def verify(self) -> Exception | None:
            self._verified = True
            return None

        def execute(self) -> None:
            guard = _watching()
            if guard is not None:
                _contained(_mode(guard), lambda: after(self))

        def reverse(self) -> None:
            pass

        def cleanup(self) -> None:
            pass

    return GuardBefore, GuardAfter
