"""clobbered-file: one path owned by two or more records.

Under conda's default ``path_conflict: clobber`` the package linked last wins
silently; both records keep listing the path, and removing either one deletes
it for both. ``owner`` is the record whose content is there now (by hash), or
null when it matches none. Generated ``.pyc`` files and folders are shared
legitimately and are left out.
"""

from __future__ import annotations

from collections.abc import Iterator

from ..findings import ERROR, Finding
from ..observe.prefix_state import PrefixState
from ..records.model import DIRECTORY, PYC
from .base import RECORD, Check

SHARED_BY_DESIGN = (DIRECTORY, PYC)


def check(state: PrefixState) -> Iterator[Finding]:
    disk = state.disk
    for path, holders in state.owners.items():
        if len(holders) < 2 or path not in disk.stats:
            continue
        claims = [
            (record, owned) for record, owned in holders if owned.kind not in SHARED_BY_DESIGN
        ]
        if len(claims) < 2:
            continue
        stems = [record.stem for record, _ in claims]
        content = disk.sha256.get(path)
        owner = next(
            (record for record, owned in claims if content and owned.sha256 == content), None
        )
        names = " and ".join(f"{record.name}-{record.version}" for record, _ in claims)
        if owner is None:
            now = "its content matches none of them"
        elif all(owned.sha256 == content for _, owned in claims):
            now = "they ship the same content, but removing either one deletes it"
        else:
            now = f"the content is {owner.name}-{owner.version}'s"
        yield CHECK.finding(
            f"installed by {names}; {now}",
            path=path,
            extra={"packages": stems, "owner": owner.stem if owner else None},
        )


CHECK = Check(code="clobbered-file", severity=ERROR, scope=RECORD, order=60, run=check)
