"""The few primitives whose best form differs between CPython and MicroPython.

Everything else in protocol/ is the same code on both interpreters. These
exist because on a 32-bit MicroPython board a memoryview slice and any int of
2**30 or more are heap objects, while on CPython a byte loop is 50x slower
than a slice. Each primitive has one job and the same result on both sides;
tests run both and compare them.
"""

import sys

try:
    from micropython import const
except ImportError:

    def const(value):
        return value


IS_MICROPYTHON = sys.implementation.name == "micropython"

if IS_MICROPYTHON:

    def copy_into(dst, dst_off, src, src_off, n):
        """Copy src[src_off:src_off+n] to dst[dst_off:...] without allocating.

        A slice would build a temporary object; a byte loop builds none.
        Overlap is safe when dst_off <= src_off (in-place shifts move down).
        """
        for k in range(n):
            dst[dst_off + k] = src[src_off + k]

else:

    def copy_into(dst, dst_off, src, src_off, n):
        """Copy src[src_off:src_off+n] to dst[dst_off:...] (one C-level memmove)."""
        dst[dst_off : dst_off + n] = src[src_off : src_off + n]
