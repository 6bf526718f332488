"""One JSON file of conda-integrity's own state, read safely and replaced atomically.

Every JSON file we keep (what verify remembers in ``conda-meta/integrity/``, the
snapshot index, the journal's entries) is a :class:`StateFile`: a JSON object
that carries its format number (and, where results depend on how this version
computes them, the conda-integrity version that wrote it) beside its payload.

State is disposable: a file that is absent, of another format or version, not a
JSON object, too large, or not a regular file reads as None, and its owner
starts afresh. Reading never follows a symlink, never opens a FIFO, device or
folder, and never uses a file of another user than the folder's owner, so a
stray file in its place can neither hang, crash nor mislead a command. Where the
file lives (the prefix, or the user's cache) is :func:`.paths.guard_dir`'s rule.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

from ..safe_read import MAX_BYTES, parse_json
from .atomic_write import write_atomic
from .paths import guard_dir
from .state_dir import StateDir

#: the keys a state file carries beside its payload
FORMAT_KEY, VERSION_KEY = "format", "version"


@dataclass(frozen=True)
class StateFile:
    """A JSON state file: where it is, which format (and version) it must have."""

    folder: StateDir
    name: str
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
        """The state file ``name`` of this user about ``prefix`` (in the prefix's state
        folder, or in the user's cache: :func:`.paths.guard_dir`)."""
        return cls(guard_dir(prefix), name, format, version)

    @classmethod
    def in_folder(
        cls, folder: StateDir, name: str, format: int | None, durable: bool = False
    ) -> StateFile:
        """The state file ``name`` in ``folder``."""
        return cls(folder, name, format, durable=durable)

    @property
    def path(self) -> str:
        return os.path.join(self.folder.path, self.name)

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
        raw = self.folder.read(self.name, self.max_bytes)
        if raw is None:
            return None
        # not JSON, or nested too deep to parse: None; large: no walk of every node
        data = parse_json(raw, max_depth=None).value
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
        data = json.dumps(document, separators=(",", ":")).encode()
        write_atomic(self.folder, self.name, data, self.durable)
