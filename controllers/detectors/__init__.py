"""Streaming drift detectors (Layer 1 of the controllers), compiled with Numba.

Every detector follows river's ``DriftDetector`` contract: ``update(x)`` feeds one value
and returns the detector itself, ``drift_detected`` is True only on the update that
raised the alarm, and the statistics are reset at the start of the next update after an
alarm. The arithmetic lives in :mod:`controllers.detectors._kernels`; each detector
keeps its whole state in one float64 array (``detector.state``) so that its kernel can
also be driven from Numba code.

Non-finite input policy (all detectors)
---------------------------------------
``update(x)`` with ``x`` NaN or +-inf does not enter the statistics. Instead that update
raises a *data-quality alarm*: ``data_quality_alarm`` is True (and ``drift_detected``
False) for that update and ``n_nonfinite`` is incremented. The state is otherwise left
untouched (no clock tick, no warm-up progress, a pending post-alarm reset stays
pending), so the detector keeps working on later finite inputs exactly as if the
non-finite value had not been sent.

=================  =============================================================
class              reference
=================  =============================================================
``KSWindow``       two-sample Kolmogorov-Smirnov test, sliding vs reference window
``CUSUM``          tabular CUSUM, Page (1954); Montgomery, *SQC*, sec. 9.1
``PageHinkley``    Page-Hinkley test as in ``river.drift.PageHinkley``
``ADWIN``          Bifet & Gavalda (2007), as in ``river.drift.ADWIN``
``EWMAChart``      EWMA control chart, Roberts (1959); Montgomery, *SQC*, sec. 9.2
=================  =============================================================
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from controllers.detectors import _kernels as _k
from simulator.stats import ks_critical_value as _sim_ks_critical_value

__all__ = [
    "ADWIN",
    "CUSUM",
    "EWMAChart",
    "KSWindow",
    "PageHinkley",
    "ks_critical_value",
]

_MODES = {"up": _k.MODE_UP, "down": _k.MODE_DOWN, "both": _k.MODE_BOTH}


# --------------------------------------------------------------------------- validation
def _check_int(name, value, minimum):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _check_real(name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a real number, got {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return value


def _check_open_unit(name, value):
    value = _check_real(name, value)
    if not 0.0 < value < 1.0:
        raise ValueError(f"{name} must be in the open interval (0, 1), got {value!r}")
    return value


def _check_nonnegative(name, value):
    value = _check_real(name, value)
    if value < 0.0:
        raise ValueError(f"{name} must be >= 0, got {value!r}")
    return value


def _check_positive(name, value):
    value = _check_real(name, value)
    if not value > 0.0:
        raise ValueError(f"{name} must be > 0, got {value!r}")
    return value


def _check_mode(name, value):
    if value not in _MODES:
        raise ValueError(f"{name} must be one of {sorted(_MODES)}, got {value!r}")
    return value


# --------------------------------------------------------------------------- KS helper
def ks_critical_value(alpha, n, m):
    """Asymptotic critical value of the two-sided two-sample Kolmogorov-Smirnov test.

    ``D_alpha(n, m) = c(alpha) * sqrt((n + m) / (n * m))`` with
    ``c(alpha) = sqrt(-ln(alpha / 2) / 2)``: the first term of Kolmogorov's limiting
    distribution, ``P(sqrt(nm / (n + m)) D > c) ~ 2 exp(-2 c^2)`` (Smirnov 1948;
    e.g. Knuth, *TAOCP* vol. 2, sec. 3.3.1). For ``alpha <= 0.2`` it matches
    ``scipy.stats.kstwobign.isf(alpha)`` to better than 1e-4 relative.

    Parameters
    ----------
    alpha : float
        Significance level, in (0, 1).
    n, m : int
        Sizes of the two samples, each >= 1.

    Returns
    -------
    float
        Reject "same distribution" when the KS statistic exceeds this value.

    Raises
    ------
    ValueError
        If ``alpha`` is not in (0, 1) or ``n`` or ``m`` is not an integer >= 1.
    """
    alpha = _check_open_unit("alpha", alpha)
    n = _check_int("n", n, 1)
    m = _check_int("m", m, 1)
    return _sim_ks_critical_value(alpha, n, m)


# --------------------------------------------------------------------------- base
class _StreamDetector:
    """Shared river-like wrapper around a ``*_update(state, x)`` kernel."""

    def __init__(self):
        self.reset()

    def _make_state(self):  # pragma: no cover - abstract
        raise NotImplementedError

    def _kernel(self, state, x):  # pragma: no cover - abstract
        raise NotImplementedError

    def _params(self):  # pragma: no cover - abstract
        raise NotImplementedError

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self._params().items())
        return f"{type(self).__name__}({args})"

    def update(self, x):
        """Feed one value to the detector.

        Parameters
        ----------
        x : float
            The next value of the monitored stream (int, bool and NumPy scalars are
            converted with ``float``). NaN and +-inf are rejected without touching the
            statistics and raise the data-quality alarm instead.

        Returns
        -------
        self
            The detector, so that calls can be chained as in river.

        Raises
        ------
        TypeError
            If ``x`` cannot be converted to ``float``.
        """
        code = self._kernel(self._state, float(x))
        self._drift_detected = code == _k.ALARM_DRIFT
        self._data_quality_alarm = code == _k.ALARM_DATA_QUALITY
        return self

    def reset(self):
        """Return the detector to its freshly constructed state (counters included).

        Returns
        -------
        self
            The detector.
        """
        self._state = self._make_state()
        self._drift_detected = False
        self._data_quality_alarm = False
        return self

    @property
    def drift_detected(self):
        """Whether this update raised a drift alarm (True on the alarm update only)."""
        return self._drift_detected

    @property
    def data_quality_alarm(self):
        """Whether this update's input was NaN or infinite (data-quality alarm)."""
        return self._data_quality_alarm

    @property
    def n_detections(self):
        """Number of drift alarms since construction or the last ``reset()``."""
        return int(self._state[_k.H_N_DETECTIONS])

    @property
    def n_nonfinite(self):
        """Number of non-finite inputs rejected since construction or ``reset()``."""
        return int(self._state[_k.H_N_NONFINITE])

    @property
    def n_seen(self):
        """Number of finite inputs absorbed since the statistics were last reset."""
        return int(self._state[_k.H_N_SEEN])

    @property
    def state(self):
        """The live float64 kernel state (layout in ``_kernels``); do not resize it."""
        return self._state


