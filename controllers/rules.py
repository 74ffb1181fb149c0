"""Rules-only baseline: the paper's pi_det plus expert rules for the other families.

The paper (Sec. 5) compares against "12 expert rules, alpha = 0.05, z = 3.0, no learning"
without listing them. Ours are the 12 of :data:`RULE_NAMES`, first match wins
(:func:`controllers.kernels.expert_rules`):

1. ``fallback_not_enough``: the fallback has been active for 60+ minutes and the KS test
   still rejects with d > 0.15 -> retrain (the fallback holds the line; the data moved for
   good). Checked first, so that the envelope's fallback region does not renew the fallback
   for ever.
2. ``pi_det_fallback``: pi_det's fallback region (Sec. 3.2) -> fallback.
3. ``pi_det_rollback``: pi_det's rollback region -> rollback.
4. ``pi_det_retrain``: pi_det's retrain region -> retrain.
5. ``validation_failures``: validation failures > 2% of rows -> fallback (corrupted fields;
   the fallback ignores them).
6. ``overload``: utilisation > 0.9 and error rate > 1% -> fallback (a lighter model sheds
   load).
7. ``latency_regression``: p99 above the latency SLO with utilisation < 0.7 -> rollback (the
   model got slower).
8. ``dependency_errors``: error rate > 1% with utilisation < 0.7 and p99 < 80% of the
   timeout -> fallback (a failing dependency: the fallback needs no feature store).
9. ``network_timeouts``: p99 >= 80% of the client timeout -> no_op (the network; nothing a
   model action fixes).
10. ``anomaly_hold``: anomaly rate in (3%, 5%] with no validation failures -> no_op
    (seasonal or a cluster; hold).
11. ``accuracy_watch``: accuracy drop in (5%, 10%] and d <= 0.15 -> no_op (watch; below the
    rollback region).
12. ``default_hold``: nothing matched -> no_op.

``z`` (3.0) is the environment's monitoring setting ``anomaly_z``; ``alpha`` sets the KS
critical value. The controller acts at alarms outside its cooldown.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numba as nb
import numpy as np

from controllers import kernels as K
from controllers.base import ControllerConfig, KernelController, kernel_params, require
from controllers.detector_layer import DETECTORS, detector_alarm, detector_state
from controllers.envelope import Observation
from controllers.protocol import Kernels, d_crit, vars_state
from simulator.layout import NO_OP

#: The rules by index (:func:`controllers.kernels.expert_rules` returns the index).
RULE_NAMES = (
    "pi_det_fallback",
    "pi_det_rollback",
    "pi_det_retrain",
    "validation_failures",
    "overload",
    "latency_regression",
    "dependency_errors",
    "network_timeouts",
    "fallback_not_enough",
    "anomaly_hold",
    "accuracy_watch",
    "default_hold",
)

#: Per-episode scalars: the cooldown clock and the minute the fallback was first seen
#: active in the current stretch (-1: not active).
VARS = np.dtype([("quiet_until", np.int64), ("fb_since", np.int64)], align=True)


def expert_rules(x: Observation, fallback_minutes: int) -> tuple[int, str]:
    """Return (action, rule name) of the first matching rule, at ``x``'s SLO limits."""
    a, rule = K.expert_rules(x.vector, x.d_critical, int(fallback_minutes),
                             float(x.timeout_ms), float(x.p99_limit_ms), float(x.err_limit))
    return int(a), RULE_NAMES[rule]


@dataclass
class RulesConfig(ControllerConfig):
    """``rules``' parameters (paper Sec. 5: alpha = 0.05, no learning).

    Attributes
    ----------
    detector : str
        What raises the alarm that opens a decision (:mod:`controllers.detector_layer`):
        ``ks`` (the paper's, default), ``cusum``, ``page_hinkley``, ``adwin`` or ``ewma``.
    """

    _target_: str = "controllers.rules.RulesController"
    detector: str = "ks"

    def __post_init__(self):
        super().__post_init__()
        require(self.detector in DETECTORS, "detector", self.detector,
                f"one of {', '.join(DETECTORS)}")


class RulesParams(NamedTuple):
    """Kernel parameters of ``rules`` (``detector``: its code in ``DETECTORS``)."""

    alpha: float
    cooldown: int
    detector: int


class RulesState(NamedTuple):
    """``rules``' state: per-episode scalars and the detector layer's state.

    Attributes
    ----------
    vars, init : ndarray, shape (1,)
        The scalars and their values at an episode's start.
    det, det_init : ndarray of float64
        The stream detector's state and its fresh value (:mod:`controllers.detector_layer`).
    """

    vars: np.ndarray
    init: np.ndarray
    det: np.ndarray
    det_init: np.ndarray
    EPISODE = ("vars", "det")


@nb.njit(cache=True)
def reset(state, params):
    """Start the episode: the scalars and the detector fresh."""
    state.vars[:] = state.init
    state.det[:] = state.det_init


@nb.njit(cache=True)
def act(state, params, obs, info, truth, rng):
    """Track the fallback's time, then play the first matching rule at a decision epoch.

    The detector layer sees every minute (``params.detector``); a non-``no_op`` action
    starts a cooldown of ``params.cooldown`` minutes after this one.
    """
    v = state.vars[0]
    fb_min = K.track_fallback(v, info)
    minute = info[0].minute
    dc = d_crit(params, info)
    err_limit, p99_limit, timeout_ms = K.slo_limits(info)
    alarmed = detector_alarm(params.detector, state.det, obs, dc, err_limit, p99_limit)
    if minute < v.quiet_until or not alarmed:
        return NO_OP, 0.0
    a, _ = K.expert_rules(obs, dc, fb_min, timeout_ms, p99_limit, err_limit)
    if a != NO_OP:
        v.quiet_until = minute + 1 + params.cooldown
    return a, 0.0


class RulesController(KernelController):
    """Deterministic expert rules, no learning (paper's Rules-only)."""

    name = "rules"
    Config = RulesConfig
    kernels = Kernels(RulesParams, act=act, reset=reset)

    def new_params(self, config: RulesConfig) -> RulesParams:
        """Return the config's fields, the detector as its code."""
        return kernel_params(RulesParams, config, detector=DETECTORS.index(config.detector))

    def new_state(self, config: RulesConfig) -> RulesState:
        """No cooldown, no fallback stretch, a fresh detector; nothing is learned."""
        base = vars_state(VARS, quiet_until=-1, fb_since=-1)
        det = detector_state(config.detector)
        return RulesState(base.vars, base.init, det, det.copy())
