"""Sign Mach-O files ad hoc as ``codesign -s - -f`` (or the linker) does, off macOS.

Test-only. A thin 64-bit little-endian file (or each slice of a universal one)
gets a new signature where ``LC_CODE_SIGNATURE`` points: an embedded-signature
SuperBlob with a CodeDirectory of SHA-256 page hashes (4 KiB pages of the file
up to the signature, header included, so the header's new sizes are hashed),
and, as codesign writes it, an empty requirements blob and an empty CMS wrapper;
the linker writes the CodeDirectory alone, flagged ``linker-signed``. The
command's ``datasize``, ``__LINKEDIT``'s ``filesize`` and ``vmsize`` and the
file's length follow the new blob's size. A file without ``LC_CODE_SIGNATURE``
gets one, in the zeros after its load commands.
"""

from __future__ import annotations

import hashlib
import struct

LC_SEGMENT_64, LC_CODE_SIGNATURE = 0x19, 0x1D
SUPERBLOB, CODEDIRECTORY, REQUIREMENTS, CMS_WRAPPER = 0xFADE0CC0, 0xFADE0C02, 0xFADE0C01, 0xFADE0B01
ADHOC, LINKER_SIGNED = 0x2, 0x20000
PAGE = 4096
SEGMENT_ALIGN = 0x4000  # arm64 pages
FAT_MAGIC = 0xCAFEBABE


def _commands(data: bytes | bytearray) -> list[tuple[int, int, int]]:
    """(offset, cmd, cmdsize) of each load command of a thin 64-bit file."""
    magic, _, _, _, ncmds, _, _, _ = struct.unpack_from("<IiiIIIII", data)
    assert magic == 0xFEEDFACF, "a thin 64-bit little-endian Mach-O file"
    found, offset = [], 32
    for _ in range(ncmds):
        cmd, cmdsize = struct.unpack_from("<II", data, offset)
        found.append((offset, cmd, cmdsize))
        offset += cmdsize
    return found


def _linkedit(data: bytes | bytearray) -> int:
    for offset, cmd, _ in _commands(data):
        if cmd == LC_SEGMENT_64 and data[offset + 8 : offset + 24].rstrip(b"\0") == b"__LINKEDIT":
            return offset
    raise AssertionError("no __LINKEDIT segment")


def _code_directory(
    data: bytes, code_limit: int, identifier: str, flags: int, special: list[bytes]
) -> bytes:
    ident = identifier.encode() + b"\0"
    pages = [
        hashlib.sha256(data[start : min(start + PAGE, code_limit)]).digest()
        for start in range(0, code_limit, PAGE)
    ]
    text = next(
        struct.unpack_from("<QQ", data, offset + 40)  # __TEXT's fileoff, filesize
        for offset, cmd, _ in _commands(data)
        if cmd == LC_SEGMENT_64 and data[offset + 8 : offset + 24].rstrip(b"\0") == b"__TEXT"
    )
    header_size = 88  # version 0x20400: up to execSegFlags
    ident_offset = header_size
    hash_offset = ident_offset + len(ident) + 32 * len(special)
    body = (
        ident + b"".join(reversed(special)) + b"".join(pages)  # special slots count down
    )
    length = header_size + len(body)
    filetype = struct.unpack_from("<I", data, 12)[0]
    exec_flags = 1 if filetype == 2 else 0  # main binary
    header = struct.pack(
        ">IIIIIIIIIBBBBIIIIQQQQ",
        CODEDIRECTORY,
        length,
        0x20400,
        flags,
        hash_offset,
        ident_offset,
        len(special),
        len(pages),
        code_limit,
        32,  # hashSize
        2,  # hashType: SHA-256
        0,  # platform
        12,  # log2 of the page size
        0,  # spare2
        0,  # scatterOffset
        0,  # teamOffset
        0,  # spare3
        0,  # codeLimit64
        text[0],  # execSegBase
        text[1],  # execSegLimit
        exec_flags,
    )
    assert len(header) == header_size
    return header + body


def _superblob(blobs: list[tuple[int, bytes]]) -> bytes:
    index_end = 12 + 8 * len(blobs)
    index, offset = b"", index_end
    for slot, blob in blobs:
        index += struct.pack(">II", slot, offset)
        offset += len(blob)
    return (
        struct.pack(">III", SUPERBLOB, offset, len(blobs)) + index + b"".join(b for _, b in blobs)
    )


