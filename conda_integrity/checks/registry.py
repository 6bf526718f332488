"""Every check, found by the ``CHECK`` its module declares, and what derives from them.

The order of :data:`CHECKS`, the code table (:data:`CODES`) and which codes speak
of the environment rather than a record's own files all come from the checks
themselves, so that adding a check is adding one module.
"""

from __future__ import annotations

import importlib
import os
import pkgutil

from .base import ENVIRONMENT, Check


def _declared() -> tuple[Check, ...]:
    found = []
    for module in pkgutil.iter_modules([os.path.dirname(__file__)]):
        declared = getattr(importlib.import_module(f"{__package__}.{module.name}"), "CHECK", None)
        if isinstance(declared, Check):
            found.append(declared)
    return tuple(sorted(found, key=lambda check: check.order))


#: every check, in order
CHECKS = _declared()
#: every finding code, in the order of its check
CODES = tuple(check.code for check in CHECKS)
#: codes about the environment as a whole, not about a record's own files: a record
#: they name may still be remembered as verified clean
ENVIRONMENT_CODES = frozenset(check.code for check in CHECKS if check.scope == ENVIRONMENT)
#: the width of the code column in reports for people
CODE_WIDTH = max(len(code) for code in CODES)
