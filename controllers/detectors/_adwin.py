"""Numba kernels of ADWIN (state layout: ``_header``)."""

from __future__ import annotations

import math

import numba
import numpy as np

from controllers.detectors._header import (
    ALARM_DATA_QUALITY,
    H_N_NONFINITE,
    H_N_SEEN,
    H_PENDING_RESET,
    HEADER,
    _finish,
    _reset_header,
)

ADWIN_MAX_LEVELS = 64  # level i holds buckets of 2**i points: room for ~2**64 points

AD_DELTA = HEADER + 0
AD_CLOCK = HEADER + 1
AD_MAX_BUCKETS = HEADER + 2
AD_MIN_WINDOW = HEADER + 3
AD_GRACE = HEADER + 4
AD_TOTAL = HEADER + 5
AD_VARIANCE = HEADER + 6
AD_WIDTH = HEADER + 7
AD_TICK = HEADER + 8
AD_N_LEVELS = HEADER + 9
AD_ARRAYS = HEADER + 10


def make_adwin_state(delta, clock, max_buckets, min_window_length, grace_period):
    """Build a fresh ADWIN state.

    Returns
    -------
    ndarray of float64, shape (AD_ARRAYS + L + 2 * L * (max_buckets + 1),)
        With ``L = ADWIN_MAX_LEVELS``: bucket counts per level, then the bucket totals
        and the bucket variances, each as an ``(L, max_buckets + 1)`` row-major block
        whose column 0 is the oldest bucket of the level.
    """
    cap = int(max_buckets) + 1
    size = AD_ARRAYS + ADWIN_MAX_LEVELS + 2 * ADWIN_MAX_LEVELS * cap
    state = np.zeros(size, dtype=np.float64)
    state[AD_DELTA] = delta
    state[AD_CLOCK] = clock
    state[AD_MAX_BUCKETS] = max_buckets
    state[AD_MIN_WINDOW] = min_window_length
    state[AD_GRACE] = grace_period
    adwin_reset(state)
    return state


@numba.njit(cache=True)
def adwin_reset(state):
    """Reset the ADWIN window in place (parameters and counters are kept)."""
    _reset_header(state)
    state[AD_TOTAL] = 0.0
    state[AD_VARIANCE] = 0.0
    state[AD_WIDTH] = 0.0
    state[AD_TICK] = 0.0
    state[AD_N_LEVELS] = 1.0
    state[AD_ARRAYS:] = 0.0


@numba.njit(cache=True)
def _adwin_views(state):
    """Return (counts, totals, variances) views of an ADWIN state."""
    cap = int(state[AD_MAX_BUCKETS]) + 1
    lv = ADWIN_MAX_LEVELS
    counts = state[AD_ARRAYS : AD_ARRAYS + lv]
    start = AD_ARRAYS + lv
    totals = state[start : start + lv * cap].reshape((lv, cap))
    variances = state[start + lv * cap : start + 2 * lv * cap].reshape((lv, cap))
    return counts, totals, variances


@numba.njit(cache=True)
def _adwin_drop_front(counts, totals, variances, level, n_drop):
    """Remove the ``n_drop`` oldest buckets of ``level``."""
    c = int(counts[level])
    for i in range(c - n_drop):
        totals[level, i] = totals[level, i + n_drop]
        variances[level, i] = variances[level, i + n_drop]
    for i in range(c - n_drop, c):
        totals[level, i] = 0.0
        variances[level, i] = 0.0
    counts[level] = c - n_drop


@numba.njit(cache=True)
def _adwin_insert(state, counts, totals, variances, x):
    """Insert ``x`` as a new bucket of size 1 and merge full levels (ADWIN2)."""
    c = int(counts[0])
    totals[0, c] = x
    variances[0, c] = 0.0
    counts[0] = c + 1
    width = state[AD_WIDTH] + 1.0
    state[AD_WIDTH] = width
    inc = 0.0
    if width > 1.0:
        d = x - state[AD_TOTAL] / (width - 1.0)
        inc = (width - 1.0) * d * d / width
    state[AD_VARIANCE] += inc
    state[AD_TOTAL] += x
    max_b = int(state[AD_MAX_BUCKETS])
    level = 0
    while level + 1 < ADWIN_MAX_LEVELS and int(counts[level]) == max_b + 1:
        n1 = 2.0**level
        t0 = totals[level, 0]
        t1 = totals[level, 1]
        mu1 = t0 / n1
        mu2 = t1 / n1
        t12 = t0 + t1
        v12 = variances[level, 0] + variances[level, 1] + n1 * 0.5 * (mu1 - mu2) * (mu1 - mu2)
        if level + 1 >= int(state[AD_N_LEVELS]):
            state[AD_N_LEVELS] = level + 2.0
        c_next = int(counts[level + 1])
        totals[level + 1, c_next] = t12
        variances[level + 1, c_next] = v12
        counts[level + 1] = c_next + 1
        _adwin_drop_front(counts, totals, variances, level, 2)
        if c_next + 1 <= max_b:
            break
        level += 1


