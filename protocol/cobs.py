"""Consistent Overhead Byte Stuffing, 0x00-delimited, encoder side and reference codec.

The receiver decodes each frame in one call into a frame slot
(protocol.connection with protocol.compat.cobs_decode_frame). `encode_into`
is the zero-allocation encoder both sides use; `encode`/`decode` are
whole-buffer reference helpers for tests and third-party tools.
"""

from protocol.compat import copy_into

_ZERO = b"\x00"


def encode_into(src, n, dst, dst_off):
    """COBS-encode src[0:n] into dst at dst_off and append the 0x00 delimiter.

    `src` must be bytes or bytearray. Returns the index just past the
    delimiter. dst needs room for n + n // 254 + 2 bytes.
    """
    s = 0
    d = dst_off
    while True:
        lim = s + 254
        if lim > n:
            lim = n
        z = src.find(_ZERO, s, lim)
        if z < 0:
            z = lim
        k = z - s
        dst[d] = k + 1
        copy_into(dst, d + 1, src, s, k)
        d += 1 + k
        if z < lim:
            s = z + 1  # the zero is implied by the block; a trailing zero needs one more block
        elif lim == n:
            break
        else:
            s = lim  # 254 non-zero bytes: code 0xFF, no implied zero
    dst[d] = 0
    return d + 1


def encode(data):
    """COBS-encode `data`; returns the encoded bytes including the 0x00 delimiter."""
    data = bytes(data)
    out = bytearray(len(data) + len(data) // 254 + 2)
    n = encode_into(data, len(data), out, 0)
    return bytes(out[:n])


def decode(encoded):
    """Decode one COBS frame (without its delimiter). Raises ValueError if malformed."""
    out = bytearray()
    i = 0
    n = len(encoded)
    while i < n:
        code = encoded[i]
        if code == 0:
            raise ValueError("zero byte inside a COBS frame at offset %d" % i)
        block = encoded[i + 1 : i + code]
        if len(block) != code - 1 or _ZERO[0] in block:
            raise ValueError("COBS block at offset %d is truncated or holds a zero" % i)
        out += block
        i += code
        if code < 0xFF and i < n:
            out.append(0)
    return bytes(out)
