"""Run the real conda command line in an isolated sandbox.

Every call is a subprocess of ``run_conda.py`` with its own ``HOME``,
``.condarc``, package cache and envs directory, so tests never touch the
developer's conda and never reach the network.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

RUNNER = Path(__file__).with_name("run_conda.py")
#: run a command as root without the capabilities that bypass file permissions
UNPRIVILEGED = [
    "setpriv",
    "--inh-caps=-dac_override,-dac_read_search",
    "--bounding-set=-dac_override,-dac_read_search",
]


@dataclass
class Result:
    """What a conda command printed and returned."""

    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    def json(self) -> dict:
        return json.loads(self.stdout)

    def __str__(self) -> str:
        return (
            f"conda {' '.join(self.args)} -> {self.returncode}\n"
            f"--- stdout\n{self.stdout}\n--- stderr\n{self.stderr}"
        )


class CondaError(AssertionError):
    pass


def finish(process: subprocess.Popen, args: tuple[str, ...], timeout: float = 300) -> Result:
    """The result of a started ``conda ARGS`` once it ended (a hung command fails its
    test, and must not outlive it)."""
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        raise
    return Result(args, process.returncode, stdout, stderr)


class Conda:
    """A sandboxed conda: its own home, condarc, package cache and channel."""

    def __init__(self, root: Path, channel: Path, extra_condarc: str = "") -> None:
        self.root = root
        self.channel = channel
        self.home = root / "home"
        self.pkgs_dir = root / "pkgs"
        self.envs_dir = root / "envs"
        for folder in (self.home, self.pkgs_dir, self.envs_dir):
            folder.mkdir(parents=True, exist_ok=True)
        self.condarc = root / "condarc"
        self.condarc.write_text(
            "channels:\n"
            f"  - {channel.as_uri()}\n"
            "pkgs_dirs:\n"
            f"  - {self.pkgs_dir}\n"
            "envs_dirs:\n"
            f"  - {self.envs_dir}\n"
            "solver: classic\n"
            "offline: true\n"
            "always_yes: true\n"
            "add_pip_as_python_dependency: false\n"
            "notify_outdated_conda: false\n"
            "auto_update_conda: false\n"
            "report_errors: false\n" + extra_condarc
        )

    def environ(self, **extra: str) -> dict[str, str]:
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("CONDA", "_CONDA", "MAMBA")) and key != "PYTHONPATH"
        }
        env.update(
            HOME=str(self.home),
            XDG_CONFIG_HOME=str(self.home / ".config"),
            XDG_CACHE_HOME=str(self.home / ".cache"),
            CONDARC=str(self.condarc),
            CONDA_OVERRIDE_CUDA="",
        )
        env.update(extra)
        return env

    def popen(
        self,
        *args: str,
        env: dict[str, str] | None = None,
        unprivileged: bool = False,
        runner: Path = RUNNER,
        **kwargs,
    ) -> subprocess.Popen:
        """Start ``conda ARGS``; ``runner`` is the script that runs conda's command line
        (``kill_at.py`` kills it at a chosen change on disk); no input unless ``stdin``
        (of ``kwargs``) says where it comes from."""
        wrapper = UNPRIVILEGED if unprivileged and os.geteuid() == 0 else []
        kwargs.setdefault("stdin", subprocess.DEVNULL)
        return subprocess.Popen(
            [*wrapper, sys.executable, str(runner), *args],
            env=self.environ(**(env or {})),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            **kwargs,
        )

    def run(
        self,
        *args: str,
        check: bool = True,
        env: dict[str, str] | None = None,
        unprivileged: bool = False,
        timeout: float = 300,
        runner: Path = RUNNER,
        cwd: Path | None = None,
    ) -> Result:
        """Run ``conda ARGS``; with ``check``, a non-zero exit fails the test.

        ``unprivileged`` runs it without the power to bypass file permissions
        (for root: without CAP_DAC_OVERRIDE), as an ordinary user would.
        """
        process = self.popen(*args, env=env, unprivileged=unprivileged, runner=runner, cwd=cwd)
        result = finish(process, tuple(args), timeout)
        if check and result.returncode != 0:
            raise CondaError(str(result))
        return result

    def create(self, prefix: Path, *specs: str, **kwargs) -> Result:
        return self.run("create", "-p", str(prefix), "--yes", "--quiet", *specs, **kwargs)

    def install(self, prefix: Path, *specs: str, **kwargs) -> Result:
        return self.run("install", "-p", str(prefix), "--yes", "--quiet", *specs, **kwargs)

    def remove(self, prefix: Path, *specs: str, **kwargs) -> Result:
        return self.run("remove", "-p", str(prefix), "--yes", "--quiet", *specs, **kwargs)

    def verify(self, prefix: Path, *args: str, check: bool = False, **kwargs) -> Result:
        """``conda integrity verify -p PREFIX ARGS`` (exit code not checked)."""
        return self.run("integrity", "verify", "-p", str(prefix), *args, check=check, **kwargs)