# --------------------------------------------------------------------------- detectors
class KSWindow(_StreamDetector):
    """Windowed two-sample Kolmogorov-Smirnov drift detector.

    After each (re)start the first ``window_size`` values form the reference window.
    The following values fill a sliding window of the ``window_size`` most recent
    values; once it is full, every update computes the two-sample KS statistic ``D``
    between both windows and raises an alarm when
    ``D > ks_critical_value(alpha, window_size, window_size)``. After an alarm the next
    update starts a new reference window, as river's detectors reset.

    Parameters
    ----------
    window_size : int, default 100
        Number of values ``w`` in the reference and in the recent window (>= 2). The
        first test happens ``2 w`` values after a (re)start.
    alpha : float, default 0.005
        Significance level of each KS test, in (0, 1). The test is repeated on every
        update on overlapping windows, so the false-alarm rate per update is not
        ``alpha``: lower it for long streams.

    Raises
    ------
    ValueError
        If ``window_size`` is not an integer >= 2 or ``alpha`` is not in (0, 1).

    Notes
    -----
    Memory ``O(w)``; each update costs ``O(w)`` (sorted insertion and a merge).
    """

    def __init__(self, window_size=100, alpha=0.005):
        self.window_size = _check_int("window_size", window_size, 2)
        self.alpha = _check_open_unit("alpha", alpha)
        self.critical_value = ks_critical_value(self.alpha, self.window_size, self.window_size)
        super().__init__()

    def _params(self):
        return {"window_size": self.window_size, "alpha": self.alpha}

    def _make_state(self):
        return _k.make_ks_state(self.window_size, self.critical_value)

    def _kernel(self, state, x):
        return _k.ks_update(state, x)

    @property
    def statistic(self):
        """KS statistic of the last full-window test (0 before the first test)."""
        return float(self._state[_k.H_STAT])


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


