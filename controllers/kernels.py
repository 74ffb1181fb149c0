"""Numba kernels of the envelope, the alarms and the expert rules (DESIGN 6).

The one implementation of the decision arithmetic of :mod:`controllers.envelope` and
:mod:`controllers.rules`: the Python functions and controllers call these kernels, and so
does the batched fast path (:mod:`experiments.fast`), so both paths decide identically.

Every kernel takes the full observation vector as the environment returns it (10 float64
entries, after the environment's clipping to its Box bounds) and, where the KS test
matters, the Bonferroni-corrected critical value ``d_crit`` as a scalar.

Observation vector
------------------
== ============================ ==
0  ``d``: KS statistic           5  utilisation
1  ``a``: accuracy drop          6  traffic (requests/s)
2  ``rho``: anomaly rate         7  cost rate (dollars/min)
3  p99 latency (ms)              8  canary traffic share
4  error rate                    9  data-validation failure share
== ============================ ==

"""

from __future__ import annotations

import numba as nb
import numpy as np

from simulator.layout import FALLBACK, N_FEATURES, NO_OP, RETRAIN, ROLLBACK

#: pi_det's "no action" (the envelope is empty).
NONE = -1

OBS_D = 0
OBS_A = 1
OBS_RHO = 2
OBS_P99 = 3
OBS_ERR = 4
OBS_UTIL = 5
OBS_TRAFFIC = 6
OBS_COST = 7
OBS_CANARY = 8
OBS_VALIDATION = 9

# Rule indices (positions in ``controllers.rules.RULE_NAMES``).
RULE_PI_DET_FALLBACK = 0
RULE_PI_DET_ROLLBACK = 1
RULE_PI_DET_RETRAIN = 2
RULE_VALIDATION = 3
RULE_OVERLOAD = 4
RULE_LATENCY = 5
RULE_DEPENDENCY = 6
RULE_NETWORK = 7
RULE_FALLBACK_NOT_ENOUGH = 8
RULE_ANOMALY_HOLD = 9
RULE_ACCURACY_WATCH = 10
RULE_DEFAULT_HOLD = 11

#: Client timeout, p99 latency SLO and error-rate limit (1 - the availability SLO) of the
#: default scenario: what the kernels assume when a caller gives no SLO (tests, analysis).
#: Controllers pass the scenario's own, from public info (:func:`slo_limits`).
DEFAULT_TIMEOUT_MS = 1000.0
DEFAULT_SLO_LATENCY_MS = 300.0
DEFAULT_ERR_LIMIT = 0.01


@nb.njit(cache=True)
def slo_limits(info):
    """Return (error-rate limit, p99 limit in ms, client timeout in ms) from public info.

    The error-rate limit is 1 - the availability SLO (``info[0].slo_availability``), the
    p99 limit the latency SLO (``slo_p99_ms``): every latency, error and availability
    threshold of the alarms and rules comes from the scenario's SLOs, as an operator's
    alerting does. ``info`` is a one-element :data:`simulator.records.INFO` array.
    """
    i = info[0]
    return 1.0 - i.slo_availability, i.slo_p99_ms, i.timeout_ms


@nb.njit(cache=True)
def critical_value(alpha, ks_n, ks_m):
    """KS critical value the alarms compare ``d`` with: Bonferroni level alpha / N_FEATURES.

    The asymptotic two-sample value D(a, n, m) = c(a) sqrt((n + m) / (n m)),
    c(a) = sqrt(-ln(a / 2) / 2) (Smirnov 1948), at a = ``alpha`` / 4 over the four monitored
    features (docs/paper_mapping.md); ``ks_n`` live samples in the window, ``ks_m`` in the
    reference.
    """
    a = alpha / N_FEATURES
    return np.sqrt(-np.log(a / 2.0) / 2.0) * np.sqrt((ks_n + ks_m) / (ks_n * ks_m))


@nb.njit(cache=True)
def d_eff(obs, d_crit):
    """Return the KS statistic if the KS test rejects (``d > d_crit``), else 0."""
    d = obs[OBS_D]
    return d if d > d_crit else 0.0


@nb.njit(cache=True)
def pi_det(obs, d_crit):
    """Return the paper's envelope action: FALLBACK, ROLLBACK, RETRAIN or NONE (-1)."""
    d = d_eff(obs, d_crit)
    a = obs[OBS_A]
    rho = obs[OBS_RHO]
    if d > 0.20 or a > 0.15 or rho > 0.05:
        return FALLBACK
    if 0.10 < a <= 0.15 and d <= 0.20:
        return ROLLBACK
    if 0.15 < d <= 0.25 and a <= 0.10:
        return RETRAIN
    return NONE


