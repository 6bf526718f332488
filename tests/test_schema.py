"""The JSON Schemas of every ``--json`` output (``conda_integrity/schemas/``): each
command's real output validates, and the schemas refuse what the contract forbids.

One environment for the whole module, taken through a story (verify clean, snapshot,
update, damage, verify every way, log, diff, repair, rollback, an interruption rolled
forward, errors); each step's output is kept and validated by its own test.
"""

from __future__ import annotations

import copy
import json
import shutil
from importlib import resources
from pathlib import Path

import jsonschema
import pytest

from conda_integrity.checks.registry import CODES
from conda_integrity.findings import SEVERITIES
from conda_integrity.output_schema import COMMON, NAMES, schema
from tests.support.conda_cli import Conda, Result
from tests.support.fault_sweep import KILL_RUNNER
from tests.support.helpers import STANDARD_SPECS, check_schema, edit_in_place

# one worker runs the whole module: the story is told once
pytestmark = pytest.mark.xdist_group("schema")


def _run(conda: Conda, outputs: dict, name: str, *args: str) -> Result:
    outputs[name] = conda.run(*args, "--json", check=False)
    return outputs[name]


@pytest.fixture(scope="module")
def outputs(channel: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Result]:
    """Every output of the story, by step."""
    root = tmp_path_factory.mktemp("schema")
    conda = Conda(root / "sandbox", channel)
    env = root / "env"
    p = ("-p", str(env))
    conda.create(env, *STANDARD_SPECS)
    found: dict[str, Result] = {}
    _run(conda, found, "verify clean", "integrity", "verify", *p)
    manual = _run(conda, found, "snapshot", "integrity", "snapshot", *p, "--label", "schema")
    conda.install(env, "libfoo=2.0")
    # damage as in life: an edit in place (the package cache shares the inode), a
    # deleted file, a lost executable bit, a stray file, conda's debris
    edit_in_place(env / "share" / "foo" / "2.0.txt")
    (env / "bin" / "foo-config").unlink()
    tool = env / "bin" / "footool"
    tool.chmod(0o644)
    (env / "share" / "stray.txt").write_text("no package owns me\n")
    (env / "lib" / "old.conda_trash").write_text("")
    plain = root / "plain-folder"
    plain.mkdir()
    with (conda.home / ".conda" / "environments.txt").open("a") as registry:
        registry.write(f"{plain}\n")
    _run(conda, found, "verify damaged", "integrity", "verify", *p, "--untracked")
    _run(conda, found, "verify --all", "integrity", "verify", "--all")
    _run(conda, found, "verify --pkgs-dirs", "integrity", "verify", "--pkgs-dirs")
    _run(conda, found, "log", "integrity", "log", *p)
    _run(conda, found, "diff", "integrity", "diff", *p)
    _run(conda, found, "repair --dry-run", "integrity", "repair", *p, "--dry-run")
    _run(conda, found, "repair --all --dry-run", "integrity", "repair", "--all", "--dry-run")
    _run(conda, found, "repair -y", "integrity", "repair", *p, "-y")
    number = str(manual.json()["number"])
    _run(conda, found, "rollback --dry-run", "integrity", "rollback", number, *p, "--dry-run")
    _run(conda, found, "rollback -y", "integrity", "rollback", number, *p, "-y")
    # an install killed half-way: pyfoo's files linked, its record not written
    conda.remove(env, "pyfoo")
    killed = conda.run(
        "install",
        *p,
        "--yes",
        "pyfoo",
        "alpha",
        check=False,
        runner=KILL_RUNNER,
        env={"KILL_ROOTS": str(env), "KILL_MATCH": "conda-meta/pyfoo-1.0", "KILL_AT": "1"},
    )
    assert killed.returncode == -9, str(killed)
    _run(conda, found, "verify interrupted", "integrity", "verify", *p)
    _run(conda, found, "repair interrupted --dry-run", "integrity", "repair", *p, "--dry-run")
    forward = ("integrity", "rollback", "--forward", *p)
    _run(conda, found, "rollback --forward --dry-run", *forward, "--dry-run")
    _run(conda, found, "rollback --forward", *forward, "-y")
    _run(conda, found, "error", "integrity", "verify", "-p", str(root / "nope"))
    _run(conda, found, "error of diff", "integrity", "diff", *p, "1", "2", "3")
    shutil.rmtree(root, ignore_errors=True)
    return found


