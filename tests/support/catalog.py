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
"""

from __future__ import annotations

import os
import random
import sys

from .packages import BINARY_PLACEHOLDER, TEXT_PLACEHOLDER, File, Package

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
            File("site-packages/pyfoo-1.0.dist-info/METADATA", b"Name: pyfoo\nVersion: 1.0\n"),
            File("site-packages/pyfoo-1.0.dist-info/INSTALLER", b"conda\n"),
            File("python-scripts/pyfoo-helper", b"#!/bin/sh\necho helper\n", 0o755),
        ],
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


def channel_packages() -> list[Package]:
    """Every package of the shared test channel."""
    return [
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
    ]
