"""The commands that fix a finding, in the words of a tool that can act on it.

A package's files are put back by the tool that can fetch that exact package
again, and never by a command that cannot work:

- in an environment pixi manages, ``pixi reinstall`` (conda would write records
  pixi does not expect, and pixi would undo them at its next run);
- where conda can fetch the package again, ``conda integrity repair -p PREFIX
  NAME``, which relinks that exact build through conda's own transaction;
- a wheel conda-pypi installed (the record's ``fn`` is the wheel's name, its
  channel ``<unknown>``) that conda cannot fetch again: reinstalled from the
  package index by the installer its ``INSTALLER`` names (``conda pypi install``
  for conda-pypi's own, pip or uv for theirs);
- any other package conda cannot fetch again (a plain rattler environment whose
  channel is gone, say): no command, but plain words saying so and where the
  package came from.

What "conda can fetch it again" means is what conda's own fetch
(``ProgressiveFetchExtract``, which ``repair`` runs) does with the record, in
order, read without writing (:mod:`..observe.managers` looks):

1. a package cache of ``pkgs_dirs`` holds it extracted (a folder with
   ``info/index.json`` whose ``info/repodata_record.json`` names the same archive
   by sha256, else md5): conda links from there;
2. a package cache holds its archive (the record's ``fn``): conda extracts it;
3. its record's ``url``: a ``file://`` URL whose file exists, or an ``http``,
   ``https``, ``ftp`` or ``s3`` URL while conda is not ``offline`` (conda mounts
   no downloader for those then). No server is asked: a channel URL is taken as
   one conda can reach. A record without a URL cannot be fetched.

An archive or URL of a kind the running conda cannot extract (a ``.whl``
without conda-pypi's extractor) does not count. A file edited in place through
a hard link changed the cache's extracted copy too: that copy does not count for
it, only an archive or the URL (``repair`` extracts the package again).
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from typing import NamedTuple

from .model import Record

#: the INSTALLER texts conda-pypi writes: ``conda install x.whl`` and ``conda pypi install``
CONDA_PYPI_INSTALLERS = frozenset({"conda-via-whl", "conda-pypi"})


class PixiEnvironment(NamedTuple):
    """An environment pixi manages: its manifest and its environment name."""

    #: the manifest file (``pixi.toml``, ``pyproject.toml``) or the workspace folder
    #: holding it (pixi's ``--manifest-path`` takes either)
    manifest_path: str
    name: str


class Source(NamedTuple):
    """Where conda could get one package again (see the module docstring)."""

    #: a package cache holds it extracted
    extracted: bool = False
    #: a package cache holds its archive
    archive: bool = False
    #: the record's URL, if it has one
    url: str | None = None
    #: why conda cannot download ``url`` (None: it can)
    url_problem: str | None = "its record names no URL"


@dataclass(frozen=True)
class Reinstaller:
    """What decides which tool reinstalls a package of one environment."""

    #: set when pixi manages the environment
    pixi: PixiEnvironment | None = None
    #: where conda could fetch each record again, by stem (a record not listed is
    #: taken as one conda can fetch)
    sources: dict[str, Source] = field(default_factory=dict)
    #: what a conda-pypi wheel record's own ``INSTALLER`` says, by stem
    installers: dict[str, str] = field(default_factory=dict)


def from_wheel(record: Record) -> bool:
    """Whether conda-pypi made this package from a wheel."""
    fn = record.raw.get("fn")
    return isinstance(fn, str) and fn.endswith(".whl")


def exact_spec(record: Record) -> str:
    """A spec that matches exactly this build (``name=version=build``)."""
    return f"{record.name}={record.version}={record.build}"


def _label(record: Record) -> str:
    return f"{record.name}-{record.version}"


def fetch_problem(source: Source | None, *, cache_copy_damaged: bool = False) -> str | None:
    """Why conda cannot fetch the package again, or None when it can."""
    if source is None:
        return None
    if (source.extracted and not cache_copy_damaged) or source.archive:
        return None
    if source.url_problem is None:
        return None
    held = "its package cache copy is damaged" if source.extracted else "no package cache holds it"
    return f"{held}, and {source.url_problem}"


def repair(prefix: str, *names: str) -> str:
    """Relink these packages' exact builds through conda's transaction."""
    command = f"conda integrity repair -p {shlex.quote(prefix)}"
    return " ".join([command, *map(shlex.quote, names)])


def _pixi(pixi: PixiEnvironment, name: str) -> str:
    return (
        f"pixi reinstall --manifest-path {shlex.quote(pixi.manifest_path)}"
        f" -e {shlex.quote(pixi.name)} {shlex.quote(name)}"
    )


def _from_index(prefix: str, record: Record, installer: str | None) -> str:
    """Reinstall a conda-pypi wheel from the package index with the installer that
    put it there."""
    requirement = shlex.quote(f"{record.name}=={record.version}")
    python = shlex.quote(f"{prefix}/bin/python")
    if installer == "uv":
        return f"uv pip install --python {python} --reinstall --no-deps {requirement}"
    if installer == "pip":
        return f"{python} -m pip install --force-reinstall --no-deps {requirement}"
    # conda-pypi's own: conda keeps the record, so conda-pypi would see it installed
    where = shlex.quote(prefix)
    return (
        f"conda remove -p {where} --force {shlex.quote(record.name)}"
        f" && conda pypi install -p {where} {requirement}"
    )


def reinstall(
    prefix: str,
    record: Record,
    tools: Reinstaller | None = None,
    *,
    cache_copy_damaged: bool = False,
) -> str:
    """Put back this exact build with the tool that can (see the module docstring)."""
    tools = tools or Reinstaller()
    if tools.pixi is not None:
        return _pixi(tools.pixi, record.name)
    source = tools.sources.get(record.stem)
    problem = fetch_problem(source, cache_copy_damaged=cache_copy_damaged)
    if problem is None:
        return repair(prefix, record.name)
    if from_wheel(record):
        return _from_index(prefix, record, tools.installers.get(record.stem))
    came_from = source.url if source is not None and source.url else record.channel
    origin = f"it came from {came_from}, and " if came_from else ""
    return (
        f"nothing here can reinstall {_label(record)}: {origin}"
        f"conda cannot fetch it again ({problem})"
    )


def install(prefix: str, spec: str) -> str:
    """Let conda's solver install what ``spec`` asks for."""
    return f"conda install -p {shlex.quote(prefix)} {shlex.quote(spec)}"


def replace_record(
    prefix: str, record_file: str, name: str | None, pixi: PixiEnvironment | None = None
) -> str:
    """Move a damaged record aside so that conda can load the prefix, then reinstall
    (through pixi where it manages the environment)."""
    path = shlex.quote(f"{prefix}/{record_file}")
    move = f"mv {path} {path}.damaged"
    if not name:
        return move
    if pixi is not None:
        return f"{move} && {_pixi(pixi, name)}"
    return f"{move} && conda install -p {shlex.quote(prefix)} --force-reinstall {shlex.quote(name)}"


def repair_shared(folder: str, name: str | None, prefixes: list[str]) -> str:
    """A damaged extracted package: repair it in every environment linked to it
    (``repair`` replaces the cache's copy first), or, linked to none, remove it
    (conda extracts its archive or downloads it again when it needs it)."""
    if name and prefixes:
        return " && ".join(repair(prefix, name) for prefix in prefixes)
    return f"rm -rf {shlex.quote(folder)}"


def remove_cached(path: str) -> str:
    """Remove a damaged archive or a leftover of the package cache (conda downloads
    an archive again when it needs it)."""
    return f"rm -rf {shlex.quote(path)}"
