"""The simulator's step kernel (DESIGN 3): one simulated minute of one episode.

:func:`step` advances a :class:`simulator.state.Sim` by one minute; the Gymnasium
environment (:class:`simulator.core.Simulation`), the action assessment and the oracle's
forks (:mod:`simulator.assess_kernel`) and the batched fast path (:mod:`experiments.fast`)
all call it. A minute is a composition of phases, each in the module of its concern:

1. fault onsets (:func:`simulator.faults._fault_onsets`) and the action
   (:func:`simulator.deploy.apply_action`), then an escalated engineer's fix if due;
2. the fault effects of the minute (:func:`simulator.faults.fault_effects`) and its rows
   (:func:`simulator.sampling.minute_rows`: features, labels, training statistics);
3. retrain, canary and fallback progress and the served models' accuracy on those rows
   (:func:`simulator.deploy.advance_deployments`, :mod:`simulator.model`);
4. traffic, capacity, latency, errors and the ground truth of the record (:func:`serve`);
5. the measurements a controller observes (:func:`simulator.sampling.measure`), skipped
   on open-loop forks;
6. outcomes: SLOs, catastrophe counters, dollars (:mod:`simulator.outcomes`).

The random draws of a minute come from streams keyed by (episode seed, minute)
(:mod:`simulator.rng`), and their number does not depend on the action, so forks of an
episode see common random numbers. Numba-compiled; all arrays are float64 unless stated.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from simulator import layout as L
from simulator.classifier import label_rows, stats_add_rows
from simulator.deploy import advance_deployments, apply_action, paged_fix
from simulator.faults import _fault_onsets, fault_effects
from simulator.model import fit_slot, model_is_bad
from simulator.outcomes import accrue_costs, record_cause, update_catastrophe, update_slos
from simulator.rng import (
    STREAM_INIT_TRAIN,
    STREAM_RETRAIN,
    STREAM_TRAFFIC,
    STREAM_WARMUP,
    normal,
    poisson,
    seed_stream,
    uniform,
)
from simulator.sampling import draw_reference, measure, minute_rows
from simulator.stats import sort_block

_BASE_LOC = np.array(L.BASE_LOC)  # fault-free feature means
#: The initial models, in the order of their labellings in _initial_training_set.
_INITIAL_SLOTS = (L.M_SERVING, L.M_PREVIOUS, L.M_FALLBACK)
_N_INITIAL = len(_INITIAL_SLOTS)


@nb.njit(cache=True)
def _initial_training_set(sim, seed):
    """Draw the initial models' training rows; return their statistics per labelling.

    ``P_TRAIN_WINDOW`` x ``P_SAMPLES_PER_MIN`` fault-free rows (the training window before
    the episode), from the stream (seed, 0, ``STREAM_INIT_TRAIN``): per row, N_FEATURES
    standard normals around the baseline and one uniform that flips its label with
    probability ``P_LABEL_NOISE``. The same rows are labelled by the current concept (0),
    the previous version's (``P_PREV_CONCEPT``) and the fallback's (``P_FB_CONCEPT``).

    Returns
    -------
    ndarray, shape (3, N_TRAIN_STATS)
        Sufficient statistics of the rows under the three labellings, in that order.
    """
    p, rs = sim.p, sim.rs
    seed_stream(rs, seed, 0, STREAM_INIT_TRAIN)
    n = int(p[L.P_SAMPLES_PER_MIN])
    concepts = (0.0, p[L.P_PREV_CONCEPT], p[L.P_FB_CONCEPT])
    out = np.zeros((_N_INITIAL, L.N_TRAIN_STATS))
    x = np.empty((L.N_FEATURES, n))
    u = np.empty(n)
    y = np.empty(n, dtype=np.int64)
    every = np.ones(n, dtype=np.bool_)
    for _ in range(int(p[L.P_TRAIN_WINDOW])):
        for i in range(n):
            for j in range(L.N_FEATURES):
                x[j, i] = _BASE_LOC[j] + normal(rs)
            u[i] = uniform(rs)
        for c in range(_N_INITIAL):  # one set of rows and label flips, three concepts
            label_rows(x, n, concepts[c], u, p[L.P_LABEL_NOISE], y, p[L.P_CURVATURE],
                       p[L.P_SUPPORT_Z])
            stats_add_rows(out[c], x, y, n, every)
    return out


@nb.njit(cache=True)
def init_state(sim, seed):
    """Reset the episode: serving v1, previous v0, fallback; baseline references.

    The three models are LDA classifiers fit on the initial training set
    (:func:`_initial_training_set`): v1 on its current labels, v0 on the labels of the
    concept it was trained on (``P_PREV_CONCEPT``), the fallback on its own older concept
    (``P_FB_CONCEPT``), reading an input beyond +- ``P_FB_GUARD_Z`` training standard
    deviations as its training mean. The live-sample window is pre-filled with fault-free
    samples of the minutes before the episode, so that the KS statistic uses a full window
    from minute 0.
    ``hist`` and the sample cache are left as they are (a new episode needs them zeroed /
    fresh).

    Parameters
    ----------
    sim : Sim
        The episode's arrays (:class:`simulator.state.Sim`); ``fr``, ``s``, ``models``,
        ``refs``, ``live`` and ``rs`` are overwritten.
    seed : int
        Episode seed, 0 <= seed < 2**53 (keys every random stream of the episode).
    """
    p, fr, s, models, live, rs = sim.p, sim.fr, sim.s, sim.models, sim.live, sim.rs
    s[:] = 0.0
    fr[:] = 0.0
    models[:] = 0.0
    s[L.S_SEED] = seed
    s[L.S_REPLICAS] = p[L.P_REPLICAS]
    s[L.S_NEXT_VERSION] = 2.0
    s[L.S_ESCALATE_AT] = -1.0
    s[L.S_CAT_MINUTE] = -1.0
    init = _initial_training_set(sim, seed)
    s[L.S_INIT_STATS:L.S_INIT_STATS + L.N_TRAIN_STATS] = init[0]
    for c, k in enumerate(_INITIAL_SLOTS):
        models[k, L.MF_VALID] = 1.0
        models[k, L.MF_COST] = 1.0
        fit_slot(sim, k, init[c])
    models[L.M_SERVING, L.MF_VERSION] = 1.0
    models[L.M_PREVIOUS, L.MF_VERSION] = 0.0
    models[L.M_PREVIOUS, L.MF_CONCEPT] = p[L.P_PREV_CONCEPT]
    models[L.M_FALLBACK, L.MF_VERSION] = -1.0
    models[L.M_FALLBACK, L.MF_CONCEPT] = p[L.P_FB_CONCEPT]
    models[L.M_FALLBACK, L.MF_IS_FALLBACK] = 1.0
    models[L.M_FALLBACK, L.MF_GUARD] = p[L.P_FB_GUARD_Z]
    models[L.M_FALLBACK, L.MF_COST] = p[L.P_FB_COST]
    seed_stream(rs, seed, 0, STREAM_RETRAIN)
    for i, k in enumerate(_INITIAL_SLOTS):
        draw_reference(sim, k)
        models[k, L.MF_REF_ID] = i  # the sample cache keeps KS statistics per initial id
    seed_stream(rs, seed, 0, STREAM_WARMUP)
    for w in range(live.shape[0]):
        for j in range(L.N_FEATURES):
            for i in range(live.shape[2]):
                live[w, j, i] = _BASE_LOC[j] + normal(rs)
            sort_block(live[w, j, :])


@nb.njit(cache=True)
def serve(sim, t, eff, fb, canary, latmult, acc, leak_rate):
    """Serve minute ``t``: traffic, capacity, latency, errors; write the ground truth record.

    Traffic: the minute's requests are a Poisson count (independent arrivals) around a mean
    of 60 ``P_BASE_RPS`` times the faults' multiplier and a daily sine of amplitude
    ``P_DIURNAL_AMP`` at the minute of the day ``t + P_DIURNAL_PHASE``, drawn from the
    minute's ``STREAM_TRAFFIC`` stream; ``R_TRAFFIC`` is that count / 60 (requests per
    second). Capacity is replicas x ``P_REPLICA_RPS`` x the faults' factor, cut to
    75% while deploying, 50% while restarting and 25% after an out-of-memory kill (the
    serving model's leak reaching 1); p99 latency follows an M/M/1-like 1 / (1 - min(util,
    0.95)) growth times the slot's latency multiplier (0.6 for the lighter fallback, GC
    pressure growing with the leak) plus network latency; errors combine overload (1 -
    1/util), timeouts, dependency and disk failures (neither hits the fallback) as
    independent failure causes. The record ``hist[t]`` receives traffic, utilisation, p99,
    error rate, availability, the served and primary accuracies, the canary and
    bad-model shares and the fault effects the training window will see.

    Parameters
    ----------
    sim : Sim
        The simulation (:class:`simulator.state.Sim`); ``s[S_LEAK]`` and
        ``s[S_OOM_UNTIL]`` are updated.
    t : float
        The minute.
    eff : FaultEffects
        The minute's fault effects (:func:`simulator.faults.fault_effects`).
    fb, canary : bool
        Whether the fallback serves the bulk of traffic and whether a canary is running.
    latmult, acc : ndarray, shape (N_MODEL_SLOTS,)
        Latency multiplier and true accuracy of each slot
        (:func:`simulator.deploy.advance_deployments`).
    leak_rate : float
        The serving model's leak this minute (share of the heap).

    Returns
    -------
    float
        Share of traffic served by the main slot (1 - the canary share).
    """
    p, s, models = sim.p, sim.s, sim.models
    rec = sim.hist[int(t)]
    main = L.M_FALLBACK if fb else L.M_SERVING
    share_c = p[L.P_CANARY_SHARE] if canary else 0.0
    share_main = 1.0 - share_c

    day = 2.0 * np.pi * (t + p[L.P_DIURNAL_PHASE]) / L.MINUTES_PER_DAY
    mean_rps = p[L.P_BASE_RPS] * eff.traffic_mult * (1.0 + p[L.P_DIURNAL_AMP] * np.sin(day))
    rs = np.empty(1, np.uint64)
    seed_stream(rs, int(s[L.S_SEED]), int(t), STREAM_TRAFFIC)
    rps = poisson(rs, L.SECONDS_PER_MINUTE * mean_rps) / L.SECONDS_PER_MINUTE
    cost_req = share_main * models[main, L.MF_COST] + share_c * 1.0
    cap = s[L.S_REPLICAS] * p[L.P_REPLICA_RPS] * eff.cap_factor
    if t < s[L.S_DEPLOY_UNTIL]:
        cap *= p[L.P_DEPLOY_CAPACITY]
    if t < s[L.S_RESTART_UNTIL]:
        cap *= p[L.P_RESTART_CAPACITY]
    if not fb:
        s[L.S_LEAK] += leak_rate
    if s[L.S_LEAK] >= 1.0:
        s[L.S_LEAK] = 0.0
        s[L.S_OOM_UNTIL] = t + p[L.P_LEAK_RESTART_MIN]
    if t < s[L.S_OOM_UNTIL]:
        cap *= p[L.P_OOM_CAPACITY]
    util = rps * cost_req / max(cap, L.TINY)
    lat_main = latmult[main] * (p[L.P_FB_LATENCY] if fb else 1.0)
    if not fb:  # garbage-collection pressure: latency grows as leaked memory fills the heap
        lat_main *= 1.0 + p[L.P_LEAK_GC] * s[L.S_LEAK] * s[L.S_LEAK]
    p99 = p[L.P_BASE_LATENCY_MS] * lat_main / (1.0 - min(util, p[L.P_UTIL_CAP])) + eff.net_ms
    err_over = max(0.0, 1.0 - 1.0 / util) if util > 1.0 else 0.0
    err_timeout = max(0.0, (p99 - p[L.P_TIMEOUT_MS]) / p99)
    if fb:  # the fallback needs neither the feature store nor the disk cache
        err_dep_eff = 0.0
        err_disk_eff = 0.0
    else:
        err_dep_eff = eff.err_dep
        err_disk_eff = eff.err_disk
    ok = (1.0 - err_over) * (1.0 - err_timeout) * (1.0 - err_dep_eff) * (1.0 - err_disk_eff)
    if t < s[L.S_OUTAGE_UNTIL]:  # after a catastrophe, until the restore: nothing is served
        ok = 0.0
    err = 1.0 - ok

    acc_main = acc[main]
    acc_served = share_main * acc_main + share_c * acc[L.M_CANDIDATE]
    bad_share = 0.0
    if model_is_bad(sim, main):
        bad_share += share_main
    if canary and model_is_bad(sim, L.M_CANDIDATE):
        bad_share += share_c

    rec[L.R_TRAFFIC] = rps
    rec[L.R_UTIL] = util
    rec[L.R_P99_MS] = p99
    rec[L.R_ERROR_RATE] = err
    rec[L.R_AVAILABILITY] = ok
    rec[L.R_ACC_SERVED] = acc_served
    rec[L.R_ACC_PRIMARY] = acc_main
    rec[L.R_CANARY_SHARE] = share_c
    rec[L.R_CORRUPT_SHARE] = min(1.0, eff.corrupt + eff.adv + eff.outl)
    rec[L.R_CORRUPT_DETECTABLE] = (0.0 if eff.quarantine
                                   else min(1.0, eff.corrupt_detectable + eff.outl))
    rec[L.R_CONCEPT] = eff.concept
    rec[L.R_BAD_MODEL_SHARE] = bad_share
    for j in range(L.N_FEATURES):
        rec[L.R_LOC + j] = eff.loc[j]
        rec[L.R_SCALE + j] = eff.scale[j]
    return share_main


@nb.njit(cache=True)
def step(sim, action, eng_min):
    """Advance one minute with ``action``; write the minute's record into ``hist[t]``.

    The phases of a minute are listed in the module docstring. Random draws of the minute
    come from the streams (seed, t), and their number does not depend on the action
    (common random numbers).

    Parameters
    ----------
    sim : Sim
        The episode's arrays (:class:`simulator.state.Sim`), advanced in place; a new
        episode needs a fresh sample cache (``smeta[:, 0] == 0``).
    action : int
        Action index (``layout.NO_OP`` ...); must be < ``p[P_N_ACTIONS]``.
    eng_min : float
        Engineer minutes charged this minute by the controller (human baseline).

    Returns
    -------
    int
        1 if the action took effect, 0 if it became a no-op.
    """
    p, s = sim.p, sim.s
    t = s[L.S_T]
    ti = int(t)
    rec = sim.hist[ti]
    rec[:] = 0.0

    # 1. Fault onsets and the action; a paged engineer's fix when the page is answered.
    _fault_onsets(sim, t)
    applied = apply_action(sim, action, t)
    if s[L.S_ESCALATE_AT] >= 0.0 and t >= s[L.S_ESCALATE_AT]:
        s[L.S_ESCALATE_AT] = -1.0
        eng_min += p[L.P_ENGINEER_MIN_ESCALATE]
        fix = paged_fix(sim, t)
        if fix != L.ESCALATE:  # an annotated escalate: the engineer has nothing to apply
            apply_action(sim, fix, t)
    rec[L.R_APPLIED] = applied
    rec[L.R_CONFLICT] = 1.0 - applied

    # 2. Fault effects this minute, and its rows (drawn, or read from the sample cache).
    eff = fault_effects(sim, t)
    raw, lab, n_invalid, stream = minute_rows(sim, ti, eff)

    # 3. Retrain, canary and fallback progress; the slots' accuracy on the minute's rows.
    latmult, acc, leak_rate = advance_deployments(sim, t, eff, raw, lab)
    fb = s[L.S_FALLBACK_ACTIVE] > 0.5
    canary = s[L.S_CANARY_ACTIVE] > 0.5

    # 4. Traffic, capacity, latency, errors.
    share_main = serve(sim, t, eff, fb, canary, latmult, acc, leak_rate)

    # 5. Measurements (what a controller observes). They are skipped on open-loop forks
    # (``S_OPEN_LOOP``): no outcome of the minute (SLOs, catastrophes, dollars) and no later
    # state depends on them.
    if s[L.S_OPEN_LOOP] < 0.5:
        measure(sim, ti, L.M_FALLBACK if fb else L.M_SERVING, raw, n_invalid, stream)

    # 6. Outcomes of the minute.
    update_slos(rec, s, p)
    update_catastrophe(rec, s, p, share_main)
    if s[L.S_CAT_MINUTE] == t and s[L.S_CAT_CAUSE] == L.CAUSE_NONE:  # its first minute
        record_cause(s, sim.models, L.M_FALLBACK if fb else L.M_SERVING)
    accrue_costs(rec, s, p, eff.price_mult, fb, canary, s[L.S_JOB_ACTIVE] > 0.5, eng_min,
                 eff.runaway)
    s[L.S_T] = t + 1.0
    return applied