@nb.njit(cache=True)
def risk_high(obs, d_crit):
    """Paper Sec. 3.5: d_eff > 0.15 or a > 0.10 or rho > 0.03."""
    return d_eff(obs, d_crit) > 0.15 or obs[OBS_A] > 0.10 or obs[OBS_RHO] > 0.03


@nb.njit(cache=True)
def infra_alarm(obs, err_limit=DEFAULT_ERR_LIMIT, p99_limit=DEFAULT_SLO_LATENCY_MS):
    """Operational alarm: validation failures > 2%, or errors or p99 beyond their SLO limits.

    ``err_limit`` = 1 - the availability SLO and ``p99_limit`` = the latency SLO, ms
    (:func:`slo_limits`; defaults: the default scenario's 0.01 and 300 ms).
    """
    return (obs[OBS_VALIDATION] > 0.02 or obs[OBS_ERR] > err_limit
            or obs[OBS_P99] > p99_limit)


@nb.njit(cache=True)
def alarm(obs, d_crit, err_limit=DEFAULT_ERR_LIMIT, p99_limit=DEFAULT_SLO_LATENCY_MS):
    """Any alarm: the envelope is non-empty, risk is high, or an operational alarm fires."""
    return (pi_det(obs, d_crit) != NONE or risk_high(obs, d_crit)
            or infra_alarm(obs, err_limit, p99_limit))


@nb.njit(cache=True)
def expert_rules(obs, d_crit, fallback_minutes, timeout_ms, slo_latency_ms,
                 err_limit=DEFAULT_ERR_LIMIT):
    """Return (action, rule index) of the first matching expert rule (controllers.rules).

    ``timeout_ms``, ``slo_latency_ms`` and ``err_limit`` (1 - the availability SLO) are the
    scenario's (:func:`slo_limits`).
    """
    d = d_eff(obs, d_crit)
    a = obs[OBS_A]
    rho = obs[OBS_RHO]
    p99 = obs[OBS_P99]
    err = obs[OBS_ERR]
    util = obs[OBS_UTIL]
    val = obs[OBS_VALIDATION]
    if fallback_minutes >= 60 and d > 0.15:
        return RETRAIN, RULE_FALLBACK_NOT_ENOUGH
    env = pi_det(obs, d_crit)
    if env == FALLBACK:
        return FALLBACK, RULE_PI_DET_FALLBACK
    if env == ROLLBACK:
        return ROLLBACK, RULE_PI_DET_ROLLBACK
    if env == RETRAIN:
        return RETRAIN, RULE_PI_DET_RETRAIN
    if val > 0.02:
        return FALLBACK, RULE_VALIDATION
    if util > 0.9 and err > err_limit:
        return FALLBACK, RULE_OVERLOAD
    if p99 > slo_latency_ms and util < 0.7 and p99 < 0.8 * timeout_ms:
        return ROLLBACK, RULE_LATENCY
    if err > err_limit and util < 0.7 and p99 < 0.8 * timeout_ms:
        return FALLBACK, RULE_DEPENDENCY
    if p99 >= 0.8 * timeout_ms:
        return NO_OP, RULE_NETWORK
    if 0.03 < rho <= 0.05 and val <= 0.02:
        return NO_OP, RULE_ANOMALY_HOLD
    if 0.05 < a <= 0.10 and d <= 0.15:
        return NO_OP, RULE_ACCURACY_WATCH
    return NO_OP, RULE_DEFAULT_HOLD


@nb.njit(cache=True)
def track_fallback(v, info):
    """Update ``v.fb_since`` from ``info``; return the fallback's minutes so far (0: off).

    ``v`` is a controller's per-episode record with an int64 field ``fb_since`` (the minute
    the fallback was first seen active in the current stretch, -1 if it is not active);
    ``info`` a one-element :data:`simulator.records.INFO` array. The rules' first rule needs
    the fallback's age.
    """
    i = info[0]
    if i.fallback_active:
        if v.fb_since < 0:
            v.fb_since = i.minute
    else:
        v.fb_since = -1
    return i.minute - v.fb_since if v.fb_since >= 0 else 0
