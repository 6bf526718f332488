"""The plugin's settings, declared to conda and read through its context.

Users set them like any plugin setting: under ``plugins:`` in a ``.condarc``
(``plugins: {integrity_mode: refuse}``), with the environment variables
``CONDA_PLUGINS_INTEGRITY_MODE`` / ``CONDA_PLUGINS_INTEGRITY_SNAPSHOTS`` /
``CONDA_PLUGINS_INTEGRITY_TIMEOUT``, or with ``conda config --set
plugins.integrity_mode refuse`` (conda 25.5 and later).
"""

from __future__ import annotations

from typing import Any

from .exceptions import IntegrityInputError

OFF, WARN, REFUSE = "off", "warn", "refuse"
MODES = (OFF, WARN, REFUSE)
MODE = "integrity_mode"
SNAPSHOTS = "integrity_snapshots"
DEFAULT_SNAPSHOTS = 20
TIMEOUT = "integrity_timeout"
#: seconds: far above what a check of a large environment takes (about 0.3 s for
#: 44,000 files), short enough that a stuck check does not look like a hung conda
DEFAULT_TIMEOUT = 60


def _mode_error(value: object) -> str | None:
    if value in MODES:
        return None
    return f"plugins.{MODE} must be one of {', '.join(MODES)}, not {value!r}"


def _snapshots_error(value: object) -> str | None:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 2:
        return None
    return f"plugins.{SNAPSHOTS} must be a whole number of at least 2, not {value!r}"


def _timeout_error(value: object) -> str | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value < 1e9:
        return None
    return f"plugins.{TIMEOUT} must be a number of seconds (0: no bound), not {value!r}"


def conda_settings() -> list[Any]:
    """The settings, as ``CondaSetting`` objects for the ``conda_settings`` hook."""
    from conda.common.configuration import PrimitiveParameter
    from conda.plugins.types import CondaSetting

    return [
        CondaSetting(
            name=MODE,
            description=(
                "What the automatic guard of conda-integrity does around install, update, "
                "remove and create: off, warn (report problems, the default) or refuse "
                "(stop the command)."
            ),
            parameter=PrimitiveParameter(
                WARN, element_type=str, validation=lambda v: _mode_error(v) or True
            ),
        ),
        CondaSetting(
            name=SNAPSHOTS,
            description="How many snapshots conda-integrity keeps per environment.",
            parameter=PrimitiveParameter(
                DEFAULT_SNAPSHOTS,
                element_type=int,
                validation=lambda v: _snapshots_error(v) or True,
            ),
        ),
        CondaSetting(
            name=TIMEOUT,
            description=(
                "How many seconds the automatic guard of conda-integrity may spend on its "
                "check before or after a command; past it, the check is abandoned and "
                "conda goes on (0: no bound)."
            ),
            parameter=PrimitiveParameter(
                DEFAULT_TIMEOUT,
                element_type=float,
                validation=lambda v: _timeout_error(v) or True,
            ),
        ),
    ]


def _read(name: str, default: Any) -> Any:
    from conda.base.context import context

    try:
        return getattr(context.plugins, name)
    except AttributeError:  # the plugin's settings were not loaded (e.g. in a library call)
        return default


def integrity_mode() -> str:
    """The guard's mode; an unknown value is an error, never a silent default."""
    value = _read(MODE, WARN)
    error = _mode_error(value)
    if error:
        raise IntegrityInputError(error)
    return str(value)


def snapshots_to_keep() -> int:
    value = _read(SNAPSHOTS, DEFAULT_SNAPSHOTS)
    error = _snapshots_error(value)
    if error:
        raise IntegrityInputError(error)
    return int(value)


def integrity_timeout() -> float:
    """The guard's time bound for one check, in seconds (0: none)."""
    value = _read(TIMEOUT, DEFAULT_TIMEOUT)
    error = _timeout_error(value)
    if error:
        raise IntegrityInputError(error)
    return float(value)
