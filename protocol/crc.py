"""CRC-32 (IEEE 802.3, the zlib / binascii.crc32 polynomial), little-endian on the wire.

On CPython this is `binascii.crc32`. On a 32-bit MicroPython board
`binascii.crc32` returns a heap-allocated int three times out of four (any
value >= 2**30), so the board computes the identical CRC with a table split
into 16-bit halves: every intermediate is a small int and nothing is
allocated. Both write the four CRC bytes straight into a buffer, and both
answer the same question the same way (`tests/` compares them with
binascii on both interpreters).
"""

from protocol.compat import IS_MICROPYTHON

if IS_MICROPYTHON:
    import array

    def _make_tables():
        lo = array.array("H", bytearray(512))
        hi = array.array("H", bytearray(512))
        for n in range(256):
            c = n
            for _ in range(8):
                c = (c >> 1) ^ 0xEDB88320 if c & 1 else c >> 1
            lo[n] = c & 0xFFFF
            hi[n] = c >> 16
        return lo, hi

    _LO, _HI = _make_tables()

    def crc32_into(src, start, end, dst, dst_off):
        """Write CRC-32 of src[start:end] little-endian at dst[dst_off:dst_off+4]."""
        lo = 0xFFFF
        hi = 0xFFFF
        tlo = _LO
        thi = _HI
        for i in range(start, end):
            idx = (lo ^ src[i]) & 0xFF
            lo = ((lo >> 8) | ((hi & 0xFF) << 8)) ^ tlo[idx]
            hi = (hi >> 8) ^ thi[idx]
        lo ^= 0xFFFF
        hi ^= 0xFFFF
        dst[dst_off] = lo & 0xFF
        dst[dst_off + 1] = lo >> 8
        dst[dst_off + 2] = hi & 0xFF
        dst[dst_off + 3] = hi >> 8

else:
    import binascii
    import struct

    def crc32_into(src, start, end, dst, dst_off):
        """Write CRC-32 of src[start:end] little-endian at dst[dst_off:dst_off+4]."""
        struct.pack_into("<I", dst, dst_off, binascii.crc32(memoryview(src)[start:end]))


if IS_MICROPYTHON:

    def crc32_matches(buf, start, end, scratch):
        """True when buf[end:end+4] holds the CRC-32 of buf[start:end].

        `scratch` is a caller-owned bytearray of at least 4 bytes, so the check
        allocates nothing on the board.
        """
        crc32_into(buf, start, end, scratch, 0)
        return (
            scratch[0] == buf[end]
            and scratch[1] == buf[end + 1]
            and scratch[2] == buf[end + 2]
            and scratch[3] == buf[end + 3]
        )

else:
    # CRC-32 run over data followed by its own little-endian CRC always ends
    # at this constant, so the check is one C call.
    _RESIDUE = 0x2144DF1C

    def crc32_matches(buf, start, end, scratch):
        """True when buf[end:end+4] holds the CRC-32 of buf[start:end]."""
        return binascii.crc32(memoryview(buf)[start : end + 4]) == _RESIDUE
