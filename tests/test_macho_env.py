"""osx-arm64 binaries conda signed after it hashed them (issue 24), on real files.

A macOS arm64 wheel from PyPI gives a real, linker-signed Mach-O ``.so``. A
test package carries it with conda's binary placeholder in it (a C string in
the zeros of its ``__TEXT`` segment after the last section, where nothing reads
it; signed again as the linker leaves a file), thin and as a universal file;
conda links it into an environment made ``--platform osx-arm64``: off macOS it
replaces the prefix and signs nothing, and its record holds the hash of the
replaced, unsigned file, as conda 26.7.0 to 26.7.x record it on a Mac. The test
then signs the linked files as ``codesign -s - -f`` would
(:mod:`tests.support.codesign`): the state such a conda leaves on a Mac.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from conda_integrity.observe.known_hashes import RACY_SECONDS
from conda_integrity.observe.macho import same_outside_signature

from .support import codesign
from .support.conda_cli import Conda
from .support.helpers import findings, replace_file, verify
from .support.packages import BINARY_PLACEHOLDER, File, Package, build, write_repodata

WHEEL = "markupsafe==3.0.4"
SO = "markupsafe/_speedups.cpython-311-darwin.so"
#: where the placeholder goes: zeros of __TEXT after its last section (checked below)
PLACEHOLDER_AT = 0x1000
THIN = "lib/python3.11/site-packages/markupsafe/_speedups.cpython-311-darwin.so"
FAT = "lib/libspeedups-universal.dylib"
ARM64, ARM64E = (0x0100000C, 0), (0x0100000C, 2)


@pytest.fixture(scope="session")
def linked_so(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """The wheel's linker-signed ``.so``, with conda's binary placeholder in it."""
    folder = tmp_path_factory.mktemp("wheel")
    try:
        result = subprocess.run(
            [
                *(sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:"),
                *("--platform", "macosx_11_0_arm64", "--python-version", "3.11"),
                *("-d", str(folder), "--quiet", "--disable-pip-version-check", WHEEL),
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
    except subprocess.TimeoutExpired:
        pytest.skip(f"pip download {WHEEL} timed out (no network?)")
    wheels = list(folder.glob("*.whl"))
    if result.returncode != 0 or not wheels:
        pytest.skip(f"cannot download {WHEEL} (no network?): {result.stderr.strip()[-200:]}")
    with zipfile.ZipFile(wheels[0]) as wheel:
        data = wheel.read(SO)
    assert codesign.code_directory_hashes_hold(data), "the wheel's .so is linker-signed"
    text = BINARY_PLACEHOLDER.encode() + b"/lib\0"
    assert data[PLACEHOLDER_AT : PLACEHOLDER_AT + len(text) + 16] == bytes(len(text) + 16)
    patched = data[:PLACEHOLDER_AT] + text + data[PLACEHOLDER_AT + len(text) :]
    return codesign.sign(patched, "_speedups.cpython-311-darwin.so", linker=True)


@pytest.fixture
def made(tmp_path: Path, linked_so: bytes) -> tuple[Conda, Path]:
    """A conda with a channel of the package, and an osx-arm64 environment of it."""
    universal = codesign.fat([(*ARM64, linked_so), (*ARM64E, linked_so)])
    package = Package(
        "speedups",
        "1.0",
        subdir="osx-arm64",
        files=[
            File(THIN, linked_so, mode=0o755, prefix_mode="binary"),
            File(FAT, universal, mode=0o755, prefix_mode="binary"),
            File("share/speedups/README", b"plain\n"),
        ],
    )
    channel = tmp_path / "channel"
    build(package, channel)
    build(Package("other", "1.0", subdir="osx-arm64"), channel)
    write_repodata(channel, ("osx-arm64", "noarch"))
    conda = Conda(tmp_path / "sandbox", channel)
    prefix = tmp_path / "env"
    conda.create(prefix, "--platform", "osx-arm64", "speedups")
    return conda, prefix


def _resign(path: Path, reserve: int = 96) -> bytes:
    """Sign the linked file as ``codesign -s - -f`` would; return its bytes."""
    before = path.read_bytes()
    signed = codesign.sign(before, path.name, reserve=reserve)
    # a signature of another size (a universal file's slices stay aligned)
    assert all(len(a) != len(b) for a, b in zip(_thin_files(before), _thin_files(signed)))
    replace_file(path, signed)
    return signed


def _thin_files(data: bytes) -> list[bytes]:
    if data[:4] == b"\xca\xfe\xba\xbe":
        return [thin for _, _, thin in codesign.slices(data)]
    return [data]


def _valid_macho(path: Path) -> None:
    """A Mach-O parser that is not ours reads the file, and its sizes agree."""
    from macholib.mach_o import LC_CODE_SIGNATURE, LC_SEGMENT_64
    from macholib.MachO import MachO

    size = path.stat().st_size
    headers = MachO(str(path)).headers
    assert headers
    for header in headers:
        commands = {lc.cmd: cmd for lc, cmd, _ in header.commands if lc.cmd != LC_SEGMENT_64}
        linkedit = next(
            cmd
            for lc, cmd, _ in header.commands
            if lc.cmd == LC_SEGMENT_64 and cmd.segname.rstrip(b"\0") == b"__LINKEDIT"
        )
        signature = commands[LC_CODE_SIGNATURE]
        end = signature.dataoff + signature.datasize
        assert linkedit.fileoff + linkedit.filesize == end
        assert linkedit.vmsize >= linkedit.filesize and linkedit.vmsize % 0x4000 == 0
        assert header.offset + end <= size
    for thin in _thin_files(path.read_bytes()):
        assert codesign.code_directory_hashes_hold(thin)


def test_conda_replaced_the_prefix_and_signed_nothing(made):
    conda, prefix = made
    data = (prefix / THIN).read_bytes()
    assert BINARY_PLACEHOLDER.encode() not in data
    assert str(prefix).encode() + b"/lib\0" in data
    assert verify(conda, prefix)["findings"] == []


def test_a_file_conda_signed_after_hashing_it_is_no_finding(made):
    conda, prefix = made
    for path in (THIN, FAT):
        _resign(prefix / path)
        _valid_macho(prefix / path)
    report = verify(conda, prefix, "--no-cache")
    assert report["findings"] == [], report
    # the guard's fast check, and a repair, see nothing to do either
    assert verify(conda, prefix, "--fast")["findings"] == []
    repair = conda.run("integrity", "repair", "-p", str(prefix), "--dry-run", "--json")
    assert repair.json()["plan"] == [], repair


def test_a_byte_changed_outside_the_signature_is_altered(made):
    conda, prefix = made
    for path in (THIN, FAT):
        signed = _resign(prefix / path)
        changed = bytearray(signed)
        changed[0x5E0 if path == THIN else 0x4000 + 0x5E0] ^= 0x01  # in __text
        assert not same_outside_signature(signed, bytes(changed))
        replace_file(prefix / path, bytes(changed))
    report = verify(conda, prefix)
    altered = findings(report, "altered-file")
    assert {(f["path"], f["severity"]) for f in altered} == {(THIN, "error"), (FAT, "error")}
    assert not report["ok"]


def test_a_file_changed_then_signed_is_altered(made):
    conda, prefix = made
    path = prefix / THIN
    changed = bytearray(path.read_bytes())
    changed[0x5E0] ^= 0x01
    replace_file(path, bytes(changed))
    _resign(path)
    assert [f["path"] for f in findings(verify(conda, prefix), "altered-file")] == [THIN]


def test_without_the_cached_package_it_cannot_be_confirmed(made):
    conda, prefix = made
    _resign(prefix / THIN)
    for cached in conda.pkgs_dir.glob("speedups-1.0-0*"):
        shutil.rmtree(cached) if cached.is_dir() else cached.unlink()
    time.sleep(RACY_SECONDS + 0.2)  # old enough for the hash verify learns to be kept
    result = conda.verify(prefix)
    assert result.returncode == 0, result
    assert "warning  altered-file" in result.stdout
    assert "cannot be confirmed" in result.stdout
    # and so under --fast (the guard's check), from the hash the run before learned
    for args in ((), ("--fast",)):
        (finding,) = findings(verify(conda, prefix, *args))
        assert (finding["code"], finding["severity"], finding["path"]) == (
            "altered-file",
            "warning",
            THIN,
        )
    # repair fetches the package again and relinks the file: then the cache can say
    result = conda.run("integrity", "repair", "-p", str(prefix), "-y", check=False)
    assert result.returncode == 0, result
    assert (conda.pkgs_dir / "speedups-1.0-0" / "info").is_dir()
    assert verify(conda, prefix)["findings"] == []


def test_the_guard_lets_the_next_install_through(made):
    conda, prefix = made
    _resign(prefix / THIN)
    env = {"CONDA_PLUGINS_INTEGRITY_MODE": "refuse"}
    result = conda.install(prefix, "other", env=env, check=False)
    assert result.returncode == 0, result
    assert "altered-file" not in result.stderr
