"""Steady-state Kalman gains for the altimeter, generated in double precision (not on the board).

Model: height, speed, acceleration with white jerk noise (sigma 50 m/s^3) and a barometric
height measurement (sigma 1.0 m). Each row: (sample period ms, K_height, K_speed, K_accel),
gains scaled by 4096 (K_speed in 1/s, K_accel in 1/s^2). tests/test_kalman_gains.py
regenerates them and checks they match.
"""

SIGMA_JERK = 50.0
SIGMA_HEIGHT = 1.0
GAIN_SHIFT = 12
GAINS = (
    (10, 291, 1072, 1974),
    (20, 561, 2066, 3805),
    (50, 1262, 4635, 8518),
    (100, 2134, 7767, 14174),
)
