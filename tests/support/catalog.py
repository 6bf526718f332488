"""The packages of the test channel: every kind of path conda writes.

- ``python``: a real interpreter for the environment. ``bin/python3.X`` is a
  symlink to the host interpreter and ``pyvenv.cfg`` makes the environment its
  ``sys.prefix``, so conda compiles ``.pyc`` files and writes entry points for
  noarch python packages exactly as it does with a real python package.
- ``libfoo`` 1.0 and 2.0: hard-linked files, a relative symlink, an executable,
  a text file and a binary file with a prefix placeholder.
- ``footools``: depends on ``libfoo``; an executable script with the prefix in
  its shebang (text prefix replacement).
- ``pyfoo``: noarch python with a module tree and a console entry point.
- ``clobber-a`` and ``clobber-b``: both ship ``share/clobbered.txt``.
- ``zlibby``: shipped as ``.conda`` rather than ``.tar.bz2``, with a file large
  enough to be hashed on a worker thread.
- ``slowpost``: a post-link script that says it started, then waits, so a test
  can kill conda in the middle of a transaction.
- ``chmodder``: a post-link script that changes the mode of one of its files.
- ``fooplugin`` (depends on ``libfoo 1.x``), ``foolimit`` (constrains ``libfoo
  <2``) and ``needsgpu`` (depends on the virtual packages ``__cuda`` and
  ``__glibc``): for the dependency checks.
- ``alpha`` 1.0 and 2.0: a symlink to a folder of the package
  (``share/alpha/dirlink`` -> ``nested``), which conda's update leaves behind as
  ``dirlink.c~``.
- ``pip``: the real pip, made from the wheel the host Python bundles for
  ``ensurepip`` (no download), so that tests can ``pip install`` wheels into an
  environment's Python as users do.
"""

from __future__ import annotations

import configparser
import glob
import os
import random
import sys
import zipfile
from pathlib import Path

from .packages import BINARY_PLACEHOLDER, TEXT_PLACEHOLDER, File, Package, build, write_repodata

PY_VERSION = "{}.{}".format(*sys.version_info[:2])
PY_FULL_VERSION = "{}.{}.{}".format(*sys.version_info[:3])
SITE_PACKAGES = f"lib/python{PY_VERSION}/site-packages"


def _host_interpreter() -> str:
    """The host's real interpreter, outside of any virtual environment."""
    base = getattr(sys, "_base_executable", None) or sys.executable
    return os.path.realpath(base)


def python_package() -> Package:
    interpreter = _host_interpreter()
    home = os.path.dirname(interpreter)
    pyvenv = f"home = {home}\ninclude-system-site-packages = false\nversion = {PY_FULL_VERSION}\n"
    return Package(
        name="python",
        version=PY_FULL_VERSION,
        build="h0_test",
        files=[
            File(f"bin/python{PY_VERSION}", symlink_to=interpreter),
            File("bin/python3", symlink_to=f"python{PY_VERSION}"),
            File("bin/python", symlink_to=f"python{PY_VERSION}"),
            File("pyvenv.cfg", pyvenv.encode()),
            File(f"lib/python{PY_VERSION}/site-packages/README.txt", b"site-packages\n"),
            File(
                f"include/python{PY_VERSION}/pyconfig.h",
                f'#define PY_VERSION "{PY_FULL_VERSION}"\n'.encode(),
            ),
        ],
    )


def _binary_blob(tag: bytes) -> bytes:
    """An ELF-looking payload with an embedded, NUL-padded prefix placeholder."""
    return (
        b"\x7fELF\x02\x01\x01\x00"
        + tag
        + b"\x00" * 64
        + BINARY_PLACEHOLDER.encode()
        + b"/lib\x00"
        + b"\x00" * 32
        + bytes(range(256)) * 4
    )


