"""history-mismatch: conda-meta/history against the records, on environments
conda made, then damaged or written by other tools the way they write it."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from conda_integrity.observe.known_hashes import RACY_SECONDS
from tests.support.conda_cli import Conda
from tests.support.helpers import findings, record_of, summary, verify


def history_of(prefix: Path) -> Path:
    return prefix / "conda-meta" / "history"


def mismatches(report: dict) -> list[dict]:
    return findings(report, "history-mismatch")


def test_a_transaction_cut_off_before_the_history_write(sandbox: Conda, env: Path) -> None:
    """conda writes the records, then the history: killed in between, the records
    are new and the history old (simulated by putting the old history back)."""
    before = env / "history-before"
    shutil.copy2(history_of(env), before)
    sandbox.install(env, "libfoo=2.0", "clobber-a")
    shutil.copy2(before, history_of(env))
    report = verify(sandbox, env)
    assert report["ok"] is True  # a warning: the environment itself is sound
    by_package = {f["package"]: f for f in mismatches(report)}
    assert set(by_package) == {"libfoo-2.0-h1234_0", "clobber-a-1.0-0"}
    upgraded = by_package["libfoo-2.0-h1234_0"]
    assert upgraded["path"] == "conda-meta/history"
    assert upgraded["history"] == ["libfoo-1.0-h1234_0"]
    assert upgraded["records"] == ["libfoo-2.0-h1234_0"]
    assert upgraded["message"].startswith(
        "the history lists libfoo-1.0-h1234_0, the records libfoo-2.0-h1234_0: "
        "a transaction was cut off"
    )
    added = by_package["clobber-a-1.0-0"]
    assert added["message"].startswith(
        "installed (conda-meta/clobber-a-1.0-0.json), but the history does not list it"
    )


def test_a_record_deleted_by_hand(sandbox: Conda, env: Path) -> None:
    time.sleep(RACY_SECONDS + 0.2)
    assert verify(sandbox, env)["findings"] == []
    assert (env / "conda-meta" / "integrity" / "history.json").is_file()
    record_of(env, "zlibby").unlink()
    (finding,) = mismatches(verify(sandbox, env))
    assert finding["package"] == "zlibby-1.3-h0_1"
    assert finding["message"].startswith(
        "the history lists zlibby-1.3-h0_1 as installed, but there is no record of it"
    )


def test_histories_other_tools_write(sandbox: Conda, env: Path) -> None:
    history = history_of(env)
    # mamba writes channel URLs and channel names without a subdir
    sandbox.install(env, "libfoo=2.0")
    text = history.read_text()
    url = sandbox.channel.as_uri()
    text = text.replace(
        f"-{url}/linux-64::libfoo-1.0", "-https://conda.anaconda.org/x/linux-64::libfoo-1.0"
    )
    text = text.replace(f"+{url}/linux-64::libfoo-2.0", "+conda-forge::libfoo-2.0")
    assert "+conda-forge::libfoo-2.0-h1234_0" in text
    history.write_text(text)
    assert verify(sandbox, env)["findings"] == []
    # pixi writes a comment-only file: it records nothing, so nothing is compared
    history.write_text("// not relevant for pixi, but for conda\n")
    assert verify(sandbox, env)["findings"] == []
    # conda's own --force-reinstall writes a revision without any package line
    sandbox.install(env, "--force-reinstall", "zlibby")
    assert verify(sandbox, env)["findings"] == []


def test_lines_conda_cannot_read(sandbox: Conda, env: Path) -> None:
    history = history_of(env)
    lines = history.read_text().splitlines()
    lines.insert(4, "this is not a package line")
    lines.append("# update specs: ['<2.0']")
    history.write_text("\n".join(lines) + "\n")
    report = verify(sandbox, env)
    garbage, spec = sorted(mismatches(report), key=lambda f: f["line"])
    assert garbage["line"] == 5
    assert garbage["message"] == (
        "line 5 ('this is not a package line') is not a +/- package line inside a revision "
        "of changes: conda cannot read this history and stops recording transactions in it"
    )
    assert spec["line"] == len(lines)
    assert "has a spec conda cannot read, '<2.0'" in spec["message"]
    assert "conda install, update and remove fail while this line is there" in spec["message"]


def test_a_history_that_is_not_text_or_is_gone(sandbox: Conda, env: Path) -> None:
    history = history_of(env)
    history.write_bytes(b"==> 2024-01-01 00:00:00 <==\n+\xff\xfe\n")
    (finding,) = mismatches(verify(sandbox, env))
    assert finding["message"].startswith("conda-meta/history is not UTF-8 text")
    history.unlink()
    (finding,) = mismatches(verify(sandbox, env))
    assert finding["message"].startswith("conda-meta/history is missing")
    assert summary(verify(sandbox, env)) == {("history-mismatch", "conda-meta/history")}


def test_the_spec_lines_of_the_last_revision() -> None:
    """conda appends a revision, then its spec lines: which of them the last one has."""
    from conda_integrity.observe.conda_history import last_revision_specs

    first = "==> 2024-01-01 00:00:00 <==\n# cmd: conda create\n+c/linux-64::a-1-0\n"
    specs = "# update specs: ['a']\n"
    assert last_revision_specs("") is None
    assert last_revision_specs(first + specs) == {"update_specs"}
    cut = first + specs + "==> 2024-01-02 00:00:00 <==\n-c/linux-64::a-1-0\n"
    assert last_revision_specs(cut) == frozenset()
    assert last_revision_specs(cut + "# remove specs: ['a']\n# neutered specs: ['b']\n") == {
        "remove_specs",
        "neutered_specs",
    }
