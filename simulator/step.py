"""The simulator's step kernel (DESIGN 3), Numba-compiled over flat arrays.

One call advances one episode by one simulated minute. The Gymnasium environment and any
batched rollout call this same function. All arrays are float64 unless stated. The parts of
a minute live in their own modules: :mod:`simulator.faults` (fault levels and onsets),
:mod:`simulator.deploy` (actions, deployments, the canary), :mod:`simulator.model` (the
served models' accuracy), :mod:`simulator.sampling` (samples and the sample cache) and
:mod:`simulator.stats` (the KS statistic).

Arguments shared by the kernels
-------------------------------
p : (N_PARAMS,)                      scenario parameters (``P_*``)
fa : (n_faults, N_FAULT_FIELDS)      fault table (``F_*``)
fr : (n_faults, N_FAULT_RT)          fault runtime (``FR_*``), mutated
ac : (N_EXTENDED_ACTIONS, 3)         C(a) components per action
s : (N_STATE,)                       dynamic state (``S_*``), mutated
models : (N_MODEL_SLOTS, N_MODEL_FIELDS)  model table (``MF_*``), mutated
refs : (N_MODEL_SLOTS, N_FEATURES, m)     sorted reference samples, mutated on retrain
hist : (horizon + 1, N_RECORD)       per-minute records (``R_*``); row t is written at t
live : (ks_window, N_FEATURES, n)    ring buffer of live feature samples, each minute sorted
rs : (1,) uint64                     scratch random-stream state
smp : (rows, N_FEATURES, (w + 2) n)  sample cache, per minute and feature: the sorted block
                                     [0, n), the raw rows [n, 2n), the merged KS window
                                     [2n, (w + 2) n) (w = ks_window)
smeta : (rows, N_SC) uint64          sample cache, per minute: flags (SC_*), invalid rows,
                                     stream state after the draws, and the KS statistic
                                     (float64 bits) and anomalous-row count against each
                                     initial reference sample.
                                     rows = 0 disables the cache. Shared, not copied, by the
                                     forks of one episode: the samples of a minute depend on
                                     (seed, minute) only, the initial references on the seed.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from simulator import layout as L
from simulator.deploy import _finish_retrain, _judge_canary, apply_action
from simulator.faults import _fault_onsets, fault_level
from simulator.model import _slot_effects, model_is_bad
from simulator.outcomes import accrue_costs, update_catastrophe, update_slos
from simulator.rng import (
    STREAM_MINUTE,
    STREAM_RETRAIN,
    STREAM_WARMUP,
    binomial,
    normal,
    seed_stream,
)
from simulator.sampling import (
    N_CACHED_REFS,
    SC_A0,
    SC_ANOM,
    SC_D,
    SC_D0,
    SC_FLAGS,
    SC_INVALID,
    SC_MERGED,
    SC_SAMPLES,
    SC_STREAM,
    draw_reference,
    draw_samples,
)
from simulator.stats import ks_statistic, merge_sorted_blocks, sort_block

_BASE_LOC = np.array(L.BASE_LOC)


@nb.njit(cache=True)
def init_state(sim, seed):
    """Reset the episode: serving v1, previous v0, fallback; baseline references.

    The live-sample window is pre-filled with fault-free samples of the minutes before the
    episode, so that the KS statistic uses a full window from minute 0. ``hist`` and the
    sample cache are left as they are (a new episode needs them zeroed / fresh).
    """
    p, fr, s, models, live, rs = sim.p, sim.fr, sim.s, sim.models, sim.live, sim.rs
    s[:] = 0.0
    fr[:] = 0.0
    models[:] = 0.0
    s[L.S_SEED] = seed
    s[L.S_REPLICAS] = p[L.P_REPLICAS]
    s[L.S_NEXT_VERSION] = 2.0
    s[L.S_ESCALATE_AT] = -1.0
    for k in (L.M_SERVING, L.M_PREVIOUS, L.M_FALLBACK):
        models[k, L.MF_VALID] = 1.0
        models[k, L.MF_COST] = 1.0
        for j in range(L.N_FEATURES):
            models[k, L.MF_LOC + j] = _BASE_LOC[j]
            models[k, L.MF_SCALE + j] = 1.0
    models[L.M_SERVING, L.MF_VERSION] = 1.0
    models[L.M_SERVING, L.MF_BASE_ACC] = p[L.P_BASE_ACC]
    models[L.M_PREVIOUS, L.MF_VERSION] = 0.0
    models[L.M_PREVIOUS, L.MF_BASE_ACC] = p[L.P_PREV_ACC]
    models[L.M_FALLBACK, L.MF_VERSION] = -1.0
    models[L.M_FALLBACK, L.MF_BASE_ACC] = p[L.P_FALLBACK_ACC]
    models[L.M_FALLBACK, L.MF_IS_FALLBACK] = 1.0
    models[L.M_FALLBACK, L.MF_COST] = p[L.P_FB_COST]
    seed_stream(rs, seed, 0, STREAM_RETRAIN)
    for i, k in enumerate((L.M_SERVING, L.M_PREVIOUS, L.M_FALLBACK)):
        draw_reference(sim, k)
        models[k, L.MF_REF_ID] = i  # the sample cache keeps KS statistics per initial id
    seed_stream(rs, seed, 0, STREAM_WARMUP)
    for w in range(live.shape[0]):
        for j in range(L.N_FEATURES):
            for i in range(live.shape[2]):
                live[w, j, i] = _BASE_LOC[j] + normal(rs)
            sort_block(live[w, j, :])


@nb.njit(cache=True)
def step(sim, action, eng_min):
    """Advance one minute with ``action``; write the minute's record into ``hist[t]``.

    Order within a minute: fault onsets, the action, retrain and canary progress, fallback
    TTL, ground truth (traffic, capacity, latency, errors, accuracy), measured observations
    from drawn samples (KS statistic, anomaly rate, delayed-label accuracy drop), SLOs,
    catastrophe counters, dollar costs. Random draws of the minute come from the stream
    (seed, t), and their number does not depend on the action (common random numbers).

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
    p, fa, fr, s, models, refs = sim.p, sim.fa, sim.fr, sim.s, sim.models, sim.refs
    hist, live, rs, smp, smeta = sim.hist, sim.live, sim.rs, sim.smp, sim.smeta
    t = s[L.S_T]
    ti = int(t)
    rec = hist[ti]
    rec[:] = 0.0
    seed = int(s[L.S_SEED])

    # 1. Fault onsets and the action.
    _fault_onsets(sim, t)
    applied = apply_action(sim, action, t)
    if s[L.S_ESCALATE_AT] >= 0.0 and t >= s[L.S_ESCALATE_AT]:
        s[L.S_ESCALATE_AT] = -1.0
        eng_min += p[L.P_ENGINEER_MIN_ESCALATE]
        opt = int(p[L.P_OPTIMAL_ACTION])
        if opt != L.ESCALATE:
            apply_action(sim, opt, t)
    rec[L.R_APPLIED] = applied
    rec[L.R_CONFLICT] = 1.0 - applied

    # 2. Fault effects this minute.
    loc = _BASE_LOC.copy()
    scale = np.ones(L.N_FEATURES)
    concept = 0.0
    corrupt = 0.0  # share of rows hurting the primary model (corruption, dependency)
    corrupt_detectable = 0.0
    adv = 0.0
    outl = 0.0
    cap_factor = 1.0
    err_disk = 0.0
    err_dep = 0.0
    net_ms = 0.0
    traffic_mult = 1.0
    price_mult = 1.0
    n_f = fa.shape[0]
    levels = np.zeros(n_f)
    for i in range(n_f):
        lv = fault_level(fa[i], t)
        levels[i] = lv
        if lv <= 0.0:
            continue
        kind = int(fa[i, L.F_KIND])
        mag = fa[i, L.F_MAGNITUDE] * lv
        f0 = int(fa[i, L.F_FEATURE])
        f1 = f0 + int(fa[i, L.F_NFEAT])
        if kind == L.K_COVARIATE:
            for j in range(f0, f1):
                if int(fa[i, L.F_SHAPE]) == L.SH_GRADUAL:
                    loc[j] += fa[i, L.F_MAGNITUDE] * lv  # mixture mean; samples mix below
                else:
                    loc[j] += mag
                scale[j] *= 1.0 + (fa[i, L.F_SCALE] - 1.0) * lv
        elif kind == L.K_CONCEPT:
            concept += mag
        elif kind == L.K_CORRUPTION:
            corrupt += mag
            if int(fa[i, L.F_SUBKIND]) != L.C_SKEW:
                corrupt_detectable += mag
        elif kind == L.K_RESOURCE:
            if int(fa[i, L.F_SUBKIND]) == L.R_DISK:
                err_disk = max(err_disk, mag)
            else:
                cap_factor *= 1.0 - mag
        elif kind == L.K_NETWORK:
            net_ms += mag
        elif kind == L.K_DEPENDENCY:
            err_dep = max(err_dep, 0.5 * mag)
            corrupt += 0.5 * mag
        elif kind == L.K_ADVERSARIAL:
            adv += mag
        elif kind == L.K_OUTLIER:
            outl += mag
        elif kind == L.K_TEMPORAL:
            traffic_mult *= 1.0 + (fa[i, L.F_SCALE] - 1.0) * lv
        elif kind == L.K_SURGE:
            traffic_mult *= 1.0 + (fa[i, L.F_MAGNITUDE] - 1.0) * lv
        elif kind == L.K_COST_SHOCK:
            price_mult *= 1.0 + (fa[i, L.F_MAGNITUDE] - 1.0) * lv
    corrupt = min(corrupt, 1.0)
    quarantine = s[L.S_QUARANTINE_UNTIL] > t
    if quarantine:
        corrupt = max(0.0, corrupt - corrupt_detectable)
        outl = 0.0

    # 3. Retrain, canary and fallback progress.
    fb = s[L.S_FALLBACK_ACTIVE] > 0.5
    main = L.M_FALLBACK if fb else L.M_SERVING

    decay_by_slot = np.zeros(L.N_MODEL_SLOTS)
    latmult_by_slot = np.ones(L.N_MODEL_SLOTS)
    acc = np.zeros(L.N_MODEL_SLOTS)
    leak_rate = _slot_effects(p, fa, fr, s, models, levels, loc, scale, concept, corrupt, adv,
                              outl, decay_by_slot, latmult_by_slot, acc)

    moved = False
    if s[L.S_JOB_ACTIVE] > 0.5 and t >= s[L.S_JOB_DONE_AT]:
        _finish_retrain(sim, t)
        moved = True
        if s[L.S_CANARY_ACTIVE] > 0.5:  # the candidate's accuracy is needed by the judge
            leak_rate = _slot_effects(p, fa, fr, s, models, levels, loc, scale, concept,
                                      corrupt, adv, outl, decay_by_slot, latmult_by_slot, acc)
            moved = False
    if s[L.S_CANARY_ACTIVE] > 0.5 and t >= s[L.S_CANARY_END]:
        err_prev = hist[ti - 1, L.R_ERROR_RATE] if ti > 0 else 0.0
        _judge_canary(sim, t, acc[main], acc[L.M_CANDIDATE], err_prev)
        moved = True
    if moved:  # slots moved: recompute accuracies and version-bound effects
        leak_rate = _slot_effects(p, fa, fr, s, models, levels, loc, scale, concept, corrupt,
                                  adv, outl, decay_by_slot, latmult_by_slot, acc)
    if s[L.S_FALLBACK_ACTIVE] > 0.5 and t >= s[L.S_FALLBACK_UNTIL]:
        s[L.S_FALLBACK_ACTIVE] = 0.0

    fb = s[L.S_FALLBACK_ACTIVE] > 0.5
    main = L.M_FALLBACK if fb else L.M_SERVING
    canary = s[L.S_CANARY_ACTIVE] > 0.5
    share_c = p[L.P_CANARY_SHARE] if canary else 0.0
    share_main = 1.0 - share_c

    # 4. Traffic, capacity, latency, errors.
    rps = p[L.P_BASE_RPS] * traffic_mult
    rps *= 1.0 + p[L.P_DIURNAL_AMP] * np.sin(2.0 * np.pi * t / 1440.0)
    cost_req = share_main * models[main, L.MF_COST] + share_c * 1.0
    cap = s[L.S_REPLICAS] * p[L.P_REPLICA_RPS] * cap_factor
    if t < s[L.S_DEPLOY_UNTIL]:
        cap *= 0.75
    if t < s[L.S_RESTART_UNTIL]:
        cap *= 0.5
    if not fb:
        s[L.S_LEAK] += leak_rate
    if s[L.S_LEAK] >= 1.0:
        s[L.S_LEAK] = 0.0
        s[L.S_OOM_UNTIL] = t + p[L.P_LEAK_RESTART_MIN]
    if t < s[L.S_OOM_UNTIL]:
        cap *= 0.25
    util = rps * cost_req / max(cap, 1e-9)
    lat_main = latmult_by_slot[main] * (0.6 if fb else 1.0)
    if not fb:  # garbage-collection pressure: latency grows as leaked memory fills the heap
        lat_main *= 1.0 + 4.0 * s[L.S_LEAK] * s[L.S_LEAK]
    p99 = p[L.P_BASE_LATENCY_MS] * lat_main / (1.0 - min(util, 0.95)) + net_ms
    err_over = max(0.0, 1.0 - 1.0 / util) if util > 1.0 else 0.0
    err_timeout = max(0.0, (p99 - p[L.P_TIMEOUT_MS]) / p99)
    if fb:  # the fallback needs neither the feature store nor the disk cache
        err_dep_eff = 0.0
        err_disk_eff = 0.0
    else:
        err_dep_eff = err_dep
        err_disk_eff = err_disk
    ok = (1.0 - err_over) * (1.0 - err_timeout) * (1.0 - err_dep_eff) * (1.0 - err_disk_eff)
    err = 1.0 - ok

    acc_main = acc[main]
    acc_served = share_main * acc_main + share_c * acc[L.M_CANDIDATE]
    bad_share = 0.0
    if model_is_bad(models, main, p, s):
        bad_share += share_main
    if canary and model_is_bad(models, L.M_CANDIDATE, p, s):
        bad_share += share_c

    rec[L.R_TRAFFIC] = rps
    rec[L.R_UTIL] = util
    rec[L.R_P99_MS] = p99
    rec[L.R_ERROR_RATE] = err
    rec[L.R_AVAILABILITY] = ok
    rec[L.R_ACC_SERVED] = acc_served
    rec[L.R_ACC_PRIMARY] = acc_main
    rec[L.R_CANARY_SHARE] = share_c
    rec[L.R_CORRUPT_SHARE] = min(1.0, corrupt + adv + outl)
    rec[L.R_CORRUPT_DETECTABLE] = 0.0 if quarantine else min(1.0, corrupt_detectable + outl)
    rec[L.R_CONCEPT] = concept
    rec[L.R_BAD_MODEL_SHARE] = bad_share
    for j in range(L.N_FEATURES):
        rec[L.R_LOC + j] = loc[j]
        rec[L.R_SCALE + j] = scale[j]

    # 5. Measurements (what a controller observes), from samples (stream (seed, t)). They
    # are skipped on open-loop forks (``S_OPEN_LOOP``): no outcome of the minute (SLOs,
    # catastrophes, dollars) and no later state depends on them. The samples do not depend
    # on the actions, so a minute drawn once by this episode or any fork sharing the sample
    # cache (``smp``, ``smeta``) is copied from it instead of drawn and sorted again.
    if s[L.S_OPEN_LOOP] < 0.5:
        seed_stream(rs, seed, ti, STREAM_MINUTE)
        n = int(p[L.P_SAMPLES_PER_MIN])
        slot = ti % live.shape[0]
        z_thr = p[L.P_ANOMALY_Z]
        use_cache = ti < smeta.shape[0]
        if use_cache and smeta[ti, SC_FLAGS] & SC_SAMPLES:
            raw = smp[ti, :, n:2 * n]
            for j in range(L.N_FEATURES):
                live[slot, j, :n] = smp[ti, j, :n]
            n_invalid = int(smeta[ti, SC_INVALID])
            rs[0] = smeta[ti, SC_STREAM]
        else:
            raw = smp[ti, :, n:2 * n] if use_cache else np.empty((L.N_FEATURES, n))
            n_invalid = draw_samples(fa, levels, scale, raw, rs, n)
            for j in range(L.N_FEATURES):
                live[slot, j, :n] = raw[j, :n]
                sort_block(live[slot, j, :n])
            if use_cache:
                for j in range(L.N_FEATURES):
                    smp[ti, j, :n] = live[slot, j, :n]
                smeta[ti, SC_INVALID] = np.uint64(n_invalid)
                smeta[ti, SC_STREAM] = rs[0]
                smeta[ti, SC_FLAGS] |= np.uint64(SC_SAMPLES)
        # Anomalous rows: a z-score above the threshold against the serving model's reference
        # moments; cached like the KS statistic for the initial references.
        ref_id = int(models[main, L.MF_REF_ID])
        a_bit = np.uint64(SC_A0 << ref_id) if 0 <= ref_id < N_CACHED_REFS else np.uint64(0)
        if use_cache and a_bit and smeta[ti, SC_FLAGS] & a_bit:
            n_anom = int(smeta[ti, SC_ANOM + ref_id])
        else:
            n_anom = 0
            for i in range(n):
                for j in range(L.N_FEATURES):
                    zz = abs(raw[j, i] - models[main, L.MF_RMEAN + j]) / models[main, L.MF_RSTD + j]
                    if zz > z_thr:
                        n_anom += 1
                        break
            if use_cache and a_bit:
                smeta[ti, SC_ANOM + ref_id] = np.uint64(n_anom)
                smeta[ti, SC_FLAGS] |= a_bit
        rec[L.R_RHO] = n_anom / n
        rec[L.R_VALIDATION_FAIL] = n_invalid / n

        # KS statistic per feature: merge the window's sorted minute blocks. The merged window
        # is cached with the samples; so is the statistic against the three initial reference
        # samples (drawn from the episode seed alone, shared by every fork).
        w = live.shape[0]
        m = int(p[L.P_REF_SIZE])
        d_bit = np.uint64(SC_D0 << ref_id) if 0 <= ref_id < N_CACHED_REFS else np.uint64(0)
        cached_d = smeta.view(np.float64)
        if use_cache and d_bit and smeta[ti, SC_FLAGS] & d_bit:
            d_max = cached_d[ti, SC_D + ref_id]
        else:
            merged = use_cache and smeta[ti, SC_FLAGS] & SC_MERGED
            buf = np.empty(w * n)
            d_max = 0.0
            for j in range(L.N_FEATURES):
                if merged:
                    win = smp[ti, j, 2 * n:(2 + w) * n]
                else:
                    merge_sorted_blocks(live, j, n, buf)
                    win = buf
                    if use_cache:
                        smp[ti, j, 2 * n:(2 + w) * n] = buf
                d = ks_statistic(win, refs[main, j, :m])
                if d > d_max:
                    d_max = d
            if use_cache:
                smeta[ti, SC_FLAGS] |= np.uint64(SC_MERGED)
                if d_bit:
                    cached_d[ti, SC_D + ref_id] = d_max
                    smeta[ti, SC_FLAGS] |= d_bit
        rec[L.R_D] = d_max

        vol = int(p[L.P_LABEL_VOLUME])
        rec[L.R_LABELS_CORRECT] = binomial(rs, vol, acc_served)
        delay = int(p[L.P_LABEL_DELAY])
        lw = int(p[L.P_LABEL_WINDOW])
        hi = ti - delay
        correct = 0.0
        total = 0.0
        for u in range(max(0, hi - lw + 1), hi + 1):
            correct += hist[u, L.R_LABELS_CORRECT]
            total += vol
        rec[L.R_A] = max(0.0, p[L.P_BASE_ACC] - correct / total) if total > 0 else 0.0

        z1 = normal(rs)
        z2 = normal(rs)
        rec[L.R_P99_OBS] = max(0.0, p99 * (1.0 + 0.05 * z1))
        n_req = max(rps * 60.0, 1.0)
        rec[L.R_ERR_OBS] = min(1.0, max(0.0, err + np.sqrt(err * (1.0 - err) / n_req) * z2))

    # 6. Outcomes of the minute.
    update_slos(rec, s, p)
    update_catastrophe(rec, s, p, share_main)
    accrue_costs(
        rec, s, p, price_mult, fb, canary, s[L.S_JOB_ACTIVE] > 0.5, eng_min
    )
    s[L.S_T] = t + 1.0
    return applied
