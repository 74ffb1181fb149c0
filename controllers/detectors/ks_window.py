"""Sliding-window two-sample Kolmogorov-Smirnov detector."""

from __future__ import annotations

from controllers.detectors import _kernels as _k
from controllers.detectors._base import (
    _check_int,
    _check_open_unit,
    _StreamDetector,
    ks_critical_value,
)


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
