"""transaction-debris: what an aborted conda run leaves in the prefix.

conda renames files it removes to ``*.c~`` and deletes them only once the
transaction succeeded, sets aside files it cannot delete as
``*.conda_trash``, prepares prefix-replaced files in ``.condatmp/`` and (before
26.1) writes the wrapper of each link script as ``.tmpXXXXXXXX``; it also links
``.tmp.index.json.XXXXXXXX`` into the prefix to test hard links. The
next ``conda install`` deletes the ``.c~`` files, and with them the evidence of
what the aborted run was doing.
"""

from __future__ import annotations

from collections.abc import Iterator

from ..findings import WARNING, Finding
from ..observe.prefix_state import PrefixState
from ..observe.walk import CONDA_TEMP_EXTENSION, LINK_TEST, SCRIPT_WRAPPER, TRANSACTION_TMP_DIR
from .base import ENVIRONMENT, Check


def _what(path: str) -> str:
    if path == TRANSACTION_TMP_DIR:
        return "conda's temporary folder of a transaction that did not finish"
    if path.endswith(CONDA_TEMP_EXTENSION):
        original = path[: -len(CONDA_TEMP_EXTENSION)]
        return f"backup of {original} from a conda transaction that did not finish"
    if SCRIPT_WRAPPER.fullmatch(path):
        return "wrapper of a package script from a conda transaction that did not finish"
    if LINK_TEST.fullmatch(path):
        return "conda's test of hard links in the prefix, from a conda run that did not finish"
    return "a file conda could not delete and set aside"


def check(state: PrefixState) -> Iterator[Finding]:
    if state.tree is None:
        return
    for path in state.tree.debris:
        yield CHECK.finding(_what(path), path=path)


CHECK = Check(code="transaction-debris", severity=WARNING, scope=ENVIRONMENT, order=80, run=check)
