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

    class Crc32:
        """A running CRC-32 over data fed piece by piece (a whole flight log, record by record).

        The register is kept as two 16-bit halves, so update() allocates nothing.
        """

        def __init__(self):
            self.reset()

        def reset(self):
            self._lo = 0xFFFF
            self._hi = 0xFFFF

        def update(self, src, start, end):
            lo = self._lo
            hi = self._hi
            tlo = _LO
            thi = _HI
            for i in range(start, end):
                idx = (lo ^ src[i]) & 0xFF
                lo = ((lo >> 8) | ((hi & 0xFF) << 8)) ^ tlo[idx]
                hi = (hi >> 8) ^ thi[idx]
            self._lo = lo
            self._hi = hi

        def into(self, dst, dst_off):
            """Write the CRC so far, little-endian, at dst[dst_off:dst_off+4]."""
            lo = self._lo ^ 0xFFFF
            hi = self._hi ^ 0xFFFF
            dst[dst_off] = lo & 0xFF
            dst[dst_off + 1] = lo >> 8
            dst[dst_off + 2] = hi & 0xFF
            dst[dst_off + 3] = hi >> 8

    _ONE = Crc32()  # the board runs one loop: one register serves every one-shot CRC

    def crc32_into(src, start, end, dst, dst_off):
        """Write CRC-32 of src[start:end] little-endian at dst[dst_off:dst_off+4]."""
        one = _ONE
        one.reset()
        one.update(src, start, end)
        one.into(dst, dst_off)

else:
    import binascii
    import struct

    def crc32_into(src, start, end, dst, dst_off):
        """Write CRC-32 of src[start:end] little-endian at dst[dst_off:dst_off+4]."""
        struct.pack_into("<I", dst, dst_off, binascii.crc32(memoryview(src)[start:end]))

    class Crc32:
        """A running CRC-32 over data fed piece by piece (a whole flight log, record by record)."""

        def __init__(self):
            self.reset()

        def reset(self):
            self._crc = 0

        def update(self, src, start, end):
            self._crc = binascii.crc32(memoryview(src)[start:end], self._crc)

        def into(self, dst, dst_off):
            """Write the CRC so far, little-endian, at dst[dst_off:dst_off+4]."""
            struct.pack_into("<I", dst, dst_off, self._crc)


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
