"""Numba kernels of the Page-Hinkley test (state layout: ``_header``)."""

from __future__ import annotations

import math

import numba
import numpy as np

from controllers.detectors._header import (
    ALARM_DATA_QUALITY,
    ALARM_NONE,
    H_N_NONFINITE,
    H_N_SEEN,
    H_PENDING_RESET,
    H_STAT,
    HEADER,
    MODE_DOWN,
    MODE_UP,
    _finish,
    _reset_header,
)

PH_MIN_INSTANCES = HEADER + 0
PH_DELTA = HEADER + 1
PH_THRESHOLD = HEADER + 2
PH_ALPHA = HEADER + 3
PH_MODE = HEADER + 4
PH_MEAN = HEADER + 5
PH_SUM_INC = HEADER + 6
PH_SUM_DEC = HEADER + 7
PH_MIN_INC = HEADER + 8
PH_MAX_DEC = HEADER + 9
PH_SIZE = HEADER + 10


def make_ph_state(min_instances, delta, threshold, alpha, mode):
    """Build a fresh Page-Hinkley state (``mode`` is ``MODE_UP|MODE_DOWN|MODE_BOTH``)."""
    state = np.zeros(PH_SIZE, dtype=np.float64)
    state[PH_MIN_INSTANCES] = min_instances
    state[PH_DELTA] = delta
    state[PH_THRESHOLD] = threshold
    state[PH_ALPHA] = alpha
    state[PH_MODE] = mode
    ph_reset(state)
    return state


@numba.njit(cache=True)
def ph_reset(state):
    """Reset the Page-Hinkley statistics in place (parameters and counters are kept)."""
    _reset_header(state)
    state[PH_MEAN] = 0.0
    state[PH_SUM_INC] = 0.0
    state[PH_SUM_DEC] = 0.0
    state[PH_MIN_INC] = np.inf
    state[PH_MAX_DEC] = -1.0  # river's initial value


@numba.njit(cache=True)
def ph_update(state, x):
    """Feed one value to a Page-Hinkley detector; ``H_STAT`` holds the PH test value.

    Same arithmetic, in the same order, as ``river.drift.PageHinkley.update``.
    Returns ``ALARM_NONE``, ``ALARM_DRIFT`` or ``ALARM_DATA_QUALITY``.
    """
    if not math.isfinite(x):
        state[H_N_NONFINITE] += 1.0
        return ALARM_DATA_QUALITY
    if state[H_PENDING_RESET] != 0.0:
        ph_reset(state)
    n = state[H_N_SEEN] + 1.0
    state[H_N_SEEN] = n
    mean = state[PH_MEAN] + (1.0 / n) * (x - state[PH_MEAN])
    state[PH_MEAN] = mean
    dev = x - mean
    alpha = state[PH_ALPHA]
    delta = state[PH_DELTA]
    s_inc = alpha * state[PH_SUM_INC] + dev - delta
    s_dec = alpha * state[PH_SUM_DEC] + dev + delta
    state[PH_SUM_INC] = s_inc
    state[PH_SUM_DEC] = s_dec
    if s_inc < state[PH_MIN_INC]:
        state[PH_MIN_INC] = s_inc
    if s_dec > state[PH_MAX_DEC]:
        state[PH_MAX_DEC] = s_dec
    if n < state[PH_MIN_INSTANCES]:
        return ALARM_NONE
    test_inc = s_inc - state[PH_MIN_INC]
    test_dec = state[PH_MAX_DEC] - s_dec
    mode = int(state[PH_MODE])
    thr = state[PH_THRESHOLD]
    if mode == MODE_UP:
        state[H_STAT] = test_inc
        alarm = test_inc > thr
    elif mode == MODE_DOWN:
        state[H_STAT] = test_dec
        alarm = test_dec > thr
    else:
        state[H_STAT] = max(test_inc, test_dec)
        alarm = test_inc > thr or test_dec > thr
    return _finish(state, alarm)
