"""Numba kernels of the EWMA control chart (state layout: ``_header``)."""

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

EW_LAMBDA = W_END + 0
EW_L = W_END + 1
EW_Z = W_END + 2
EW_T = W_END + 3
EW_SIZE = W_END + 4


def make_ewma_state(lam, L, direction, warmup, mu0, sigma0):
    """Build a fresh EWMA-chart state (``mu0``/``sigma0`` NaN: estimate from warm-up)."""
    state = np.zeros(EW_SIZE, dtype=np.float64)
    state[EW_LAMBDA] = lam
    state[EW_L] = L
    state[W_DIRECTION] = direction
    state[W_WARMUP] = warmup
    state[W_MU0] = mu0
    state[W_SIGMA0] = sigma0
    ewma_reset(state)
    return state


@numba.njit(cache=True)
def ewma_reset(state):
    """Reset the EWMA statistics in place (parameters and counters are kept)."""
    _reset_header(state)
    _warmup_reset(state)
    state[EW_Z] = state[W_MU]
    state[EW_T] = 0.0


@numba.njit(cache=True)
def ewma_update(state, x):
    """Feed one value to an EWMA chart; ``H_STAT`` holds ``(z - mu) / sigma_z(t)``.

    ``z_t = lam x_t + (1 - lam) z_{t-1}``, ``z_0 = mu`` and the exact variance
    ``sigma_z(t)^2 = sigma^2 lam / (2 - lam) (1 - (1 - lam)^(2t))`` (Roberts 1959;
    Montgomery, SQC, sec. 9.2); alarm when ``|z_t - mu| > L sigma_z(t)`` on the
    monitored side. Returns ``ALARM_NONE``, ``ALARM_DRIFT`` or ``ALARM_DATA_QUALITY``.
    """
    if not math.isfinite(x):
        state[H_N_NONFINITE] += 1.0
        return ALARM_DATA_QUALITY
    if state[H_PENDING_RESET] != 0.0:
        ewma_reset(state)
    state[H_N_SEEN] += 1.0
    if state[W_READY] == 0.0:
        if warmup_step(state, x):
            state[EW_Z] = state[W_MU]
            state[EW_T] = 0.0
        return ALARM_NONE
    lam = state[EW_LAMBDA]
    mu = state[W_MU]
    t = state[EW_T] + 1.0
    state[EW_T] = t
    z = lam * x + (1.0 - lam) * state[EW_Z]
    state[EW_Z] = z
    sigma_z = state[W_SIGMA] * math.sqrt(lam / (2.0 - lam) * (1.0 - (1.0 - lam) ** (2.0 * t)))
    score = (z - mu) / sigma_z
    state[H_STAT] = score
    limit = state[EW_L]
    direction = int(state[W_DIRECTION])
    if direction == MODE_UP:
        alarm = score > limit
    elif direction == MODE_DOWN:
        alarm = score < -limit
    else:
        alarm = score > limit or score < -limit
    return _finish(state, alarm)
