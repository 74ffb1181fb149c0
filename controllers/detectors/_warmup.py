"""Numba kernels of the warm-up estimate of (mu, sigma) shared by CUSUM and EWMA."""

from __future__ import annotations

import math

import numba
import numpy as np

from controllers.detectors._header import (
    HEADER,
)

# Shared by CUSUM and EWMA: same slots for the warm-up estimate of (mu, sigma).
W_WARMUP = HEADER + 0
W_DIRECTION = HEADER + 1
W_MU0 = HEADER + 2  # NaN: estimate from the warm-up
W_SIGMA0 = HEADER + 3  # NaN: estimate from the warm-up
W_MEAN = HEADER + 4
W_M2 = HEADER + 5
W_N = HEADER + 6
W_MU = HEADER + 7
W_SIGMA = HEADER + 8
W_READY = HEADER + 9
W_END = HEADER + 10


@numba.njit(cache=True)
def _warmup_reset(state):
    """Restart the warm-up (or skip it when both ``mu0`` and ``sigma0`` are given)."""
    state[W_MEAN] = 0.0
    state[W_M2] = 0.0
    state[W_N] = 0.0
    if math.isnan(state[W_MU0]) or math.isnan(state[W_SIGMA0]):
        state[W_MU] = np.nan
        state[W_SIGMA] = np.nan
        state[W_READY] = 0.0
    else:
        state[W_MU] = state[W_MU0]
        state[W_SIGMA] = state[W_SIGMA0]
        state[W_READY] = 1.0


@numba.njit(cache=True)
def warmup_step(state, x):
    """Absorb ``x`` into the warm-up (Welford 1962); return True once (mu, sigma) are set.

    The warm-up ends after ``W_WARMUP`` points *and* a strictly positive sample
    standard deviation (ddof=1), so that a constant start never gives ``sigma = 0``.
    """
    n = state[W_N] + 1.0
    state[W_N] = n
    d = x - state[W_MEAN]
    state[W_MEAN] += d / n
    state[W_M2] += d * (x - state[W_MEAN])
    if n < state[W_WARMUP]:
        return False
    mu = state[W_MU0]
    if math.isnan(mu):
        mu = state[W_MEAN]
    sigma = state[W_SIGMA0]
    if math.isnan(sigma):
        sigma = math.sqrt(state[W_M2] / (n - 1.0)) if n > 1.0 else 0.0
    if not sigma > 0.0:
        return False
    state[W_MU] = mu
    state[W_SIGMA] = sigma
    state[W_READY] = 1.0
    return True
