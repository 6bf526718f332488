"""pip-overlap: a Python distribution conda did not install (pip, uv, poetry,
``setup.py install``: every installer other than conda alike, named from its
``INSTALLER``) that wrote over files of a conda package, or that has the project
name of a conda package.

pip does not read conda's records: ``pip install`` over a conda package
uninstalls conda's files (keeping the conda record) or installs next to them,
and either way conda and pip each believe they manage the project. A
distribution pip added beside the conda packages, touching none of their
files and names, is normal and not reported.

How it relates to the file checks: the conda files pip rewrote or deleted are
reported on the conda package as altered-file or missing-file errors (the
package is no longer what conda installed, and a repair would put conda's
files back under pip's feet). This warning says, once per distribution and
conda package, who did it and which files; it is not repeated per file.
"""

from __future__ import annotations

from collections.abc import Iterator

from ..findings import WARNING, Finding
from ..observe.prefix_state import PrefixState
from ..observe.site_packages import Distribution, canonical_name
from .base import ENVIRONMENT, Check

SHOWN = 3


def _files(paths: list[str]) -> str:
    shown = ", ".join(paths[:SHOWN])
    more = len(paths) - SHOWN
    return shown + (f" and {more} more" if more > 0 else "")


def _who(distribution: Distribution) -> str:
    installer = distribution.installer or "a tool other than conda"
    return f"{distribution.name} {distribution.version} (installed by {installer})"


def check(state: PrefixState) -> Iterator[Finding]:
    site = state.site_packages
    if site is None:
        return
    labels = {p.stem: p.label for p in state.packages}
    same_name: dict[str, set[str]] = {}
    for package in state.packages:
        same_name.setdefault(canonical_name(package.name), set()).add(package.stem)
    for distribution in site.distributions:
        if distribution.conda_record is not None:
            same_name.setdefault(distribution.key, set()).add(distribution.conda_record)

    for distribution in site.foreign:
        named = same_name.get(distribution.key, set())
        for stem in sorted(named | set(distribution.conda_files)):
            if not state.selected(stem):
                continue
            files = sorted(distribution.conda_files.get(stem, []))
            label = labels.get(stem, stem)
            if stem in named:
                what = f"{_who(distribution)} has the name of conda's {label}"
                what += f" and wrote over its files {_files(files)}" if files else ""
                other = distribution.installer or "another tool"
                what += f"; conda and {other} each think they manage it"
            else:
                what = (
                    f"{_who(distribution)} wrote over {len(files)} of {label}'s files: "
                    + _files(files)
                )
            yield CHECK.finding(
                what,
                package=stem,
                path=distribution.path,
                extra={
                    "distribution": f"{distribution.name} {distribution.version}",
                    "installer": distribution.installer,
                    "paths": files,
                },
            )


CHECK = Check(code="pip-overlap", severity=WARNING, scope=ENVIRONMENT, order=140, run=check)
