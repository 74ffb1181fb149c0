"""Streaming drift detectors (Layer 1 of the controllers), compiled with Numba.

Every detector follows river's ``DriftDetector`` contract: ``update(x)`` feeds one value
and returns the detector itself, ``drift_detected`` is True only on the update that
raised the alarm, and the statistics are reset at the start of the next update after an
alarm. Each detector is a module (``ks_window``, ``cusum``, ``page_hinkley``, ``adwin``,
``ewma``); the arithmetic lives in its kernels (:mod:`controllers.detectors._kernels`);
each detector keeps its whole state in one float64 array (``detector.state``) so that its kernel can
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

from controllers.detectors._base import ks_critical_value
from controllers.detectors.adwin import ADWIN
from controllers.detectors.cusum import CUSUM
from controllers.detectors.ewma import EWMAChart
from controllers.detectors.ks_window import KSWindow
from controllers.detectors.page_hinkley import PageHinkley

__all__ = [
    "ADWIN",
    "CUSUM",
    "EWMAChart",
    "KSWindow",
    "PageHinkley",
    "ks_critical_value",
]
