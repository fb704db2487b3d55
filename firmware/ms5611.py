"""TE Connectivity MS5611 barometer on I2C: conversions that never wait, 64-bit compensation in small ints.

The chip has no continuous mode. A command starts one conversion, pressure
(D1) or temperature (D2); after the conversion time an ADC read fetches it,
and a read made too early returns 0 and spoils the conversion. So the driver
is a state machine advanced by the caller's `read_pressure_pa()` calls, timed
with ticks_ms/ticks_diff (wraparound-safe): a call either finds the running
conversion unfinished and returns at once, or reads it and starts the next.
It never sleeps.

The datasheet (MS5611-01BA03) compensates with 64-bit integers, first and
second order. On a 32-bit MicroPython board any int of 2**30 or more is a
heap object, so OFF and SENS are kept as `hi * 2**15 + lo` pairs and every
product is split (`_hi`/`_lo` suffixes: the value's high and low bits) so no
intermediate reaches 2**30 for any 24-bit raw reading and any PROM values.
tests/test_ms5611_compensation.py checks that bound on every operation and
that the results equal a transcription of the datasheet's formulas (with
`>>` for its divisions by 2**n) wherever the chip is specified.
"""

from protocol.compat import const
from protocol.ticks import ticks_diff

ADDRESS = const(0x77)  # CSB to ground; 0x76 with CSB high

_CMD_RESET = b"\x1e"
_CMD_ADC_READ = b"\x00"
_CMD_PROM_READ = const(0xA0)  # + 2 * word index, words 0..7

# Conversion times, datasheet maximum: OSR 256 0.60 ms, 512 1.17, 1024 2.28, 2048 4.54,
# 4096 9.04. ticks_ms() counts whole milliseconds, so a difference of k ticks proves only
# that more than k - 1 ms have passed: a conversion may be read once k - 1 >= its time.
# OSR 4096 would need 11 ticks, more than the 10 ms between the recorder's 100 Hz calls
# (every other call would find it unfinished). OSR 2048 needs 6 and leaves 4 ms to spare,
# at an RMS resolution of 0.018 mbar (1.8 Pa, about 15 cm) against 4096's 0.012.
_CMD_CONVERT_D1 = b"\x46"  # pressure, OSR 2048
_CMD_CONVERT_D2 = b"\x56"  # temperature, OSR 2048
CONVERSION_WAIT_MS = const(6)
# The reset reloads the PROM in 2.8 ms at most: 4 ticks prove more than 3 ms.
RESET_WAIT_MS = const(4)

# Each call completes at most one conversion, so at 100 calls a second the chip does
# 100 conversions a second and every temperature conversion takes a pressure's place.
# Temperature is re-read after every PRESSURES_PER_TEMPERATURE pressures: 10 of every 11
# calls (91 a second at 100 Hz) bring a fresh pressure and the call in between returns
# the previous one. Why not less often: at fixed D1 the compensated pressure moves by
# about 190 Pa per degC of die temperature (the datasheet's example trimming), so a
# temperature 110 ms old is worth 0.1 degC (19 Pa, 1.6 m) only if the die changes by
# 1 degC a second. A caller polling every 6 to 9 ms would get 100 or more a second.
PRESSURES_PER_TEMPERATURE = const(10)

# The sensor is specified down to -40 degC (TEMP -4000). Below that the second-order
# terms are those of -40 degC: the datasheet's squares would otherwise pass 2**30 for
# raw readings no working chip gives.
_TEMP_MIN = const(-4000)

# States: what the chip is doing since _since_ms
_RESETTING = const(0)
_CONVERTING_D2 = const(1)
_CONVERTING_D1 = const(2)


def crc4(prom):
    """The PROM's CRC-4 (application note AN520) over the eight words, word 7's low byte as 0."""
    rem = 0
    for i in range(16):
        word = prom[i >> 1]
        if i == 15:
            byte = 0  # word 7's low byte holds the CRC itself
        elif i & 1:
            byte = word & 0xFF
        else:
            byte = word >> 8
        rem ^= byte
        for _ in range(8):
            # AN520 keeps a 32-bit remainder; bits above 15 never come back down
            if rem & 0x8000:
                rem = ((rem << 1) ^ 0x3000) & 0xFFFF
            else:
                rem = (rem << 1) & 0xFFFF
    return rem >> 12


class Calibration:
    """The six coefficients C1..C6 from PROM words 1..6 (word 0: factory data, 7: serial and CRC)."""

    def __init__(self, prom):
        self.C1 = prom[1]  # pressure sensitivity, SENS_T1
        self.C2 = prom[2]  # pressure offset, OFF_T1
        self.C3 = prom[3]  # temperature coefficient of sensitivity, TCS
        self.C4 = prom[4]  # temperature coefficient of offset, TCO
        self.C5 = prom[5]  # reference temperature, T_REF
        self.C6 = prom[6]  # temperature coefficient of the temperature, TEMPSENS


