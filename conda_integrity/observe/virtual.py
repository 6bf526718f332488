"""conda's virtual packages (``__glibc``, ``__cuda``, ``__osx``, ...), the way
the running conda offers them, and a cheap key of what they depend on.

Asking for them costs: conda probes for a CUDA driver in a child process
(0.3 s here), so verify asks only when a result that needs them cannot be
reused (see :mod:`.dependencies`).
"""

from __future__ import annotations

import logging
import os
import platform
import sys
from typing import Any

from ..compat import virtual_package_records

log = logging.getLogger(__name__)


def virtual_packages() -> dict[str, Any] | None:
    """The machine's virtual packages as conda ``PackageRecord``s, by name; None
    when conda could not tell (then nothing is judged against them)."""
    try:
        records = virtual_package_records()
    except Exception as error:  # a broken virtual package plugin must not stop verify
        log.debug("conda could not list the virtual packages: %s", error)
        return None
    return {record.name: record for record in records}


def _boot_id() -> str:
    # a new boot is when a new GPU driver, kernel or C library takes effect
    try:
        with open("/proc/sys/kernel/random/boot_id") as handle:
            return handle.read().strip()
    except OSError:
        return ""


def _libc() -> str:
    try:
        return os.confstr("CS_GNU_LIBC_VERSION") or ""
    except (AttributeError, ValueError, OSError):
        return platform.libc_ver()[1] if sys.platform.startswith("linux") else ""


def _uname() -> list[str]:
    # os.uname, not platform.uname: that one runs `uname -p` in a child process
    if hasattr(os, "uname"):
        return list(os.uname())
    return [platform.system(), platform.node(), platform.release(), platform.version()]


def machine_key() -> list[str]:
    """What the virtual packages depend on, cheap to read: conda's version, the
    platform, the kernel, the C library, the boot, and conda's ``CONDA_OVERRIDE_*``
    variables."""
    import conda
    from conda.base.context import context

    overrides = sorted(f"{k}={v}" for k, v in os.environ.items() if k.startswith("CONDA_OVERRIDE_"))
    return [
        conda.__version__,
        str(context.subdir),
        *_uname(),
        _libc(),
        _boot_id(),
        *overrides,
    ]
