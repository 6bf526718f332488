"""Whose environment a repair or rollback changes, when it is not the runner's.

conda links the files it relinks as the user running it: root repairing an
environment a user owns leaves files of root's there. The plans say so.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..store.paths import environment_owner, user_name
from ..store.state_dir import running_user


@dataclass(frozen=True)
class Ownership:
    """An environment that belongs to another user than the one running us."""

    #: uid of the environment's owner (the owner of its ``conda-meta``)
    owner: int
    #: uid of the user running us
    runner: int

    def line(self) -> str:
        runner = user_name(self.runner)
        return (
            f"the environment belongs to {user_name(self.owner)}, not to {runner}, who "
            f"runs this: the files conda links in it will belong to {runner}"
        )

    def to_dict(self) -> dict[str, object]:
        return {
            "owner": self.owner,
            "owner_name": user_name(self.owner),
            "runner": self.runner,
            "runner_name": user_name(self.runner),
            "message": self.line(),
        }


def belongs_to_another(prefix: str) -> Ownership | None:
    """Whose ``prefix`` is, when it is not the runner's (None: it is theirs, it has no
    ``conda-meta`` folder, or the platform has no owners of files)."""
    owner, runner = environment_owner(prefix), running_user()
    if owner is None or runner is None or owner == runner:
        return None
    return Ownership(owner, runner)
