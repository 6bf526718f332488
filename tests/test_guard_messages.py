"""The guard's sentences, on data built in memory."""

from __future__ import annotations

from conda_integrity.findings import ERROR, Finding
from conda_integrity.guard import messages
from conda_integrity.store.journal import Entry, OpenTransaction

MISSING = Finding(
    "missing-file", ERROR, "missing; libfoo-1.0 installed it", "libfoo-1.0-h1234_0", "bin/foo"
)


def test_what_a_transaction_left_says_when_another_conda_was_at_work() -> None:
    """Two condas on one prefix: what the second one's check finds may be the first
    one's work half done, and the message says so instead of blaming the command."""
    alone = messages.left_behind("/env", [MISSING])
    other = Entry("20261208-000000.000000-42", "install", ["conda", "install", "zlibby"], 42, 0.0)
    shared = messages.left_behind("/env", [MISSING], [OpenTransaction(other, running=True)])

    assert alone.splitlines()[0] == "conda-integrity: this transaction left 1 problem(s) in /env:"
    assert "another conda" not in alone
    head, at_work = shared.splitlines()[:2]
    assert head == (
        "conda-integrity: this transaction left 1 problem(s) in /env "
        "(or another conda did: it was at work at the same time):"
    )
    assert at_work == (
        "  another conda process (pid 42, `conda install zlibby`) is changing this "
        "environment right now"
    )
    assert "bin/foo" in shared


def test_a_refusal_conda_rolls_back_says_so_too() -> None:
    other = Entry("20261208-000000.000000-42", "remove", ["conda", "remove", "alpha"], 42, 0.0)
    text = messages.rolled_back("/env", [MISSING], [OpenTransaction(other, running=True)])
    assert text.splitlines()[0].endswith("at work at the same time); conda rolls it back:")
    assert "another conda process (pid 42, `conda remove alpha`)" in text
    assert messages.rolled_back("/env", [MISSING]).splitlines()[0] == (
        "conda-integrity: this transaction left 1 problem(s) in /env; conda rolls it back:"
    )