#: each step: the schema of its output, its exit code, and what it must show (so that
#: the validation is of a telling document)
STEPS = {
    "verify clean": ("verify", 0, lambda d: d["findings"] == []),
    "snapshot": ("snapshot", 0, lambda d: d["label"] == "schema"),
    "verify damaged": (
        "verify",
        1,
        lambda d: (
            {f["code"] for f in d["findings"]}
            >= {
                "altered-file",
                "missing-file",
                "mode-changed",
                "untracked-file",
                "transaction-debris",
            }
        ),
    ),
    "verify --all": (
        "verify",
        1,
        lambda d: (
            any("skipped" in e for e in d["environments"])
            and any("findings" in e for e in d["environments"])
        ),
    ),
    "verify --pkgs-dirs": (
        "verify",
        1,
        lambda d: any(f["code"] == "cache-corrupt" and f["environments"] for f in d["findings"]),
    ),
    "log": ("log", 0, lambda d: {e["type"] for e in d["events"]} == {"snapshot", "transaction"}),
    "diff": ("diff", 0, lambda d: d["files"] != []),
    "repair --dry-run": (
        "repair",
        0,
        lambda d: {e["action"] for e in d["plan"]} == {"relink", "move-aside"} and not d["done"],
    ),
    "repair --all --dry-run": ("repair", 0, lambda d: any(e["plan"] for e in d["environments"])),
    "repair -y": ("repair", 0, lambda d: d["done"] != [] and d["report"]["ok"]),
    "rollback --dry-run": ("rollback", 0, lambda d: d["plan"]["replace"] and d["done"] is None),
    "rollback -y": ("rollback", 0, lambda d: d["done"] is not None and d["report"]["ok"]),
    "verify interrupted": (
        "verify",
        1,
        lambda d: "interrupted-transaction" in {f["code"] for f in d["findings"]},
    ),
    "repair interrupted --dry-run": (
        "repair",
        0,
        lambda d: "from-snapshot" in {e["action"] for e in d["plan"]},
    ),
    "rollback --forward --dry-run": (
        "rollback",
        0,
        lambda d: "pyfoo" in d["command"] and d["report"] is None,
    ),
    "rollback --forward": ("rollback", 0, lambda d: "pyfoo" in d["command"] and d["report"]["ok"]),
    "error": ("error", 2, lambda d: d["exception_name"] == "IntegrityInputError"),
    "error of diff": ("error", 2, lambda d: "at most two" in d["message"]),
}


@pytest.mark.parametrize("step", list(STEPS))
def test_every_output_validates(outputs: dict[str, Result], step: str) -> None:
    name, code, telling = STEPS[step]
    result = outputs[step]
    assert result.returncode == code, str(result)
    document = json.loads(result.stdout)
    assert telling(document), json.dumps(document, indent=2)
    check_schema(name, document)


# -- the schemas themselves, on data built in memory -------------------------------------


@pytest.mark.parametrize("name", (*NAMES, COMMON))
def test_each_schema_is_a_valid_draft_2020_12_schema(name: str) -> None:
    document = schema(name)
    assert document["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(document)


def test_every_file_shipped_is_one_of_the_named_schemas() -> None:
    folder = resources.files("conda_integrity") / "schemas"
    shipped = {path.name for path in folder.iterdir() if path.name.endswith(".json")}
    assert shipped == {f"{name}.schema.json" for name in (*NAMES, COMMON)}


def test_an_unknown_schema_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="no schema 'nope': one of verify, repair"):
        schema("nope")


