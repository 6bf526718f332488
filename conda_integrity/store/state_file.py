"""One JSON file of conda-integrity's own state, read safely and replaced atomically.

Every JSON file we keep (what verify remembers in ``conda-meta/integrity/``, the
snapshot index, the journal's entries) is a :class:`StateFile`: a JSON object
that carries its format number (and, where results depend on how this version
computes them, the conda-integrity version that wrote it) beside its payload.

State is disposable: a file that is absent, of another format or version, not a
JSON object, too large, or not a regular file reads as None, and its owner
starts afresh. Reading never follows a symlink and never opens a FIFO, device
or folder, so a stray file in its place can neither hang nor crash a command.
"""

from __future__ import annotations

import json
import os
import stat
from dataclasses import dataclass
from typing import Any

from .atomic_write import write_atomic
from .paths import state_path

#: the largest state file read: far above what the largest environments need (a
#: few tens of MB for hundreds of thousands of files), far below what would hurt
MAX_BYTES = 512 * 1024 * 1024
#: the keys a state file carries beside its payload
FORMAT_KEY, VERSION_KEY = "format", "version"

# no symlink is followed; O_NONBLOCK: should the path become a FIFO after the
# lstat, opening it must not wait for a writer
_OPEN_FLAGS = (
    os.O_RDONLY
    | getattr(os, "O_NOFOLLOW", 0)
    | getattr(os, "O_NONBLOCK", 0)
    | getattr(os, "O_CLOEXEC", 0)
    | getattr(os, "O_BINARY", 0)
)


def read_regular_file(path: str, max_bytes: int = MAX_BYTES) -> bytes | None:
    """The bytes of ``path`` if it is a regular file (not a symlink, FIFO, device or
    folder) of at most ``max_bytes``, else None."""
    try:
        # lstat first: a device or FIFO is never opened at all
        info = os.lstat(path)
    except OSError:
        return None
    if not stat.S_ISREG(info.st_mode) or info.st_size > max_bytes:
        return None
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except OSError:
        return None
    try:
        with os.fdopen(fd, "rb") as handle:
            # the path may have been replaced between the lstat and the open
            info = os.fstat(handle.fileno())
            if not stat.S_ISREG(info.st_mode) or info.st_size > max_bytes:
                return None
            data = handle.read(max_bytes + 1)  # it may have grown since the fstat
    except OSError:
        return None
    return data if len(data) <= max_bytes else None


@dataclass(frozen=True)
class StateFile:
    """A JSON state file: where it is, which format (and version) it must have."""

    path: str
    #: the format number it is written with and must have to be read (None: the
    #: file carries none, like the journal's entries)
    format: int | None
    #: the conda-integrity version that must have written it (None: any version)
    version: str | None = None
    #: whether a write must survive a power cut (the guard's records); what verify
    #: remembers does without, being at worst unusable after a crash
    durable: bool = False
    max_bytes: int = MAX_BYTES

    @classmethod
    def in_prefix(
        cls, prefix: str, name: str, format: int | None, version: str | None = None
    ) -> StateFile:
        """The state file ``name`` in the state folder of ``prefix``."""
        return cls(state_path(prefix, name), format, version)

    @classmethod
    def in_folder(
        cls, folder: str, name: str, format: int | None, durable: bool = False
    ) -> StateFile:
        """The state file ``name`` in ``folder``."""
        return cls(os.path.join(folder, name), format, durable=durable)

    def _header(self) -> dict[str, Any]:
        header: dict[str, Any] = {}
        if self.format is not None:
            header[FORMAT_KEY] = self.format
        if self.version is not None:
            header[VERSION_KEY] = self.version
        return header

    def read(self) -> dict[str, Any] | None:
        """The payload (without format and version), or None when the file is absent
        or unusable."""
        raw = read_regular_file(self.path, self.max_bytes)
        if raw is None:
            return None
        try:
            data = json.loads(raw)
        except (ValueError, RecursionError):  # not JSON, or nested too deep to parse
            return None
        if not isinstance(data, dict):
            return None
        header = self._header()
        if any(data.get(key) != value for key, value in header.items()):
            return None
        return {key: value for key, value in data.items() if key not in header}

    def write(self, payload: dict[str, Any]) -> None:
        """Replace the file with ``payload`` and the format (and version); OSError when
        it cannot be written."""
        document = {**self._header(), **payload}
        write_atomic(self.path, json.dumps(document, separators=(",", ":")).encode(), self.durable)
