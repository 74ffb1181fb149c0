"""ADWIN detector (Bifet & Gavalda 2007), as ``river.drift.ADWIN``."""

from __future__ import annotations

from controllers.detectors import _kernels as _k
from controllers.detectors._base import (
    _check_int,
    _check_open_unit,
    _StreamDetector,
)


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
