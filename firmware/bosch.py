"""What the Bosch barometer drivers (bmp280.py, bmp388.py) share: the chip-id probe,
the trimming-value read, the configuration writes and the trim-field decoding.

Setup only: none of this runs on the per-sample path.
"""


def u16(b, i):
    return b[i] | b[i + 1] << 8


def s16(b, i):
    v = u16(b, i)
    return v - 65536 if v & 0x8000 else v


def probe(i2c, address, reg_id, chip_id, name, reg_calib, calib_len, writes):
    """Check the chip id, read `calib_len` trimming bytes, then write each (register, value)
    of `writes` in order; returns the trimming bytes. OSError if another chip answers.
    """
    one = bytearray(1)
    i2c.readfrom_mem_into(address, reg_id, one)
    if one[0] != chip_id:
        raise OSError("no %s at 0x%02x (chip id 0x%02x)" % (name, address, one[0]))
    calib = bytearray(calib_len)
    i2c.readfrom_mem_into(address, reg_calib, calib)
    for reg, value in writes:
        one[0] = value
        i2c.writeto_mem(address, reg, one)
    return calib
