"""Sample statistics of the simulator's measurements and canary judge, Numba-compiled.

- The two-sample Kolmogorov-Smirnov statistic (:func:`ks_statistic`, exactly as
  ``scipy.stats.ks_2samp``) with the sorting and merging helpers that keep the step's
  window of live samples sorted (:func:`sort_block`, :func:`merge_sorted_blocks`), and its
  asymptotic critical value (:func:`ks_critical_value`, Smirnov 1948; plain NumPy, used by
  the controllers and the scenario tool).
- The one-sided Mann-Whitney U test of two 0/1 samples given by their counts
  (:func:`mann_whitney_less`, Mann & Whitney 1947), the canary judge of
  :func:`simulator.deploy._judge_canary`.

Every function is pure: no random draws, no simulation state.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np


@nb.njit(cache=True)
def ks_statistic(a, b):
    """Two-sample Kolmogorov-Smirnov statistic of two sorted samples.

    Parameters
    ----------
    a : ndarray of float64, shape (n,)
        First sample, sorted in non-decreasing order, finite values.
    b : ndarray of float64, shape (m,)
        Second sample, sorted in non-decreasing order, finite values.

    Returns
    -------
    float
        ``sup_t |F_a(t) - F_b(t)|`` with right-continuous empirical CDFs, exactly as
        ``scipy.stats.ks_2samp`` computes it (ties included). NaN if either sample is empty.

    Notes
    -----
    Between two consecutive distinct values of ``a``, F_a is constant and F_b is
    non-decreasing, so the supremum is reached at a value x of ``a`` (F_a(x) - F_b(x)) or
    just below one (F_a(x-) - F_b(x-)); past the last value of ``a``, F_a = 1 >= F_b. Only
    these candidates are evaluated, in one forward scan of ``b``. They are jump points of
    the full merge walk, computed with the same arithmetic, so the result is the same float.
    """
    n = a.shape[0]
    m = b.shape[0]
    if n == 0 or m == 0:
        return np.nan
    i = 0
    j = 0
    d = 0.0
    while i < n:
        x = a[i]
        while j < m and b[j] < x:  # j = m F_b(x-)
            j += 1
        diff = abs(i / n - j / m)
        if diff > d:
            d = diff
        while i < n and a[i] <= x:
            i += 1
        while j < m and b[j] <= x:  # j = m F_b(x)
            j += 1
        diff = abs(i / n - j / m)
        if diff > d:
            d = diff
    return d


@nb.njit(cache=True)
def sort_block(x):
    """Sort the finite 1-D array ``x`` in place; return it.

    Insertion sort up to 256 entries (the default 100-sample minute block sorts in about
    half of ``np.sort``'s time, its comparisons being cheap and predictable), NumPy's sort
    above. The sorted values are the same either way.
    """
    n = x.shape[0]
    if n > 256:
        x.sort()
        return x
    for i in range(1, n):
        v = x[i]
        k = i - 1
        while k >= 0 and x[k] > v:
            x[k + 1] = x[k]
            k -= 1
        x[k + 1] = v
    return x


@nb.njit(cache=True)
def _merge2(x, nx, y, ny, out):
    """Merge the sorted ``x[:nx]`` and ``y[:ny]`` into ``out[:nx + ny]``."""
    i = 0
    j = 0
    o = 0
    while i < nx and j < ny:  # branch-free body (selects): the order of draws is random
        xv = x[i]
        yv = y[j]
        take_y = yv < xv
        out[o] = yv if take_y else xv
        j += 1 if take_y else 0
        i += 0 if take_y else 1
        o += 1
    while i < nx:
        out[o] = x[i]
        i += 1
        o += 1
    while j < ny:
        out[o] = y[j]
        j += 1
        o += 1


@nb.njit(cache=True)
def merge_sorted_blocks(live, j, n, out):
    """Merge the sorted blocks ``live[k, j, :n]`` (k = 0..w-1) into ``out`` (length w n).

    The result equals ``np.sort`` of their concatenation: w - 1 linear two-way merges
    replace a full sort of the KS window each minute.

    Parameters
    ----------
    live : ndarray, shape (w, n_features, >= n)
        Ring buffer of per-minute sample blocks, each ``live[k, j, :n]`` sorted.
    j : int
        Feature index.
    n : int
        Samples per block.
    out : ndarray, shape (w n,)
        Output: the merged, sorted window.
    """
    w = live.shape[0]
    tmp = np.empty(w * n)
    # ping-pong between out and tmp so that the last merge writes into out
    if (w - 1) % 2 == 0:
        cur, oth = out, tmp
    else:
        cur, oth = tmp, out
    cur[:n] = live[0, j, :n]
    for k in range(1, w):
        _merge2(cur, k * n, live[k, j], n, oth)
        cur, oth = oth, cur


def ks_critical_value(alpha: float, n: int, m: int) -> float:
    """Asymptotic two-sample KS critical value D_alpha(n, m) (Smirnov 1948).

    D_alpha = c(alpha) sqrt((n + m) / (n m)), c(alpha) = sqrt(-ln(alpha / 2) / 2).

    Raises
    ------
    ValueError
        If alpha is not in (0, 1) or n, m < 1.
    """
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    if n < 1 or m < 1:
        raise ValueError(f"sample sizes must be >= 1, got n={n}, m={m}")
    return float(np.sqrt(-np.log(alpha / 2.0) / 2.0) * np.sqrt((n + m) / (n * m)))


@nb.njit(cache=True)
def mann_whitney_less(n_c, k_c, n_b, k_b):
    """One-sided Mann-Whitney U test of two 0/1 samples given by their counts.

    H1: the values of sample c (``k_c`` ones among ``n_c``) are stochastically smaller
    than those of sample b (``k_b`` ones among ``n_b``). With 0/1 values the statistic
    depends only on the counts: U_c = k_c (n_b - k_b) + (k_c k_b + (n_c - k_c)(n_b - k_b)) / 2
    and U_b = n_c n_b - U_c. Normal approximation with tie correction and continuity
    correction (Mann & Whitney 1947; what ``scipy.stats.mannwhitneyu(c, b,
    alternative="less", method="asymptotic")`` computes): z = (U_b - n_c n_b / 2 - 1/2) /
    sigma, sigma^2 = n_c n_b / 12 ((N + 1) - sum_g (t_g^3 - t_g) / (N (N - 1))) over the
    two tie groups (ones, zeros), N = n_c + n_b, and p = P(Z >= z).

    Parameters
    ----------
    n_c, k_c : int
        Size of sample c and its count of ones (0 <= k_c <= n_c).
    n_b, k_b : int
        Size of sample b and its count of ones (0 <= k_b <= n_b).

    Returns
    -------
    u_c : float
        The U statistic of sample c.
    z : float
        The standardised statistic; -inf when a sample is empty or all values are tied
        (sigma = 0).
    p : float
        The one-sided p-value; 1 (no evidence) when a sample is empty or sigma = 0.
    """
    nc = float(n_c)
    nbf = float(n_b)
    kc = float(k_c)
    kb = float(k_b)
    u_c = kc * (nbf - kb) + 0.5 * (kc * kb + (nc - kc) * (nbf - kb))
    z = -np.inf
    pval = 1.0
    if n_c > 0 and n_b > 0:
        n_all = nc + nbf
        t1 = kc + kb
        t0 = n_all - t1
        ties = (t1 * t1 * t1 - t1) + (t0 * t0 * t0 - t0)
        var = nc * nbf / 12.0 * ((n_all + 1.0) - ties / (n_all * (n_all - 1.0)))
        if var > 0.0:
            z = ((nc * nbf - u_c) - 0.5 * nc * nbf - 0.5) / math.sqrt(var)
            pval = 0.5 * math.erfc(z / math.sqrt(2.0))
    return u_c, z, pval
