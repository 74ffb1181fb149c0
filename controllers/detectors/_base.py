"""Shared parts of the detectors: argument checks, the KS critical value, the base class."""

from __future__ import annotations

import math
import numbers

from controllers.detectors import _kernels as _k
from simulator.stats import ks_critical_value as _sim_ks_critical_value

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
