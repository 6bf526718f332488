"""The Python distributions in the environment's site-packages, and which of
them conda did not install.

A distribution is conda's when a conda record owns its metadata (the files of
its ``*.dist-info`` or ``*.egg-info``) and its ``INSTALLER`` is still the one
the record installed; any other one was put there by pip, uv, poetry,
``setup.py install`` or by hand (``uv pip install --reinstall`` of a conda
package writes a new ``*.dist-info`` of the same name, saying ``uv``). For
those, verify reads ``INSTALLER``, ``METADATA`` (or ``PKG-INFO``) and the list
of files they installed (``RECORD``, or an egg's ``installed-files.txt``), and
notes which of those files conda records own: that is what the pip-overlap
check reports.

These files are read as the prefix's own files are: ``lstat`` first, regular
files only, never through a symlink (a metadata folder that is a symlink is not
entered; site-packages itself is read only if it stays inside the environment),
never a FIFO or device, never past a size bound. What cannot be read that way
is named in ``SitePackages.unread``, and each distribution is judged from what
could be read.

conda's own reading of site-packages (``PrefixData`` with pip interoperability)
is never used: when pip removed a conda package's metadata it deletes that
package's record (conda issue #14423).

The result is kept in a memo (``conda-meta/integrity/site-packages.json``) with the
key of the record files, of the site-packages folder (any distribution added,
removed or renamed changes its ctime) and of each foreign distribution's folder.
"""

from __future__ import annotations

import csv
import errno
import hashlib
import io
import os
import posixpath
import re
import stat
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, field
from typing import Any, NamedTuple

from ..safe_read import ABSENT, OPEN_FLAGS, not_regular, read_file
from ..store import memo, schema
from .disk import ESCAPES
from .disk_facts import Containment

MEMO = "site-packages.json"
_METADATA_DIRS = (".dist-info", ".egg-info")
#: the most read of one metadata file: far above the RECORD of the largest wheels
#: (a few MB), far below what would hurt
MAX_BYTES = 64 * 1024 * 1024
#: a metadata folder is opened and its files read relative to it, so a swap of the
#: folder for a symlink after its lstat cannot lead the reads out of it
_BY_FOLDER = (
    os.open in os.supports_dir_fd and os.stat in os.supports_dir_fd and os.listdir in os.supports_fd
)
_FOLDER_FLAGS = (OPEN_FLAGS | getattr(os, "O_DIRECTORY", 0)) & ~getattr(os, "O_NOFOLLOW", 0)


def canonical_name(name: str) -> str:
    """A project name normalized as PEP 503 says (``Foo_Bar.baz`` -> ``foo-bar-baz``)."""
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass(frozen=True)
class Distribution:
    """One ``*.dist-info`` or ``*.egg-info`` of site-packages."""

    #: the metadata folder (or egg-info file), relative to the prefix
    path: str
    #: the project name as its metadata writes it
    name: str
    version: str
    #: the stem of the conda record that owns its metadata; None: not installed by conda
    conda_record: str | None = None
    #: the first line of INSTALLER ("pip", "uv", "conda"); None when there is none
    installer: str | None = None
    #: files it lists (RECORD, installed-files.txt) that conda records own, by record
    #: stem; only for distributions conda did not install
    conda_files: dict[str, list[str]] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return canonical_name(self.name)


@dataclass(frozen=True)
class SitePackages:
    """The distributions of the environment's site-packages."""

    path: str
    distributions: tuple[Distribution, ...] = ()
    #: paths (relative to the prefix) that were not read, with why: words that
    #: complete "it ..."
    unread: dict[str, str] = field(default_factory=dict)

    @property
    def foreign(self) -> tuple[Distribution, ...]:
        return tuple(d for d in self.distributions if d.conda_record is None)


def _key(info: os.stat_result) -> list[int]:
    return [info.st_ino, info.st_ctime_ns]


