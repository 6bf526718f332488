"""The commands that fix a finding, in the words of a tool that can act on it.

``conda install --force-reinstall`` where conda can fetch the package again; in
an environment pixi manages, ``pixi reinstall`` (conda would write records pixi
does not expect, and pixi would undo them at its next run). conda-pypi turns a
wheel into a conda package (the record's ``fn`` is the wheel's name, its channel
``<unknown>``): conda's ``--force-reinstall`` does nothing for it, so the fix
removes the record and installs the wheel again from where the record says it
came from, or, when that file is gone, with ``conda pypi install`` from the
package index.
"""

from __future__ import annotations

import shlex
from typing import NamedTuple
from urllib.parse import unquote, urlparse

from .model import Record


class PixiEnvironment(NamedTuple):
    """An environment pixi manages: its workspace (where its manifest is) and name."""

    workspace: str
    name: str


class Reinstaller(NamedTuple):
    """What decides which tool reinstalls a package of one environment."""

    #: set when pixi manages the environment
    pixi: PixiEnvironment | None = None
    #: stems of conda-pypi's wheel records whose wheel file is gone
    lost_wheels: frozenset[str] = frozenset()


def from_wheel(record: Record) -> bool:
    """Whether conda-pypi made this package from a wheel (conda cannot fetch it)."""
    fn = record.raw.get("fn")
    return isinstance(fn, str) and fn.endswith(".whl")


def wheel_file(record: Record) -> str | None:
    """The local wheel file a conda-pypi record was installed from (a file:// url)."""
    url = record.raw.get("url")
    if not isinstance(url, str) or not url.startswith("file://"):
        return None
    return unquote(urlparse(url).path) or None


def _wheel_source(record: Record, lost: frozenset[str]) -> str | None:
    """Where conda can install this wheel from again: its file, or its URL."""
    if record.stem in lost:
        return None
    local = wheel_file(record)
    if local is not None:
        return local
    url = record.raw.get("url")
    if isinstance(url, str) and url.startswith(("https://", "http://")):
        return url
    return None


def exact_spec(record: Record) -> str:
    """A spec that matches exactly this build (``name=version=build``)."""
    return f"{record.name}={record.version}={record.build}"


def reinstall(prefix: str, *records: Record, tools: Reinstaller | None = None) -> str:
    """Reinstall these exact builds with the tool that can: pixi where it manages the
    environment, conda (again from the wheel, or conda-pypi) for conda-pypi's wheels,
    else conda from the package cache or the channel."""
    tools = tools or Reinstaller()
    if tools.pixi is not None:
        names = " ".join(shlex.quote(record.name) for record in records)
        return (
            f"pixi reinstall --manifest-path {shlex.quote(tools.pixi.workspace)}"
            f" -e {shlex.quote(tools.pixi.name)} {names}"
        )
    where = shlex.quote(prefix)
    steps = []
    wheels = [record for record in records if from_wheel(record)]
    if wheels:
        names = " ".join(shlex.quote(record.name) for record in wheels)
        steps.append(f"conda remove -p {where} --force {names}")
        sources = [_wheel_source(record, tools.lost_wheels) for record in wheels]
        found = [source for source in sources if source is not None]
        if found:
            steps.append(f"conda install -p {where} {' '.join(map(shlex.quote, found))}")
        lost = [record for record, source in zip(wheels, sources) if source is None]
        if lost:
            requirements = " ".join(shlex.quote(f"{r.name}=={r.version}") for r in lost)
            steps.append(f"conda pypi install -p {where} {requirements}")
    others = [record for record in records if not from_wheel(record)]
    if others:
        specs = " ".join(shlex.quote(exact_spec(record)) for record in others)
        steps.append(f"conda install -p {where} --force-reinstall {specs}")
    return " && ".join(steps)


def install(prefix: str, spec: str) -> str:
    """Let conda's solver install what ``spec`` asks for."""
    return f"conda install -p {shlex.quote(prefix)} {shlex.quote(spec)}"


def replace_record(prefix: str, record_file: str, name: str | None) -> str:
    """Move a damaged record aside so that conda can load the prefix, then reinstall."""
    path = shlex.quote(f"{prefix}/{record_file}")
    move = f"mv {path} {path}.damaged"
    if not name:
        return move
    return f"{move} && conda install -p {shlex.quote(prefix)} --force-reinstall {shlex.quote(name)}"


def clear_cached_package(folder: str, spec: str | None, prefixes: list[str]) -> str:
    """Remove a damaged extracted package (conda extracts its archive or downloads it
    again when it needs it), then reinstall it where it was linked from there."""
    steps = [f"rm -rf {shlex.quote(folder)}"]
    if spec:
        steps += [
            f"conda install -p {shlex.quote(prefix)} --force-reinstall {shlex.quote(spec)}"
            for prefix in prefixes
        ]
    return " && ".join(steps)


def remove_cached(path: str) -> str:
    """Remove a damaged archive or a leftover of the package cache (conda downloads
    an archive again when it needs it)."""
    return f"rm -rf {shlex.quote(path)}"
