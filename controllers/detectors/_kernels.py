"""Numba kernels of the streaming drift detectors.

Every detector keeps its whole state, parameters included, in one 1-D ``float64``
NumPy array that its ``*_update(state, x)`` kernel updates in place. Kernels take only
arrays and scalars, are compiled with ``numba.njit(cache=True)`` (no ``fastmath``, so
IEEE-754 results are reproducible and equal to the ``.py_func`` results) and never
allocate Python objects, so they can be called from other Numba code, e.g. a batched
simulator loop.

State layout
------------
Slots ``0 .. HEADER - 1`` are common to all detectors:

====================  ===========================================================
slot                  meaning
====================  ===========================================================
``H_PENDING_RESET``   1.0 if the last finite update raised a drift alarm; the next
                      finite update resets the statistics first (river semantics)
``H_N_DETECTIONS``    drift alarms raised since the state was created
``H_N_NONFINITE``     non-finite inputs (NaN, +-inf) rejected since creation
``H_N_SEEN``          finite inputs absorbed since the last reset
``H_STAT``            last value of the detector's test statistic (see each kernel)
====================  ===========================================================

The detector-specific slots follow; their indices are the module constants below.
Use the ``make_*_state`` functions to build a valid state.

Return codes of every ``*_update`` kernel
-----------------------------------------
``ALARM_NONE`` (0)
    Nothing to report.
``ALARM_DRIFT`` (1)
    The update raised a drift alarm.
``ALARM_DATA_QUALITY`` (2)
    ``x`` was NaN or infinite. It did not enter the statistics (the state is unchanged
    except for the ``H_N_NONFINITE`` counter), and the detector keeps working.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from simulator.stats import ks_statistic  # noqa: F401  (one KS kernel for the project)

# --------------------------------------------------------------------------- codes
ALARM_NONE = 0
ALARM_DRIFT = 1
ALARM_DATA_QUALITY = 2

MODE_UP = 0
MODE_DOWN = 1
MODE_BOTH = 2

# --------------------------------------------------------------------------- header
H_PENDING_RESET = 0
H_N_DETECTIONS = 1
H_N_NONFINITE = 2
H_N_SEEN = 3
H_STAT = 4
HEADER = 5


@numba.njit(cache=True)
def _finish(state, alarm):
    """Record the verdict of a finite update and return its code."""
    if alarm:
        state[H_PENDING_RESET] = 1.0
        state[H_N_DETECTIONS] += 1.0
        return ALARM_DRIFT
    return ALARM_NONE


@numba.njit(cache=True)
def _reset_header(state):
    """Clear the per-run header slots (counters of alarms and non-finite inputs stay)."""
    state[H_PENDING_RESET] = 0.0
    state[H_N_SEEN] = 0.0
    state[H_STAT] = 0.0


# =========================================================================== KS
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


# =========================================================================== Page-Hinkley
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


# =========================================================================== warm-up
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


# =========================================================================== CUSUM
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


# =========================================================================== EWMA
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


# =========================================================================== ADWIN
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
