"""Which tool can reinstall a package: pixi, from the markers it leaves in
``conda-meta/``; conda-pypi's wheels, from whether their wheel file is still there.

pixi marks each environment it installs with ``conda-meta/pixi`` (a JSON object
naming its manifest and environment) and, in older versions, only
``conda-meta/pixi_env_prefix``; it keeps its environments in
``<workspace>/.pixi/envs/<name>``. Neither file is a record (records are the
``*.json`` files of ``conda-meta``). pixi reinstalls what its lock file says at
its next run, so a fix there goes through pixi.
"""

from __future__ import annotations

import json
import os

from ..records.fixes import PixiEnvironment, Reinstaller, from_wheel, wheel_file
from ..records.model import Record
from ..safe_read import read_regular_file

MARKERS = ("pixi", "pixi_env_prefix")
MARKER_LIMIT = 64 * 1024


def reinstaller(prefix: str, records: tuple[Record, ...]) -> Reinstaller:
    """What decides the tool that reinstalls the packages of ``records``."""
    lost = set()
    for record in records:
        if from_wheel(record):
            local = wheel_file(record)
            if local is not None and not os.path.isfile(local):
                lost.add(record.stem)
    return Reinstaller(pixi_environment(prefix), frozenset(lost))


def pixi_environment(prefix: str) -> PixiEnvironment | None:
    """The pixi workspace and environment of ``prefix``, or None when pixi does not
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
