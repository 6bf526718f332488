"""What a look at files on disk showed, and the rule that keeps the look inside
its folder: shared by the look at a prefix (:mod:`.disk`) and at the package
caches (:mod:`.cached_files`)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field


@dataclass
class DiskFacts:
    """The ``lstat`` of each path looked at, where its symlinks point, what could not
    be examined, and how much content was verified."""

    #: lstat of every path that exists
    stats: dict[str, os.stat_result] = field(default_factory=dict)
    #: paths that could not be examined, with the reason
    errors: dict[str, str] = field(default_factory=dict)
    #: paths that are symlinks on disk, and where they point
    link_targets: dict[str, str] = field(default_factory=dict)
    hashed_files: int = 0
    hashed_bytes: int = 0
    verified_files: int = 0
    verified_bytes: int = 0

    def cannot_examine(self, path: str, error: OSError) -> None:
        self.errors[path] = error.strerror or str(error)

    def add_digest(
        self, digests: dict[str, str], path: str, size: int, result: str | OSError, *, hashed: bool
    ) -> str | None:
        """Keep the digest of ``path`` in ``digests`` and count its ``size`` as hashed
        now (``hashed``) or as verified with a digest known already; None, and the
        error kept, when reading it failed."""
        if isinstance(result, OSError):
            self.cannot_examine(path, result)
            return None
        digests[path] = result
        if hashed:
            self.hashed_files += 1
            self.hashed_bytes += size
        else:
            self.verified_files += 1
            self.verified_bytes += size
        return result


class Containment:
    """Whether a folder below ``root`` is still inside it once symlinks are resolved.

    Folders are given relative to ``root`` ("" is ``root`` itself), with forward
    slashes; ``known`` are folders already known to be inside (a walk that never
    followed a symlink reached them). Answers are remembered.
    """

    def __init__(self, root: str, known: set[str] | None = None) -> None:
        self.root = root
        self.real_root = os.path.realpath(root)
        self.known = known if known is not None else {""}
        self.memo: dict[str, bool] = {}

    def inside(self, folder: str) -> bool:
        if folder in self.known:
            return True
        answer = self.memo.get(folder)
        if answer is None:
            real = os.path.realpath(os.path.join(self.root, folder))
            answer = real == self.real_root or real.startswith(self.real_root + os.sep)
            self.memo[folder] = answer
        return answer