#: what the memo keeps (see ``_to_json``): the distributions, the key of each
#: foreign one's folder, and what could not be read
MEMO_FORMAT = schema.fields(
    {
        "distributions": schema.list_of(
            schema.exactly(
                {"path": schema.text, "name": schema.text, "version": schema.text},
                {
                    "conda_record": schema.optional(schema.text),
                    "installer": schema.optional(schema.text),
                    "conda_files": schema.dict_of(schema.list_of(schema.text)),
                },
            )
        ),
        "foreign": schema.dict_of(schema.row(schema.whole, schema.whole), key=schema.relative_path),
    },
    {"unread": schema.dict_of(schema.text)},
)


def observe_site_packages(
    prefix: str,
    site_packages: str,
    owners: Callable[[], dict[str, str]],
    records_key: str,
    settled_ns: int,
    reuse: bool,
    save: bool,
    installers: Callable[[], dict[str, str]] | None = None,
) -> SitePackages | None:
    """The distributions of ``site_packages`` (relative to the prefix); None when
    there is no such folder. ``owners`` gives each path conda records own, with
    the stem of its record, and ``installers`` the SHA-256 the records give each
    ``*.dist-info/INSTALLER`` they own; both are called only when the folder must
    be read."""
    full = os.path.join(prefix, site_packages)
    try:
        info = os.lstat(full)
    except OSError:
        return None
    key = [records_key, _key(info)]
    if stat.S_ISLNK(info.st_mode):  # what it points to changes without the link changing
        with suppress(OSError):
            key.append(_key(os.stat(full)))
    kept = memo.load(prefix, MEMO, key, MEMO_FORMAT) if reuse else None
    if isinstance(kept, dict):
        found = _from_json(site_packages, kept, prefix)
        if found is not None:
            return found
    found, settled = _scan(
        prefix, site_packages, owners(), settled_ns, installers() if installers else {}
    )
    if save and settled and info.st_ctime_ns < settled_ns:
        memo.save(prefix, MEMO, key, _to_json(found, prefix))
    return found


class _Folder(NamedTuple):
    """A folder whose entries are looked at by name: through its open descriptor
    where the platform allows, else through its path."""

    path: str
    fd: int | None

    def at(self, name: str) -> str:
        """What to hand to a call with ``dir_fd=self.fd`` for the entry ``name``."""
        return name if self.fd is not None else os.path.join(self.path, name)


@contextmanager
def _opened(path: str, parent: _Folder | None = None) -> Iterator[_Folder]:
    """``path`` (a name in ``parent``, whose symlink is then not followed) opened as a
    folder; OSError when it cannot be."""
    if not _BY_FOLDER:  # Windows (tests/test_platforms.py runs it here)
        full = parent.at(path) if parent is not None else path
        if parent is not None and not stat.S_ISDIR(os.lstat(full).st_mode):
            raise NotADirectoryError(full)
        yield _Folder(full, None)
        return
    if parent is None:
        fd = os.open(path, _FOLDER_FLAGS)
        full = path
    else:
        fd = os.open(path, _FOLDER_FLAGS | getattr(os, "O_NOFOLLOW", 0), dir_fd=parent.fd)
        full = os.path.join(parent.path, path)
    try:
        yield _Folder(full, fd)
    finally:
        os.close(fd)


class _Reader:
    """Reads the metadata files of one site-packages, noting what it could not."""

    def __init__(self) -> None:
        self.unread: dict[str, str] = {}

    def text(self, folder: _Folder, name: str, path: str) -> str | None:
        """The text of the file ``name`` in ``folder`` (``path`` relative to the
        prefix); None when it is absent or cannot be read safely."""
        read = read_file(folder.at(name), MAX_BYTES, dir_fd=folder.fd)
        if read.data is None:
            if read.problem != ABSENT:
                self.unread[path] = read.problem or "cannot be read"
            return None
        return read.data.decode("utf-8", "replace")


