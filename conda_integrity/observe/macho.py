"""Mach-O files seen without their code signature: pure logic on bytes.

On osx-arm64, ``codesign -s - -f`` replaces a file's signature (the blob that
``LC_CODE_SIGNATURE`` points to, at the end of ``__LINKEDIT``) and updates the
sizes that point to it: the command's ``datasize``, the ``__LINKEDIT``
segment's ``filesize`` and ``vmsize``, the file's length (and, for a slice of
a universal file, the slice's offset and size in the fat header); signing a
file that had no signature also adds the command, counted in the header's
``ncmds`` and ``sizeofcmds``. :func:`outside_signature` is a file's bytes with
all of that taken out, so that two files that differ only by their signatures
give the same bytes (:func:`same_outside_signature`). Any other change,
however small, still shows.
"""

from __future__ import annotations

import struct

LC_SEGMENT = 0x1
LC_SEGMENT_64 = 0x19
LC_CODE_SIGNATURE = 0x1D
_THIN = {
    # magic as little-endian bytes read it -> (byte order, 64-bit)
    0xFEEDFACE: ("<", False),
    0xFEEDFACF: ("<", True),
    0xCEFAEDFE: (">", False),
    0xCFFAEDFE: (">", True),
}
FAT_MAGIC, FAT_MAGIC_64 = 0xCAFEBABE, 0xCAFEBABF
#: more slices than any universal file has; Java class files share FAT_MAGIC and
#: give their version (45 and up) where the slice count would be
_MOST_SLICES = 20


class _NotMachO(Exception):
    """The bytes are no Mach-O file this module understands."""


def outside_signature(data: bytes) -> bytes | None:
    """``data`` without its code signature and the sizes that point to it; None
    when it is no Mach-O file (or one too damaged to read)."""
    try:
        if len(data) >= 8 and struct.unpack_from(">I", data)[0] in (FAT_MAGIC, FAT_MAGIC_64):
            return _fat(data)
        return _thin(data)
    except (_NotMachO, struct.error):
        return None


def same_outside_signature(one: bytes, other: bytes) -> bool:
    """Whether two Mach-O files are equal but for their code signatures."""
    mine = outside_signature(one)
    return mine is not None and mine == outside_signature(other)


def _fat(data: bytes) -> bytes:
    magic, count = struct.unpack_from(">II", data)
    if not 0 < count <= _MOST_SLICES:
        raise _NotMachO
    wide = magic == FAT_MAGIC_64
    entry = ">iiQQII" if wide else ">iiIII"
    size = struct.calcsize(entry)
    parts = [data[:8]]
    for number in range(count):
        fields = struct.unpack_from(entry, data, 8 + number * size)
        cputype, cpusubtype, offset, length, align = fields[:5]
        if offset + length > len(data):
            raise _NotMachO
        # where a slice starts and how long it is follow from its signature
        parts.append(struct.pack(">iiI", cputype, cpusubtype, align))
        parts.append(_thin(data[offset : offset + length]))
    return b"".join(parts)


def _thin(data: bytes) -> bytes:
    if len(data) < 28:
        raise _NotMachO
    known = _THIN.get(struct.unpack_from("<I", data)[0])
    if known is None:
        raise _NotMachO
    order, wide = known
    header_size = 32 if wide else 28
    ncmds, sizeofcmds = struct.unpack_from(order + "II", data, 16)
    if header_size + sizeofcmds > len(data):
        raise _NotMachO
    copy = bytearray(data)
    signature: tuple[int, int] | None = None
    offset = header_size
    for _ in range(ncmds):
        cmd, cmdsize = struct.unpack_from(order + "II", data, offset)
        if cmdsize < 8 or offset + cmdsize > header_size + sizeofcmds:
            raise _NotMachO
        if cmd == LC_CODE_SIGNATURE:
            if signature is not None or cmdsize < 16:
                raise _NotMachO
            dataoff, datasize = struct.unpack_from(order + "II", data, offset + 8)
            if dataoff + datasize > len(data):
                raise _NotMachO
            signature = dataoff, datasize
            # the command as if it had never been there (codesign adds it into the
            # zeros after the load commands when a file had none)
            copy[offset : offset + cmdsize] = bytes(cmdsize)
            struct.pack_into(order + "II", copy, 16, ncmds - 1, sizeofcmds - cmdsize)
        elif (
            cmd in (LC_SEGMENT, LC_SEGMENT_64)
            and data[offset + 8 : offset + 24].rstrip(b"\0") == b"__LINKEDIT"
        ):
            # its vmsize and filesize: what the signature's size changes
            if cmd == LC_SEGMENT_64:
                struct.pack_into(order + "Q", copy, offset + 32, 0)
                struct.pack_into(order + "Q", copy, offset + 48, 0)
            else:
                struct.pack_into(order + "I", copy, offset + 28, 0)
                struct.pack_into(order + "I", copy, offset + 36, 0)
        offset += cmdsize
    if signature is None:
        return bytes(copy).rstrip(b"\0")
    dataoff, datasize = signature
    # the signature sits at a 16-byte boundary after __LINKEDIT's data: the zeros
    # before it depend on where it starts, not on the content
    before = bytes(copy[:dataoff]).rstrip(b"\0")
    after = bytes(copy[dataoff + datasize :])
    return before + b"\0" + after if after else before
