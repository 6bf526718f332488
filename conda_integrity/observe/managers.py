"""Which tool can reinstall a package: pixi, from the markers it leaves in
``conda-meta/``; conda, where it can fetch the package again; the installer a
conda-pypi wheel names, where conda cannot (:mod:`..records.fixes` decides).

pixi marks each environment it installs with ``conda-meta/pixi`` (a JSON object
naming its manifest and environment: ``EnvironmentFile`` in pixi's
``crates/pixi_core/src/environment/mod.rs``) and, in older versions, only
``conda-meta/pixi_env_prefix``; it keeps its environments in
``<workspace>/.pixi/envs/<name>``. Neither file is a record (records are the
``*.json`` files of ``conda-meta``). pixi reinstalls what its lock file says at
its next run, so a fix there goes through pixi.

Whether conda can fetch a package again is looked up as conda's own fetch would
(the rules are in :mod:`..records.fixes`), reading only: the package caches'
folders and archives, and whether a ``file://`` URL's file exists. No server is
asked.
"""

from __future__ import annotations

import json
import os
from urllib.parse import unquote, urlparse

from ..records.fixes import PixiEnvironment, Reinstaller, Source, from_wheel
from ..records.model import Record
from ..records.package_cache import matching_extracted_dir, pkgs_dirs
from ..safe_read import read_regular_file

MARKERS = ("pixi", "pixi_env_prefix")
MARKER_LIMIT = 64 * 1024
INSTALLER_LIMIT = 1024
#: the schemes conda downloads from (its session mounts a downloader for each)
REMOTE_SCHEMES = ("http", "https", "ftp", "s3")
CONDA_ARCHIVES = (".conda", ".tar.bz2")


def reinstaller(prefix: str, records: tuple[Record, ...]) -> Reinstaller:
    """What decides the tool that reinstalls the packages of ``records``."""
    pixi = pixi_environment(prefix)
    if pixi is not None:
        return Reinstaller(pixi)
    caches = pkgs_dirs()
    sources = {record.stem: conda_source(record, caches) for record in records}
    installers = {}
    for record in records:
        if from_wheel(record):
            installer = _installer(prefix, record)
            if installer is not None:
                installers[record.stem] = installer
    return Reinstaller(None, sources, installers)


def _extractable(name: str) -> bool:
    """Whether the running conda can extract an archive of this name (``.conda`` and
    ``.tar.bz2`` always; others, such as conda-pypi's ``.whl``, through a plugin)."""
    if name.endswith(CONDA_ARCHIVES):
        return True
    from conda.base.context import context

    has_extension = getattr(context.plugin_manager, "has_package_extension", None)
    return bool(has_extension(name)) if has_extension is not None else False


def conda_source(record: Record, caches: tuple[str, ...]) -> Source:
    """Where conda's fetch could get ``record`` again, read without writing."""
    extracted = matching_extracted_dir(record, caches) is not None
    fn = record.raw.get("fn")
    archive = (
        isinstance(fn, str)
        and os.path.basename(fn) == fn
        and _extractable(fn)
        and any(os.path.isfile(os.path.join(cache, fn)) for cache in caches)
    )
    url = record.raw.get("url")
    if not isinstance(url, str) or not url:
        return Source(extracted, archive)
    return Source(extracted, archive, url, _url_problem(url))


def _url_problem(url: str) -> str | None:
    """Why conda cannot download ``url``, or None."""
    from conda.base.context import context

    parsed = urlparse(url)
    if not _extractable(os.path.basename(parsed.path)):
        return f"the running conda cannot extract {os.path.basename(parsed.path)!r}"
    if parsed.scheme == "file":
        return None if os.path.isfile(unquote(parsed.path)) else "its file is gone"
    if parsed.scheme in REMOTE_SCHEMES:
        return "conda is offline (offline: true)" if context.offline else None
    return f"conda does not download {parsed.scheme or 'scheme-less'} URLs"


def _installer(prefix: str, record: Record) -> str | None:
    """What the ``INSTALLER`` of a wheel record's own ``.dist-info`` says."""
    for owned in record.paths:
        if owned.path.endswith(".dist-info/INSTALLER"):
            data = read_regular_file(os.path.join(prefix, owned.path), INSTALLER_LIMIT)
            if data is None:
                return None
            text = data.decode("utf-8", "replace").strip()
            return text.splitlines()[0].strip() if text else None
    return None


def pixi_environment(prefix: str) -> PixiEnvironment | None:
    """The pixi manifest and environment of ``prefix``, or None when pixi does not
    manage it (no marker), or its workspace cannot be told."""
    meta = os.path.join(prefix, "conda-meta")
    if not any(os.path.isfile(os.path.join(meta, marker)) for marker in MARKERS):
        return None
    named = _from_marker(os.path.join(meta, "pixi"))
    if named is not None:
        return named
    envs = os.path.dirname(prefix)
    dot_pixi = os.path.dirname(envs)
    if os.path.basename(envs) == "envs" and os.path.basename(dot_pixi) == ".pixi":
        return PixiEnvironment(os.path.dirname(dot_pixi), os.path.basename(prefix))
    return None


def _from_marker(path: str) -> PixiEnvironment | None:
    data = read_regular_file(path, MARKER_LIMIT)
    if data is None:
        return None
    try:
        marker = json.loads(data)
    except ValueError:
        return None
    if not isinstance(marker, dict):
        return None
    manifest, name = marker.get("manifest_path"), marker.get("environment_name")
    if isinstance(manifest, str) and manifest and isinstance(name, str) and name:
        return PixiEnvironment(manifest, name)
    return None