def _scan(
    prefix: str,
    site_packages: str,
    owners: dict[str, str],
    settled_ns: int,
    installers: dict[str, str],
) -> tuple[SitePackages, bool]:
    reader = _Reader()
    if not Containment(prefix).inside(site_packages):
        reader.unread[site_packages] = ESCAPES
        return SitePackages(site_packages, (), reader.unread), True
    distributions = []
    settled = True
    try:
        with _opened(os.path.join(prefix, site_packages)) as folder:
            names = sorted(os.listdir(folder.fd if folder.fd is not None else folder.path))
            for name in names:
                if not name.endswith(_METADATA_DIRS):
                    continue
                path = f"{site_packages}/{name}"
                owner = _conda_owner(path, owners)
                project, version = _from_folder_name(name)
                if owner is not None and _reinstalled(folder, name, path, owners, installers):
                    owner = None
                if owner is not None:
                    distributions.append(Distribution(path, project, version, conda_record=owner))
                    continue
                try:
                    info = os.stat(folder.at(name), dir_fd=folder.fd, follow_symlinks=False)
                except OSError:
                    continue  # gone since the listing
                settled = settled and info.st_ctime_ns < settled_ns
                if not (stat.S_ISDIR(info.st_mode) or stat.S_ISREG(info.st_mode)):
                    reader.unread[path] = not_regular(info.st_mode)
                    continue
                distributions.append(
                    _foreign(reader, folder, name, path, project, version, owners, info)
                )
    except OSError as error:
        reader.unread[site_packages] = f"cannot be listed: {error.strerror or error}"
        return SitePackages(site_packages, (), reader.unread), False
    return SitePackages(site_packages, tuple(distributions), reader.unread), settled


def _reinstalled(
    site: _Folder, name: str, path: str, owners: dict[str, str], installers: dict[str, str]
) -> bool:
    """Whether another installer wrote this conda-owned ``*.dist-info`` anew: its
    ``INSTALLER`` is not the one the record installed, or there is one where the
    record installed none (packages converted from wheels by tools other than
    conda-build have none; pip and uv always write one, conda never does)."""
    installer = f"{path}/INSTALLER"
    expected = installers.get(installer)
    owned = installer in owners
    if owned and expected is None:
        return False  # a record remembered clean, or one that gives it no hash
    try:
        with _opened(name, site) as folder:
            read = read_file(folder.at("INSTALLER"), MAX_BYTES, dir_fd=folder.fd)
    except OSError:
        return False  # the record's own findings say what became of it
    if read.data is None:
        return False
    return not owned or hashlib.sha256(read.data).hexdigest() != expected


def _conda_owner(path: str, owners: dict[str, str]) -> str | None:
    if path in owners:  # an egg-info file
        return owners[path]
    for anchor in ("RECORD", "METADATA", "INSTALLER", "PKG-INFO", "WHEEL"):
        owner = owners.get(f"{path}/{anchor}")
        if owner is not None:
            return owner
    return None


def _from_folder_name(name: str) -> tuple[str, str]:
    stem = name.rsplit(".", 1)[0]
    project, _, rest = stem.partition("-")
    return project, rest.split("-", 1)[0]


def _foreign(
    reader: _Reader,
    site: _Folder,
    name: str,
    path: str,
    project: str,
    version: str,
    owners: dict[str, str],
    info: os.stat_result,
) -> Distribution:
    """A distribution conda did not install, from what of its metadata can be read."""
    installer: str | None = None
    listed: list[str] = []
    if stat.S_ISREG(info.st_mode):  # an egg-info file: the metadata itself
        metadata = reader.text(site, name, path)
    else:
        try:
            with _opened(name, site) as folder:
                metadata, installer, listed = _metadata_folder(reader, folder, path)
        except OSError as error:
            swapped = error.errno == errno.ELOOP  # for a symlink, since the lstat
            reader.unread[path] = (
                not_regular(stat.S_IFLNK) if swapped else f"cannot be opened: {error.strerror}"
            )
            metadata = None
    if metadata:
        headers = _headers(metadata)
        project, version = headers.get("name", project), headers.get("version", version)
    conda_files: dict[str, list[str]] = {}
    for item in listed:
        if item.endswith(".pyc"):
            continue  # bytecode follows its source: the source is what counts
        owner = owners.get(item)
        if owner is not None:
            conda_files.setdefault(owner, []).append(item)
    return Distribution(
        path, _printable(project), _printable(version), None, installer, conda_files
    )