def libfoo(version: str) -> Package:
    major = version.split(".")[0]
    return Package(
        name="libfoo",
        version=version,
        build="h1234_0",
        files=[
            File(f"lib/libfoo.so.{major}", b"\x7fELF libfoo " + version.encode() * 100, 0o755),
            File("lib/libfoo.so", symlink_to=f"libfoo.so.{major}"),
            File("include/foo.h", f'#define FOO_VERSION "{version}"\n'.encode()),
            File(
                "bin/foo-config",
                f"#!/bin/sh\necho {TEXT_PLACEHOLDER}/lib libfoo-{version}\n".encode(),
                0o755,
                prefix_mode="text",
            ),
            File("share/foo/runtime.bin", _binary_blob(version.encode()), prefix_mode="binary"),
            File(f"share/foo/{version}.txt", f"libfoo {version}\n".encode()),
            File("share/foo/empty.dat", b""),
        ],
    )


def footools() -> Package:
    return Package(
        name="footools",
        version="1.0",
        build="h5678_0",
        depends=("libfoo >=1.0",),
        files=[
            File(
                "bin/footool",
                f"#!{TEXT_PLACEHOLDER}/bin/python\nprint('footool')\n".encode(),
                0o755,
                prefix_mode="text",
            ),
            File("share/footools/README", b"footools\n"),
            # a module without a .pyc: Python writes one into __pycache__ on import
            File(f"{SITE_PACKAGES}/footools_helper.py", b"HELPER = True\n"),
        ],
    )


def pyfoo() -> Package:
    return Package(
        name="pyfoo",
        version="1.0",
        build="pyh0_0",
        noarch_python=True,
        depends=("python >=3",),
        entry_points=("pyfoo = pyfoo.cli:main",),
        files=[
            File("site-packages/pyfoo/__init__.py", b"VERSION = '1.0'\n"),
            File(
                "site-packages/pyfoo/cli.py",
                b"def main():\n    print('pyfoo')\n    return 0\n",
            ),
            File("site-packages/pyfoo/data/table.csv", b"a,b\n1,2\n"),
            File(
                "site-packages/pyfoo-1.0.dist-info/METADATA",
                b"Metadata-Version: 2.1\nName: pyfoo\nVersion: 1.0\n",
            ),
            File("site-packages/pyfoo-1.0.dist-info/INSTALLER", b"conda\n"),
            # as conda-forge packages built by pip carry it: pip can uninstall them
            File("site-packages/pyfoo-1.0.dist-info/RECORD", PYFOO_RECORD),
            File("python-scripts/pyfoo-helper", b"#!/bin/sh\necho helper\n", 0o755),
        ],
    )


PYFOO_RECORD = (
    b"pyfoo/__init__.py,,\npyfoo/cli.py,,\npyfoo/data/table.csv,,\n"
    b"pyfoo-1.0.dist-info/METADATA,,\npyfoo-1.0.dist-info/INSTALLER,,\n"
    b"pyfoo-1.0.dist-info/RECORD,,\n../../../bin/pyfoo,,\n"
)


def clobberer(name: str) -> Package:
    return Package(
        name=name,
        version="1.0",
        build="0",
        files=[
            File("share/clobbered.txt", f"written by {name}\n".encode()),
            File(f"share/{name}.txt", f"{name}\n".encode()),
        ],
    )


def zlibby() -> Package:
    return Package(
        name="zlibby",
        version="1.3",
        build="h0_1",
        extension=".conda",
        files=[
            File("lib/libzlibby.so.1.3", b"\x7fELF zlibby" * 200, 0o755),
            File("lib/libzlibby.so.1", symlink_to="libzlibby.so.1.3"),
            File("include/zlibby.h", b"int zlibby(void);\n"),
            File("lib/libzlibby.a", random.Random(0).randbytes(3 * 1024 * 1024 + 17)),
        ],
    )


def slowpost() -> Package:
    # the test names a folder outside the prefix for the handshake (SLOWPOST_DIR)
    script = (
        'touch "$SLOWPOST_DIR/started"\n'
        "i=0\n"
        'while [ $i -lt 600 ] && [ ! -e "$SLOWPOST_DIR/continue" ]; do\n'
        "  sleep 0.1; i=$((i+1))\n"
        "done\n"
    )
    return Package(
        name="slowpost",
        version="1.0",
        build="0",
        files=[File("share/slowpost/data.txt", b"slowpost\n")],
        scripts={"post-link": script},
    )


