"""EWMA control chart detector (Roberts 1959; Montgomery, *SQC*, sec. 9.2)."""

from __future__ import annotations

import numpy as np

from controllers.detectors import _kernels as _k
from controllers.detectors._base import (
    _MODES,
    _check_int,
    _check_mode,
    _check_positive,
    _check_real,
    _StreamDetector,
)


class EWMAChart(_StreamDetector):
    """Exponentially weighted moving-average control chart with exact limits.

    ``z_t = lam x_t + (1 - lam) z_{t-1}`` with ``z_0 = mu``; the chart signals when
    ``|z_t - mu| > L sigma sqrt(lam / (2 - lam) (1 - (1 - lam)^(2t)))`` on the monitored
    side, i.e. with the exact time-varying limits rather than the asymptotic ones.
    ``mu`` and ``sigma`` are given or estimated from the first ``warmup`` values after
    each (re)start (sample std, ddof=1); after an alarm the next update restarts.

    Parameters
    ----------
    lam : float, default 0.2
        Smoothing constant ``lambda``, in (0, 1]; ``lam = 1`` is a Shewhart chart.
    L : float, default 3.0
        Width of the control limits in standard deviations of ``z_t`` (> 0).
    direction : {"up", "down", "both"}, default "both"
        Signal above the upper limit, below the lower limit, or both.
    warmup : int, default 100
        Values used to estimate the missing ``mu0`` / ``sigma`` (>= 2, or >= 1 if
        ``sigma`` is given); extended while the sample std is 0; ignored when both are
        given. Warm-up values are not monitored.
    mu0 : float or None, default None
        In-control mean, in the units of ``x``; None estimates it.
    sigma : float or None, default None
        In-control standard deviation of ``x`` (> 0); None estimates it.

    Raises
    ------
    ValueError
        For ``lam`` outside (0, 1], ``L <= 0``, an unknown ``direction``, a too small
        ``warmup``, a non-finite ``mu0`` or a non-positive ``sigma``.

    References
    ----------
    S. W. Roberts (1959), Control chart tests based on geometric moving averages,
    Technometrics 1, 239-250.
    D. C. Montgomery, Introduction to Statistical Quality Control, sec. 9.2.
    """

    def __init__(self, lam=0.2, L=3.0, direction="both", warmup=100, mu0=None, sigma=None):
        self.lam = _check_real("lam", lam)
        if not 0.0 < self.lam <= 1.0:
            raise ValueError(f"lam must be in the interval (0, 1], got {lam!r}")
        self.L = _check_positive("L", L)
        self.direction = _check_mode("direction", direction)
        self.mu0 = None if mu0 is None else _check_real("mu0", mu0)
        self.sigma = None if sigma is None else _check_positive("sigma", sigma)
        self.warmup = _check_int("warmup", warmup, 1 if self.sigma is not None else 2)
        super().__init__()

    def _params(self):
        return {
            "lam": self.lam,
            "L": self.L,
            "direction": self.direction,
            "warmup": self.warmup,
            "mu0": self.mu0,
            "sigma": self.sigma,
        }

    def _make_state(self):
        return _k.make_ewma_state(
            self.lam,
            self.L,
            _MODES[self.direction],
            self.warmup,
            np.nan if self.mu0 is None else self.mu0,
            np.nan if self.sigma is None else self.sigma,
        )

    def _kernel(self, state, x):
        return _k.ewma_update(state, x)

    @property
    def statistic(self):
        """Standardised EWMA ``(z_t - mu) / sigma_z(t)``, compared with ``L``."""
        return float(self._state[_k.H_STAT])

    @property
    def z(self):
        """Current EWMA value ``z_t`` (units of ``x``)."""
        return float(self._state[_k.EW_Z])
