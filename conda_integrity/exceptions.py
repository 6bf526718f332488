"""The errors conda-integrity raises: bad input (exit code 2) and the guard's refusal."""

from __future__ import annotations

from conda.exceptions import CondaError


class IntegrityInputError(CondaError):
    """Bad input: no such environment, not a conda prefix, a bad argument.

    conda prints it as one line (as a JSON error object with ``--json``) and
    exits with ``return_code``.
    """

    return_code = 2

    def __init__(self, message: str) -> None:
        # conda formats messages with %-interpolation; keep paths with % intact
        super().__init__(message.replace("%", "%%"))


class IntegrityRefusal(CondaError):
    """conda-integrity refuses to let conda change a damaged environment."""

    def __init__(self, message: str) -> None:
        super().__init__(message.replace("%", "%%"))
