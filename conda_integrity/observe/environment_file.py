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

A file that cannot be read or is not one of these stops verify with exit code 2,
and so does one past the bounds (:data:`MAX_FILE_BYTES`, :data:`MAX_ENTRIES`, YAML
that expands to more than :data:`MAX_YAML_NODES` nodes through its aliases and
merge keys: a "billion laughs" of a few hundred bytes), said as such, at once.
"""

from __future__ import annotations

import os
import re
import stat
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
#: the largest file read: an environment of thousands of packages takes some 200 kB
MAX_FILE_BYTES = 4 * 1024 * 1024
#: the most packages a file may list (conda's largest environments hold a few thousand)
MAX_ENTRIES = 20_000
#: the most YAML nodes a file may stand for, each alias counted as what it repeats
MAX_YAML_NODES = 100_000
#: the deepest nesting of ``[`` and ``{`` read (ruamel.yaml's scanner slows with the
#: square of it: 5,000 deep takes 15 s; an environment file nests 3 deep)
MAX_FLOW_DEPTH = 100
_BRACKETS = re.compile(r"[\[\]{}]")


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
    data = _read(path)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise IntegrityInputError(f"{path} is not UTF-8 text") from None
    lines = [line.strip() for line in text.splitlines()]
    entries = sum(1 for line in lines if line and not line.startswith("#"))
    if entries > MAX_ENTRIES:
        raise IntegrityInputError(
            f"{path} has {entries:,} lines of entries: more than {MAX_ENTRIES:,}, the most "
            "verify --file reads"
        )
    if "@EXPLICIT" in lines:
        return _explicit(path, lines)
    document = _yaml(path, text)
    if isinstance(document, dict):
        return _environment_yml(path, document)
    return _spec_list(path, lines)


def _read(path: str) -> bytes:
    """The bytes of the file, at most MAX_FILE_BYTES of them (a pipe or a link the
    user names is theirs to give: it is followed and read, up to the bound)."""
    too_large = IntegrityInputError(
        f"{path} is larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB, the most "
        "verify --file reads: no environment file is that large"
    )
    try:
        with open(path, "rb") as handle:
            info = os.fstat(handle.fileno())
            if stat.S_ISDIR(info.st_mode):
                raise IsADirectoryError(21, "it is a folder")
            if stat.S_ISREG(info.st_mode) and info.st_size > MAX_FILE_BYTES:
                raise too_large
            data = handle.read(MAX_FILE_BYTES + 1)  # a device, a pipe: never past the bound
    except OSError as error:
        raise IntegrityInputError(f"cannot read {path}: {error.strerror or error}") from None
    if len(data) > MAX_FILE_BYTES:
        raise too_large
    return data


def _yaml(path: str, text: str) -> Any:
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    if _flow_depth_over(text, MAX_FLOW_DEPTH):
        raise IntegrityInputError(f"{path} nests YAML more than {MAX_FLOW_DEPTH} deep")
    yaml = YAML(typ="safe", pure=True)
    try:
        # composed first: the node graph holds each alias once, and is measured
        # before anything repeats what an alias stands for
        node = yaml.compose(text)
        if node is None:
            return None
        problem = _expansion_problem(node)
        if problem is not None:
            raise IntegrityInputError(f"{path} {problem}")
        return yaml.constructor.construct_document(node)
    except RecursionError:
        raise IntegrityInputError(f"{path} nests YAML too deep to be read") from None  # blocks
    except YAMLError as error:
        if ":" not in text:
            return None  # not YAML at all: a spec list
        where = getattr(error, "problem_mark", None)
        line = f" (line {where.line + 1})" if where is not None else ""
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise IntegrityInputError(f"{path} is not valid YAML{line}: {problem}") from None


def _flow_depth_over(text: str, limit: int) -> bool:
    """Whether brackets nest more than ``limit`` deep (those in quotes and comments
    counted too: only a file that is no environment file has that many)."""
    if text.count("[") + text.count("{") <= limit:
        return False
    depth = 0
    for bracket in _BRACKETS.finditer(text):
        depth += 1 if bracket.group() in "[{" else -1
        if depth > limit:
            return True
    return False


def _expansion_problem(root: Any) -> str | None:
    """Why the YAML node graph ``root`` is not read: it stands for more than
    MAX_YAML_NODES nodes once its aliases (and merge keys, which are aliases) are
    expanded, or an alias refers to a node that holds it; else None. Walked
    without recursion, each node once."""
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        node, finished = stack.pop()
        key = id(node)
        children = _children(node)
        if finished:
            open_nodes.discard(key)
            sizes[key] = 1 + sum(sizes[id(child)] for child in children)
            if sizes[key] > MAX_YAML_NODES:
                return (
                    f"stands for more than {MAX_YAML_NODES:,} YAML nodes once its aliases "
                    'are expanded (a "billion laughs"): not an environment file'
                )
            continue
        if key in sizes:
            continue
        if key in open_nodes:
            return "has a YAML alias inside the node it refers to: not an environment file"
        open_nodes.add(key)
        stack.append((node, True))
        stack.extend((child, False) for child in children if id(child) not in sizes)
    return None


def _children(node: Any) -> list[Any]:
    from ruamel.yaml.nodes import MappingNode, SequenceNode

    if isinstance(node, MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, SequenceNode):
        return list(node.value)
    return []


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
