"""Layer 1 as a preemptive shield (DESIGN 4).

The shield gives the mask of permitted actions, with a stated rule for each forbidden
action, and a recommended action.

Rules (an action is forbidden when its rule says so):

- ``no_op``: forbidden when the envelope says act and the risk is high (a > 0.15, or
  error rate > 5%, or rho > 0.05): doing nothing is not safe then.
- ``fallback``: always permitted (bounded accuracy loss, lighter, immune to bad fields).
- ``rollback``: forbidden when no previous version exists, when the previous version is
  schema-incompatible with the live data, or while a deployment is in progress.
- ``retrain``: forbidden while a retrain or canary runs, and when any data-quality alarm
  (validation failures > 1% or rho > 0.03) fired within the labelled training window
  (the last ``label_delay + train_window`` minutes): a model trained on that data could be
  poisoned. When the error budget burns fast, also forbidden unless the envelope asks for it.
- extended actions: ``scale_out`` only above 70% utilisation; ``restart``, ``quarantine`` and
  ``escalate`` permitted.

The recommended action is pi_det's when non-empty, else the expert rules' choice.
"""

from __future__ import annotations

import numpy as np

from controllers.envelope import NONE, Observation, pi_det
from controllers.rules import expert_rules
from simulator.layout import FALLBACK, NO_OP, RETRAIN, ROLLBACK, SCALE_OUT


class Shield:
    """Stateful shield: remembers data-quality alarms over the training-window horizon."""

    def __init__(self, quality_validation: float = 0.01, quality_rho: float = 0.03):
        self.quality_validation = quality_validation
        self.quality_rho = quality_rho
        self.last_quality_alarm = -(10**9)

    def reset(self) -> None:
        """Forget the episode's alarms."""
        self.last_quality_alarm = -(10**9)

    def observe(self, x: Observation, minute: int) -> None:
        """Record a data-quality alarm of this minute, if any (call every minute)."""
        if x.validation_fail > self.quality_validation or x.rho > self.quality_rho:
            self.last_quality_alarm = minute

    def mask(self, x: Observation, info: dict, n_actions: int, tight: bool = False) -> np.ndarray:
        """Permitted actions, shape (n_actions,) bool; ``tight`` when the error budget burns."""
        minute = int(info.get("minute", 0))
        m = np.ones(n_actions, dtype=bool)
        env = pi_det(x)
        if env != NONE and (x.a > 0.15 or x.error_rate > 0.05 or x.rho > 0.05):
            m[NO_OP] = False
        busy = bool(info.get("retrain_running")) or bool(info.get("canary_active"))
        if (not info.get("previous_available", True)
                or not info.get("previous_schema_compatible", True) or busy):
            m[ROLLBACK] = False
        horizon = int(info.get("label_delay", 0)) + int(info.get("train_window", 120))
        if busy or minute - self.last_quality_alarm <= horizon:
            m[RETRAIN] = False
        if tight and env != RETRAIN:
            m[RETRAIN] = False
        if n_actions > SCALE_OUT and x.utilisation <= 0.7:
            m[SCALE_OUT] = False
        if not m.any():
            m[FALLBACK] = True
        return m

    def recommend(self, x: Observation, fallback_minutes: int = 0) -> int:
        """pi_det's action if non-empty, else the first matching expert rule."""
        env = pi_det(x)
        return env if env != NONE else expert_rules(x, fallback_minutes)[0]
