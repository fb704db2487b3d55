"""The link's typed errors, and the client's retries, against real ports."""

import json
import os
import time

import pytest
import serial

from ground.cli import main
from ground.client import DeviceClient
from ground.link import Link, PortBusy, PortNotFound, PortVanished
from protocol import messages as M


def test_missing_port_is_port_not_found():
    with pytest.raises(PortNotFound):
        Link("/dev/coalwood-no-such-port").open()


def test_a_port_another_program_holds_is_busy(capsys):
    master, slave = os.openpty()
    path = os.ttyname(slave)
    holder = serial.Serial(path, exclusive=True)
    try:
        with pytest.raises(PortBusy):
            Link(path).open()
        assert main(["status", "--port", path]) == 5
        assert "busy" in capsys.readouterr().err
    finally:
        holder.close()
        os.close(master)
        os.close(slave)


def test_port_vanishing_mid_use_is_reported_not_swallowed():
    client = DeviceClient("sim://?seed=7")
    events = []
    client.on_event = lambda name, detail: events.append(name)
    client.connect()
    try:
        client.status()
        client.link._port.device.unplug()
        time.sleep(0.2)
        with pytest.raises(PortVanished):
            client.status()
        assert "link-error" in events
    finally:
        client.close()


def test_commands_are_resent_and_answered_once_over_a_lossy_link():
    client = DeviceClient("sim://?seed=8")
    client.connect()
    try:
        device = client.link._port.device
        device.set_faults(drop_rate=0.005)  # one byte in 200 lost: ~20% of STATUS frames
        answers = 0
        for _ in range(40):
            try:
                assert isinstance(client.status(), M.Status)
                answers += 1
            except Exception:  # a command may fail after its resends; that is reported
                pass
        device.set_faults(drop_rate=0.0)
        assert answers >= 36
        assert client.resends > 0  # some replies were lost and the commands were resent
        # a resend of an answered command is served from the reply cache, not run again
        assert device.app.conn.stats.duplicates <= client.resends
    finally:
        client.close()


def test_ports_lists_as_json(capsys):
    assert main(["ports", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert isinstance(doc["ports"], list)
    for p in doc["ports"]:
        assert "device" in p and "likely_board" in p
