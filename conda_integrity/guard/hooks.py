"""What conda's hooks call: light to import.

conda asks every plugin for its hooks on every command. The guard, and
everything it reads a prefix with, is imported only when a command it guards
runs with the guard on; the hooks that only matter while the guard watches a
command (the plan, the transaction actions, a failure) do nothing unless it was
imported, so other conda commands pay nothing for the plugin.
"""

from __future__ import annotations

import sys
from functools import cache
from types import ModuleType
from typing import Any

from ..settings import OFF, integrity_mode


def _guard() -> ModuleType:
    from . import commands

    return commands


def _watching() -> ModuleType | None:
    """The guard, if it was imported in this process (else it watches nothing)."""
    return sys.modules.get(f"{__package__}.commands")


def before_command(command: str) -> None:
    """``conda_pre_commands``."""
    if integrity_mode() != OFF:
        _guard().before_command(command)


def after_command(command: str) -> None:
    """``conda_post_commands``."""
    if integrity_mode() != OFF:
        _guard().after_command(command)


def after_solve(repodata_fn: str, unlink_precs: Any, link_precs: Any) -> None:
    """``conda_post_solves``."""
    guard = _watching()
    if guard is not None:
        guard.after_solve(repodata_fn, unlink_precs, link_precs)


def on_exception_event(event: Any) -> None:
    """``conda_exception_observers`` (conda >= 26.5)."""
    guard = _watching()
    if guard is not None:
        guard.on_failure(event.exc_value)


@cache
def transaction_actions() -> tuple[type, type]:
    """The action classes for conda's transaction-action hooks (conda >= 25.5).

    Made on first use: their base class does not exist in older conda.
    """
    from conda.core.path_actions import Action

    def watching(action: Action) -> ModuleType | None:
        guard = _watching()
        return guard if guard is not None and guard.watches(action.target_prefix) else None

    class GuardBefore(Action):
        """Refuses a damaged prefix before anything changes; learns the plan."""

        def verify(self) -> Exception | None:
            guard = watching(self)
            self._verified = True
            if guard is None:
                return None
            return guard.before_transaction(self.unlink_precs or (), self.link_precs or ())

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
            guard = watching(self)
            if guard is not None:
                guard.after_transaction()

        def reverse(self) -> None:
            pass

        def cleanup(self) -> None:
            pass

    return GuardBefore, GuardAfter
