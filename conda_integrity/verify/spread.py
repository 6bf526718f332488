"""``verify --all`` on every core: forked processes that verify whole environments.

Most of what an environment costs once its files are hashed is per-file work that
holds Python's lock (its records, one ``lstat`` per file, its folders, the
checks), so the environments after the first are spread over processes: this
one and one forked process per further core, each taking the next environment
when it is free. The first environment is verified here first (with the run's
worker pool, where it pays): every inode it shares with the others by hard link
is hashed then, and a forked process is given those hashes with its first
environment (one ``lstat`` and a lookup per shared file). A forked process
shares nothing else: it gets a prefix, verifies it (writing that environment's
own state, as here) and gives back its report.

A fork copies only the thread that makes it, so the processes are forked before
the run starts any thread, and only where no other thread runs at all (and on
Linux, where conda itself forks safely); otherwise the environments are verified
one after the other, as they are with one core.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections import deque
from collections.abc import Callable
from typing import Union

from ..observe.inodes import InodeHashes
from ..observe.workers import receive, send

#: the answer of a forked process: its result, or the error it raised
Result = Union[object, BaseException]


class _Helper:
    """One forked process, and the pipes to it."""

    def __init__(self, pid: int, requests: int, answers: int) -> None:
        self.pid = pid
        self.requests = os.fdopen(requests, "wb")
        self.answers = os.fdopen(answers, "rb")
        self.given_hashes = False

    def close(self) -> None:
        for stream in (self.requests, self.answers):
            with contextlib.suppress(OSError):
                stream.close()
        with contextlib.suppress(ChildProcessError):
            os.waitpid(self.pid, 0)


def can_fork() -> bool:
    return (
        hasattr(os, "fork") and sys.platform.startswith("linux") and threading.active_count() == 1
    )


def fork_helpers(count: int, work: Callable[[str, InodeHashes], object]) -> list[_Helper]:
    """``count`` forked processes that run ``work(prefix, hashes)`` on request."""
    helpers: list[_Helper] = []
    if count < 1 or not can_fork():
        return helpers
    sys.stdout.flush()
    sys.stderr.flush()
    for _ in range(count):
        requests_read, requests_write = os.pipe()
        answers_read, answers_write = os.pipe()
        pid = os.fork()
        if pid == 0:  # the helper: never returns
            for helper in helpers:  # the pipes of its siblings are not its own
                os.close(helper.requests.fileno())
                os.close(helper.answers.fileno())
            os.close(requests_write)
            os.close(answers_read)
            _serve(requests_read, answers_write, work)
        os.close(requests_read)
        os.close(answers_write)
        helpers.append(_Helper(pid, requests_write, answers_read))
    return helpers


def _serve(requests: int, answers: int, work: Callable[[str, InodeHashes], object]) -> None:
    code = 0
    try:
        source, sink = os.fdopen(requests, "rb"), os.fdopen(answers, "wb")
        hashes = InodeHashes()
        while True:
            message = receive(source)
            if message is None:
                break
            assert isinstance(message, tuple)
            prefix: str = message[0]
            if message[1] is not None:
                hashes = message[1]
            try:
                result: Result = work(prefix, hashes)
            except Exception as error:  # handed back, and raised there as here
                result = error
            send(sink, result)
    except BaseException:  # Ctrl-C, a broken pipe: the run is over
        code = 1
    finally:
        os._exit(code)  # none of conda's exit handlers: they belong to the parent


def run_spread(
    prefixes: list[str],
    work: Callable[[str, InodeHashes], object],
    hashes: InodeHashes,
    helpers: list[_Helper],
    done: Callable[[], None],
) -> list[object]:
    """``work`` of each prefix, in order: here and in ``helpers`` alike, each taking
    the next prefix when it is free; ``done`` is called after each."""
    results: dict[int, Result] = {}
    queue: deque[int] = deque(range(len(prefixes)))
    given = hashes.copy()  # this process goes on adding to its own
    lock = threading.Lock()

    def finished(number: int, result: Result) -> None:
        with lock:
            results[number] = result
            done()

    def feed(helper: _Helper) -> None:
        while True:
            try:
                number = queue.popleft()
            except IndexError:
                return
            known = None if helper.given_hashes else given
            try:
                send(helper.requests, (prefixes[number], known))
                result = receive(helper.answers)
            except OSError:
                result = None
            if result is None:  # the helper died: this process does its prefix
                queue.appendleft(number)
                return
            helper.given_hashes = True
            finished(number, result)

    threads = [threading.Thread(target=feed, args=(helper,), daemon=True) for helper in helpers]
    for thread in threads:
        thread.start()
    while True:
        try:
            number = queue.popleft()
        except IndexError:
            break
        try:
            result: Result = work(prefixes[number], hashes)
        except Exception as error:
            result = error
        finished(number, result)
    for thread in threads:
        thread.join()
    for number in list(queue):  # given back by a helper that died after this loop
        finished(number, work(prefixes[number], hashes))
    ordered = [results[number] for number in range(len(prefixes))]
    for result in ordered:
        if isinstance(result, BaseException):
            raise result
    return ordered