def chmodder() -> Package:
    """Its post-link script makes a file executable that the archive ships without."""
    return Package(
        name="chmodder",
        version="1.0",
        build="0",
        files=[File("share/chmodder/tool", b"#!/bin/sh\necho tool\n")],
        scripts={"post-link": 'chmod 755 "$PREFIX/share/chmodder/tool"\n'},
    )


def fooplugin() -> Package:
    return Package(
        name="fooplugin",
        version="1.0",
        build="h0_0",
        depends=("libfoo >=1.0,<2.0a0",),
        files=[File("lib/foo/plugins/plugin.so", b"\x7fELF fooplugin")],
    )


def foolimit() -> Package:
    return Package(
        name="foolimit",
        version="1.0",
        build="0",
        constrains=("libfoo <2.0",),
        files=[File("share/foolimit/README", b"works with libfoo 1 only\n")],
    )


def needsgpu() -> Package:
    return Package(
        name="needsgpu",
        version="1.0",
        build="cuda11_0",
        depends=("__cuda >=11.2", "__glibc >=2.17,<3.0.a0", "libfoo"),
        files=[File("lib/libneedsgpu.so", b"\x7fELF needsgpu")],
    )


def alpha(version: str) -> Package:
    return Package(
        name="alpha",
        version=version,
        build="0",
        files=[
            File("share/alpha/nested/data.txt", f"alpha {version}\n".encode()),
            File("share/alpha/dirlink", symlink_to="nested"),
        ],
    )


def bundled_pip_wheel() -> str | None:
    """The pip wheel the host Python ships for ``ensurepip``, if it has one."""
    try:
        import ensurepip
    except ImportError:
        return None
    bundled = os.path.join(os.path.dirname(ensurepip.__file__), "_bundled")
    wheels = sorted(glob.glob(os.path.join(bundled, "pip-*.whl")))
    return wheels[-1] if wheels else None


def pip_package(wheel: str) -> Package:
    """The real pip as a noarch python conda package, from its wheel."""
    return wheel_package(wheel, "pip", installer=b"conda\n")


def wheel_package(wheel: str | os.PathLike, name: str, installer: bytes | None) -> Package:
    """A noarch python conda package made from ``wheel``, with the ``INSTALLER`` that
    conda-build's ``pip install`` writes, or (``installer=None``) none, as packages
    converted from wheels by other tools have."""
    version = os.path.basename(wheel).split("-")[1]
    files = []
    entry_points: list[str] = []
    dist_info = None
    with zipfile.ZipFile(wheel) as archive:
        for member in archive.namelist():
            if member.endswith("/"):
                continue
            content = archive.read(member)
            if member.endswith(".dist-info/entry_points.txt"):
                parser = configparser.ConfigParser(delimiters=("=",))
                parser.read_string(content.decode())
                entry_points = [f"{k} = {v}" for k, v in parser["console_scripts"].items()]
            if member.endswith(".dist-info/METADATA"):
                dist_info = member.rpartition("/")[0]
            files.append(File(f"site-packages/{member}", content))
    if installer is not None:
        files.append(File(f"site-packages/{dist_info}/INSTALLER", installer))
    return Package(
        name=name,
        version=version,
        build="pyh0_0",
        noarch_python=True,
        depends=("python >=3.7",),
        entry_points=tuple(entry_points),
        files=files,
    )


def channel_packages() -> list[Package]:
    """Every package of the shared test channel."""
    wheel = bundled_pip_wheel()
    return [
        *([pip_package(wheel)] if wheel else []),
        python_package(),
        libfoo("1.0"),
        libfoo("2.0"),
        footools(),
        pyfoo(),
        clobberer("clobber-a"),
        clobberer("clobber-b"),
        zlibby(),
        slowpost(),
        chmodder(),
        fooplugin(),
        foolimit(),
        needsgpu(),
        alpha("1.0"),
        alpha("2.0"),
    ]


