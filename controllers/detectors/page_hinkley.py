"""Page-Hinkley detector, as ``river.drift.PageHinkley``."""

from __future__ import annotations

from controllers.detectors import _kernels as _k
from controllers.detectors._base import (
    _MODES,
    _check_int,
    _check_mode,
    _check_nonnegative,
    _check_real,
    _StreamDetector,
)


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
