"""Progress: on stderr, only for work that takes more than a moment."""

from __future__ import annotations

import time

import pytest

from conda_integrity.progress import DELAY, Progress


def test_long_work_shows_a_bar_on_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    with Progress(enabled=True).bar("Checking files", 100) as advance:
        time.sleep(DELAY + 0.3)
        advance(100)
    out, err = capsys.readouterr()
    assert out == ""
    assert "Checking files" in err
    assert "100/100" in err


def test_quick_work_and_disabled_bars_print_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    with Progress(enabled=True).bar("Checking files", 100) as advance:
        advance(100)
    with Progress(enabled=False).bar("Hashing", 100) as advance:
        time.sleep(DELAY + 0.1)
        advance(100)
    assert capsys.readouterr() == ("", "")
