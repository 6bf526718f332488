"""The main job, end to end, on a small demo environment.

Builds a local channel, creates an environment with real conda, verifies it
(clean), damages it the way environments get damaged in life, and verifies it
again; then verifies every environment conda knows (a second one shares the
package cache's files with the first by hard link) and the package cache::

    .venv/bin/python -m tests.demo [FOLDER]      # default: ./demo

Exit code 0 when verify found exactly the damage done, 1 otherwise.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

from tests.support import catalog, packages
from tests.support.conda_cli import RUNNER, Conda
from tests.support.helpers import STANDARD_SPECS, edit_in_place, record_of

MARKER = ".conda-integrity-demo"
EXPECTED = {
    ("missing-file", "include/foo.h"),
    ("altered-file", f"{catalog.SITE_PACKAGES}/pyfoo/cli.py"),
    ("altered-file", "lib/libfoo.so"),
    ("mode-changed", "bin/foo-config"),
    ("clobbered-file", "share/clobbered.txt"),
    ("corrupt-record", "conda-meta/footools-1.0-h5678_0.json"),
    ("transaction-debris", "lib/libfoo.so.2.c~"),
}


def say(text: str) -> None:
    print(f"\n=== {text}", flush=True)


def show(command: list[str], result) -> None:  # type: ignore[no-untyped-def]
    print("$ conda " + " ".join(command), flush=True)
    print(result.stdout.rstrip(), flush=True)
    if result.stderr.strip():
        print(result.stderr.rstrip(), file=sys.stderr, flush=True)
    print(f"(exit code {result.returncode})", flush=True)


def prepare(folder: Path) -> None:
    if folder.exists():
        if not (folder / MARKER).exists():
            raise SystemExit(f"{folder} exists and is not a demo folder; choose another one")
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    (folder / MARKER).touch()


def damage(conda: Conda, env: Path) -> None:
    print("- two packages writing one file: conda install clobber-b")
    conda.install(env, "clobber-b")
    print("- deleted by hand:               include/foo.h")
    (env / "include" / "foo.h").unlink()
    print("- edited in place:               pyfoo/cli.py (same size)")
    edit_in_place(env / catalog.SITE_PACKAGES / "pyfoo" / "cli.py", 0, b"#")
    print("- symlink pointed elsewhere:     lib/libfoo.so -> /etc/hostname")
    (env / "lib" / "libfoo.so").unlink()
    (env / "lib" / "libfoo.so").symlink_to("/etc/hostname")
    print("- lost its executable bit:       bin/foo-config")
    os.chmod(env / "bin" / "foo-config", 0o644)
    print("- cut short by a crash:          conda-meta/footools-1.0-h5678_0.json")
    record = record_of(env, "footools")
    content = record.read_bytes()
    # cut before the first path in the record, so the error reads the same anywhere
    record.write_bytes(content[: content.index(b'"channel"') + 20])
    print("- left by an aborted conda run:  lib/libfoo.so.2.c~")
    (env / "lib" / "libfoo.so.2.c~").write_bytes(b"old library\n")


def main(argv: list[str]) -> int:
    folder = Path(argv[0] if argv else "demo").resolve()
    prepare(folder)
    say("building a local conda channel with test packages")
    channel = folder / "channel"
    for package in catalog.channel_packages():
        packages.build(package, channel)
    packages.write_repodata(channel)
    conda = Conda(folder / "conda", channel)
    env = folder / "env"

    say("creating an environment with real conda")
    conda.create(env, *STANDARD_SPECS, "clobber-a")
    print(f"created {env} with {', '.join(STANDARD_SPECS)}, clobber-a")
    conda.run("create", "-n", "two", "--yes", "--quiet", "python", "pyfoo")
    print(f"created {conda.envs_dir / 'two'} with python, pyfoo (from the same package cache)")

    say("verifying the new environment")
    command = ["integrity", "verify", "-p", str(env)]
    show(command, conda.run(*command, check=False))

    say("damaging it")
    damage(conda, env)

    say("verifying it again")
    result = conda.run(*command, check=False)
    show(command, result)
    report = json.loads(conda.run(*command, "--json", check=False).stdout)
    found = {(f["code"], f.get("path")) for f in report["findings"]}

    say("verifying every environment conda knows")
    every = ["integrity", "verify", "--all"]
    show(every, conda.run(*every, check=False))

    say("verifying the package cache")
    cache = ["integrity", "verify", "--pkgs-dirs"]
    cache_result = conda.run(*cache, check=False)
    show(cache, cache_result)

    say("done")
    print(f"Run it yourself: {sys.executable} {RUNNER} integrity verify -p {env}")
    if found != EXPECTED or result.returncode != 1:
        print(f"unexpected findings: {sorted(found ^ EXPECTED)}", file=sys.stderr)
        return 1
    if cache_result.returncode != 1:  # the in-place edit of pyfoo/cli.py reached the cache
        print("verify --pkgs-dirs did not find the damaged cache", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
