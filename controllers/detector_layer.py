"""The detector layer of ``rules`` and ``hybrid``: what raises the alarm that opens a decision.

``controller.detector`` selects it (Hydra: ``controller.detector=cusum``):

================  ==========================================================================
detector          alarm of the minute
================  ==========================================================================
``ks`` (default)  the paper's: the envelope is non-empty or risk is high on the windowed KS
                  statistic, the accuracy drop and the anomaly share
                  (:func:`controllers.kernels.alarm`), or an operational alarm
``cusum``         :class:`controllers.detectors.CUSUM` (k = 0.5, h = 5, upward, 30-minute
                  warm-up) fires on the measured accuracy drop on delayed labels (``A``), or
                  an operational alarm
``page_hinkley``  :class:`controllers.detectors.PageHinkley` (delta = 0.005, threshold 0.5,
                  upward, 30 minimum instances) on ``A``, or an operational alarm
``adwin``         :class:`controllers.detectors.ADWIN` (delta = 0.002) on ``A``, or an
                  operational alarm
``ewma``          :class:`controllers.detectors.EWMAChart` (lambda = 0.2, L = 3, upward,
                  30-minute warm-up) on ``A``, or an operational alarm
================  ==========================================================================

The operational alarm (validation failures, errors or p99 beyond the scenario's SLOs,
:func:`controllers.kernels.infra_alarm`) stays on with every detector. The stream
detectors see every minute (in cooldown too) and start each episode fresh; their
parameters are textbook defaults (Page-Hinkley's threshold rescaled to a drop in [0, 1]),
the same as the detector-quality table's (``experiments.detector_quality``). The action
chosen at a decision is unchanged (the envelope, the rules, the bandit).
"""

from __future__ import annotations

import numba as nb
import numpy as np

from controllers.detectors import ADWIN, CUSUM, EWMAChart, PageHinkley
from controllers.detectors import _kernels as DK
from controllers.kernels import OBS_A, alarm, infra_alarm

#: Detector names, by code (``params.detector``).
DETECTORS = ("ks", "cusum", "page_hinkley", "adwin", "ewma")
DET_KS, DET_CUSUM, DET_PAGE_HINKLEY, DET_ADWIN, DET_EWMA = range(len(DETECTORS))


def stream_detector(name: str):
    """Return a fresh stream detector ``name`` at the layer's parameters (module docstring).

    Raises
    ------
    ValueError
        For ``ks`` (not a stream detector) or an unknown name.
    """
    if name == "cusum":
        return CUSUM(k=0.5, h=5.0, direction="up", warmup=30)
    if name == "page_hinkley":
        return PageHinkley(min_instances=30, delta=0.005, threshold=0.5, mode="up")
    if name == "adwin":
        return ADWIN(delta=0.002)
    if name == "ewma":
        return EWMAChart(lam=0.2, L=3.0, direction="up", warmup=30)
    raise ValueError(f"unknown stream detector {name!r}; allowed: {', '.join(DETECTORS[1:])}")


def detector_state(name: str) -> np.ndarray:
    """Return the fresh state array of detector ``name`` (one unused entry for ``ks``)."""
    return np.zeros(1) if name == "ks" else stream_detector(name).state.copy()


@nb.njit(cache=True)
def detector_update(code, det, x):
    """Feed ``x`` to the stream detector ``code`` (state ``det``); return True on a drift alarm."""
    if code == DET_CUSUM:
        r = DK.cusum_update(det, x)
    elif code == DET_PAGE_HINKLEY:
        r = DK.ph_update(det, x)
    elif code == DET_ADWIN:
        r = DK.adwin_update(det, x)
    elif code == DET_EWMA:
        r = DK.ewma_update(det, x)
    else:
        r = DK.ALARM_NONE
    return r == DK.ALARM_DRIFT


@nb.njit(cache=True)
def detector_alarm(code, det, obs, d_crit, err_limit, p99_limit):
    """Return the minute's alarm of detector ``code`` (module docstring); feeds it ``A``.

    Parameters
    ----------
    code : int
        Index in :data:`DETECTORS`.
    det : ndarray of float64
        The stream detector's state (updated in place; unused for ``ks``).
    obs : ndarray, shape (10,)
        The full observation.
    d_crit : float
        KS critical value of the envelope's alarm.
    err_limit, p99_limit : float
        The operational alarm's limits (:func:`controllers.kernels.slo_limits`).
    """
    if code == DET_KS:
        return alarm(obs, d_crit, err_limit, p99_limit)
    fired = detector_update(code, det, obs[OBS_A])
    return fired or infra_alarm(obs, err_limit, p99_limit)
