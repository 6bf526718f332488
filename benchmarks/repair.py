"""What `conda integrity repair` of one altered file costs, against conda's own reinstall.

    .venv/bin/python benchmarks/repair.py [--repeat N] [--work DIR] [--small]

In the large environment of ``bigenv.py`` (in a copy of its own, made by conda,
so that the other benchmarks' environment is untouched), one file of one package
is replaced with other content (as an editor does: a new file, the package
cache's copy untouched). Then, in turns, each timed as wall time of the whole
command: ``conda integrity repair -y`` (verify, plan, relink through conda's
transaction, verify again), ``conda install --force-reinstall`` of that exact
build (what a user would run by hand; it repairs the file as well), and
``conda integrity verify PKG`` of that package, the anchors of one run. The
file is altered again before each repair and each reinstall. The target: the
repair costs at most the reinstall plus one verify of that package.

``--small`` runs the same on an environment of the test channel (a check that
the script works, not a measurement).
"""

from __future__ import annotations

import json
import shutil
import statistics
import sys
import time
from pathlib import Path

from bigenv import arguments, build_environment

from tests.support import catalog, packages
from tests.support.conda_cli import Conda
from tests.support.helpers import CONDA_VERSION, STANDARD_SPECS, replace_file


def small_environment(work: Path) -> tuple[Conda, Path]:
    """An environment of the test channel (built once, reused)."""
    channel = work / "small-channel"
    if not (work / "small-channel.done").exists():
        shutil.rmtree(channel, ignore_errors=True)
        for package in catalog.channel_packages():
            packages.build(package, channel)
        packages.write_repodata(channel)
        (work / "small-channel.done").touch()
    conda = Conda(work / "small-sandbox", channel)
    prefix = work / "small-env"
    if not (work / "small-env.done").exists():
        shutil.rmtree(prefix, ignore_errors=True)
        conda.create(prefix, *STANDARD_SPECS)
        (work / "small-env.done").touch()
    return conda, prefix


def own_copy(conda: Conda, big: Path, work: Path) -> Path:
    """An environment with the big one's packages, for this benchmark alone."""
    prefix = work / "repair-env"
    if not (work / "repair-env.done").exists():
        names = sorted(json.loads(p.read_text())["name"] for p in big.glob("conda-meta/*.json"))
        print(f"creating {prefix} with {len(names)} packages", file=sys.stderr)
        shutil.rmtree(prefix, ignore_errors=True)
        conda.create(prefix, *names, env={"CONDA_PLUGINS_INTEGRITY_MODE": "off"})
        (work / "repair-env.done").touch()
    return prefix


def victim(prefix: Path) -> tuple[dict, str]:
    """A package (its record) and one plain file of it (not prefix-replaced) to alter."""
    for record_file in sorted(prefix.glob("conda-meta/*.json")):
        record = json.loads(record_file.read_text())
        for entry in record.get("paths_data", {}).get("paths", []):
            path = entry["_path"]
            plain = entry.get("path_type") == "hardlink" and "prefix_placeholder" not in entry
            if plain and path.endswith(".py") and (prefix / path).is_file():
                return record, path
    raise SystemExit(f"no package with a plain .py file in {prefix}")


def main() -> int:
    parser = arguments(__doc__, small="the test channel's environment")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    if args.small:
        conda, prefix = small_environment(args.work)
    else:
        conda, big = build_environment(args.work)
        prefix = own_copy(conda, big, args.work)
    record, path = victim(prefix)
    exact = f"{record['name']}={record['version']}={record['build']}"
    good = (prefix / path).read_bytes()
    where = ("-p", str(prefix))
    commands = {
        "repair": ["integrity", "repair", *where, "-y", "-q"],
        "reinstall": ["install", *where, "--yes", "--quiet", "--force-reinstall", exact],
        "verify": ["integrity", "verify", *where, "-q", record["name"]],
    }
    conda.run("integrity", "verify", *where, "-q", check=False, timeout=3600)  # warm
    times: dict[str, list[float]] = {label: [] for label in commands}
    for _ in range(args.repeat + 1):  # the first round warms caches and is dropped
        for label, command in commands.items():
            if label != "verify":
                replace_file(prefix / path, good + b"# altered\n")
            start = time.perf_counter()
            result = conda.run(*command, check=False, timeout=3600)
            times[label].append(time.perf_counter() - start)
            if label != "verify":
                assert (prefix / path).read_bytes() == good, f"{label} did not repair:\n{result}"
            assert result.returncode == 0, str(result)
    median = {label: statistics.median(spent[1:]) for label, spent in times.items()}
    files = sum(len(json.loads(p.read_text())["files"]) for p in prefix.glob("conda-meta/*.json"))
    budget = median["reinstall"] + median["verify"]
    print(f"environment: {prefix} ({files} files), conda {CONDA_VERSION}")
    print(f"one altered file: {path} of {exact}; median of {args.repeat} runs each, in turns:")
    print(f"  conda integrity repair -y                 {median['repair']:7.3f} s")
    print(f"  conda install --force-reinstall {record['name']:<9} {median['reinstall']:7.3f} s")
    print(f"  conda integrity verify {record['name']:<18} {median['verify']:7.3f} s")
    met = "met" if median["repair"] <= budget else "MISSED"
    print(f"  budget: reinstall + verify of the package = {budget:.3f} s: {met}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
