"""Python here, as on a platform without some of what Linux has: imported by every
Python started with this folder on ``PYTHONPATH`` (conda, verify's hashing workers),
it takes away what ``CONDA_INTEGRITY_TEST_WITHOUT`` names (comma-separated):

- ``dir_fd``: no call takes a folder's handle (``dir_fd``, ``src_dir_fd``,
  ``dst_dir_fd``; ``listdir`` of a handle), as on Windows: such a call raises
  ``NotImplementedError``, and ``os.supports_dir_fd`` is empty;
- ``O_NOFOLLOW``: no ``os.O_NOFOLLOW`` (nor ``O_DIRECTORY``), as on Windows;
- ``readv``, ``sched_getaffinity``: absent, as on Windows and macOS;
- ``fork``: no ``os.fork``, as on Windows;
- ``geteuid``: no ``os.geteuid`` (what tells the project who owns files), as on
  Windows (``getuid`` stays: platformdirs' and conda's unix code, which Windows
  does not run, need it).

What the project does on such a platform is what its fallbacks do; these are
how the tests run them here.
"""

import functools
import os

WITHOUT = set(filter(None, os.environ.get("CONDA_INTEGRITY_TEST_WITHOUT", "").split(",")))
_HANDLES = ("dir_fd", "src_dir_fd", "dst_dir_fd")


def _no_handles(function):
    @functools.wraps(function)
    def call(*args, **kwargs):
        if any(kwargs.get(name) is not None for name in _HANDLES):
            raise NotImplementedError(f"{function.__name__}: dir_fd unavailable on this platform")
        if function.__name__ in ("listdir", "scandir") and args and isinstance(args[0], int):
            raise TypeError(f"{function.__name__}: a path is required on this platform")
        return function(*args, **kwargs)

    return call


if "dir_fd" in WITHOUT:
    for _name in (
        "open", "stat", "lstat", "mkdir", "rmdir", "unlink", "remove", "rename", "replace",
        "readlink", "chmod", "chown", "utime", "access", "link", "symlink", "listdir", "scandir",
    ):  # fmt: skip
        if hasattr(os, _name):
            setattr(os, _name, _no_handles(getattr(os, _name)))
    os.supports_dir_fd.clear()
    os.supports_fd.clear()
if "O_NOFOLLOW" in WITHOUT:
    for _name in ("O_NOFOLLOW", "O_DIRECTORY"):
        if hasattr(os, _name):
            delattr(os, _name)
for _name in ("readv", "sched_getaffinity", "fork"):
    if _name in WITHOUT and hasattr(os, _name):
        delattr(os, _name)
if "geteuid" in WITHOUT and hasattr(os, "geteuid"):
    delattr(os, "geteuid")
