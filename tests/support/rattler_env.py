"""Make an environment the way pixi does: py-rattler solves specs against the test
channel and installs the solution into a prefix, with its own package cache.

py-rattler runs in a child process (``python -m tests.support.rattler_env``):
its native runtime has been seen to crash at interpreter exit ("PyGILState_Release:
thread state must be current"), which must not take the test worker down. The
child leaves with ``os._exit`` once the install is done, so Python's finalization
never meets rattler's threads; a run killed by a signal is still tried again.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

ATTEMPTS = 3


def _install(channel: Path, prefix: Path, cache: Path, specs: list[str]) -> None:
    from rattler import Channel, MatchSpec, install, solve

    async def run() -> None:
        records = await solve(sources=[Channel(channel.as_uri())], specs=specs)
        # py-rattler 0.28 hands requested_specs to its native code unconverted
        requested = [MatchSpec(spec)._match_spec for spec in specs]
        await install(
            records,
            target_prefix=prefix,
            cache_dir=cache,
            show_progress=False,
            requested_specs=requested,
        )

    asyncio.run(run())


def rattler_install(channel: Path, prefix: Path, cache: Path, *specs: str) -> None:
    """Install ``specs`` from ``channel`` into ``prefix`` with py-rattler."""
    command = [sys.executable, "-m", "tests.support.rattler_env"]
    command += [str(channel), str(prefix), str(cache), *specs]
    for _ in range(ATTEMPTS):
        result = subprocess.run(
            command,
            cwd=Path(__file__).parents[2],
            capture_output=True,
            text=True,
            timeout=300,
        )
        if result.returncode >= 0:
            break
    assert result.returncode == 0, result.stdout + result.stderr
    assert (prefix / "conda-meta").is_dir()


if __name__ == "__main__":
    channel_arg, prefix_arg, cache_arg, *spec_args = sys.argv[1:]
    _install(Path(channel_arg), Path(prefix_arg), Path(cache_arg), spec_args)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