class Terms:
    """What one temperature conversion gives the pressure conversions after it.

    OFF = off_hi * 2**15 + off_lo and SENS = sens_hi * 2**15 + sens_lo, with
    0 <= off_lo, sens_lo < 2**15, both after the second-order correction.
    """

    def __init__(self):
        self.temperature_centi_c = 0
        self.off_hi = 0
        self.off_lo = 0
        self.sens_hi = 0
        self.sens_lo = 0


def temperature_terms(cal, d2, terms):
    """Fill `terms` from a raw temperature reading D2 (0 <= d2 < 2**24); allocates nothing."""
    dt = d2 - (cal.C5 << 8)  # dT, |dt| < 2**24
    dt_hi = dt >> 12  # -2**12 <= dt_hi < 2**12
    dt_lo = dt & 0xFFF
    # TEMP = 2000 + dT * C6 / 2**23
    temp = 2000 + ((cal.C6 * dt_hi + ((cal.C6 * dt_lo) >> 12)) >> 11)
    # OFF = C2 * 2**16 + C4 * dT / 2**7 = (2 C2) 2**15 + (C4 dt_hi) 2**5 + C4 dt_lo / 2**7
    prod = cal.C4 * dt_hi  # |prod| <= 2**28
    low = ((prod & 0x3FF) << 5) + ((cal.C4 * dt_lo) >> 7)  # < 2**15 + 2**21
    off_hi = (cal.C2 << 1) + (prod >> 10) + (low >> 15)
    off_lo = low & 0x7FFF
    # SENS = C1 * 2**15 + C3 * dT / 2**8 = C1 2**15 + (C3 dt_hi) 2**4 + C3 dt_lo / 2**8
    prod = cal.C3 * dt_hi
    low = ((prod & 0x7FF) << 4) + ((cal.C3 * dt_lo) >> 8)  # < 2**15 + 2**20
    sens_hi = cal.C1 + (prod >> 11) + (low >> 15)  # |sens_hi| < 196700
    sens_lo = low & 0x7FFF
    if temp < 2000:
        # second order, below 20 degC: T2 = dT**2 / 2**31, staged through dT**2 / 2**24
        t2 = (dt_hi * dt_hi + ((((dt_hi * dt_lo) << 1) + ((dt_lo * dt_lo) >> 12)) >> 12)) >> 7
        t = temp if temp > _TEMP_MIN else _TEMP_MIN
        sq = (t - 2000) * (t - 2000)  # <= 6000**2
        off2 = (5 * sq) >> 1
        sens2 = (5 * sq) >> 2
        if t < -1500:  # below -15 degC
            sq = (t + 1500) * (t + 1500)  # <= 2500**2
            off2 = off2 + 7 * sq
            sens2 = sens2 + ((11 * sq) >> 1)
        temp = temp - t2
        off_hi = off_hi - (off2 >> 15)
        off_lo = off_lo - (off2 & 0x7FFF)
        if off_lo < 0:
            off_lo = off_lo + 0x8000
            off_hi = off_hi - 1
        sens_hi = sens_hi - (sens2 >> 15)
        sens_lo = sens_lo - (sens2 & 0x7FFF)
        if sens_lo < 0:
            sens_lo = sens_lo + 0x8000
            sens_hi = sens_hi - 1
    terms.temperature_centi_c = temp
    terms.off_hi = off_hi
    terms.off_lo = off_lo
    terms.sens_hi = sens_hi
    terms.sens_lo = sens_lo


def pressure_pa(terms, d1):
    """Pressure in Pa (0.01 mbar) from a raw pressure reading D1 (0 <= d1 < 2**24); allocates nothing.

    The datasheet's P = (D1 * SENS / 2**21 - OFF) / 2**15 is one floor of
    (D1 * SENS - OFF * 2**21) / 2**36; off_hi * 2**36 leaves it whole, the
    rest is summed from 12-bit slices of D1 times sens_hi and sens_lo.
    """
    d1_hi = d1 >> 12
    d1_lo = d1 & 0xFFF
    sens_hi = terms.sens_hi
    sens_lo = terms.sens_lo
    # floor((D1 * sens_lo - off_lo * 2**21) / 2**15), |low| < 2**24 + 2**21
    low = ((d1_hi * sens_lo + ((d1_lo * sens_lo) >> 12)) >> 3) - (terms.off_lo << 6)
    return ((d1_hi * sens_hi + ((d1_lo * sens_hi + low) >> 12)) >> 9) - terms.off_hi