def _metadata_folder(
    reader: _Reader, folder: _Folder, path: str
) -> tuple[str | None, str | None, list[str]]:
    """(metadata, installer, the paths it lists) of a ``*.dist-info`` or ``*.egg-info``
    folder."""
    dist_info = path.endswith(".dist-info")
    metadata_name = "METADATA" if dist_info else "PKG-INFO"
    metadata = reader.text(folder, metadata_name, f"{path}/{metadata_name}")
    text = reader.text(folder, "INSTALLER", f"{path}/INSTALLER")
    lines = text.strip().splitlines() if text else []
    installer = _printable(lines[0].strip()) if lines else None
    if dist_info:
        record = reader.text(folder, "RECORD", f"{path}/RECORD")
        listed = _record_paths(record or "", path, reader)
    else:
        listing = reader.text(folder, "installed-files.txt", f"{path}/installed-files.txt")
        listed = _egg_paths(listing or "", path)
    return metadata, installer, listed


def _printable(text: str, limit: int = 200) -> str:
    """``text`` as it may be shown on a terminal: another user may have written it."""
    return "".join(c if c.isprintable() else "?" for c in text[:limit])


def _headers(metadata: str) -> dict[str, str]:
    headers: dict[str, str] = {}
    for line in metadata.splitlines():
        if not line.strip():
            break  # the body (the long description) starts here
        key, sep, value = line.partition(":")
        if sep and key.lower() in ("name", "version") and key.lower() not in headers:
            headers[key.lower()] = value.strip()
    return headers


def _inside(base: str, relative: str) -> str | None:
    path = posixpath.normpath(posixpath.join(base, relative.replace("\\", "/")))
    if path.startswith(("../", "/")) or path in ("..", "."):
        return None
    return path


def _record_paths(record: str, dist_info: str, reader: _Reader) -> list[str]:
    """The paths the RECORD of ``dist_info`` lists, as far as it is CSV; where it
    stops being CSV, the rest is unknown and ``reader`` notes it."""
    site_packages = dist_info.rpartition("/")[0]
    paths = []
    rows = csv.reader(io.StringIO(record, newline=""))
    try:
        for row in rows:
            if row and row[0]:
                path = _inside(site_packages, row[0])
                if path is not None:
                    paths.append(path)
    except csv.Error as error:  # a field over csv's size limit, say: pip fails there too
        reader.unread[f"{dist_info}/RECORD"] = (
            f"is not CSV from line {rows.line_num} on ({error}): the files it lists from "
            "there on are not known"
        )
    return paths


def _egg_paths(listing: str, egg_info: str) -> list[str]:
    paths = []
    for line in listing.splitlines():
        if line.strip():
            path = _inside(egg_info, line.strip())
            if path is not None:
                paths.append(path)
    return paths


def _to_json(found: SitePackages, prefix: str) -> dict[str, Any]:
    foreign = {}
    for distribution in found.foreign:
        try:
            foreign[distribution.path] = _key(os.lstat(os.path.join(prefix, distribution.path)))
        except OSError:
            foreign[distribution.path] = [0, 0]
    return {
        "distributions": [asdict(d) for d in found.distributions],
        "foreign": foreign,
        "unread": found.unread,
    }


def _from_json(site_packages: str, data: dict[str, Any], prefix: str) -> SitePackages | None:
    """The remembered distributions, unless a foreign one's folder changed since."""
    try:
        for path, key in data["foreign"].items():
            try:
                if _key(os.lstat(os.path.join(prefix, path))) != key:
                    return None
            except OSError:
                return None
        unread = data["unread"]
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in unread.items()):
            return None
        return SitePackages(
            site_packages, tuple(Distribution(**item) for item in data["distributions"]), unread
        )
    except (TypeError, KeyError, AttributeError):
        return None
