"""The commands that fix a finding, in the words a conda user types."""

from __future__ import annotations

import shlex

from .model import Record


def exact_spec(record: Record) -> str:
    """A spec that matches exactly this build (``name=version=build``)."""
    return f"{record.name}={record.version}={record.build}"


def reinstall(prefix: str, *records: Record) -> str:
    """Reinstall these exact builds from the package cache or their channel."""
    specs = " ".join(shlex.quote(exact_spec(record)) for record in records)
    return f"conda install -p {shlex.quote(prefix)} --force-reinstall {specs}"


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
