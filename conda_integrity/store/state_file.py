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
from dataclasses import dataclass
from typing import Any

from ..safe_read import MAX_BYTES, read_regular_file
from .atomic_write import write_atomic
from .paths import state_path

#: the keys a state file carries beside its payload
FORMAT_KEY, VERSION_KEY = "format", "version"


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
