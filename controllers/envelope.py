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

The arithmetic lives in the Numba kernels of :mod:`controllers.kernels` (one
implementation, shared with the batched fast path); the functions here wrap them for
:class:`Observation` objects.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from controllers import kernels as _k
from controllers import learner_kernels as _lk

NONE = _k.NONE


@functools.lru_cache(maxsize=256)
def _critical(alpha: float, n: int, m: int) -> float:
    """Bonferroni-corrected KS critical value, cached (it is asked for every minute)."""
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    if n < 1 or m < 1:
        raise ValueError(f"sample sizes must be >= 1, got n={n}, m={m}")
    return float(_k.critical_value(alpha, n, m))


def critical_value(alpha: float, ks_n: int, ks_m: int) -> float:
    """Return the KS critical value the controllers compare ``d`` with (info ks_n, ks_m).

    :func:`controllers.kernels.critical_value`: the asymptotic D at alpha / N_FEATURES.
    """
    return _critical(float(alpha), int(ks_n), int(ks_m))


def observation_vector(obs) -> np.ndarray:
    """Return the first 10 entries of a full observation as a float64 vector, validated.

    Raises
    ------
    ValueError
        If the observation has fewer than 10 entries, or d, a, rho are not finite, or any
        entry is NaN.
    """
    obs = np.asarray(obs, dtype=np.float64)
    if obs.ndim != 1 or obs.shape[0] < 10:
        raise ValueError(
            f"controllers need the full observation (10 entries), got shape {obs.shape}"
        )
    if not (np.isfinite(obs[:3]).all() and not np.isnan(obs).any()):
        raise ValueError(f"non-finite observation: {obs.tolist()}")
    return np.ascontiguousarray(obs[:10])


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
    #: Alarm limits from the scenario's SLOs (public info): 1 - availability SLO, p99 SLO
    #: (ms), client timeout (ms); the default scenario's when info does not give them.
    err_limit: float = _k.DEFAULT_ERR_LIMIT
    p99_limit_ms: float = _k.DEFAULT_SLO_LATENCY_MS
    timeout_ms: float = _k.DEFAULT_TIMEOUT_MS

    @classmethod
    def from_env(cls, obs: np.ndarray, info: dict, alpha: float = 0.05) -> Observation:
        """Build from the env's full observation and public info.

        Raises
        ------
        ValueError
            If the observation has fewer than 10 entries or holds NaN/inf.
        """
        obs = observation_vector(obs)
        n = int(info.get("ks_n", 300))
        m = int(info.get("ks_m", 1000))
        crit = _critical(float(alpha), n, m)
        return cls(*(float(v) for v in obs[:10]), d_critical=crit,
                   err_limit=1.0 - float(info.get("slo_availability", 0.99)),
                   p99_limit_ms=float(info.get("slo_p99_ms", _k.DEFAULT_SLO_LATENCY_MS)),
                   timeout_ms=float(info.get("timeout_ms", _k.DEFAULT_TIMEOUT_MS)))

    @functools.cached_property
    def vector(self) -> np.ndarray:
        """The 10 observation entries as the float64 vector the kernels take (cached)."""
        return np.array([self.d, self.a, self.rho, self.p99_ms, self.error_rate,
                         self.utilisation, self.traffic_rps, self.cost_usd_per_min,
                         self.canary_share, self.validation_fail], dtype=np.float64)

    @property
    def d_eff(self) -> float:
        """The KS statistic if the KS test rejects at the corrected level, else 0."""
        return float(_k.d_eff(self.vector, self.d_critical))


def pi_det(x: Observation) -> int:
    """Return the paper's envelope action: FALLBACK, ROLLBACK, RETRAIN or NONE (-1)."""
    return int(_k.pi_det(x.vector, x.d_critical))


def risk_high(x: Observation) -> bool:
    """Paper Sec. 3.5: d > 0.15 or a > 0.10 or rho > 0.03."""
    return bool(_k.risk_high(x.vector, x.d_critical))


def infra_alarm(x: Observation) -> bool:
    """Operational alarm: validation failures > 2%, or errors or p99 beyond the SLO limits."""
    return bool(_k.infra_alarm(x.vector, x.err_limit, x.p99_limit_ms))


def alarm(x: Observation) -> bool:
    """Any alarm: the envelope is non-empty, risk is high, or an operational alarm fires."""
    return bool(_k.alarm(x.vector, x.d_critical, x.err_limit, x.p99_limit_ms))


def context_id(x: Observation) -> int:
    """Discrete context for the tabular learners: envelope region x alarm kind (16 values).

    :func:`controllers.learner_kernels.context_id` on the observation vector.
    """
    return int(_lk.context_id(x.vector, x.d_critical, x.err_limit, x.p99_limit_ms))


N_CONTEXTS = _lk.N_CONTEXTS
