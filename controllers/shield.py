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
  (the last ``label_delay + train_window`` minutes): a model fit on those rows learns
  their corruption. When the error budget burns fast, also forbidden unless the envelope
  asks for it.
- extended actions: ``scale_out`` only above 70% utilisation; ``restart``, ``quarantine`` and
  ``escalate`` permitted.

The recommended action is pi_det's when non-empty, else the expert rules' choice.

The rules are computed by :mod:`controllers.hybrid_kernels` (the hybrid's kernels call the
same functions).
"""

from __future__ import annotations

import numpy as np

from controllers import hybrid_kernels as _hk
from controllers.envelope import Observation
from simulator.records import info_record


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
        """Permitted actions, shape (n_actions,) bool; ``tight`` when the error budget burns.

        Facts missing from ``info`` take :func:`simulator.records.info_record`'s defaults.
        """
        m = np.empty(n_actions, dtype=bool)
        _hk.shield_mask(x.vector, x.d_critical, info_record(info),
                        int(self.last_quality_alarm), bool(tight), m)
        return m
