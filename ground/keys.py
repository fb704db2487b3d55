"""The pre-shared MAC key as people type it: 64 hex digits (32 bytes)."""

KEY_LEN = 32


def parse_key(value):
    """None, 32 bytes, or 64 hex digits -> 32 bytes (or None). ValueError otherwise.

    All zeros is refused: on the wire it means "remove the key".
    """
    if value is None:
        return None
    if isinstance(value, (bytes, bytearray)):
        key = bytes(value)
    else:
        text = "".join(str(value).split())
        try:
            key = bytes.fromhex(text) if len(text) == 2 * KEY_LEN else b""
        except ValueError:
            key = b""
    if len(key) != KEY_LEN:
        raise ValueError("a key must be 64 hex digits (32 bytes)")
    if key == bytes(KEY_LEN):
        raise ValueError("an all-zero key means 'no key': leave the key out instead")
    return key