def test_the_code_enum_is_the_registrys_codes() -> None:
    defs = schema(COMMON)["$defs"]
    assert defs["code"]["enum"] == list(CODES)
    assert defs["severity"]["enum"] == list(SEVERITIES)


REPORT = {
    "prefix": "/envs/demo",
    "ok": False,
    "mode": "full",
    "checked": {"packages": 1, "files": 2, "bytes": 3},
    "counts": {"error": 1, "warning": 0, "info": 0},
    "findings": [
        {
            "code": "missing-file",
            "severity": "error",
            "package": "libfoo-1.0-h1234_0",
            "path": "bin/foo-config",
            "message": "missing; libfoo-1.0 installed it",
            "some_later_key": {"any": "thing"},
        }
    ],
    "elapsed_s": 0.01,
}


def _errors(name: str, document: object) -> list[str]:
    validator = jsonschema.Draft202012Validator(schema(name))
    return [error.message for error in validator.iter_errors(document)]


def _changed(change) -> dict:
    document = copy.deepcopy(REPORT)
    change(document)
    return document


def test_a_report_of_the_contracts_shape_validates_with_a_findings_added_key() -> None:
    assert _errors("verify", REPORT) == []


@pytest.mark.parametrize(
    "change, error",
    [
        (lambda d: d.pop("findings"), "'findings' is a required property"),
        (lambda d: d.pop("elapsed_s"), "'elapsed_s' is a required property"),
        (lambda d: d.update(extra=1), "Additional properties are not allowed ('extra' was"),
        (lambda d: d["findings"][0].update(code="lost-file"), "'lost-file' is not one of"),
        (lambda d: d["findings"][0].pop("message"), "'message' is a required property"),
        (lambda d: d["findings"][0].update(severity="fatal"), "'fatal' is not one of"),
        (lambda d: d["findings"][0].pop("path"), "'path' is a required property"),
        (lambda d: d["counts"].pop("info"), "'info' is a required property"),
        (lambda d: d.update(mode="quick"), "'quick' is not one of"),
    ],
    ids=[
        "no-findings",
        "no-elapsed",
        "unknown-key",
        "unknown-code",
        "no-message",
        "unknown-severity",
        "missing-file-without-path",
        "counts-without-info",
        "unknown-mode",
    ],
)
def test_the_verify_schema_refuses_what_the_contract_forbids(change, error: str) -> None:
    errors = _errors("verify", _changed(change))
    assert any(error in message for message in errors), errors


def test_the_report_inside_every_envelope_is_held_to_the_same_shape() -> None:
    bad = _changed(lambda d: d["findings"][0].update(code="lost-file"))
    assert _errors("verify", {"environments": [bad], "ok": False}) != []
    outcome = {
        "prefix": "/envs/demo",
        "plan": [],
        "done": [],
        "not_repaired": [],
        "backup": None,
        "report": bad,
    }
    assert _errors("repair", outcome) != []
    assert _errors("repair", {"environments": [outcome]}) != []
    plan = {"prefix": "/envs/demo", "snapshot": 1, "remove": [], "install": [], "replace": []}
    done = {"backup": None, "restored": [], "moved": {}}
    assert _errors("rollback", {"plan": plan, "done": done, "report": REPORT}) == []
    assert _errors("rollback", {"plan": plan, "done": done, "report": bad}) != []
    assert _errors("rollback", {"plan": plan, "done": done}) == ["'report' is a required property"]
    assert _errors("rollback", {"command": "conda install x", "report": bad}) != []


def test_an_error_object_needs_conda_s_keys() -> None:
    error = {
        "caused_by": "None",
        "error": "IntegrityInputError: no conda environment at /nope",
        "exception_name": "IntegrityInputError",
        "exception_type": "<class 'conda_integrity.exceptions.IntegrityInputError'>",
        "message": "no conda environment at /nope",
    }
    assert _errors("error", error) == []
    assert _errors("error", {**error, "guidance": {"hint": "newer condas add this"}}) == []
    del error["message"]
    assert _errors("error", error) == ["'message' is a required property"]
