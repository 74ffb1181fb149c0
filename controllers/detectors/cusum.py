"""Tabular CUSUM detector (Page 1954; Montgomery, *SQC*, sec. 9.1)."""

from __future__ import annotations

import numpy as np

from controllers.detectors import _kernels as _k
from controllers.detectors._base import (
    _MODES,
    _check_int,
    _check_mode,
    _check_nonnegative,
    _check_positive,
    _check_real,
    _StreamDetector,
)


class CUSUM(_StreamDetector):
    """Tabular CUSUM control chart for a shift of the mean.

    With reference mean ``mu`` and standard deviation ``sigma`` (given, or estimated
    from the first ``warmup`` values after each (re)start, sample std with ddof=1),

    ``C+_t = max(0, C+_{t-1} + x_t - mu - k sigma)``,
    ``C-_t = max(0, C-_{t-1} + mu - x_t - k sigma)``, ``C+_0 = C-_0 = 0``,

    and an alarm is raised when ``C+_t > h sigma`` (``direction="up"``),
    ``C-_t > h sigma`` (``"down"``) or either (``"both"``). After an alarm the next
    update resets ``C+``, ``C-`` and, when they were estimated, ``mu`` and ``sigma``.

    Parameters
    ----------
    k : float, default 0.5
        Slack (reference value) in units of ``sigma`` (>= 0); ``k = delta / 2`` is
        optimal for a shift of ``delta`` sigma.
    h : float, default 5.0
        Decision threshold in units of ``sigma`` (>= 0). ``k = 0.5, h = 5`` gives an
        in-control ARL of about 465 for the two-sided chart with known ``mu``
        and ``sigma`` (Siegmund approximation; Montgomery, sec. 9.1).
    direction : {"up", "down", "both"}, default "both"
        Which shift to detect: an increase, a decrease (e.g. falling accuracy) or both.
    warmup : int, default 100
        Number of values used to estimate the missing ``mu0`` / ``sigma`` (>= 2, or
        >= 1 if ``sigma`` is given). Warm-up values are not monitored. If the sample
        standard deviation is still 0 after ``warmup`` values, the warm-up goes on
        until it becomes positive. Ignored when both ``mu0`` and ``sigma`` are given.
    mu0 : float or None, default None
        In-control mean, in the units of ``x``; None estimates it.
    sigma : float or None, default None
        In-control standard deviation (> 0), in the units of ``x``; None estimates it.

    Raises
    ------
    ValueError
        For a negative ``k`` or ``h``, an unknown ``direction``, a too small
        ``warmup``, a non-finite ``mu0`` or a non-positive ``sigma``.

    References
    ----------
    E. S. Page (1954), Continuous inspection schemes, Biometrika 41, 100-115.
    D. C. Montgomery, Introduction to Statistical Quality Control, sec. 9.1 (tabular
    CUSUM).
    """

    def __init__(self, k=0.5, h=5.0, direction="both", warmup=100, mu0=None, sigma=None):
        self.k = _check_nonnegative("k", k)
        self.h = _check_nonnegative("h", h)
        self.direction = _check_mode("direction", direction)
        self.mu0 = None if mu0 is None else _check_real("mu0", mu0)
        self.sigma = None if sigma is None else _check_positive("sigma", sigma)
        self.warmup = _check_int("warmup", warmup, 1 if self.sigma is not None else 2)
        super().__init__()

    def _params(self):
        return {
            "k": self.k,
            "h": self.h,
            "direction": self.direction,
            "warmup": self.warmup,
            "mu0": self.mu0,
            "sigma": self.sigma,
        }

    def _make_state(self):
        return _k.make_cusum_state(
            self.k,
            self.h,
            _MODES[self.direction],
            self.warmup,
            np.nan if self.mu0 is None else self.mu0,
            np.nan if self.sigma is None else self.sigma,
        )

    def _kernel(self, state, x):
        return _k.cusum_update(state, x)

    @property
    def statistic(self):
        """Monitored CUSUM sum in units of sigma, e.g. ``max(C+, C-) / sigma``."""
        return float(self._state[_k.H_STAT])

    @property
    def c_plus(self):
        """Upper cumulative sum ``C+`` (units of ``x``)."""
        return float(self._state[_k.CU_CPLUS])

    @property
    def c_minus(self):
        """Lower cumulative sum ``C-`` (units of ``x``)."""
        return float(self._state[_k.CU_CMINUS])
