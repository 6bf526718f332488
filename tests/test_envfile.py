"""verify --file and spec-drift: files conda writes (conda env export, conda list
--explicit, conda list --export) and environment.yml files as people write them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.catalog import bundled_pip_wheel
from tests.support.conda_cli import Conda
from tests.support.helpers import findings, record_of, verify
from tests.support.wheels import build_wheel


def drift(report: dict) -> dict[str, dict]:
    return {f["spec"]: f for f in findings(report, "spec-drift")}


def written(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_conda_env_export(sandbox: Conda, env: Path, tmp_path: Path) -> None:
    exported = sandbox.run("env", "export", "-p", str(env)).stdout
    assert "libfoo=1.0=h1234_0" in exported
    yml = written(tmp_path, "environment.yml", exported)
    assert verify(sandbox, env, "--file", str(yml))["findings"] == []
    sandbox.install(env, "libfoo=2.0")
    sandbox.remove(env, "zlibby")
    report = verify(sandbox, env, "--file", str(yml))
    assert set(drift(report)) == {"libfoo=1.0=h1234_0", "zlibby=1.3=h0_1"}
    upgraded, removed = drift(report)["libfoo=1.0=h1234_0"], drift(report)["zlibby=1.3=h0_1"]
    assert upgraded["severity"] == "error"
    assert upgraded["installed"] == "libfoo-2.0-h1234_0"
    assert upgraded["package"] == "libfoo-2.0-h1234_0"
    assert upgraded["message"] == (
        "libfoo=1.0=h1234_0 is not met: installed instead: libfoo-2.0-h1234_0"
    )
    assert removed["installed"] is None
    assert removed["message"] == "zlibby=1.3=h0_1 is not met: no zlibby is installed"
    assert report["ok"] is False
    # without --file there is no such check
    assert verify(sandbox, env)["findings"] == []


def test_conda_list_explicit_and_export(sandbox: Conda, env: Path, tmp_path: Path) -> None:
    explicit = sandbox.run("list", "--explicit", "--md5", "-p", str(env)).stdout
    assert "@EXPLICIT" in explicit
    explicit_file = written(tmp_path, "explicit.txt", explicit)
    spec_list = written(
        tmp_path, "spec-list.txt", sandbox.run("list", "--export", "-p", str(env)).stdout
    )
    for path in (explicit_file, spec_list):
        assert verify(sandbox, env, "--file", str(path))["findings"] == [], path.name
    # the same name-version-build from another archive: the md5 tells
    record = json.loads(record_of(env, "footools").read_text())
    explicit_file.write_text(explicit.replace(record["md5"], "0" * 32))
    (other,) = findings(verify(sandbox, env, "--file", str(explicit_file)), "spec-drift")
    assert other["package"] == "footools-1.0-h5678_0"
    assert other["message"] == (
        "footools-1.0-h5678_0 is installed, but from another archive: the file gives "
        f"md5 {'0' * 32}, the record {record['md5']}"
    )
    # a sha256 written by hand is compared too
    for anchor in (f"sha256:{record['sha256']}", record["sha256"]):  # conda 24.9+ writes it bare
        written(tmp_path, "sha.txt", f"@EXPLICIT\n{record['url']}#{anchor}\n")
        assert verify(sandbox, env, "--file", str(tmp_path / "sha.txt"))["findings"] == []
    written(tmp_path, "sha.txt", f"@EXPLICIT\n{record['url']}#{'1' * 64}\n")
    (other,) = findings(verify(sandbox, env, "--file", str(tmp_path / "sha.txt")))
    assert "the file gives sha256 1111" in other["message"]
    sandbox.install(env, "libfoo=2.0")
    by_spec = {f["message"] for f in findings(verify(sandbox, env, "--file", str(explicit_file)))}
    assert "libfoo-1.0-h1234_0 is not installed: installed instead: libfoo-2.0-h1234_0" in by_spec
    (listed,) = findings(verify(sandbox, env, "--file", str(spec_list)))
    assert listed["spec"] == "libfoo=1.0=h1234_0"


def test_an_environment_yml_as_people_write_it(sandbox: Conda, env: Path, tmp_path: Path) -> None:
    channel = sandbox.channel.as_uri()
    yml = written(
        tmp_path,
        "environment.yml",
        f"""\
