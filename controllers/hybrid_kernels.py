"""Numba kernels of the shield and the hybrid controller's decision (DESIGN 4, 6).

The one implementation of :class:`controllers.shield.Shield` and of the hybrid's choice:
the Python classes call these kernels, and the batched fast path composes them through
:mod:`controllers.protocol`. The rules are stated in :mod:`controllers.shield` and
:mod:`controllers.hybrid`; observation vectors and ``d_crit`` are as in
:mod:`controllers.kernels`; ``info`` is a one-element :data:`simulator.records.INFO` array.

SLA-filter state
----------------
``safe`` of shape (2, N_CONTEXTS, n_actions): the Beta posterior of "no measured SLA
degradation" (``FEEDBACK.sla_degraded``, :mod:`simulator.observed`)
per (context, action), ``safe[0]`` its alpha (prior 19), ``safe[1]`` its beta (prior 1).
"""

from __future__ import annotations

import numba as nb
import numpy as np

from controllers.kernels import (
    DEFAULT_ERR_LIMIT,
    DEFAULT_SLO_LATENCY_MS,
    DEFAULT_TIMEOUT_MS,
    NONE,
    OBS_A,
    OBS_ERR,
    OBS_RHO,
    OBS_UTIL,
    OBS_VALIDATION,
    expert_rules,
    pi_det,
    slo_limits,
)
from controllers.learner_kernels import ts_choose
from simulator.layout import FALLBACK, NO_OP, RETRAIN, ROLLBACK, SCALE_OUT

#: The shield's memory before any data-quality alarm (minutes).
NO_ALARM = -(10**9)
#: The shield's data-quality alarm thresholds (validation-failure share, anomaly rate).
QUALITY_VALIDATION = 0.01
QUALITY_RHO = 0.03


@nb.njit(cache=True)
def shield_observe(obs, minute, last_alarm, quality_validation, quality_rho):
    """Return the minute of the last data-quality alarm after observing ``obs`` at ``minute``.

    An alarm is validation failures above ``quality_validation`` or an anomaly rate above
    ``quality_rho``.
    """
    if obs[OBS_VALIDATION] > quality_validation or obs[OBS_RHO] > quality_rho:
        return minute
    return last_alarm


@nb.njit(cache=True)
def shield_mask(obs, d_crit, info, last_alarm, tight, out):
    """Fill ``out`` (bool, shape (n_actions,)) with the permitted actions (Shield.mask).

    Parameters
    ----------
    info : ndarray of INFO, shape (1,)
        The minute, whether a retrain or canary runs (busy), whether a previous version
        exists and is schema-compatible with the live data, and the label delay and
        training window (minutes: a retrain's labelled data reach back their sum).
    last_alarm : int
        The shield's last data-quality alarm (minute).
    tight : bool
        The error budget burns fast.
    """
    i = info[0]
    n_actions = out.shape[0]
    busy = i.retrain_running or i.canary_active
    out[:] = True
    env = pi_det(obs, d_crit)
    if env != NONE and (obs[OBS_A] > 0.15 or obs[OBS_ERR] > 0.05 or obs[OBS_RHO] > 0.05):
        out[NO_OP] = False
    if not i.previous_available or not i.previous_schema_compatible or busy:
        out[ROLLBACK] = False
    if busy or i.minute - last_alarm <= i.label_delay + i.train_window:
        out[RETRAIN] = False
    if tight and env != RETRAIN:
        out[RETRAIN] = False
    if n_actions > SCALE_OUT and obs[OBS_UTIL] <= 0.7:
        out[SCALE_OUT] = False
    if not out.any():
        out[FALLBACK] = True


@nb.njit(cache=True)
def shield_recommend(obs, d_crit, timeout_ms=DEFAULT_TIMEOUT_MS,
                     p99_limit=DEFAULT_SLO_LATENCY_MS, err_limit=DEFAULT_ERR_LIMIT):
    """pi_det's action if non-empty, else the first matching expert rule's (scenario SLOs)."""
    env = pi_det(obs, d_crit)
    if env != NONE:
        return env
    a, _ = expert_rules(obs, d_crit, 0, timeout_ms, p99_limit, err_limit)
    return a


@nb.njit(cache=True)
def hybrid_choose(rng, tab, safe, ctx, allowed, obs, d_crit, info, last_alarm, tight,
                  params, mask_out):
    """Return the hybrid's action at a decision epoch.

    Shield mask (``params.use_shield``); with ``tight`` (error budget burning) the shield's
    recommendation if permitted; the SLA filter (``params.use_sla_filter``: predicted
    compliance safe_alpha / (safe_alpha + safe_beta) >= ``params.sla_threshold``, never
    emptying the set); Thompson sampling among what is left. ``mask_out`` receives the
    mask before the SLA filter.
    """
    n = allowed.shape[0]
    mask = allowed.copy()
    if params.use_shield:
        sm = np.empty(n, dtype=np.bool_)
        shield_mask(obs, d_crit, info, last_alarm, tight, sm)
        mask &= sm
    mask_out[:] = mask
    err_limit, p99_limit, timeout_ms = slo_limits(info)
    rec = shield_recommend(obs, d_crit, timeout_ms, p99_limit, err_limit)
    if tight and mask[rec]:
        return rec
    if params.use_sla_filter:
        keep = np.zeros(n, dtype=np.bool_)
        for i in range(n):
            pred = safe[0, ctx, i] / (safe[0, ctx, i] + safe[1, ctx, i])
            keep[i] = mask[i] and pred >= params.sla_threshold
        if not keep.any():
            if mask[rec]:
                keep[rec] = True
            else:
                for i in range(n):
                    if mask[i]:
                        keep[i] = True
                        break
        mask = keep
    return ts_choose(rng, tab[0, ctx], tab[1, ctx], mask)
