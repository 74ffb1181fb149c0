"""Statistics for the result tables (scipy-based)."""

from __future__ import annotations

import math

from scipy.stats import binomtest


def clopper_pearson(k: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Exact (Clopper-Pearson) two-sided interval of a binomial proportion.

    Parameters
    ----------
    k, n : int
        Events and trials, 0 <= k <= n.
    confidence : float

    Returns
    -------
    (low, high) : tuple of float
        In [0, 1]; (nan, nan) when n == 0.

    Raises
    ------
    ValueError
        If k < 0, k > n or n < 0.
    """
    if n < 0 or k < 0 or k > n:
        raise ValueError(f"need 0 <= k <= n, got k={k}, n={n}")
    if n == 0:
        return (math.nan, math.nan)
    ci = binomtest(k, n).proportion_ci(confidence_level=confidence, method="exact")
    return (float(ci.low), float(ci.high))