class MS5611:
    """The sensor on an I2C bus (machine.I2C); read_pressure_pa() allocates nothing and never waits.

    `ticks_ms` is the clock the conversions are timed on (the HAL's; default
    time.ticks_ms). The PROM is read and checked before anything is written,
    so a chip that is not an MS5611 is refused untouched; the reset that
    follows only returns a chip left mid-conversion (by a soft reboot) to a
    known state.
    """

    def __init__(self, i2c, address=ADDRESS, ticks_ms=None):
        if ticks_ms is None:
            import time

            ticks_ms = time.ticks_ms
        self.i2c = i2c
        self.address = address
        self._ticks_ms = ticks_ms
        self._adc = bytearray(3)
        prom = [0] * 8
        word = bytearray(2)
        command = bytearray(1)
        try:
            for i in range(8):
                command[0] = _CMD_PROM_READ + 2 * i
                i2c.writeto(address, command)
                i2c.readfrom_into(address, word)
                prom[i] = word[0] << 8 | word[1]
        except OSError:
            raise OSError("no MS5611 at 0x%02x (no answer)" % address)
        for i in range(1, 7):
            # A bus reading all zeros passes the CRC, and no trimmed part has a
            # coefficient of 0 or 0xFFFF (the datasheet's are 23000..41000).
            if prom[i] == 0 or prom[i] == 0xFFFF:
                raise OSError(
                    "no MS5611 at 0x%02x (PROM word %d is 0x%04x)" % (address, i, prom[i])
                )
        crc = crc4(prom)
        if crc != prom[7] & 0xF:
            raise OSError(
                "no MS5611 at 0x%02x (PROM CRC-4 0x%x, computed 0x%x)" % (address, prom[7] & 0xF, crc)
            )
        self.prom = prom
        self.cal = Calibration(prom)
        self._terms = Terms()
        self.temperature_centi_c = 0
        self._pressure_pa = -1
        # conversions finished (or lost) since the last fresh pressure: the scheduled
        # temperature one is bridged with the previous pressure, more read as -1
        self._since_fresh = 0
        self._pressures = 0  # since the last temperature conversion
        self._state = _RESETTING
        self._wait_ms = RESET_WAIT_MS
        self._since_ms = 0
        self._start(_CMD_RESET, _RESETTING, RESET_WAIT_MS)

    def _start(self, command, state, wait_ms):
        self.i2c.writeto(self.address, command)
        self._state = state
        self._wait_ms = wait_ms
        # read after the command went out: the wait is counted from no earlier than its start
        self._since_ms = self._ticks_ms()

    def read_pressure_pa(self):
        """Latest pressure in whole Pa; -1 before the first, or once conversions go missing.

        Raises OSError when the bus does; the next call carries on from where it was.
        """
        elapsed = ticks_diff(self._ticks_ms(), self._since_ms)
        if 0 <= elapsed < self._wait_ms:  # negative only after ~6 days uncalled: go on
            return self._latest()
        state = self._state
        if state == _RESETTING:
            self._start(_CMD_CONVERT_D2, _CONVERTING_D2, CONVERSION_WAIT_MS)
            return self._latest()
        i2c = self.i2c
        i2c.writeto(self.address, _CMD_ADC_READ)
        i2c.readfrom_into(self.address, self._adc)
        adc = self._adc
        raw = adc[0] << 16 | adc[1] << 8 | adc[2]
        if raw == 0:
            # Nothing converted: the start command was lost (a bus error after it) or
            # the chip was reset under us. Start that conversion again.
            if state == _CONVERTING_D1:
                self._start(_CMD_CONVERT_D1, _CONVERTING_D1, CONVERSION_WAIT_MS)
            else:
                self._start(_CMD_CONVERT_D2, _CONVERTING_D2, CONVERSION_WAIT_MS)
            self._since_fresh = self._since_fresh + 1
            return self._latest()
        # The next conversion is started first, so it runs while this one is compensated.
        # Counters change only once it is started: a bus error leaves the state as it was.
        if state == _CONVERTING_D2:
            self._start(_CMD_CONVERT_D1, _CONVERTING_D1, CONVERSION_WAIT_MS)
            self._since_fresh = self._since_fresh + 1
            temperature_terms(self.cal, raw, self._terms)
            self.temperature_centi_c = self._terms.temperature_centi_c
            return self._latest()
        if self._pressures + 1 >= PRESSURES_PER_TEMPERATURE:
            self._start(_CMD_CONVERT_D2, _CONVERTING_D2, CONVERSION_WAIT_MS)
            self._pressures = 0
        else:
            self._start(_CMD_CONVERT_D1, _CONVERTING_D1, CONVERSION_WAIT_MS)
            self._pressures = self._pressures + 1
        self._since_fresh = 0
        self._pressure_pa = pressure_pa(self._terms, raw)
        return self._pressure_pa

    def _latest(self):
        if self._since_fresh > 1:
            return -1
        return self._pressure_pa
