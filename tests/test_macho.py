"""Mach-O files equal outside their code signatures, and conda's binary prefix
replacement: pure logic on files built in memory."""

from __future__ import annotations

import struct

import pytest

from conda_integrity.observe.macho import outside_signature, same_outside_signature
from conda_integrity.observe.resigned import replace_binary_prefix

from .support import codesign

TEXT = b"\xc0\x03\x5f\xd6" * 2000 + b"/opt/placeholder_placeholder\0rest\0"


def thin(*, text: bytes = TEXT, signed: bool = True, cputype: int = 0x0100000C) -> bytes:
    """A small arm64 dylib: __TEXT (header and code), __LINKEDIT, a linker's signature."""
    commands = []
    text_size = -(-(32 + 72 * 2 + 16 + 512 + len(text)) // 0x4000) * 0x4000
    linkedit = b"\x01symbols\0" * 40
    commands.append(
        struct.pack("<II16sQQQQiiII", 0x19, 72, b"__TEXT", 0, text_size, 0, text_size, 5, 5, 0, 0)
    )
    commands.append(
        struct.pack(
            "<II16sQQQQiiII",
            0x19,
            72,
            b"__LINKEDIT",
            text_size,
            0x4000,
            text_size,
            len(linkedit),
            1,
            1,
            0,
            0,
        )
    )
    header = struct.pack(
        "<IiiIIIII", 0xFEEDFACF, cputype, 0, 6, len(commands), sum(map(len, commands)), 0x85, 0
    )
    head = header + b"".join(commands)
    body = head + bytes(32 + 72 * 2 + 16 + 512 - len(head)) + text
    data = body + bytes(text_size - len(body)) + linkedit
    return codesign.sign_thin(data, "lib.dylib", linker=True) if signed else data


def test_a_new_signature_of_another_size_is_outside():
    linked = thin()
    resigned = codesign.sign(linked, "lib", reserve=200)
    assert len(resigned) != len(linked)
    assert codesign.code_directory_hashes_hold(resigned)
    assert same_outside_signature(linked, resigned)
    assert same_outside_signature(resigned, linked)


def test_a_signature_added_to_an_unsigned_file_is_outside():
    unsigned = thin(signed=False)
    signed = codesign.sign(unsigned, "lib")
    assert struct.unpack_from("<I", signed, 16)[0] == struct.unpack_from("<I", unsigned, 16)[0] + 1
    assert same_outside_signature(unsigned, signed)


@pytest.mark.parametrize("where", ["code", "header", "linkedit", "after"])
def test_a_change_anywhere_else_shows(where):
    linked = thin()
    resigned = bytearray(codesign.sign(linked, "lib"))
    if where == "code":
        resigned[9000] ^= 1
    elif where == "header":
        resigned[24] ^= 1  # the header's flags
    elif where == "linkedit":
        resigned[0x4000 + 3] ^= 1
    else:
        resigned += b"appended"
    assert not same_outside_signature(linked, bytes(resigned))


def test_a_change_before_signing_shows():
    changed = bytearray(thin(signed=False))
    changed[8000] ^= 0xFF
    assert not same_outside_signature(thin(), codesign.sign(bytes(changed), "lib"))


def test_a_universal_file_is_compared_slice_by_slice():
    linked = codesign.fat([(0x0100000C, 0, thin()), (0x01000007, 3, thin(cputype=0x01000007))])
    resigned = codesign.sign(linked, "lib", reserve=64)
    assert len(resigned) != len(linked) or resigned != linked
    assert same_outside_signature(linked, resigned)
    parts = codesign.slices(resigned)
    damaged = codesign.fat(
        [parts[0], (parts[1][0], parts[1][1], parts[1][2][:9000] + b"X" + parts[1][2][9001:])]
    )
    assert not same_outside_signature(linked, damaged)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"#!/bin/sh\n",
        b"\xca\xfe\xba\xbe\x00\x00\x00\x34java class",
        b"\xcf\xfa\xed\xfe" + bytes(4),
    ],
)
def test_what_is_no_mach_o_file_is_never_equal(data):
    assert outside_signature(data) is None
    assert not same_outside_signature(data, data)


def test_a_truncated_file_is_no_mach_o_file():
    assert outside_signature(thin()[:40]) is None


def test_binary_replacement_pads_with_nuls_as_conda_does():
    data = b"\0x/opt/placeholder_placeholder/lib:/opt/placeholder_placeholder/bin\0tail"
    replaced = replace_binary_prefix(data, "/opt/placeholder_placeholder", "/env")
    assert replaced == b"\0x/env/lib:/env/bin" + b"\0" * (2 * 24) + b"\0tail"
    assert len(replaced) == len(data)


def test_binary_replacement_in_utf16():
    placeholder = "/opt/placeholder_placeholder"
    data = b"A" + (placeholder + "/x").encode("utf-16-le") + b"\0\0" + b"Z"
    replaced = replace_binary_prefix(data, placeholder, "/env")
    assert replaced == b"A" + "/env/x".encode("utf-16-le") + bytes(48) + b"\0\0Z"


def test_binary_replacement_with_a_longer_prefix_fails_as_in_conda():
    assert replace_binary_prefix(b"/short\0", "/short", "/much/longer") is None
    assert replace_binary_prefix(b"nothing\0", "/short", "/much/longer") == b"nothing\0"


def test_conda_agrees_with_our_binary_replacement():
    from conda.core.portability import binary_replace

    placeholder = "/opt/placeholder_placeholder"
    data = TEXT + (placeholder + "/share").encode() + b"\0" + placeholder.encode("utf-32-be")
    ours = replace_binary_prefix(data, placeholder, "/e")
    theirs = data
    for encoding in ("utf-8", "utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"):
        theirs = binary_replace(
            theirs, placeholder.encode(encoding), b"/e".decode().encode(encoding), encoding
        )
    assert ours == theirs


def test_any_cut_or_flip_of_a_file_is_read_without_an_error():
    data = codesign.sign(thin(), "lib")
    for end in range(0, len(data), 97):
        outside_signature(data[:end])
    for at in range(0, 400, 3):
        flipped = bytearray(data)
        flipped[at] ^= 0xFF
        outside_signature(bytes(flipped))


@pytest.mark.parametrize(("subdir", "size"), [("osx-arm64", None), ("osx-64", 5000)])
def test_the_recorded_size_of_a_binary_conda_signs_is_not_compared(subdir, size):
    from conda_integrity.records.model import build_record

    entry = {
        "_path": "lib/libx.dylib",
        "path_type": "hardlink",
        "sha256": "a" * 64,
        "sha256_in_prefix": "b" * 64,
        "size_in_bytes": 5000,
        "prefix_placeholder": "/opt/placeholder",
        "file_mode": "binary",
    }
    raw = {
        "name": "x",
        "version": "1",
        "build": "0",
        "subdir": subdir,
        "files": ["lib/libx.dylib"],
        "paths_data": {"paths": [entry], "paths_version": 1},
    }
    record = build_record("x-1-0", raw, None)
    (owned,) = record.paths  # type: ignore[union-attr]
    assert (owned.sha256, owned.size) == ("b" * 64, size)
