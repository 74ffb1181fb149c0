"""Compile a validated :class:`Scenario` into the flat arrays the Numba kernels take."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simulator import layout as L
from simulator.scenarios.schema import Scenario, default_action_costs

_SUBKIND_TABLES = {
    "feature_corruption": L.CORRUPTION_KINDS,
    "resource_exhaustion": L.RESOURCE_KINDS,
    "dependency_failure": L.DEPENDENCY_KINDS,
}

#: Canary judges by code (``layout.P_CANARY_JUDGE``): the paper's delta-SLA rule (Sec. 3.4)
#: and a one-sided Mann-Whitney U test on per-request correctness (see ``deploy._judge_canary``).
CANARY_JUDGES = ("delta_sla", "mann_whitney")


@dataclass(frozen=True)
class CompiledScenario:
    """Arrays of one scenario.

    Attributes
    ----------
    params : ndarray, shape (layout.N_PARAMS,)
        Scenario parameters, indexed by the ``P_*`` constants of :mod:`simulator.layout`.
    faults : ndarray, shape (n_faults, layout.N_FAULT_FIELDS)
        One row per fault, indexed by the ``F_*`` constants.
    action_costs : ndarray, shape (layout.N_EXTENDED_ACTIONS, 3)
        Compute, risk and downtime components of C(a) for every action.
    """

    params: np.ndarray
    faults: np.ndarray
    action_costs: np.ndarray


def compile_scenario(sc: Scenario, *, deploy_canary: bool = False,
                     canary_judge: str = "delta_sla") -> CompiledScenario:
    """Turn a scenario into kernel arrays.

    Parameters
    ----------
    sc : Scenario
        A validated scenario.
    deploy_canary : bool
        Whether deployments (retrain, rollback) go through the canary.
    canary_judge : str
        How the canary is judged: ``"delta_sla"`` (the paper's rule) or ``"mann_whitney"``.

    Returns
    -------
    CompiledScenario

    Raises
    ------
    ValueError
        If ``canary_judge`` is not one of :data:`CANARY_JUDGES`.
    """
    if canary_judge not in CANARY_JUDGES:
        raise ValueError(f"canary_judge must be one of {CANARY_JUDGES}, got {canary_judge!r}")
    p = np.zeros(L.N_PARAMS)
    pl, mo, mon, dep = sc.pipeline, sc.modelling, sc.monitoring, sc.deployment
    p[L.P_HORIZON] = sc.horizon
    p[L.P_BASE_RPS] = pl.base_rps
    p[L.P_DIURNAL_AMP] = pl.diurnal_amplitude
    p[L.P_DIURNAL_PHASE] = pl.diurnal_phase
    p[L.P_REPLICAS] = pl.replicas
    p[L.P_REPLICA_RPS] = pl.replica_rps
    p[L.P_BASE_LATENCY_MS] = pl.base_latency_ms
    p[L.P_TIMEOUT_MS] = pl.timeout_ms
    p[L.P_BASE_ACC] = mo.baseline_accuracy
    p[L.P_PREV_ACC] = mo.previous_accuracy
    p[L.P_FALLBACK_ACC] = mo.fallback_accuracy
    p[L.P_CURVATURE] = mo.covariate_sensitivity
    p[L.P_LABEL_NOISE] = mo.label_noise
    p[L.P_SUPPORT_Z] = mo.support_z
    p[L.P_FB_GUARD_Z] = mo.fallback_guard_z
    # Stale models were fit on an older concept: a concept c away costs a linear model about
    # c (1 - 2 eta) accuracy (classifier.concept_direction), on the side opposite to drift.
    signal = 1.0 - 2.0 * mo.label_noise
    p[L.P_PREV_CONCEPT] = -(mo.baseline_accuracy - mo.previous_accuracy) / signal
    p[L.P_FB_CONCEPT] = -(mo.baseline_accuracy - mo.fallback_accuracy) / signal
    if mo.fallback_concept is not None:
        p[L.P_FB_CONCEPT] = mo.fallback_concept
    p[L.P_FB_COST] = mo.fallback_cost
    p[L.P_LABEL_DELAY] = mon.label_delay
    p[L.P_LABEL_VOLUME] = mon.label_volume
    p[L.P_LABELS_FOLLOW_TRAFFIC] = 1.0 if mon.labels_follow_traffic else 0.0
    p[L.P_LABEL_WINDOW] = mon.label_window
    p[L.P_SAMPLES_PER_MIN] = mon.samples_per_minute
    p[L.P_KS_WINDOW] = mon.ks_window
    p[L.P_REF_SIZE] = mon.reference_size
    p[L.P_ANOMALY_Z] = mon.anomaly_z
    p[L.P_TRAIN_WINDOW] = dep.train_window
    p[L.P_RETRAIN_MIN] = dep.retrain_minutes
    p[L.P_DEPLOY_MIN] = dep.rollout_minutes
    p[L.P_FALLBACK_TTL] = dep.fallback_ttl
    p[L.P_CANARY_SHARE] = dep.canary_share
    p[L.P_CANARY_MIN] = dep.canary_minutes
    p[L.P_CANARY_DELTA] = dep.canary_delta_sla
    p[L.P_RESTART_MIN] = dep.restart_minutes
    p[L.P_SCALE_STEP] = dep.scale_step
    p[L.P_QUARANTINE_TTL] = dep.quarantine_ttl
    p[L.P_ESCALATE_DELAY] = dep.escalation_delay
    p[L.P_ENGINEER_MIN_ESCALATE] = dep.escalation_engineer_minutes
    p[L.P_SLO_AVAIL] = sc.slo.availability
    p[L.P_SLO_LATENCY_MS] = sc.slo.p99_latency_ms
    p[L.P_SLO_ACC] = sc.slo.accuracy
    cat = sc.catastrophe
    p[L.P_ACC_FLOOR] = cat.accuracy_floor
    p[L.P_CAT_AVAIL] = cat.availability_below
    p[L.P_CAT_AVAIL_MIN] = cat.availability_minutes
    p[L.P_CAT_ACC_MIN] = cat.accuracy_minutes
    p[L.P_CAT_SHARE] = cat.traffic_share
    restore = cat.restore_minutes
    if restore is None:
        restore = sc.annotations.historical_resolution_minutes
    p[L.P_RESTORE_MIN] = max(1, round(restore))
    p[L.P_OUTAGE_ENGINEERS] = cat.outage_engineers
    dy = sc.dynamics
    p[L.P_DEPLOY_CAPACITY] = dy.deploy_capacity
    p[L.P_RESTART_CAPACITY] = dy.restart_capacity
    p[L.P_OOM_CAPACITY] = dy.oom_capacity
    p[L.P_FB_LATENCY] = dy.fallback_latency_factor
    p[L.P_LEAK_GC] = dy.leak_gc_latency
    p[L.P_UTIL_CAP] = dy.utilisation_cap
    p[L.P_P99_NOISE] = dy.p99_noise
    p[L.P_OUTLIER_Z] = dy.outlier_value_z
    p[L.P_SCHEMA_SENTINEL] = dy.schema_sentinel
    p[L.P_CANARY_ALPHA] = dep.canary_alpha
    p[L.P_ESCALATE_ACC] = dep.escalation_accuracy
    eco = sc.economics
    p[L.P_USD_REPLICA_MIN] = eco.usd_per_replica_minute
    p[L.P_USD_RETRAIN_MIN] = eco.usd_per_retrain_minute
    p[L.P_USD_WRONG] = eco.usd_per_wrong_prediction
    p[L.P_USD_FAILED] = eco.usd_per_failed_request
    p[L.P_USD_SLA_MIN] = eco.usd_sla_penalty_per_minute
    p[L.P_USD_ENGINEER_H] = eco.usd_per_engineer_hour
    p[L.P_W_COMPUTE] = sc.cost_weights.compute
    p[L.P_W_RISK] = sc.cost_weights.risk
    p[L.P_W_DOWNTIME] = sc.cost_weights.downtime
    p[L.P_OUTCOME_WINDOW] = sc.outcome_window
    p[L.P_RECOVERY_MIN] = sc.recovery_minutes
    p[L.P_LEAK_RESTART_MIN] = dep.restart_minutes
    p[L.P_OPTIMAL_ACTION] = L.ACTION_NAMES.index(sc.annotations.optimal_action)
    p[L.P_DEPLOY_CANARY] = 1.0 if deploy_canary else 0.0
    p[L.P_N_ACTIONS] = L.N_EXTENDED_ACTIONS if sc.extended_actions else L.N_PAPER_ACTIONS
    p[L.P_CANARY_JUDGE] = CANARY_JUDGES.index(canary_judge)

    f = np.zeros((len(sc.faults), L.N_FAULT_FIELDS))
    for i, fl in enumerate(sc.faults):
        f[i, L.F_KIND] = L.FAULT_KINDS.index(fl.kind)
        table = _SUBKIND_TABLES.get(fl.kind)
        f[i, L.F_SUBKIND] = table.index(fl.variant) if table else 0
        f[i, L.F_SHAPE] = L.SHAPES.index(fl.shape)
        f[i, L.F_ONSET] = fl.onset
        f[i, L.F_END] = sc.horizon + 1 if fl.duration is None else fl.onset + fl.duration
        f[i, L.F_RAMP] = fl.ramp
        f[i, L.F_PERIOD] = fl.period
        f[i, L.F_ACTIVE] = fl.active_minutes
        f[i, L.F_MAGNITUDE] = fl.magnitude
        f[i, L.F_FEATURE] = getattr(fl, "feature", 0)
        f[i, L.F_NFEAT] = getattr(fl, "n_features", 1)
        f[i, L.F_SCALE] = getattr(fl, "scale", 1.0)
        if fl.kind == "bad_deploy":
            f[i, L.F_SCALE] = fl.previous_magnitude
        f[i, L.F_MIGRATE] = 1.0 if getattr(fl, "migrate", False) else 0.0

    costs = {**default_action_costs(), **sc.action_costs}
    ac = np.zeros((L.N_EXTENDED_ACTIONS, 3))
    for a, name in enumerate(L.ACTION_NAMES):
        c = costs[name]
        ac[a] = (c.compute, c.risk, c.downtime)
    return CompiledScenario(params=p, faults=f, action_costs=ac)


def paper_cost(action_costs: np.ndarray, params: np.ndarray) -> np.ndarray:
    """Compute the paper's C(a) = alpha compute + beta risk + gamma downtime for every action.

    Parameters
    ----------
    action_costs : ndarray, shape (n_actions, 3)
    params : ndarray, shape (layout.N_PARAMS,)

    Returns
    -------
    ndarray, shape (n_actions,)
        C(a) in [0, 1] (paper Sec. 3.1, weights 0.5 / 0.3 / 0.2 by default).
    """
    w = np.array([params[L.P_W_COMPUTE], params[L.P_W_RISK], params[L.P_W_DOWNTIME]])
    return action_costs @ w