def sign_thin(data: bytes, identifier: str, *, linker: bool = False, reserve: int = 0) -> bytes:
    """``data`` signed again: by ``codesign -s - -f`` (or by the linker); ``reserve``
    more zero bytes at the end of the signature, as codesign leaves room."""
    out = bytearray(data)
    commands = _commands(out)
    signature = [(offset, size) for offset, cmd, size in commands if cmd == LC_CODE_SIGNATURE]
    linkedit = _linkedit(out)
    fileoff = struct.unpack_from("<Q", out, linkedit + 40)[0]
    if signature:
        command = signature[0][0]
        dataoff = struct.unpack_from("<I", out, command + 8)[0]
    else:  # add the command after the others; the signature after __LINKEDIT's data
        ncmds, sizeofcmds = struct.unpack_from("<II", out, 16)
        command = 32 + sizeofcmds
        assert out[command : command + 16] == bytes(16), "no room for LC_CODE_SIGNATURE"
        struct.pack_into("<II", out, 16, ncmds + 1, sizeofcmds + 16)
        dataoff = -(-len(out) // 16) * 16
    del out[dataoff:]
    out += bytes(dataoff - len(out))
    requirements = struct.pack(">III", REQUIREMENTS, 12, 0)
    special = [b"\0" * 32, hashlib.sha256(requirements).digest()] if not linker else []
    flags = ADHOC | LINKER_SIGNED if linker else ADHOC
    # the blob's size decides the header's fields, which the page hashes cover
    probe = _code_directory(bytes(out), dataoff, identifier, flags, special)
    extra = [] if linker else [(2, requirements), (0x10000, struct.pack(">II", CMS_WRAPPER, 8))]
    size = len(_superblob([(0, probe), *extra]))
    datasize = -(-(size + reserve) // 16) * 16
    struct.pack_into("<IIII", out, command, LC_CODE_SIGNATURE, 16, dataoff, datasize)
    filesize = dataoff + datasize - fileoff
    vmsize = -(-filesize // SEGMENT_ALIGN) * SEGMENT_ALIGN
    struct.pack_into("<Q", out, linkedit + 32, vmsize)
    struct.pack_into("<Q", out, linkedit + 48, filesize)
    directory = _code_directory(bytes(out), dataoff, identifier, flags, special)
    blob = _superblob([(0, directory), *extra])
    return bytes(out) + blob + bytes(datasize - len(blob))


def slices(data: bytes) -> list[tuple[int, int, bytes]]:
    """(cputype, cpusubtype, slice) of a universal file."""
    magic, count = struct.unpack_from(">II", data)
    assert magic == FAT_MAGIC
    found = []
    for number in range(count):
        cputype, cpusubtype, offset, size, _ = struct.unpack_from(">iiIII", data, 8 + 20 * number)
        found.append((cputype, cpusubtype, data[offset : offset + size]))
    return found


def fat(parts: list[tuple[int, int, bytes]], align: int = 14) -> bytes:
    """A universal file of ``parts`` (cputype, cpusubtype, thin file)."""
    header = struct.pack(">II", FAT_MAGIC, len(parts))
    offset = 1 << align
    entries, body = b"", b""
    for cputype, cpusubtype, thin in parts:
        entries += struct.pack(">iiIII", cputype, cpusubtype, offset, len(thin), align)
        padded = thin + bytes(-len(thin) % (1 << align))
        body += padded
        offset += len(padded)
    head = header + entries
    return head + bytes((1 << align) - len(head)) + body


def sign(data: bytes, identifier: str, *, linker: bool = False, reserve: int = 0) -> bytes:
    """``data`` signed again, thin or universal (every slice)."""
    if struct.unpack_from(">I", data)[0] == FAT_MAGIC:
        return fat(
            [
                (cputype, cpusubtype, sign_thin(thin, identifier, linker=linker, reserve=reserve))
                for cputype, cpusubtype, thin in slices(data)
            ]
        )
    return sign_thin(data, identifier, linker=linker, reserve=reserve)


def code_directory_hashes_hold(data: bytes) -> bool:
    """Whether the page hashes of a thin file's CodeDirectory match its pages."""
    command = next(o for o, cmd, _ in _commands(data) if cmd == LC_CODE_SIGNATURE)
    dataoff, _ = struct.unpack_from("<II", data, command + 8)
    magic, _, count = struct.unpack_from(">III", data, dataoff)
    assert magic == SUPERBLOB
    for number in range(count):
        slot, offset = struct.unpack_from(">II", data, dataoff + 12 + 8 * number)
        if slot == 0:
            directory = dataoff + offset
            hash_offset, _, _, slots, limit = struct.unpack_from(">IIIII", data, directory + 16)
            return all(
                data[directory + hash_offset + 32 * page : directory + hash_offset + 32 * page + 32]
                == hashlib.sha256(data[start : min(start + PAGE, limit)]).digest()
                for page, start in enumerate(range(0, limit, PAGE))
            ) and slots == -(-limit // PAGE)
    return False
