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

The rules are computed by :mod:`controllers.hybrid_kernels` (shared with the fast path).
"""

from __future__ import annotations

import numpy as np

from controllers import hybrid_kernels as _hk
from controllers.envelope import Observation


class Shield:
    """Stateful shield: remembers data-quality alarms over the training-window horizon."""

    def __init__(self, quality_validation: float = _hk.QUALITY_VALIDATION,
                 quality_rho: float = _hk.QUALITY_RHO):
        self.quality_validation = quality_validation
        self.quality_rho = quality_rho
        self.last_quality_alarm = _hk.NO_ALARM

    def reset(self) -> None:
        """Forget the episode's alarms."""
        self.last_quality_alarm = _hk.NO_ALARM

    def observe(self, x: Observation, minute: int) -> None:
        """Record a data-quality alarm of this minute, if any (call every minute)."""
        self.last_quality_alarm = int(_hk.shield_observe(
            x.vector, int(minute), int(self.last_quality_alarm), self.quality_validation,
            self.quality_rho))

    def mask(self, x: Observation, info: dict, n_actions: int, tight: bool = False) -> np.ndarray:
        """Permitted actions, shape (n_actions,) bool; ``tight`` when the error budget burns."""
        minute, busy, prev_ok, prev_compat, delay, window = shield_facts(info)
        m = np.empty(n_actions, dtype=bool)
        _hk.shield_mask(x.vector, x.d_critical, minute, int(self.last_quality_alarm), busy,
                        prev_ok, prev_compat, delay, window, bool(tight), m)
        return m

    def recommend(self, x: Observation, fallback_minutes: int = 0) -> int:
        """pi_det's action if non-empty, else the first matching expert rule."""
        return int(_hk.shield_recommend(x.vector, x.d_critical, int(fallback_minutes)))


def shield_facts(info: dict) -> tuple[int, bool, bool, bool, int, int]:
    """Return the public facts the shield reads from ``info``.

    (minute, busy, previous_available, previous_schema_compatible, label_delay,
    train_window), with the defaults of a missing key: minute 0, not busy, a compatible
    previous version, no label delay, a 120-minute training window.
    """
    return (int(info.get("minute", 0)),
            bool(info.get("retrain_running")) or bool(info.get("canary_active")),
            bool(info.get("previous_available", True)),
            bool(info.get("previous_schema_compatible", True)),
            int(info.get("label_delay", 0)), int(info.get("train_window", 120)))