@numba.njit(cache=True)
def _adwin_delete_oldest(state, counts, totals, variances):
    """Drop the oldest bucket of the window (it lives on the last level)."""
    last = int(state[AD_N_LEVELS]) - 1
    n = 2.0**last
    u = totals[last, 0]
    v = variances[last, 0]
    mu = u / n
    width = state[AD_WIDTH] - n
    total = state[AD_TOTAL] - u
    state[AD_WIDTH] = width
    state[AD_TOTAL] = total
    mu_window = total / width
    state[AD_VARIANCE] -= v + n * width * (mu - mu_window) * (mu - mu_window) / (n + width)
    _adwin_drop_front(counts, totals, variances, last, 1)
    while last > 0 and counts[last] == 0.0:  # river pops one level; same if max_buckets >= 2
        last -= 1
    state[AD_N_LEVELS] = last + 1.0


@numba.njit(cache=True)
def adwin_epsilon(width, variance, n0, n1, delta, min_window):
    """ADWIN's cut threshold ``eps_cut`` for a split of the window into W0 | W1.

    ``delta' = ln(2 ln(W) / delta)``, ``1/m = 1/(n0 - l + 1) + 1/(n1 - l + 1)`` with
    ``l = min_window`` and ``eps = sqrt(2 / m * var_W * delta') + 2/3 * delta' / m``
    (Bifet & Gavalda 2007, Theorem 3 with the Bernstein-type bound of the ADWIN2 code;
    the same expression, evaluated in the same order, as river). ``variance`` is the
    sum of squared deviations of the window, so ``var_W = variance / width``.

    Parameters
    ----------
    width : float
        Number of points ``W = n0 + n1`` in the window (``W >= 2``).
    variance : float
        Sum of squared deviations from the window mean.
    n0, n1 : float
        Sizes of the older (W0) and the newer (W1) sub-window.
    delta : float
        Confidence parameter, in (0, 1).
    min_window : float
        ``min_window_length``.

    Returns
    -------
    float
        ``eps_cut``; NaN (so that no cut happens) if rounding made ``variance < 0``.
    """
    delta_prime = math.log(2.0 * math.log(width) / delta)
    m_recip = 1.0 / (n0 - min_window + 1.0) + 1.0 / (n1 - min_window + 1.0)
    arg = 2.0 * m_recip * (variance / width) * delta_prime
    if not arg >= 0.0:
        return np.nan
    return math.sqrt(arg) + 2.0 / 3.0 * delta_prime * m_recip


@numba.njit(cache=True)
def adwin_update(state, x):
    """Feed one value to ADWIN; ``H_STAT`` is unused (0).

    Insert ``x`` into the exponential histogram; every ``clock`` finite updates, once
    the window holds more than ``grace_period`` points, scan every bucket boundary from
    the oldest and, while some cut has ``|mean(W0) - mean(W1)| > eps_cut`` with both
    sides of at least ``min_window_length`` points, drop the oldest bucket and rescan.
    Returns ``ALARM_NONE``, ``ALARM_DRIFT`` or ``ALARM_DATA_QUALITY``.
    """
    if not math.isfinite(x):
        state[H_N_NONFINITE] += 1.0
        return ALARM_DATA_QUALITY
    if state[H_PENDING_RESET] != 0.0:
        adwin_reset(state)
    state[H_N_SEEN] += 1.0
    counts, totals, variances = _adwin_views(state)
    _adwin_insert(state, counts, totals, variances, x)
    tick = state[AD_TICK] + 1.0
    state[AD_TICK] = tick
    change = False
    clock = state[AD_CLOCK]
    min_w = state[AD_MIN_WINDOW]
    delta = state[AD_DELTA]
    if tick % clock == 0.0 and state[AD_WIDTH] > state[AD_GRACE]:
        reduce_width = True
        while reduce_width:
            reduce_width = False
            width = state[AD_WIDTH]
            n0 = 0.0
            n1 = width
            u0 = 0.0
            u1 = state[AD_TOTAL]
            done = False
            for level in range(int(state[AD_N_LEVELS]) - 1, -1, -1):
                size = 2.0**level
                c = int(counts[level])
                for k in range(c):
                    n0 += size
                    n1 -= size
                    t = totals[level, k]
                    u0 += t
                    u1 -= t
                    if level == 0 and k == c - 1:
                        done = True
                        break
                    if n1 >= min_w and n0 >= min_w:
                        eps = adwin_epsilon(width, state[AD_VARIANCE], n0, n1, delta, min_w)
                        if abs(u0 / n0 - u1 / n1) > eps:
                            reduce_width = True
                            change = True
                            if state[AD_WIDTH] > 0.0:
                                _adwin_delete_oldest(state, counts, totals, variances)
                                done = True
                                break
                if done:
                    break
    return _finish(state, change)
