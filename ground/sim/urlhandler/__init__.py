"""pyserial URL handlers of the simulator: `sim://` (protocol_sim.py).

pyserial finds `protocol_<scheme>` modules in the packages listed in
serial.protocol_handler_packages; importing ground.sim adds this one.
"""
