"""firmware/kalman_gains.py holds the steady-state gains its docstring describes."""

import numpy as np

from firmware.kalman_gains import GAIN_SHIFT, GAINS, SIGMA_HEIGHT, SIGMA_JERK


def steady_state_gains(dt):
    F = np.array([[1, dt, dt * dt / 2], [0, 1, dt], [0, 0, 1]])
    H = np.array([[1.0, 0, 0]])
    G = np.array([[dt**3 / 6], [dt * dt / 2], [dt]])
    Q = G @ G.T * SIGMA_JERK**2
    R = np.array([[SIGMA_HEIGHT**2]])
    P = np.eye(3) * 100
    for _ in range(20000):
        P = F @ P @ F.T + Q
        K = P @ H.T @ np.linalg.inv(H @ P @ H.T + R)
        P = (np.eye(3) - K @ H) @ P
    return [round(x * (1 << GAIN_SHIFT)) for x in K.ravel()]


def test_gains_are_the_steady_state_solution():
    for dt_ms, *k in GAINS:
        assert k == steady_state_gains(dt_ms / 1000), dt_ms
