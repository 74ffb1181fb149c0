"""Numba kernels of the two-sample KS window (state layout: ``_header``)."""

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
    _finish,
    _reset_header,
)
from simulator.stats import ks_statistic

KS_WINDOW = HEADER + 0
KS_CRITICAL = HEADER + 1
KS_N_REF = HEADER + 2
KS_N_REC = HEADER + 3
KS_POS = HEADER + 4
KS_ARRAYS = HEADER + 5


@numba.njit(cache=True)
def sorted_insert(arr, n, x):
    """Insert ``x`` into the sorted prefix ``arr[:n]`` (in place, after equal values).

    Parameters
    ----------
    arr : ndarray of float64, shape (>= n + 1,)
        Buffer whose first ``n`` entries are sorted.
    n : int
        Current length of the sorted prefix.
    x : float
        Value to insert.
    """
    lo = 0
    hi = n
    while lo < hi:
        mid = (lo + hi) // 2
        if arr[mid] <= x:
            lo = mid + 1
        else:
            hi = mid
    k = n
    while k > lo:
        arr[k] = arr[k - 1]
        k -= 1
    arr[lo] = x


@numba.njit(cache=True)
def sorted_remove(arr, n, x):
    """Remove one occurrence of ``x`` from the sorted prefix ``arr[:n]`` (in place).

    Parameters
    ----------
    arr : ndarray of float64, shape (>= n,)
        Buffer whose first ``n`` entries are sorted and contain ``x``.
    n : int
        Current length of the sorted prefix.
    x : float
        Value to remove. Nothing happens if it is absent.
    """
    lo = 0
    hi = n
    while lo < hi:
        mid = (lo + hi) // 2
        if arr[mid] < x:
            lo = mid + 1
        else:
            hi = mid
    if lo >= n or arr[lo] != x:
        return
    for k in range(lo, n - 1):
        arr[k] = arr[k + 1]
    arr[n - 1] = 0.0


def make_ks_state(window_size, critical_value):
    """Build a fresh KS-window state.

    Parameters
    ----------
    window_size : int
        Size ``w`` of both the reference and the recent window.
    critical_value : float
        Alarm when the KS statistic exceeds this value.

    Returns
    -------
    ndarray of float64, shape (HEADER + 5 + 3 * window_size,)
        Slots ``KS_ARRAYS + [0, w)`` hold the sorted reference window,
        ``+ [w, 2w)`` the recent window as a ring buffer, ``+ [2w, 3w)`` it sorted.
    """
    state = np.zeros(KS_ARRAYS + 3 * int(window_size), dtype=np.float64)
    state[KS_WINDOW] = window_size
    state[KS_CRITICAL] = critical_value
    ks_reset(state)
    return state


@numba.njit(cache=True)
def ks_reset(state):
    """Reset the KS-window statistics in place (parameters and counters are kept)."""
    _reset_header(state)
    state[KS_N_REF] = 0.0
    state[KS_N_REC] = 0.0
    state[KS_POS] = 0.0
    state[KS_ARRAYS:] = 0.0


@numba.njit(cache=True)
def ks_update(state, x):
    """Feed one value to a KS-window detector; ``H_STAT`` holds the last KS statistic.

    Returns ``ALARM_NONE``, ``ALARM_DRIFT`` or ``ALARM_DATA_QUALITY``.
    """
    if not math.isfinite(x):
        state[H_N_NONFINITE] += 1.0
        return ALARM_DATA_QUALITY
    if state[H_PENDING_RESET] != 0.0:
        ks_reset(state)
    state[H_N_SEEN] += 1.0
    w = int(state[KS_WINDOW])
    ref = state[KS_ARRAYS : KS_ARRAYS + w]
    ring = state[KS_ARRAYS + w : KS_ARRAYS + 2 * w]
    rec = state[KS_ARRAYS + 2 * w : KS_ARRAYS + 3 * w]
    n_ref = int(state[KS_N_REF])
    if n_ref < w:
        sorted_insert(ref, n_ref, x)
        state[KS_N_REF] = n_ref + 1
        return ALARM_NONE
    n_rec = int(state[KS_N_REC])
    pos = int(state[KS_POS])
    if n_rec < w:
        ring[pos] = x
        sorted_insert(rec, n_rec, x)
        n_rec += 1
        state[KS_N_REC] = n_rec
    else:
        old = ring[pos]
        ring[pos] = x
        sorted_remove(rec, w, old)
        sorted_insert(rec, w - 1, x)
    state[KS_POS] = (pos + 1) % w
    if n_rec < w:
        return ALARM_NONE
    d = ks_statistic(ref, rec)
    state[H_STAT] = d
    return _finish(state, d > state[KS_CRITICAL])
