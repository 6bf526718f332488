"""Run conda's real command line and SIGKILL it right before its k-th change on disk.

``python kill_at.py ARGS`` is ``run_conda.py ARGS`` with an audit hook
(:func:`sys.addaudithook`) that watches every call of this process that changes
the file system (link, symlink, rename and replace, unlink, rmdir, mkdir, chmod,
utime, truncate, an open for writing, shutil's copies and moves) on a path under
one of the folders ``KILL_ROOTS`` names (``os.pathsep``-separated: the prefix,
the package cache, the user's cache). Before the ``KILL_AT``-th such call the
process sends itself SIGKILL, as ``kill -9`` would: no handler, no ``finally``,
no ``atexit`` runs. Without ``KILL_AT`` it runs to the end and writes how many
calls it saw to ``KILL_COUNT_FILE``; ``KILL_LOG_FILE`` gets one line per call
(the ``k``, the event and the path), for a test that looks for a kill point.
``KILL_SIGNAL=INT`` sends SIGINT instead (Ctrl-C: conda's own handler rolls back).
With ``KILL_SCRIPT``, that script runs instead of conda's command line (another
runner here, such as ``run_relink.py``). With ``KILL_MATCH``, only calls on a path
that contains it are counted; paths under a folder ``KILL_SKIP`` names
(``os.pathsep``-separated) are not.
``KILL_FILL=PATH`` kills nothing: before the ``KILL_AT``-th call it fills the disk
that holds ``PATH`` (a new file written until the disk is full), and conda goes on
into a full disk, as if space had run out right there.

What child processes (a package's link script, the ``.pyc`` compiler) write is
not seen: the kill points are those of conda's own process.
"""

from __future__ import annotations

import os
import signal
import sys
import threading

#: event -> positions of the path arguments that the call changes
PATH_ARGS = {
    "os.link": (1,),
    "os.symlink": (1,),
    "os.rename": (0, 1),  # os.replace too
    "os.remove": (0,),  # os.unlink too
    "os.rmdir": (0,),
    "os.mkdir": (0,),
    "os.chmod": (0,),
    "os.chown": (0,),
    "os.utime": (0,),
    "os.truncate": (0,),
    "os.chflags": (0,),
    "os.setxattr": (0,),
    "os.removexattr": (0,),
    "shutil.copyfile": (1,),
    "shutil.copymode": (1,),
    "shutil.copystat": (1,),
    "shutil.copytree": (1,),
    "shutil.move": (0, 1),
    "shutil.rmtree": (0,),
    "shutil.chown": (0,),
}
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND


def _folder(path: str) -> str:
    """``path`` resolved, ending in one separator (``/`` stays ``/``)."""
    return os.path.join(os.path.realpath(path), "")


