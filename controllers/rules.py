"""Rules-only baseline: the paper's pi_det plus expert rules for the other families (12 in all).

The paper (Sec. 5) compares against "12 expert rules, alpha = 0.05, z = 3.0, no learning"
without listing them. Ours, first match wins:

0.  fallback active for 60+ minutes and the KS test still rejects with d > 0.15 -> retrain
    (the fallback holds the line; the data moved for good). Checked first, so that the
    envelope's fallback region does not renew the fallback for ever.
1-3. pi_det: fallback / rollback / retrain regions (Sec. 3.2).
4.  validation failures > 2% of rows -> fallback (corrupted fields; the fallback ignores them).
5.  utilisation > 0.9 and error rate > 1% -> fallback (lighter model sheds load).
6.  p99 above the latency SLO with utilisation < 0.7 -> rollback (the model got slower).
7.  error rate > 1% with utilisation < 0.7 and p99 < 80% of the timeout -> fallback
    (a failing dependency: the fallback needs no feature store).
8.  p99 >= 80% of the client timeout -> no_op (the network; nothing a model action fixes).
9.  (rule 0 above; counted here so that there are 12.)
10. anomaly rate in (3%, 5%] with no validation failures -> no_op (seasonal or a cluster; hold).
11. accuracy drop in (5%, 10%] and d <= 0.15 -> no_op (watch; below the rollback region).
12. nothing matched -> no_op.
``z`` (3.0) is the environment's monitoring setting ``anomaly_z``; ``alpha`` sets the KS
critical value.

The rules and the controller's per-episode state machine are the Numba kernels
:func:`controllers.kernels.expert_rules` and :func:`controllers.kernels.rules_act`, shared
with the batched fast path (:mod:`experiments.fast`).
"""

from __future__ import annotations

import numpy as np

from controllers import kernels as _k
from controllers.base import Controller
from controllers.envelope import Observation

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


def expert_rules(x: Observation, fallback_minutes: int, timeout_ms: float = 1000.0,
                 slo_latency_ms: float = 300.0) -> tuple[int, str]:
    """Return (action, rule name) of the first matching rule."""
    a, rule = _k.expert_rules(x.vector, x.d_critical, int(fallback_minutes),
                              float(timeout_ms), float(slo_latency_ms))
    return int(a), RULE_NAMES[rule]


class RulesController(Controller):
    """Deterministic expert rules, no learning (paper's Rules-only).

    Parameters
    ----------
    alpha : float
        KS significance level (paper: 0.05).
    cooldown : int
        Minutes to wait after an action.
    """

    name = "rules"

    def __init__(self, seed: int = 0, cooldown: int = 30, alpha: float = 0.05):
        super().__init__(seed=seed, cooldown=cooldown, alpha=alpha)
        self._fb_since = -1

    def reset(self, seed: int) -> None:
        """Clear per-episode state."""
        super().reset(seed)
        self._fb_since = -1

    def act(self, observation, info) -> int:
        """Track fallback time, then act at decision epochs (:func:`kernels.rules_act`)."""
        x = self.observe(observation, info)  # validates; the KS critical value of the env
        state = np.empty(_k.RULES_STATE_SIZE, dtype=np.int64)
        state[_k.RS_QUIET_UNTIL] = self._quiet_until
        state[_k.RS_FB_SINCE] = self._fb_since
        a = _k.rules_act(state, x.vector, int(info.get("minute", 0)),
                         bool(info.get("fallback_active")), x.d_critical, self.cooldown)
        self._quiet_until = int(state[_k.RS_QUIET_UNTIL])
        self._fb_since = int(state[_k.RS_FB_SINCE])
        return int(a)

    def decide(self, x, info) -> int:
        """First matching expert rule."""
        fb_min = int(info.get("minute", 0)) - self._fb_since if self._fb_since >= 0 else 0
        return expert_rules(x, fb_min)[0]
