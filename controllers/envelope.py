"""The paper's deterministic envelope pi_det and risk test (Sec. 3.2, 3.5), and the alarms.

pi_det(x), first matching rule wins (the paper's order; regions overlap for d in
(0.20, 0.25], where fallback wins):

1. fallback  if d > 0.20 or a > 0.15 or rho > 0.05
2. rollback  if 0.10 < a <= 0.15 and d <= 0.20
3. retrain   if 0.15 < d <= 0.25 and a <= 0.10
4. otherwise none.

``d`` counts only when the KS test rejects: d > D_alpha(n, m) with the Bonferroni level
alpha / 4 over the four monitored features (our resolution, docs/paper_mapping.md).
risk_high(x) = d > 0.15 or a > 0.10 or rho > 0.03 (Sec. 3.5).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from simulator.kernels import ks_critical_value
from simulator.layout import FALLBACK, N_FEATURES, RETRAIN, ROLLBACK

NONE = -1


@functools.lru_cache(maxsize=256)
def _critical(alpha: float, n: int, m: int) -> float:
    """Bonferroni-corrected KS critical value, cached (it is asked for every minute)."""
    return ks_critical_value(alpha / N_FEATURES, n, m)


@dataclass(frozen=True)
class Observation:
    """A full observation with named fields (units as in the env's table)."""

    d: float
    a: float
    rho: float
    p99_ms: float
    error_rate: float
    utilisation: float
    traffic_rps: float
    cost_usd_per_min: float
    canary_share: float
    validation_fail: float
    d_critical: float

    @classmethod
    def from_env(cls, obs: np.ndarray, info: dict, alpha: float = 0.05) -> Observation:
        """Build from the env's full observation and public info.

        Raises
        ------
        ValueError
            If the observation has fewer than 10 entries or holds NaN/inf.
        """
        obs = np.asarray(obs, dtype=np.float64)
        if obs.shape[0] < 10:
            raise ValueError(
                f"controllers need the full observation (10 entries), got shape {obs.shape}"
            )
        if not np.all(np.isfinite(obs[:3])) or np.isnan(obs).any():
            raise ValueError(f"non-finite observation: {obs.tolist()}")
        n = int(info.get("ks_n", 300))
        m = int(info.get("ks_m", 1000))
        crit = _critical(float(alpha), n, m)
        return cls(*(float(v) for v in obs[:10]), d_critical=crit)

    @property
    def d_eff(self) -> float:
        """The KS statistic if the KS test rejects at the corrected level, else 0."""
        return self.d if self.d > self.d_critical else 0.0


def pi_det(x: Observation) -> int:
    """Return the paper's envelope action: FALLBACK, ROLLBACK, RETRAIN or NONE (-1)."""
    d, a, rho = x.d_eff, x.a, x.rho
    if d > 0.20 or a > 0.15 or rho > 0.05:
        return FALLBACK
    if 0.10 < a <= 0.15 and d <= 0.20:
        return ROLLBACK
    if 0.15 < d <= 0.25 and a <= 0.10:
        return RETRAIN
    return NONE


def risk_high(x: Observation) -> bool:
    """Paper Sec. 3.5: d > 0.15 or a > 0.10 or rho > 0.03."""
    return x.d_eff > 0.15 or x.a > 0.10 or x.rho > 0.03


def infra_alarm(x: Observation) -> bool:
    """Operational alarm: validation failures, errors or latency outside normal bounds."""
    return x.validation_fail > 0.02 or x.error_rate > 0.01 or x.p99_ms > 300.0


def alarm(x: Observation) -> bool:
    """Any alarm: the envelope is non-empty, risk is high, or an operational alarm fires."""
    return pi_det(x) != NONE or risk_high(x) or infra_alarm(x)


def context_id(x: Observation) -> int:
    """Discrete context for the tabular learners: envelope region x alarm kind (16 values)."""
    region = pi_det(x) + 1 if pi_det(x) != NONE else 0  # 0 none, 2 fb, 3 rb, 4 rt -> 0..3
    region = {0: 0, 2: 1, 3: 2, 4: 3}[region]
    if x.validation_fail > 0.02:
        kind = 1
    elif x.p99_ms > 300.0:
        kind = 2
    elif x.error_rate > 0.01:
        kind = 3
    else:
        kind = 0
    return region * 4 + kind


N_CONTEXTS = 16
