"""Helpers shared by test modules (``tests/`` is on ``sys.path`` under pytest)."""

from __future__ import annotations

import numpy as np

from controllers.conservative import ConservativeUCBController
from controllers.linear import PENDING_SLOTS, record_round


def record_cucb_round(ctrl: ConservativeUCBController, x: np.ndarray, play: int,
                      base: int) -> int:
    """Record a round (features ``x``, ``play``, ``base``) as ``update`` does; return its index.

    The round goes through the controller's own kernel
    (:func:`controllers.linear.record_round`), as if ``act`` had decided it.
    """
    ctrl.reserve(1)
    minute = 100 + ctrl.n_rounds
    ctrl.state.pend_x[minute % PENDING_SLOTS] = x
    ctrl.state.vars["round_minute"] = minute
    ctrl.state.vars["round_play"] = play
    ctrl.state.vars["round_base"] = base
    record_round(ctrl.state, ctrl.params)
    return ctrl.n_rounds - 1


def same_array(x: np.ndarray, y: np.ndarray) -> bool:
    """Whether two arrays are equal, NaN equal to NaN; record arrays compared bit for bit."""
    if x.dtype.names or y.dtype.names:
        return x.dtype == y.dtype and x.shape == y.shape and x.tobytes() == y.tobytes()
    return bool(np.array_equal(x, y, equal_nan=x.dtype.kind in "fc"))
