"""Truncated HMAC-SHA256 frame authentication with a pre-shared 32-byte key.

MicroPython has `hashlib.sha256` but no `hmac`, so HMAC (RFC 2104) is built
here on `hashlib.sha256` and checked against CPython's `hmac` in the tests.
The MAC is the first MAC_LEN bytes of the HMAC over the frame's header and
payload. Comparing it takes the same time whatever the first wrong byte is.
"""

import hashlib

from protocol.compat import const

KEY_LEN = const(32)
MAC_LEN = const(16)
_BLOCK = const(64)


class MacKey:
    """A key prepared once (inner and outer pads) and used for every frame."""

    def __init__(self, key):
        if len(key) != KEY_LEN:
            raise ValueError("key must be %d bytes, got %d" % (KEY_LEN, len(key)))
        ipad = bytearray(_BLOCK)
        opad = bytearray(_BLOCK)
        for i in range(_BLOCK):
            k = key[i] if i < KEY_LEN else 0
            ipad[i] = k ^ 0x36
            opad[i] = k ^ 0x5C
        self._ipad = bytes(ipad)
        self._opad = bytes(opad)
        self._digest = bytearray(32)
        # CPython hash objects can be copied, so the padded key blocks are
        # hashed once; MicroPython's cannot, and re-hashes them each time.
        inner = hashlib.sha256(self._ipad)
        self._inner = inner if hasattr(inner, "copy") else None
        self._outer = hashlib.sha256(self._opad) if self._inner is not None else None

    def digest(self, data):
        """Full 32-byte HMAC-SHA256 of `data` (bytes, bytearray or memoryview)."""
        if self._inner is not None:
            h = self._inner.copy()
            h.update(data)
            o = self._outer.copy()
            o.update(h.digest())
            return o.digest()
        h = hashlib.sha256(self._ipad)
        h.update(data)
        o = hashlib.sha256(self._opad)
        o.update(h.digest())
        return o.digest()

    def mac_into(self, buf, start, end, dst, dst_off):
        """Write the MAC of buf[start:end] at dst[dst_off:dst_off+MAC_LEN]."""
        d = self.digest(memoryview(buf)[start:end])
        for i in range(MAC_LEN):
            dst[dst_off + i] = d[i]

    def verify(self, buf, start, end, mac_off):
        """True when buf[mac_off:mac_off+MAC_LEN] is the MAC of buf[start:end]."""
        d = self.digest(memoryview(buf)[start:end])
        diff = 0
        for i in range(MAC_LEN):
            diff |= d[i] ^ buf[mac_off + i]
        return diff == 0
