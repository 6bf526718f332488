"""``repair --solve``: let conda's solver meet the specs that only it can.

An unmet dependency, a violated constraint or a requested spec no longer met
is the solver's to fix: which build to install or change is its choice. With
``--solve`` the user asks for that choice to be made, as ``conda install SPEC``
would make it; conda's own summary of the transaction is shown before it runs.
"""

from __future__ import annotations

from typing import Any


def solve(prefix: str, specs: list[str]) -> Any:
    """conda's ``UnlinkLinkTransaction`` that installs ``specs`` into ``prefix``, as
    the configured solver chooses it (conda's errors pass through: an unsatisfiable
    request, a channel that cannot be reached)."""
    from conda.base.context import context
    from conda.models.match_spec import MatchSpec

    backend = context.plugin_manager.get_solver_backend()
    solver = backend(
        prefix,
        context.channels,
        context.subdirs,
        specs_to_add=[MatchSpec(spec) for spec in specs],
        command="install",
    )
    return solver.solve_for_transaction()


def changes(transaction: Any, prefix: str) -> tuple[list[Any], list[Any]]:
    """The records the transaction unlinks and links in ``prefix``."""
    setup = transaction.prefix_setups[prefix]
    return list(setup.unlink_precs), list(setup.link_precs)


def carry_out(transaction: Any) -> None:
    """Fetch what the transaction links, then run it (conda rolls back on failure)."""
    transaction.download_and_extract()
    transaction.execute()
