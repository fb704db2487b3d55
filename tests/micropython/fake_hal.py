"""An in-memory HAL for tests: records every fire-output edge with its time.

Allocation-free in the methods the controller calls, so heap-lock tests
measure the controller, not the fake. Runs on CPython and MicroPython.
"""

from firmware.hal import KEY_ON
from protocol.compat import copy_into

MAX_EDGES = 4096


class FakeHal:
    def __init__(self, channels=2, key=KEY_ON, raw=198):
        self.channels = channels
        self.now = 0
        self.key = key
        self.level = bytearray(channels)  # what the outputs are driven to
        self.stuck = bytearray(channels)  # 1: the output reads back on whatever it is driven to
        self.raw = [raw] * channels  # continuity ADC reading per channel (198 ~ 1.0 ohm)
        self.buzzing = False
        self.led_on = False
        self.edge_t = [0] * MAX_EDGES
        self.edge_ch = bytearray(MAX_EDGES)
        self.edge_on = bytearray(MAX_EDGES)
        self.n_edges = 0
        self.fire_calls = 0
        self._seed = 12345
        self.adc_full_scale = 65535
        self.sense_resistor_ohm = 330
        self.sense_supply_mv = 3300
        self.board_name = "fake-2ch"
        self.device_id = b"fakehal0"
        self.wired = True
        self.storage_path = None  # no flight log unless a test gives a folder
        self.pressure = -1  # barometer reading in Pa; -1: no barometer
        # the serial port: bytes from the ground waiting to be read, bytes the device wrote
        self.rx_buf = bytearray(8192)
        self.rx_head = 0
        self.rx_tail = 0
        self.tx_buf = bytearray(65536)
        self.tx_n = 0
        self.write_limit = 1 << 30  # bytes the port accepts per write (a slow line accepts fewer)

    # --- the HAL contract ---------------------------------------------------------------
    def fire(self, channel, on):
        self.fire_calls += 1
        v = 1 if on else 0
        if self.level[channel] != v:
            self.level[channel] = v
            i = self.n_edges
            self.edge_t[i] = self.now
            self.edge_ch[i] = channel
            self.edge_on[i] = v
            self.n_edges = i + 1

    def fire_readback(self, channel):
        return bool(self.level[channel] or self.stuck[channel])

    def continuity_raw(self, channel):
        return self.raw[channel]

    def arm_key(self):
        return self.key

    def battery_mv(self):
        return 8000

    def buzzer(self, on):
        self.buzzing = on

    def led(self, on):
        self.led_on = on

    def pressure_pa(self):
        return self.pressure

    def ticks_ms(self):
        return self.now

    def serial_read_into(self, buf):
        n = self.rx_tail - self.rx_head
        if n > len(buf):
            n = len(buf)
        h = self.rx_head
        copy_into(buf, 0, self.rx_buf, h, n)
        self.rx_head = h + n
        if self.rx_head == self.rx_tail:
            self.rx_head = self.rx_tail = 0
        return n

    def serial_write(self, buf, n):
        if n > self.write_limit:
            n = self.write_limit
        t = self.tx_n
        copy_into(self.tx_buf, t, buf, 0, n)
        self.tx_n = t + n
        return n

    def serial_is_wired(self):
        return self.wired

    def entropy_into(self, buf):
        s = self._seed
        for i in range(len(buf)):
            s = (s * 1103515245 + 12345) & 0x3FFFFFFF
            buf[i] = (s >> 16) & 0xFF
        self._seed = s

    # --- for the tests -----------------------------------------------------------------------
    def inject(self, data, n=-1):
        """Bytes arriving from the ground (allocation-free)."""
        if n < 0:
            n = len(data)
        t = self.rx_tail
        for i in range(n):
            self.rx_buf[t + i] = data[i]
        self.rx_tail = t + n

    def take_output(self):
        """Everything the device wrote since the last call (allocates)."""
        out = bytes(self.tx_buf[: self.tx_n])
        self.tx_n = 0
        return out

    def edges(self):
        """[(time_ms, channel, on)] in order (allocates; call outside heap-locked regions)."""
        return [(self.edge_t[i], self.edge_ch[i], self.edge_on[i]) for i in range(self.n_edges)]

    def any_on(self):
        for v in self.level:
            if v:
                return True
        return False
