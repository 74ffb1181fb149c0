"""Numba kernels of the tabular CUSUM (state layout: ``_header``)."""

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
    MODE_DOWN,
    MODE_UP,
    _finish,
    _reset_header,
)
from controllers.detectors._warmup import (
    W_DIRECTION,
    W_END,
    W_MU,
    W_MU0,
    W_READY,
    W_SIGMA,
    W_SIGMA0,
    W_WARMUP,
    _warmup_reset,
    warmup_step,
)

CU_K = W_END + 0
CU_H = W_END + 1
CU_CPLUS = W_END + 2
CU_CMINUS = W_END + 3
CU_SIZE = W_END + 4


def make_cusum_state(k, h, direction, warmup, mu0, sigma0):
    """Build a fresh CUSUM state (``mu0``/``sigma0`` NaN: estimate from the warm-up)."""
    state = np.zeros(CU_SIZE, dtype=np.float64)
    state[CU_K] = k
    state[CU_H] = h
    state[W_DIRECTION] = direction
    state[W_WARMUP] = warmup
    state[W_MU0] = mu0
    state[W_SIGMA0] = sigma0
    cusum_reset(state)
    return state


@numba.njit(cache=True)
def cusum_reset(state):
    """Reset the CUSUM statistics in place (parameters and counters are kept)."""
    _reset_header(state)
    _warmup_reset(state)
    state[CU_CPLUS] = 0.0
    state[CU_CMINUS] = 0.0


@numba.njit(cache=True)
def cusum_update(state, x):
    """Feed one value to a tabular CUSUM; ``H_STAT`` holds ``max(C+, C-) / sigma``.

    ``C+ = max(0, C+ + x - mu - k sigma)``, ``C- = max(0, C- + mu - x - k sigma)``,
    alarm when the monitored side exceeds ``h sigma`` (Montgomery, SQC, sec. 9.1).
    Returns ``ALARM_NONE``, ``ALARM_DRIFT`` or ``ALARM_DATA_QUALITY``.
    """
    if not math.isfinite(x):
        state[H_N_NONFINITE] += 1.0
        return ALARM_DATA_QUALITY
    if state[H_PENDING_RESET] != 0.0:
        cusum_reset(state)
    state[H_N_SEEN] += 1.0
    if state[W_READY] == 0.0:
        warmup_step(state, x)
        return ALARM_NONE
    mu = state[W_MU]
    sigma = state[W_SIGMA]
    slack = state[CU_K] * sigma
    limit = state[CU_H] * sigma
    cp = max(0.0, state[CU_CPLUS] + (x - mu) - slack)
    cm = max(0.0, state[CU_CMINUS] + (mu - x) - slack)
    state[CU_CPLUS] = cp
    state[CU_CMINUS] = cm
    direction = int(state[W_DIRECTION])
    if direction == MODE_UP:
        state[H_STAT] = cp / sigma
        alarm = cp > limit
    elif direction == MODE_DOWN:
        state[H_STAT] = cm / sigma
        alarm = cm > limit
    else:
        state[H_STAT] = max(cp, cm) / sigma
        alarm = cp > limit or cm > limit
    return _finish(state, alarm)
