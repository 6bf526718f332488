"""What differs between the conda versions conda-integrity runs on: the hooks a
version offers and the names it gives its commands.

Every such fact lives here, so that the rest of the package asks one place.
"""

from __future__ import annotations

#: conda's command names for install, update, remove and create, in every version
#: (``env create`` is "create" from conda 26.7, ``env remove`` "remove" from 24.9)
GUARDED_COMMANDS = frozenset(
    {"install", "create", "update", "remove", "env_create", "env_update", "env_remove"}
)


def has_transaction_actions() -> bool:
    """Whether this conda has transaction-action hooks (25.5 and later)."""
    from conda.plugins import hookspec

    return hasattr(hookspec.CondaSpecs, "conda_pre_transaction_actions")