class Counter:
    def __init__(
        self,
        roots: list[str],
        skipped: list[str],
        kill_at: int | None,
        match: str,
        log: str | None,
        signal_number: int = signal.SIGKILL,
        fill: str | None = None,
    ):
        self.signal_number = signal_number
        self.fill = fill
        self.roots = [_folder(root) for root in roots if root]
        self.skipped = [_folder(folder) for folder in skipped if folder]
        self.kill_at = kill_at
        self.match = match
        self.count = 0
        self.lock = threading.Lock()
        self.busy = threading.local()
        #: the folder handle of the os.open being made (its audit event has none)
        self.open_dir_fd = threading.local()
        self.log = open(log, "a", buffering=1) if log else None  # noqa: SIM115

    def _absolute(self, path: object, dir_fd: object) -> str | None:
        if isinstance(path, bytes):
            path = os.fsdecode(path)
        if not isinstance(path, str):
            return None  # a file descriptor
        if not os.path.isabs(path) and isinstance(dir_fd, int) and dir_fd >= 0:
            try:
                path = os.path.join(os.readlink(f"/proc/self/fd/{dir_fd}"), path)
            except OSError:
                return None
        path = os.path.abspath(path)
        # the folder resolved, the name itself not: a symlink being replaced is a change there
        return os.path.join(os.path.realpath(os.path.dirname(path)), os.path.basename(path))

    def _inside(self, path: str) -> bool:
        if self.match and self.match not in path:
            return False
        below = os.path.join(path, "")  # a root itself counts as inside it
        if any(below.startswith(folder) for folder in self.skipped):
            return False
        return any(below.startswith(root) for root in self.roots)

    def _paths(self, event: str, args: tuple) -> list[object]:
        if event == "open":
            path, mode, flags = args[0], args[1], args[2]
            writes = (isinstance(flags, int) and flags & WRITE_FLAGS) or (
                isinstance(mode, str) and any(c in mode for c in "wax+")
            )
            return [path] if writes else []
        return [args[i] for i in PATH_ARGS.get(event, ()) if i < len(args)]

    def __call__(self, event: str, args: tuple) -> None:
        if event != "open" and event not in PATH_ARGS:
            return
        if getattr(self.busy, "on", False):
            return
        self.busy.on = True
        try:
            if event == "open":
                dir_fd = getattr(self.open_dir_fd, "fd", None)
            else:
                dir_fd = args[-1] if event.startswith("os.") and args else None
            paths = [self._absolute(p, dir_fd) for p in self._paths(event, args)]
            hits = [p for p in paths if p is not None and self._inside(p)]
            if not hits:
                return
            with self.lock:
                self.count += 1
                if self.log is not None:
                    self.log.write(f"{self.count}\t{event}\t{hits[0]}\n")
                if self.count == self.kill_at:
                    if self.fill:
                        fill_disk(self.fill)
                    else:
                        os.kill(os.getpid(), self.signal_number)
        finally:
            self.busy.on = False

    def watch_open_dir_fd(self) -> None:
        """Make ``os.open(name, ..., dir_fd=fd)`` seen at its real path."""
        watch_open_dir_fd(self.open_dir_fd)

    def write_total(self, path: str) -> None:
        with open(path, "w") as handle:
            handle.write(str(self.count))


def watch_open_dir_fd(local: threading.local) -> None:
    """Keep in ``local.fd`` the folder handle of the ``os.open`` being made: the audit
    event of an open names the path as given, without the folder handle."""
    real_open = os.open

    def open_with_dir_fd(path, flags, mode=0o777, *, dir_fd=None):  # type: ignore[no-untyped-def]
        local.fd = dir_fd
        try:
            return real_open(path, flags, mode, dir_fd=dir_fd)
        finally:
            local.fd = None

    os.open = open_with_dir_fd


def fill_disk(path: str) -> None:
    """Write ``path`` until its disk is full (what it holds stays: the test frees it)."""
    block = b"\0" * (64 * 1024)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        size = len(block)
        while size:
            try:
                os.write(fd, block[:size])
            except OSError:
                size //= 2  # the last blocks: down to a byte
    finally:
        os.close(fd)


def main() -> int:
    from real_conda import ensure_conda

    kill_at = os.environ.get("KILL_AT")
    counter = Counter(
        os.environ.get("KILL_ROOTS", "").split(os.pathsep),
        os.environ.get("KILL_SKIP", "").split(os.pathsep),
        int(kill_at) if kill_at else None,
        os.environ.get("KILL_MATCH", ""),
        os.environ.get("KILL_LOG_FILE"),
        signal.SIGINT if os.environ.get("KILL_SIGNAL") == "INT" else signal.SIGKILL,
        os.environ.get("KILL_FILL") or None,
    )
    ensure_conda()
    from conda.cli.main import main as conda_main

    script = os.environ.get("KILL_SCRIPT")
    counter.watch_open_dir_fd()
    sys.addaudithook(counter)
    try:
        if script:  # another runner of ours, watched the same way
            import runpy

            sys.argv = [script, *sys.argv[1:]]
            runpy.run_path(script, run_name="__main__")
            code = 0
        else:
            code = conda_main()
    finally:
        total_file = os.environ.get("KILL_COUNT_FILE")
        if total_file:  # outside the roots: not counted
            counter.write_total(total_file)
    return code


if __name__ == "__main__":
    sys.exit(main())
