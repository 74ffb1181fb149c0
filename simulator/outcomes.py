"""Outcome definitions, defined once (DESIGN 3.6).

Per-minute pieces (SLA score, SLO checks, catastrophe counters, dollar costs) are Numba
functions called by the step kernel; :func:`episode_summary` turns an episode's per-minute
records into the episode row the experiments store.

Definitions
-----------
SLA score (paper Sec. 3.4)
    0.4 availability + 0.4 accuracy + 0.2 latency, each normalised to [0, 1]:
    availability as is, accuracy as min(1, acc / baseline accuracy), latency as
    min(1, p99 SLO / p99).
SLO compliance
    A minute complies when availability, p99 latency and accuracy all meet their SLOs.
Catastrophic failure (DESIGN 3.6 defaults)
    an outcome, never a model's provenance: availability below 50% for >= 5 consecutive
    minutes, or true accuracy below the scenario's hard floor on >= 50% of traffic for
    >= 15 consecutive minutes. A model fit on corrupted rows or of an older schema is
    catastrophic only through the accuracy it serves (``R_BAD_MODEL_SHARE``, the share
    served by schema-incompatible models, is recorded for diagnosis, never decides
    anything). The
    controller's episode ends there; the rest of the horizon is played as an outage, a
    restore and ``no_op`` (:mod:`simulator.playout`) and counts in every episode metric.
Cost (dollars per minute)
    compute (replicas x price, lighter under fallback, one more replica for a canary),
    retraining, revenue lost (wrong predictions beyond the baseline error and failed
    requests), SLA penalty per minute out of SLO, engineer time.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from simulator import layout as L

#: Weights of the SLA score's availability, accuracy and latency terms (paper Sec. 3.4).
SLA_W_AVAILABILITY = 0.4
SLA_W_ACCURACY = 0.4
SLA_W_LATENCY = 0.2


@nb.njit(cache=True)
def sla_score(availability, accuracy, p99_ms, p):
    """Paper's SLA score in [0, 1] (Sec. 3.4: weights 0.4 / 0.4 / 0.2)."""
    acc_n = min(1.0, max(0.0, accuracy / p[L.P_BASE_ACC]))
    lat_n = min(1.0, p[L.P_SLO_LATENCY_MS] / max(p99_ms, L.TINY))
    return (SLA_W_AVAILABILITY * max(0.0, availability) + SLA_W_ACCURACY * acc_n
            + SLA_W_LATENCY * lat_n)


@nb.njit(cache=True)
def update_slos(rec, s, p):
    """Write the SLO flags and SLA score of this minute into ``rec``; track recovery runs."""
    rec[L.R_SLO_AVAIL_OK] = 1.0 if rec[L.R_AVAILABILITY] >= p[L.P_SLO_AVAIL] else 0.0
    rec[L.R_SLO_LAT_OK] = 1.0 if rec[L.R_P99_MS] <= p[L.P_SLO_LATENCY_MS] else 0.0
    rec[L.R_SLO_ACC_OK] = 1.0 if rec[L.R_ACC_SERVED] >= p[L.P_SLO_ACC] else 0.0
    ok = rec[L.R_SLO_AVAIL_OK] * rec[L.R_SLO_LAT_OK] * rec[L.R_SLO_ACC_OK]
    rec[L.R_SLO_ALL_OK] = ok
    rec[L.R_SLA_SCORE] = sla_score(rec[L.R_AVAILABILITY], rec[L.R_ACC_SERVED], rec[L.R_P99_MS], p)
    s[L.S_SLO_MET_RUN] = s[L.S_SLO_MET_RUN] + 1.0 if ok > 0.5 else 0.0