class PageHinkley(_StreamDetector):
    """Page-Hinkley test with the semantics of ``river.drift.PageHinkley``.

    With ``m_t`` the running mean of the values since the last (re)start and
    ``d_t = x_t - m_t``, the sums ``U_t = alpha U_{t-1} + d_t - delta`` and
    ``L_t = alpha L_{t-1} + d_t + delta`` are tracked with ``min U`` and ``max L``
    (initial ``+inf`` and ``-1``, as river). From ``min_instances`` values on, an
    alarm is raised when ``U_t - min U > threshold`` (increase) or
    ``max L - L_t > threshold`` (decrease). The same floating-point operations are done
    in the same order as river 0.21+, so alarm indices agree exactly.

    Parameters
    ----------
    min_instances : int, default 30
        Number of values after a (re)start before alarms are allowed (>= 1).
    delta : float, default 0.005
        Magnitude of tolerated change per value, in units of ``x`` (>= 0).
    threshold : float, default 50.0
        Detection threshold ``lambda``, in units of ``x`` (>= 0).
    alpha : float, default 0.9999
        Forgetting factor of the cumulative sums, in (0, 1].
    mode : {"up", "down", "both"}, default "both"
        Detect increases, decreases or both, as river's ``mode``.

    Raises
    ------
    ValueError
        For ``min_instances < 1``, negative ``delta`` or ``threshold``, ``alpha``
        outside (0, 1] or an unknown ``mode``.

    References
    ----------
    E. S. Page (1954), Continuous inspection schemes, Biometrika 41, 100-115.
    R. Sebastiao and J. M. Fernandes (2017), Supporting the Page-Hinkley test with
    empirical mode decomposition for change detection, ISMIS, 492-498.
    """

    def __init__(
        self, min_instances=30, delta=0.005, threshold=50.0, alpha=1 - 0.0001, mode="both"
    ):
        self.min_instances = _check_int("min_instances", min_instances, 1)
        self.delta = _check_nonnegative("delta", delta)
        self.threshold = _check_nonnegative("threshold", threshold)
        self.alpha = _check_real("alpha", alpha)
        if not 0.0 < self.alpha <= 1.0:
            raise ValueError(f"alpha must be in the interval (0, 1], got {alpha!r}")
        self.mode = _check_mode("mode", mode)
        super().__init__()

    def _params(self):
        return {
            "min_instances": self.min_instances,
            "delta": self.delta,
            "threshold": self.threshold,
            "alpha": self.alpha,
            "mode": self.mode,
        }

    def _make_state(self):
        return _k.make_ph_state(
            self.min_instances, self.delta, self.threshold, self.alpha, _MODES[self.mode]
        )

    def _kernel(self, state, x):
        return _k.ph_update(state, x)

    @property
    def statistic(self):
        """Page-Hinkley test value of the monitored side(s), in units of ``x``."""
        return float(self._state[_k.H_STAT])


class ADWIN(_StreamDetector):
    """ADaptive WINdowing drift detector with the semantics of ``river.drift.ADWIN``.

    The window is stored as an exponential histogram (ADWIN2): level ``i`` holds up to
    ``max_buckets`` buckets summarising ``2**i`` values each (total and sum of squared
    deviations), in fixed-size arrays. Every ``clock`` updates, once the window holds
    more than ``grace_period`` values, every bucket boundary splits it into an older
    ``W0`` and a newer ``W1``; if ``|mean(W0) - mean(W1)| > eps_cut`` with

    ``eps_cut = sqrt(2/m var_W delta') + 2/(3m) delta'``,
    ``1/m = 1/(n0 - l + 1) + 1/(n1 - l + 1)``, ``delta' = ln(2 ln(W) / delta)``,
    ``l = min_window_length``,

    the oldest bucket is dropped, the scan repeats and a drift alarm is raised. As in
    river, the next update after an alarm restarts from an empty window. The arithmetic
    follows river's implementation operation by operation, so alarm indices, ``width``,
    ``total`` and ``variance`` agree exactly with river.

    Parameters
    ----------
    delta : float, default 0.002
        Confidence value, in (0, 1); smaller means fewer false alarms, later alarms.
    clock : int, default 32
        Check for a change every ``clock`` updates (>= 1).
    max_buckets : int, default 5
        Buckets kept per level before two are merged (>= 1; river crashes for 1).
    min_window_length : int, default 5
        Minimum size of both sub-windows for a cut to be tested (>= 1).
    grace_period : int, default 10
        No test until the window holds more than this many values (>= 0).

    Raises
    ------
    ValueError
        For ``delta`` outside (0, 1) or an integer parameter below its minimum.

    References
    ----------
    A. Bifet and R. Gavalda (2007), Learning from time-changing data with adaptive
    windowing, SIAM International Conference on Data Mining, 443-448.
    """

    def __init__(self, delta=0.002, clock=32, max_buckets=5, min_window_length=5, grace_period=10):
        self.delta = _check_open_unit("delta", delta)
        self.clock = _check_int("clock", clock, 1)
        self.max_buckets = _check_int("max_buckets", max_buckets, 1)
        self.min_window_length = _check_int("min_window_length", min_window_length, 1)
        self.grace_period = _check_int("grace_period", grace_period, 0)
        super().__init__()

    def _params(self):
        return {
            "delta": self.delta,
            "clock": self.clock,
            "max_buckets": self.max_buckets,
            "min_window_length": self.min_window_length,
            "grace_period": self.grace_period,
        }

    def _make_state(self):
        return _k.make_adwin_state(
            self.delta, self.clock, self.max_buckets, self.min_window_length, self.grace_period
        )

    def _kernel(self, state, x):
        return _k.adwin_update(state, x)

    @property
    def width(self):
        """Number of values in the adaptive window."""
        return int(self._state[_k.AD_WIDTH])

    @property
    def total(self):
        """Sum of the values in the window."""
        return float(self._state[_k.AD_TOTAL])

    @property
    def variance(self):
        """Sum of squared deviations from the window mean (river's ``variance``)."""
        return float(self._state[_k.AD_VARIANCE])

    @property
    def estimation(self):
        """Mean of the window (0 when it is empty)."""
        width = self._state[_k.AD_WIDTH]
        return float(self._state[_k.AD_TOTAL] / width) if width > 0 else 0.0


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
