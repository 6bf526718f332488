"""Run conda's real command line and log every open of a file that is no regular file.

``python audit_open.py ARGS`` is ``run_conda.py ARGS`` with an audit hook
(:func:`sys.addaudithook`) that, for each ``open`` event (``open()``, ``os.open``,
with or without a folder handle) of a path whose last name is one of
``AUDIT_NAMES`` (``os.pathsep``-separated), looks at the path (``lstat``) and
writes to ``AUDIT_LOG_FILE`` one line (the path and its file type, in octal)
when it is there and is no regular file: a FIFO, a device, a symlink, a folder
about to be opened. For a test that such a file is never opened at all.
"""

from __future__ import annotations

import os
import stat
import sys
import threading
from pathlib import Path

RUNNER = Path(__file__)


def audited_run(log: Path, names: set[str], **env: str) -> dict[str, object]:
    """The keywords of ``Conda.run`` that run a command through this hook, logging to
    ``log`` (made empty) the opens of files of ``names`` that are no regular file."""
    log.write_text("")
    return {
        "runner": RUNNER,
        "env": {**env, "AUDIT_NAMES": os.pathsep.join(sorted(names)), "AUDIT_LOG_FILE": str(log)},
    }


def main() -> int:
    from kill_at import watch_open_dir_fd
    from real_conda import ensure_conda

    names = set(filter(None, os.environ.get("AUDIT_NAMES", "").split(os.pathsep)))
    log = open(os.environ["AUDIT_LOG_FILE"], "a", buffering=1)  # noqa: SIM115
    local = threading.local()  # the folder handle of the os.open being made

    def hook(event: str, args: tuple) -> None:
        if event != "open" or not args or getattr(local, "busy", False):
            return
        path = args[0]
        if isinstance(path, bytes):
            path = os.fsdecode(path)
        if not isinstance(path, str) or os.path.basename(path) not in names:
            return
        local.busy = True
        try:
            dir_fd = getattr(local, "fd", None)
            info = os.stat(path, dir_fd=dir_fd, follow_symlinks=False)
            if not stat.S_ISREG(info.st_mode):
                where = path
                if dir_fd is not None and not os.path.isabs(path):
                    where = os.path.join(os.readlink(f"/proc/self/fd/{dir_fd}"), path)
                log.write(f"{where}\t{oct(stat.S_IFMT(info.st_mode))}\n")
        except OSError:
            pass
        finally:
            local.busy = False

    ensure_conda()
    from conda.cli.main import main as conda_main

    watch_open_dir_fd(local)
    sys.addaudithook(hook)
    return conda_main()


if __name__ == "__main__":
    sys.exit(main())