@nb.njit(cache=True)
def update_catastrophe(rec, s, p, main_share):
    """Advance the catastrophe counters; set ``s[S_CATASTROPHIC]`` to a CAT_* code once."""
    if rec[L.R_AVAILABILITY] < p[L.P_CAT_AVAIL]:
        s[L.S_LOW_AVAIL_RUN] += 1.0
    else:
        s[L.S_LOW_AVAIL_RUN] = 0.0
    if main_share >= p[L.P_CAT_SHARE] and rec[L.R_ACC_PRIMARY] < p[L.P_ACC_FLOOR]:
        s[L.S_LOW_ACC_RUN] += 1.0
    else:
        s[L.S_LOW_ACC_RUN] = 0.0
    if s[L.S_CATASTROPHIC] != L.CAT_NONE:
        return
    if s[L.S_LOW_AVAIL_RUN] >= p[L.P_CAT_AVAIL_MIN]:
        s[L.S_CATASTROPHIC] = L.CAT_AVAILABILITY
    elif s[L.S_LOW_ACC_RUN] >= p[L.P_CAT_ACC_MIN]:
        s[L.S_CATASTROPHIC] = L.CAT_ACCURACY
    if s[L.S_CATASTROPHIC] != L.CAT_NONE:
        s[L.S_CAT_MINUTE] = s[L.S_T]


@nb.njit(cache=True)
def record_cause(s, models, slot):
    """Record where the model in ``slot`` (serving the bulk of traffic) came from.

    Called at the minute of the first catastrophe: ``S_CAT_CAUSE`` (``CAUSE_*``: the
    episode's initial version, the previous version restored by a rollback, a retrain, or
    the fallback), ``S_CAT_BUILT_AT`` (the minute a retrained model was built, else -1) and
    ``S_CAT_CONTAMINATION`` (the corrupted share of its training window).
    """
    m = models[slot]
    if m[L.MF_IS_FALLBACK] > 0.5:
        cause = L.CAUSE_FALLBACK
    elif m[L.MF_VERSION] >= 2.0:  # versions 0 and 1 exist at the start; retrains count on
        cause = L.CAUSE_RETRAIN
    elif m[L.MF_VERSION] == 0.0:
        cause = L.CAUSE_ROLLBACK
    else:
        cause = L.CAUSE_INITIAL
    s[L.S_CAT_CAUSE] = cause
    s[L.S_CAT_BUILT_AT] = m[L.MF_TRAINED_AT] if cause == L.CAUSE_RETRAIN else -1.0
    s[L.S_CAT_CONTAMINATION] = m[L.MF_CORRUPT]


@nb.njit(cache=True)
def accrue_costs(rec, s, p, price_mult, fallback_active, canary_active, job_active, eng_min,
                 runaway):
    """Dollar costs of this minute by component; adds the total to ``s[S_USD_TOTAL]``.

    ``R_COST_RATE`` is the total (the benchmark's objective); ``R_COST_BILLED`` the part an
    operator is billed and can see: compute (including ``runaway`` replica-minutes of
    runaway work), retraining and engineer time.
    """
    replicas = s[L.S_REPLICAS]
    compute = replicas * p[L.P_USD_REPLICA_MIN] * price_mult
    if fallback_active:
        compute *= p[L.P_FB_COST]
    if canary_active:
        compute += p[L.P_USD_REPLICA_MIN] * price_mult
    if runaway > 0.0:
        compute += runaway * p[L.P_USD_REPLICA_MIN] * price_mult
    retrain = p[L.P_USD_RETRAIN_MIN] * price_mult if job_active else 0.0
    req_min = rec[L.R_TRAFFIC] * L.SECONDS_PER_MINUTE
    err = rec[L.R_ERROR_RATE]
    excess_wrong = max(0.0, p[L.P_BASE_ACC] - rec[L.R_ACC_SERVED])
    revenue = req_min * (1.0 - err) * excess_wrong * p[L.P_USD_WRONG]
    revenue += req_min * err * p[L.P_USD_FAILED]
    sla = 0.0 if rec[L.R_SLO_ALL_OK] > 0.5 else p[L.P_USD_SLA_MIN]
    engineer = eng_min / L.MINUTES_PER_HOUR * p[L.P_USD_ENGINEER_H]
    rec[L.R_USD_COMPUTE] = compute
    rec[L.R_USD_RETRAIN] = retrain
    rec[L.R_USD_REVENUE] = revenue
    rec[L.R_USD_SLA] = sla
    rec[L.R_USD_ENGINEER] = engineer
    total = compute + retrain + revenue + sla + engineer
    rec[L.R_COST_RATE] = total
    rec[L.R_COST_BILLED] = compute + retrain + engineer
    s[L.S_USD_TOTAL] += total
    s[L.S_ENGINEER_MIN] += eng_min