# the project's environment
name: demo
channels:
  - {channel}
  - nodefaults
dependencies:
  - python >=3.8
  - libfoo >=1.0,<2
  - {channel}::footools
  - conda-forge::zlibby   # this one came from another channel
  - pyfoo=1.*
  - clobber-a
""",
    )
    report = verify(sandbox, env, "--file", str(yml))
    assert set(drift(report)) == {"conda-forge::zlibby", "clobber-a"}
    assert drift(report)["conda-forge::zlibby"]["installed"] == "zlibby-1.3-h0_1"
    assert (
        drift(report)["clobber-a"]["message"] == "clobber-a is not met: no clobber-a is installed"
    )


@pytest.mark.skipif(bundled_pip_wheel() is None, reason="the host Python bundles no pip wheel")
def test_the_pip_section(sandbox: Conda, tmp_path: Path) -> None:
    from tests.test_pip import pip_install

    prefix = tmp_path / "env"
    sandbox.create(prefix, "python", "pip", "pyfoo")
    wheel = build_wheel(tmp_path / "wheels", "newproj", "0.1", {"newproj/__init__.py": b""})
    pip_install(sandbox, prefix, wheel)
    exported = sandbox.run("env", "export", "-p", str(prefix)).stdout
    assert "- newproj==0.1" in exported  # conda env export writes the pip section
    assert (
        verify(sandbox, prefix, "--file", str(written(tmp_path, "e.yml", exported)))["findings"]
        == []
    )
    yml = written(
        tmp_path,
        "environment.yml",
        """\
dependencies:
  - python
  - pip
  - pip:
    - newproj==0.2
    - PyFoo>=1.0            # conda's pyfoo 1.0 meets it
    - missing-project
    - other; python_version < "3"
    - --index-url https://example.invalid/simple
""",
    )
    report = verify(sandbox, prefix, "--file", str(yml))
    assert set(drift(report)) == {"newproj==0.2", "missing-project"}
    assert drift(report)["newproj==0.2"]["message"] == (
        "pip requirement newproj==0.2 is not met: installed instead: newproj 0.1 (pip)"
    )
    assert drift(report)["missing-project"]["installed"] is None


@pytest.mark.parametrize(
    "name, text, says",
    [
        ("absent.yml", None, "cannot read"),
        ("bad.yml", "dependencies:\n  - python\n - libfoo: [\n", "is not valid YAML (line"),
        ("nodeps.yml", "name: x\nchannels: [a]\n", "has no 'dependencies' list"),
        ("notlist.yml", "dependencies: python\n", "'dependencies' is not a list"),
        ("badspec.yml", "dependencies:\n  - 'libfoo==1.0=='\n", "is not a conda match spec"),
        ("badpip.yml", "dependencies:\n  - pip:\n    - 'foo >>> 1'\n", "pip requirement"),
        ("explicit.txt", "@EXPLICIT\nnot-a-url\n", "line 2 is not a package URL"),
        ("binary.txt", b"\xff\xfe\x00", "is not UTF-8 text"),
    ],
)
def test_files_verify_cannot_use(
    shared_sandbox: Conda, shared_env: Path, tmp_path: Path, name: str, text, says: str
) -> None:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    elif text is not None:
        path.write_text(text)
    result = shared_sandbox.verify(shared_env, "--file", str(path))
    assert result.returncode == 2, str(result)
    assert result.stdout == ""
    (line,) = result.stderr.strip().splitlines()
    assert says in line and str(path) in line
    assert "Traceback" not in result.stderr
    as_json = shared_sandbox.verify(shared_env, "--file", str(path), "--json")
    assert as_json.returncode == 2
    error = json.loads(as_json.stdout)
    assert error["exception_name"] == "IntegrityInputError"
    assert says in error["message"]
