"""Read the file given with ``verify --file``: what the environment should hold.

Three kinds, told apart by their content:

- an ``environment.yml`` (``conda env export``, or written by hand), read with
  ruamel.yaml: ``channels``, ``dependencies`` with conda match specs
  (``numpy>=1.26``, ``conda-forge::numpy=1.26``, ``libfoo=1.0=h1234_0``) and
  a ``pip:`` list of pip requirements;
- an explicit file (``conda list --explicit [--md5]``): an ``@EXPLICIT`` line,
  then one package URL a line, each optionally followed by ``#<md5>``,
  ``#<sha256>`` or ``#sha256:<hash>``;
- a spec list (``conda list --export``): one match spec a line.

A file that cannot be read or is not one of these stops verify with exit code 2.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ..exceptions import IntegrityInputError

CONDA = "conda"
PIP = "pip"
EXPLICIT = "explicit"
#: what may follow ``#``: an md5 (conda list --explicit --md5), a sha256 (conda 24.9+
#: --sha256 writes it bare), or ``sha256:<hash>``
_HASH = re.compile(r"(?:(?:sha256:)?(?P<sha256>[0-9a-fA-F]{64})|(?P<md5>[0-9a-fA-F]{32}))")
_EXTENSIONS = (".tar.bz2", ".conda")


@dataclass(frozen=True)
class FileSpec:
    """One entry of the file."""

    #: CONDA, PIP or EXPLICIT
    kind: str
    #: the entry as the file writes it
    text: str
    #: CONDA: conda's MatchSpec; PIP: a packaging Requirement; EXPLICIT: None
    parsed: Any = field(default=None, compare=False, repr=False)
    #: EXPLICIT: the package the URL names, and the hash given with it
    name: str = ""
    version: str = ""
    build: str = ""
    md5: str | None = None
    sha256: str | None = None


@dataclass(frozen=True)
class EnvironmentFile:
    path: str
    #: "environment.yml", "explicit" or "spec list"
    form: str
    channels: tuple[str, ...] = ()
    specs: tuple[FileSpec, ...] = ()


def read_environment_file(path: str) -> EnvironmentFile:
    """Parse ``path``; IntegrityInputError (exit 2) when it cannot be used."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as error:
        raise IntegrityInputError(f"cannot read {path}: {error.strerror or error}") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise IntegrityInputError(f"{path} is not UTF-8 text") from None
    lines = [line.strip() for line in text.splitlines()]
    if "@EXPLICIT" in lines:
        return _explicit(path, lines)
    document = _yaml(path, text)
    if isinstance(document, dict):
        return _environment_yml(path, document)
    return _spec_list(path, lines)


def _yaml(path: str, text: str) -> Any:
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    try:
        return YAML(typ="safe", pure=True).load(text)
    except YAMLError as error:
        if ":" not in text:
            return None  # not YAML at all: a spec list
        where = getattr(error, "problem_mark", None)
        line = f" (line {where.line + 1})" if where is not None else ""
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise IntegrityInputError(f"{path} is not valid YAML{line}: {problem}") from None


def _match_spec(path: str, text: str) -> Any:
    from conda.exceptions import CondaError
    from conda.models.match_spec import MatchSpec

    try:
        return MatchSpec(text)
    except (CondaError, ValueError, TypeError) as error:
        message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise IntegrityInputError(
            f"{path}: {text!r} is not a conda match spec: {message}"
        ) from None


def _environment_yml(path: str, document: dict) -> EnvironmentFile:
    channels = document.get("channels") or []
    if not isinstance(channels, list) or not all(isinstance(c, str) for c in channels):
        raise IntegrityInputError(f"{path}: 'channels' is not a list of channel names")
    dependencies = document.get("dependencies")
    if dependencies is None:
        raise IntegrityInputError(f"{path} has no 'dependencies' list: not an environment file")
    if not isinstance(dependencies, list):
        raise IntegrityInputError(f"{path}: 'dependencies' is not a list")
    specs: list[FileSpec] = []
    for item in dependencies:
        if isinstance(item, dict) and set(item) == {"pip"}:
            specs.extend(_pip_section(path, item["pip"]))
        elif isinstance(item, str) and item.strip():
            specs.append(FileSpec(CONDA, item.strip(), _match_spec(path, item.strip())))
        elif isinstance(item, (int, float)) and not isinstance(item, bool):
            raise IntegrityInputError(f"{path}: dependency {item!r} is a number, not a spec")
        else:
            raise IntegrityInputError(f"{path}: dependency {item!r} is not a match spec")
    return EnvironmentFile(path, "environment.yml", tuple(channels), tuple(specs))


def _pip_section(path: str, entries: Any) -> list[FileSpec]:
    from packaging.requirements import InvalidRequirement, Requirement

    if not isinstance(entries, list) or not all(isinstance(e, str) for e in entries):
        raise IntegrityInputError(f"{path}: the 'pip' section is not a list of requirements")
    specs = []
    for entry in (e.strip() for e in entries):
        if not entry or entry.startswith("-"):
            continue  # pip options (-r, -e, --index-url): nothing to compare
        if "://" in entry.split("@")[0] or entry.startswith((".", "/", "~")):
            continue  # a URL or a local path: no name and version to compare
        try:
            requirement = Requirement(entry)
        except InvalidRequirement as error:
            why = str(error).strip().splitlines()[0] if str(error).strip() else "invalid"
            raise IntegrityInputError(
                f"{path}: pip requirement {entry!r} is invalid: {why}"
            ) from None
        specs.append(FileSpec(PIP, entry, requirement))
    return specs


def _explicit(path: str, lines: list[str]) -> EnvironmentFile:
    specs = []
    after = False
    for number, line in enumerate(lines, 1):
        if not line or line.startswith("#"):
            continue
        if line == "@EXPLICIT":
            after = True
            continue
        if not after:
            continue
        url, _, anchor = line.partition("#")
        url = url.strip()
        filename = url.rstrip("/").rsplit("/", 1)[-1]
        dist = next((filename[: -len(e)] for e in _EXTENSIONS if filename.endswith(e)), None)
        parts = dist.rsplit("-", 2) if dist else []
        if "/" not in url or len(parts) != 3 or not all(parts):
            raise IntegrityInputError(
                f"{path}: line {number} is not a package URL (.../name-version-build.conda "
                f"or .tar.bz2): {line!r}"
            )
        hashes = _HASH.fullmatch(anchor.strip()) if anchor.strip() else None
        if anchor.strip() and hashes is None:
            raise IntegrityInputError(
                f"{path}: line {number}: {anchor.strip()!r} is neither an md5 nor sha256:<hash>"
            )
        specs.append(
            FileSpec(
                EXPLICIT,
                line,
                name=parts[0],
                version=parts[1],
                build=parts[2],
                md5=hashes.group("md5").lower() if hashes and hashes.group("md5") else None,
                sha256=hashes.group("sha256").lower()
                if hashes and hashes.group("sha256")
                else None,
            )
        )
    return EnvironmentFile(path, "explicit", (), tuple(specs))


def _spec_list(path: str, lines: list[str]) -> EnvironmentFile:
    specs = [
        FileSpec(CONDA, line, _match_spec(path, line))
        for line in lines
        if line and not line.startswith("#")
    ]
    if not specs:
        raise IntegrityInputError(f"{path} lists no package: not an environment file")
    return EnvironmentFile(path, "spec list", (), tuple(specs))