def episode_summary(hist: np.ndarray, state: np.ndarray, n_steps: int) -> dict[str, float]:
    """Summarise one episode from its per-minute records.

    Parameters
    ----------
    hist : ndarray, shape (horizon + 1, layout.N_RECORD)
        Records of minutes 0..n_steps (row 0 is the reset minute).
    state : ndarray, shape (layout.N_STATE,)
        Final state.
    n_steps : int
        Number of steps taken (rows 1..n_steps are used).

    Returns
    -------
    dict
        ``episode_seed`` (keys the episode's random streams and drawn incident:
        ``python -m simulator.scenarios show ID --seed <episode_seed>`` prints the
        incident), ``catastrophic`` (0/1), ``catastrophe_kind``, ``catastrophe_minute`` (nan if
        none), its cause (:func:`record_cause`: ``catastrophe_cause``,
        ``catastrophe_model_built_at``, ``catastrophe_contamination``),
        ``sla_compliance`` (share of minutes meeting all SLOs), ``mean_sla_score``,
        ``cost_usd`` and its components, ``engineer_hours``, ``minutes``,
        ``canary_aborts``, ``promotions``, ``conflicts``.
    """
    rows = hist[1 : n_steps + 1]
    if len(rows) == 0:
        rows = hist[:1]
    cat = int(state[L.S_CATASTROPHIC])
    return {
        "episode_seed": int(state[L.S_SEED]),
        "catastrophic": float(cat != L.CAT_NONE),
        "catastrophe_kind": L.CATASTROPHE_NAMES[cat],
        "catastrophe_minute": float(state[L.S_CAT_MINUTE]) if cat != L.CAT_NONE else np.nan,
        "catastrophe_cause": L.CAUSE_NAMES[int(state[L.S_CAT_CAUSE])],
        "catastrophe_model_built_at": (float(state[L.S_CAT_BUILT_AT])
                                       if state[L.S_CAT_CAUSE] == L.CAUSE_RETRAIN else np.nan),
        "catastrophe_contamination": (float(state[L.S_CAT_CONTAMINATION])
                                      if cat != L.CAT_NONE else np.nan),
        "sla_compliance": float(rows[:, L.R_SLO_ALL_OK].mean()),
        "mean_sla_score": float(rows[:, L.R_SLA_SCORE].mean()),
        "cost_usd": float(rows[:, L.R_COST_RATE].sum()),
        "cost_compute_usd": float(rows[:, L.R_USD_COMPUTE].sum()),
        "cost_retrain_usd": float(rows[:, L.R_USD_RETRAIN].sum()),
        "cost_revenue_usd": float(rows[:, L.R_USD_REVENUE].sum()),
        "cost_sla_usd": float(rows[:, L.R_USD_SLA].sum()),
        "cost_engineer_usd": float(rows[:, L.R_USD_ENGINEER].sum()),
        "engineer_hours": float(state[L.S_ENGINEER_MIN] / 60.0),
        "minutes": float(n_steps),
        "canary_aborts": float(state[L.S_N_CANARY_ABORTS]),
        "promotions": float(state[L.S_N_PROMOTIONS]),
        "conflicts": float(state[L.S_N_CONFLICTS]),
    }
