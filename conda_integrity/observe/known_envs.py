"""The environments conda knows, found the way ``conda env list`` finds them.

``conda env list`` (``conda info --envs``) calls
``conda.core.envs_manager.list_all_known_prefixes()`` in conda 24.7.1 and 26.x
alike. It gathers:

- the lines of ``~/.conda/environments.txt``, where conda registers every
  environment it creates; when conda runs as an administrator, that file in
  every user's home as well;
- each folder of the ``envs_dirs`` that is an environment (has
  ``conda-meta/history``);
- the root prefix (``context.root_prefix``), always.

It is not called here: it drops the ``environments.txt`` lines that are no
environment any more and rewrites the file without them, which would write
outside any prefix and lose exactly the entries ``verify --all`` reports as
skipped. The same sources are read here without the rewrite. One difference:
the current ``$HOME``'s file is always read (conda, as an administrator, reads
the homes of the password database, which leave out a ``$HOME`` set elsewhere).
"""

from __future__ import annotations

import logging
import os
from typing import NamedTuple

log = logging.getLogger(__name__)


class KnownPrefix(NamedTuple):
    """A prefix conda lists, and where conda learned about it."""

    path: str
    #: "environments.txt", "envs_dirs" or "root_prefix"
    source: str


def _homes() -> list[str]:
    from conda.common._os import is_admin
    from conda.common.path import expand

    homes = [expand("~")]
    if is_admin():
        if os.name == "nt":  # pragma: no cover
            parent = os.path.dirname(expand("~"))
            homes += [entry.path for entry in os.scandir(parent)]
        else:
            import pwd

            homes += [entry.pw_dir for entry in pwd.getpwall()]
    return list(dict.fromkeys(home for home in homes if home))


def _registered(environments_txt: str) -> list[str]:
    """The prefixes listed in one ``environments.txt`` (conda's reading of it)."""
    try:
        with open(environments_txt, encoding="utf-8", errors="surrogateescape") as handle:
            lines = [line.strip() for line in handle]
    except FileNotFoundError:
        return []
    except OSError as error:  # someone else's home; conda warns and goes on
        log.info("cannot read %s: %s", environments_txt, error.strerror or error)
        return []
    return [line for line in lines if line and not line.startswith("#")]


def _in_envs_dirs() -> list[str]:
    from conda.base.constants import PREFIX_MAGIC_FILE
    from conda.base.context import context

    found, magic = [], PREFIX_MAGIC_FILE
    for envs_dir in context.envs_dirs:
        try:
            entries = list(os.scandir(envs_dir))
        except OSError:
            continue
        found += [e.path for e in entries if os.path.isfile(os.path.join(e.path, magic))]
    return found


def known_prefixes() -> list[KnownPrefix]:
    """Every prefix ``conda env list`` shows, plus the registered ones that are gone
    or are no environment (conda hides those): sorted and without duplicates."""
    from conda.base.context import context
    from conda.core.envs_manager import get_user_environments_txt_file

    found: dict[str, str] = {}
    for home in _homes():
        for path in _registered(get_user_environments_txt_file(home)):
            found.setdefault(os.path.normpath(path), "environments.txt")
    for path in _in_envs_dirs():
        found.setdefault(os.path.normpath(path), "envs_dirs")
    found.setdefault(os.path.normpath(context.root_prefix), "root_prefix")
    return [KnownPrefix(path, source) for path, source in sorted(found.items())]