# -- other platforms: what ``conda create --platform SUBDIR`` links here ----------------

#: the subdirs of other platforms the tests create environments for
OTHER_SUBDIRS = ("osx-arm64", "win-64", "linux-aarch64")
#: the first bytes of an executable of each subdir (none of them runs here)
_MAGIC = {
    "osx-arm64": b"\xcf\xfa\xed\xfe\x0c\x00\x00\x01",  # Mach-O 64-bit, arm64
    "win-64": b"MZ\x90\x00\x03\x00\x00\x00",  # a PE's DOS header
    "linux-aarch64": b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 8 + b"\x02\x00\xb7\x00",
}


def _executable(subdir: str, tag: bytes) -> bytes:
    return _MAGIC[subdir] + b"\x00" * 56 + tag + bytes(range(256))


def _build_string(subdir: str) -> str:
    # distinct per subdir: a package cache holds one folder per name-version-build
    return "h0_" + subdir.replace("-", "_")


def platform_python(subdir: str) -> Package:
    """A python record for ``subdir``, laid out as conda-forge's is there; its
    interpreter cannot run here, so conda cannot compile noarch packages' ``.pyc``."""
    interpreter = _executable(subdir, b"python")
    if subdir.startswith("win"):
        files = [
            File("python.exe", interpreter, 0o755),
            File(f"python{PY_VERSION.replace('.', '')}.dll", _executable(subdir, b"dll")),
            File("Lib/os.py", b"# os\n"),
            File("Lib/site-packages/README.txt", b"site-packages\n"),
            File("Scripts/.keep", b""),
        ]
    else:
        files = [
            File(f"bin/python{PY_VERSION}", interpreter, 0o755),
            File("bin/python3", symlink_to=f"python{PY_VERSION}"),
            File("bin/python", symlink_to=f"python{PY_VERSION}"),
            File(f"{SITE_PACKAGES}/README.txt", b"site-packages\n"),
        ]
    return Package("python", PY_FULL_VERSION, _build_string(subdir), subdir=subdir, files=files)


def platlib(subdir: str, name: str = "platlib") -> Package:
    """A library for ``subdir`` with a binary and a text prefix placeholder, an
    executable and (off Windows) a symlink; on Windows also a menuinst shortcut
    and conda's Windows folders (``Library/``, ``Scripts/``, ``Menu/``)."""
    binary = _executable(subdir, name.encode()) + BINARY_PLACEHOLDER.encode() + b"\x00" * 32
    if subdir.startswith("win"):
        files = [
            File(f"Library/bin/{name}.dll", binary, prefix_mode="binary"),
            File(
                f"Scripts/{name}-config.bat",
                f"@echo {TEXT_PLACEHOLDER}\\Library\r\n".encode(),
                prefix_mode="text",
            ),
            File(f"Library/include/{name.capitalize()}.h", b"int platlib(void);\n"),
            File(f"Menu/{name}.json", b'{"menu_name": "PlatLib", "menu_items": []}\n'),
        ]
    else:
        files = [
            File(f"lib/lib{name}.so.1", binary, 0o755, prefix_mode="binary"),
            File(f"lib/lib{name}.so", symlink_to=f"lib{name}.so.1"),
            File(
                f"bin/{name}-config",
                f"#!/bin/sh\necho {TEXT_PLACEHOLDER}\n".encode(),
                0o755,
                prefix_mode="text",
            ),
            File(f"include/{name}.h", b"int platlib(void);\n"),
        ]
    return Package(name, "1.0", _build_string(subdir), subdir=subdir, files=files)


def build_platform_channel(channel: Path) -> None:
    """Add to ``channel`` a python, ``platlib`` and ``platextra`` for every subdir of
    :data:`OTHER_SUBDIRS` (noarch python packages come from the channel itself)."""
    for subdir in OTHER_SUBDIRS:
        for package in (platform_python(subdir), platlib(subdir), platlib(subdir, "platextra")):
            build(package, channel)
    write_repodata(channel, ("linux-64", "noarch", *OTHER_SUBDIRS))
