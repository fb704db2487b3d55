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


# Results of cobs_decode_frame besides a length.
COBS_MALFORMED = -1  # a block runs past the end of the frame
COBS_TOO_LONG = -2  # decodes to more than the destination holds


def _cobs_decode_frame_walk(dst, src, start, end):
    """Decode the whole COBS frame src[start:end] (no delimiter, no zero byte) into dst.

    Block by block, each copied without allocating. Returns the decoded
    length, COBS_MALFORMED or COBS_TOO_LONG.
    """
    cap = len(dst)
    d = 0
    i = start
    too_long = False  # keep walking: a malformed frame is malformed, however long
    while i < end:
        c = src[i]
        if i + c > end:
            return COBS_MALFORMED
        k = c - 1
        if d + k > cap:
            too_long = True
        elif not too_long:
            copy_into(dst, d, src, i + 1, k)
        d += k
        i += c
        if c != 0xFF and i < end:
            if d >= cap:
                too_long = True
            elif not too_long:
                dst[d] = 0  # the zero this block's code byte stood for
            d += 1
    return COBS_TOO_LONG if too_long else d


cobs_decode_frame = _cobs_decode_frame_walk

if not IS_MICROPYTHON:
    try:
        # The C codec from the `cobs` package: on CPython a Python byte walk
        # costs ~0.1 us per zero byte in the payload, the codec 0.2 us a frame.
        from cobs.cobs import DecodeError as _CobsDecodeError
        from cobs.cobs import decode as _c_cobs_decode
    except ImportError:  # still correct without it, only slower
        _c_cobs_decode = None

    if _c_cobs_decode is not None:

        def cobs_decode_frame(dst, src, start, end):
            """Decode the whole COBS frame src[start:end] (no delimiter) into dst."""
            try:
                out = _c_cobs_decode(src[start:end])
            except _CobsDecodeError:
                return COBS_MALFORMED
            n = len(out)
            if n > len(dst):
                return COBS_TOO_LONG
            dst[:n] = out
            return n
