"""What a controller observes: samples, measurements and the sample cache (DESIGN 3.3).

Each minute, :func:`measure` draws ``n = P_SAMPLES_PER_MIN`` feature rows from the
random stream (seed, minute) (:func:`draw_samples`: the fault-free baseline changed by
the active faults) and derives the observations from them: the share of anomalous rows
(|z| above ``P_ANOMALY_Z`` against the serving model's reference moments), the share
failing validation, the two-sample KS statistic of the last ``P_KS_WINDOW`` minutes'
rows against the serving model's reference sample (:func:`draw_reference`; the maximum
over features), the accuracy drop on delayed labels (binomial draws), and noisy p99
latency and error readings. The samples of a minute depend on (seed, minute) only, never
on actions, so the forks of an episode share a sample cache (``smp``, ``smeta``; its
layout in :class:`simulator.state.Sim` and the ``SC_*`` constants below) and read a
minute drawn by any of them instead of drawing and sorting it again. Numba-compiled.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from simulator import layout as L
from simulator.classifier import clean_score, concept_direction, stats_add_rows
from simulator.rng import STREAM_MINUTE, binomial, normal, seed_stream, uniform
from simulator.stats import ks_statistic, merge_sorted_blocks, sort_block

_BASE_LOC = np.array(L.BASE_LOC)  # fault-free feature means
# How an active fault changes one feature's samples (decoded once per minute by draw_samples).
_OP_ADD = 0
_OP_MIX = 1
_OP_OUTLIER = 2
_OP_CORRUPT = 3  # + corruption sub-kind code
_OP_STALE = _OP_CORRUPT + len(L.CORRUPTION_KINDS)  # a stale feature-store value


#: Planes of a minute's row labels (``lab[LAB_*, i]``, float64 0.0 / 1.0).
LAB_CLEAN = 0  # the row's true class without label noise (flipped for an adversarial row)
LAB_Y = 1  # the label that arrives for it: LAB_CLEAN flipped with probability P_LABEL_NOISE
LAB_FLAG = 2  # 1: validation flags the row, or it is in an outlier cluster (quarantine drops it)
N_LAB = 3


@nb.njit(cache=True)
def draw_samples(fa, levels, scale, raw, lab, rs, n, p, concept, adv, prior):
    """Draw one minute's ``n`` rows into ``raw[j, i]`` and their labels into ``lab``.

    Each row's features are standard normals around the baseline, scaled by the active
    covariate shifts, then changed by the minute's active faults in fault order (shifts,
    gradual mixtures, outlier clusters, corruptions, stale values, DESIGN 3.4). The row's
    true values are those before corruption (an outlier cluster is a real segment: its
    values are true). A stale feature-store value is an independent draw around the
    *baseline* mean at the live scale (the value of some earlier time, unrelated to this
    row's label; it passes validation and leaves the KS statistic where a fault-free store
    would). The row's clean class is the concept's
    (:func:`simulator.classifier.clean_score` at the minute's ``concept``, plus the label
    shift ``prior``), the opposite for an adversarial row (a share ``adv`` of rows,
    crafted so that their features say the other class), and its arriving label flips the
    clean class with probability ``P_LABEL_NOISE``. The draws depend only on the scenario,
    the minute's fault ``levels`` and the stream ``rs``, never on actions.

    Parameters
    ----------
    fa : ndarray, shape (n_faults, N_FAULT_FIELDS)
        The fault table.
    levels : ndarray, shape (n_faults,)
        Fault levels at this minute (:func:`simulator.faults.fault_level`).
    scale : ndarray, shape (N_FEATURES,)
        Per-feature scale factor of this minute.
    raw : ndarray, shape (N_FEATURES, >= n)
        Output: the rows as the pipeline receives them, feature-major (missing values
        imputed as 0.0, the pipeline's default).
    lab : ndarray, shape (N_LAB, >= n)
        Output: per row, the clean class, the arriving label and the quarantine flag
        (``LAB_*``), as 0.0 / 1.0.
    rs : ndarray of uint64, shape (1,)
        The minute's random stream, advanced by 3 draws per feature value and 2 per row.
    n : int
        Rows to draw.
    p : ndarray, shape (N_PARAMS,)
        Scenario parameters (``P_OUTLIER_Z``, ``P_SCHEMA_SENTINEL``: corrupted values;
        ``P_LABEL_NOISE``, ``P_CURVATURE``, ``P_SUPPORT_Z``: labels).
    concept : float
        The minute's concept (shares of flipped labels).
    adv : float
        Share of adversarial rows, in [0, 1].
    prior : float
        Label (prior) shift added to every row's clean score, in its standard deviations
        (class 1's share moves from about 1/2 to about Phi(prior)); 0 without one.

    Returns
    -------
    int
        Rows failing validation (missing values, out-of-range outliers, schema or unit
        changes).
    """
    n_f = fa.shape[0]
    # Decode, per feature and in fault order, the active faults that touch it.
    n_act = np.zeros(L.N_FEATURES, dtype=np.int64)
    act_op = np.zeros((L.N_FEATURES, n_f), dtype=np.int64)
    act_p = np.zeros((L.N_FEATURES, n_f))
    act_v = np.zeros((L.N_FEATURES, n_f))
    for q in range(n_f):
        if levels[q] <= 0.0:
            continue
        kq = int(fa[q, L.F_KIND])
        if kq == L.K_COVARIATE:
            if int(fa[q, L.F_SHAPE]) == L.SH_GRADUAL:
                op, pq, vq = _OP_MIX, levels[q], fa[q, L.F_MAGNITUDE]
            else:
                op, pq, vq = _OP_ADD, 0.0, fa[q, L.F_MAGNITUDE] * levels[q]
        elif kq == L.K_TEMPORAL:
            op, pq, vq = _OP_ADD, 0.0, fa[q, L.F_MAGNITUDE] * levels[q]
        elif kq == L.K_OUTLIER:
            op, pq, vq = _OP_OUTLIER, fa[q, L.F_MAGNITUDE] * levels[q], fa[q, L.F_SCALE]
        elif kq == L.K_CORRUPTION:
            op = _OP_CORRUPT + int(fa[q, L.F_SUBKIND])
            pq, vq = fa[q, L.F_MAGNITUDE] * levels[q], fa[q, L.F_SCALE]
        elif kq == L.K_STALE:
            op, pq, vq = _OP_STALE, fa[q, L.F_MAGNITUDE] * levels[q], 0.0
        else:
            continue
        f0 = int(fa[q, L.F_FEATURE])
        for j in range(f0, f0 + int(fa[q, L.F_NFEAT])):
            c = n_act[j]
            act_op[j, c], act_p[j, c], act_v[j, c] = op, pq, vq
            n_act[j] = c + 1
    w = np.empty(L.N_FEATURES)
    concept_direction(concept, w)
    eta, kappa, z0 = p[L.P_LABEL_NOISE], p[L.P_CURVATURE], p[L.P_SUPPORT_Z]
    xt = np.empty((L.N_FEATURES, 1))
    n_invalid = 0
    for i in range(n):
        row_invalid = False
        row_flag = False
        for j in range(L.N_FEATURES):
            u_mix = uniform(rs)
            u_cor = uniform(rs)
            x = normal(rs)
            val = _BASE_LOC[j] + x * scale[j]
            true_val = val
            for c in range(n_act[j]):
                op = act_op[j, c]
                if op == _OP_ADD:
                    val += act_v[j, c]
                    true_val = val
                elif op == _OP_MIX:  # gradual shift: a growing share comes from the new mean
                    if u_mix < act_p[j, c]:
                        val += act_v[j, c]
                        true_val = val
                elif u_cor < act_p[j, c]:
                    if op == _OP_OUTLIER:  # a real segment far from the baseline
                        val = _BASE_LOC[j] + act_v[j, c]
                        true_val = val
                        row_flag = True
                    elif op == _OP_CORRUPT + L.C_MISSING:
                        val = 0.0  # imputed default
                        row_invalid = True
                    elif op == _OP_CORRUPT + L.C_OUTLIERS:
                        val = _BASE_LOC[j] + p[L.P_OUTLIER_Z] * (1.0 if x >= 0 else -1.0)
                        row_invalid = True
                    elif op == _OP_CORRUPT + L.C_SCHEMA:
                        val = p[L.P_SCHEMA_SENTINEL]
                        row_invalid = True
                    elif op == _OP_CORRUPT + L.C_UNIT:
                        val = val * act_v[j, c]
                        row_invalid = True
                    elif op == _OP_STALE:  # an old value: unrelated to this row's label
                        val = _BASE_LOC[j] + scale[j] * normal(rs)
                    else:  # skew: serving computes the feature differently, silently
                        val = _BASE_LOC[j] + 0.5 * x
            raw[j, i] = val
            xt[j, 0] = true_val
        u_adv = uniform(rs)
        u_noise = uniform(rs)
        clean = clean_score(xt, 0, w, kappa, z0) + prior > 0.0
        if u_adv < adv:
            clean = not clean
        lab[LAB_CLEAN, i] = 1.0 if clean else 0.0
        lab[LAB_Y, i] = 1.0 if clean != (u_noise < eta) else 0.0
        lab[LAB_FLAG, i] = 1.0 if (row_invalid or row_flag) else 0.0
        if row_invalid:
            n_invalid += 1
    return n_invalid


@nb.njit(cache=True)
def draw_reference(sim, k):
    """Draw and sort model ``k``'s reference sample from its training distribution.

    ``refs[k, j, :m]`` (m = ``P_REF_SIZE``) takes m normal draws of the stream ``rs``
    around the slot's training location and scale, sorted; ``models[k]`` takes their mean
    and standard deviation (``MF_RMEAN``, ``MF_RSTD``, the anomaly z-score's moments).
    """
    models, refs, p, rs = sim.models, sim.refs, sim.p, sim.rs
    m = int(p[L.P_REF_SIZE])
    for j in range(L.N_FEATURES):
        loc = models[k, L.MF_LOC + j]
        sc = models[k, L.MF_SCALE + j]
        for i in range(m):
            refs[k, j, i] = loc + sc * normal(rs)
        refs[k, j, :m] = np.sort(refs[k, j, :m])
        # explicit sequential sums: identical compiled and interpreted (NumPy sums pairwise)
        total = 0.0
        for i in range(m):
            total += refs[k, j, i]
        mean = total / m
        ssd = 0.0
        for i in range(m):
            ssd += (refs[k, j, i] - mean) ** 2
        models[k, L.MF_RMEAN + j] = mean
        models[k, L.MF_RSTD + j] = max(np.sqrt(ssd / m), L.TINY)


#: Default budget of one episode's sample cache, MiB.
SAMPLE_CACHE_MIB = 64.0
# Sample-cache flags (bits of ``smeta[t, SC_FLAGS]``) and columns.
SC_SAMPLES = 1  # the sorted block, the raw rows, the invalid count and the stream state
SC_MERGED = 2  # the merged KS window
SC_D0 = 4  # bit of the KS statistic against initial reference k: SC_D0 << k (k = 0, 1, 2)
SC_A0 = 32  # bit of the anomaly count against initial reference k: SC_A0 << k
SC_FLAGS = 0
SC_INVALID = 1
SC_STREAM = 2
SC_D = 3  # columns 3..5: the KS statistic (float64 bits) against initial reference 0..2
SC_ANOM = 6  # columns 6..8: the anomalous-row count against initial reference 0..2
N_SC = 9
N_CACHED_REFS = 3


@nb.njit(cache=True)
def sample_cache_rows(p, mib):
    """Return the rows of the sample cache for scenario ``p`` within ``mib`` MiB (0: no cache).

    One row per minute (horizon + 1) holds N_FEATURES x (ks_window + 2) x
    samples_per_minute float64 values (sorted block, raw rows, merged KS window) and
    N_LAB x samples_per_minute labels: 25 MiB for a day at 100 samples a minute and a
    3-minute window. Above the budget the episode runs
    without the cache (same results; forks draw and merge again).

    Parameters
    ----------
    p : ndarray, shape (N_PARAMS,)
        Scenario parameters.
    mib : float
        Budget, MiB.
    """
    rows = int(p[L.P_HORIZON]) + 1
    width = (p[L.P_KS_WINDOW] + 2.0) * p[L.P_SAMPLES_PER_MIN]
    per_row = L.N_FEATURES * width + N_LAB * p[L.P_SAMPLES_PER_MIN]
    nbytes = rows * per_row * L.BYTES_PER_FLOAT64
    return rows if nbytes <= mib * L.BYTES_PER_MIB else 0


@nb.njit(cache=True)
def new_sample_cache(p, mib):
    """Return an empty sample cache ``(smp, smeta, slab, tst)`` for scenario ``p``.

    ``smp`` has shape (rows, N_FEATURES, (ks_window + 2) n), uninitialised; ``smeta``
    (rows, N_SC) uint64 zeros (no minute cached); ``slab`` (rows, N_LAB, n), uninitialised;
    rows from :func:`sample_cache_rows` within ``mib`` MiB. ``tst`` (horizon + 2,
    2 N_TRAIN_STATS), zeros, the training statistics' prefix sums, is allocated whatever
    the budget (0.7 MiB for a day). The layout is documented in
    :class:`simulator.state.Sim`.
    """
    rows = sample_cache_rows(p, mib)
    n = int(p[L.P_SAMPLES_PER_MIN])
    width = (int(p[L.P_KS_WINDOW]) + 2) * n
    tst = np.zeros((int(p[L.P_HORIZON]) + 2, 2 * L.N_TRAIN_STATS))
    return (np.empty((rows, L.N_FEATURES, width)), np.zeros((rows, N_SC), dtype=np.uint64),
            np.empty((rows, N_LAB, n)), tst)


# ----------------------------------------------------------------------------------------
# The measurements of one minute
# ----------------------------------------------------------------------------------------
@nb.njit(cache=True)
def minute_rows(sim, ti, eff):
    """Draw minute ``ti``'s rows (or read them from the cache); fill the live window and stats.

    The rows come from the sample cache if a fork of the episode has drawn the minute
    already, else they are drawn (:func:`draw_samples`) and cached. Either way
    ``live[ti % ks_window, j, :n]`` receives the minute's sorted values of feature j, and
    the training statistics' prefix sums ``tst[ti + 1]`` (:class:`simulator.state.Sim`)
    those of minutes 0 .. ti: every row with its arriving label in ``tst[:, :N_STATS]``,
    the rows validation does not flag in ``tst[:, N_STATS:]``.

    Parameters
    ----------
    sim : Sim
        The simulation (:class:`simulator.state.Sim`); ``live``, ``rs``, ``tst`` and the
        sample cache are updated.
    ti : int
        The minute.
    eff : FaultEffects
        The minute's fault effects (levels, scales, concept, adversarial share); none of
        them depends on actions.

    Returns
    -------
    raw : ndarray, shape (N_FEATURES, n)
        The minute's rows, feature-major (a view into the cache when cached).
    lab : ndarray, shape (N_LAB, n)
        Their labels and flags (``LAB_*``).
    n_invalid : int
        Rows failing validation.
    stream : ndarray of uint64, shape (1,)
        State of the minute's stream after the draws (the measurements continue it).
    """
    p, fa, live, rs, smp, smeta = sim.p, sim.fa, sim.live, sim.rs, sim.smp, sim.smeta
    seed_stream(rs, int(sim.s[L.S_SEED]), ti, STREAM_MINUTE)
    n = int(p[L.P_SAMPLES_PER_MIN])
    slot = ti % live.shape[0]
    use_cache = ti < smeta.shape[0]
    if use_cache and smeta[ti, SC_FLAGS] & SC_SAMPLES:
        raw = smp[ti, :, n:2 * n]
        lab = sim.slab[ti]
        for j in range(L.N_FEATURES):
            live[slot, j, :n] = smp[ti, j, :n]
        stream = np.empty(1, np.uint64)
        stream[0] = smeta[ti, SC_STREAM]
        return raw, lab, int(smeta[ti, SC_INVALID]), stream
    raw = smp[ti, :, n:2 * n] if use_cache else np.empty((L.N_FEATURES, n))
    lab = sim.slab[ti] if use_cache else np.empty((N_LAB, n))
    n_invalid = draw_samples(fa, eff.levels, eff.scale, raw, lab, rs, n, p, eff.concept,
                             min(1.0, eff.adv), eff.prior)
    for j in range(L.N_FEATURES):
        live[slot, j, :n] = raw[j, :n]
        sort_block(live[slot, j, :n])
    _add_minute_stats(sim.tst, ti, raw, lab, n)
    if use_cache:
        for j in range(L.N_FEATURES):
            smp[ti, j, :n] = live[slot, j, :n]
        smeta[ti, SC_INVALID] = np.uint64(n_invalid)
        smeta[ti, SC_STREAM] = rs[0]
        smeta[ti, SC_FLAGS] |= np.uint64(SC_SAMPLES)
    return raw, lab, n_invalid, rs.copy()


@nb.njit(cache=True)
def _add_minute_stats(tst, ti, raw, lab, n):
    """Set ``tst[ti + 1]`` to ``tst[ti]`` plus the training statistics of minute ``ti``'s rows."""
    ns = L.N_TRAIN_STATS
    tst[ti + 1, :] = tst[ti, :]
    y = np.empty(n, dtype=np.int64)
    every = np.ones(n, dtype=np.bool_)
    unflagged = np.empty(n, dtype=np.bool_)
    for i in range(n):
        y[i] = int(lab[LAB_Y, i])
        unflagged[i] = lab[LAB_FLAG, i] < 0.5
    stats_add_rows(tst[ti + 1, :ns], raw, y, n, every)
    stats_add_rows(tst[ti + 1, ns:], raw, y, n, unflagged)


@nb.njit(cache=True)
def _anomalous_rows(sim, ti, main, raw):
    """Count minute ``ti``'s rows with a z-score above ``P_ANOMALY_Z`` in some feature.

    The z-scores are against the reference moments of slot ``main`` (``MF_RMEAN``,
    ``MF_RSTD``); the count is cached for the three initial references.
    """
    p, models, smeta = sim.p, sim.models, sim.smeta
    n = int(p[L.P_SAMPLES_PER_MIN])
    z_thr = p[L.P_ANOMALY_Z]
    use_cache = ti < smeta.shape[0]
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
    return n_anom


@nb.njit(cache=True)
def _ks_max(sim, ti, main):
    """Return the largest per-feature KS statistic of the live window against slot ``main``.

    Each feature's window (the sorted blocks of the last ``ks_window`` minutes, merged) is
    compared with the slot's reference sample (:func:`simulator.stats.ks_statistic`). The
    merged window is cached with the samples; so is the statistic against the three
    initial reference samples (drawn from the episode seed alone, shared by every fork).
    """
    p, models, refs, live = sim.p, sim.models, sim.refs, sim.live
    smp, smeta = sim.smp, sim.smeta
    n = int(p[L.P_SAMPLES_PER_MIN])
    use_cache = ti < smeta.shape[0]
    ref_id = int(models[main, L.MF_REF_ID])
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
    return d_max


@nb.njit(cache=True)
def label_volume(p, traffic):
    """Return the delayed labels drawn for one minute's predictions.

    ``P_LABEL_VOLUME``; with ``P_LABELS_FOLLOW_TRAFFIC`` (scenario
    ``monitoring.labels_follow_traffic``) that many at ``P_BASE_RPS`` and proportionally
    more or fewer at other traffic (labels are a fixed share of requests), rounded.

    Parameters
    ----------
    p : ndarray, shape (N_PARAMS,)
        Scenario parameters.
    traffic : float
        The minute's traffic, requests per second.
    """
    vol = p[L.P_LABEL_VOLUME]
    if p[L.P_LABELS_FOLLOW_TRAFFIC] > 0.5:
        vol = np.floor(vol * traffic / max(p[L.P_BASE_RPS], L.TINY) + 0.5)
    return int(vol)


@nb.njit(cache=True)
def measure(sim, ti, main, raw, n_invalid, stream):
    """Write minute ``ti``'s measured observations into its record ``hist[ti]``.

    From the minute's rows (:func:`minute_rows`): ``R_RHO`` (share of
    anomalous rows against slot ``main``'s reference moments), ``R_VALIDATION_FAIL``
    (share failing validation) and ``R_D`` (largest KS statistic against ``main``'s
    reference sample). Then, from the same stream: the minute's correct delayed labels
    (``R_LABELS_CORRECT``, a binomial draw of :func:`label_volume` labels at the served
    accuracy, their number in ``R_LABELS_DRAWN``), ``R_A`` (the drop below ``P_BASE_ACC``
    of the accuracy on the labels of the ``P_LABEL_WINDOW`` minutes that arrived by now,
    ``P_LABEL_DELAY`` minutes late), and
    the noisy readings ``R_P99_OBS`` (5% Gaussian noise) and ``R_ERR_OBS`` (binomial
    standard error of the minute's requests).

    Parameters
    ----------
    sim : Sim
        The simulation (:class:`simulator.state.Sim`). ``hist[ti]`` must hold the minute's
        ground truth (traffic, p99 latency, error rate, served accuracy:
        :func:`simulator.step.serve`); ``rs`` and the sample cache are updated.
    ti : int
        The minute.
    main : int
        The model slot serving the bulk of traffic (``M_SERVING`` or ``M_FALLBACK``).
    raw : ndarray, shape (N_FEATURES, n)
        The minute's rows (:func:`minute_rows`).
    n_invalid : int
        Rows failing validation.
    stream : ndarray of uint64, shape (1,)
        State of the minute's stream after the rows were drawn; the draws below continue it.
    """
    p, hist, rs = sim.p, sim.hist, sim.rs
    rec = hist[ti]
    n = int(p[L.P_SAMPLES_PER_MIN])
    rs[0] = stream[0]
    rec[L.R_RHO] = _anomalous_rows(sim, ti, main, raw) / n
    rec[L.R_VALIDATION_FAIL] = n_invalid / n
    rec[L.R_D] = _ks_max(sim, ti, main)

    vol = label_volume(p, rec[L.R_TRAFFIC])
    rec[L.R_LABELS_DRAWN] = vol
    rec[L.R_LABELS_CORRECT] = binomial(rs, vol, rec[L.R_ACC_SERVED])
    delay = int(p[L.P_LABEL_DELAY])
    lw = int(p[L.P_LABEL_WINDOW])
    hi = ti - delay
    correct = 0.0
    total = 0.0
    for u in range(max(0, hi - lw + 1), hi + 1):
        correct += hist[u, L.R_LABELS_CORRECT]
        total += hist[u, L.R_LABELS_DRAWN]
    rec[L.R_A] = max(0.0, p[L.P_BASE_ACC] - correct / total) if total > 0 else 0.0

    z1 = normal(rs)
    z2 = normal(rs)
    p99 = rec[L.R_P99_MS]
    err = rec[L.R_ERROR_RATE]
    rec[L.R_P99_OBS] = max(0.0, p99 * (1.0 + p[L.P_P99_NOISE] * z1))
    n_req = max(rec[L.R_TRAFFIC] * L.SECONDS_PER_MINUTE, 1.0)
    rec[L.R_ERR_OBS] = min(1.0, max(0.0, err + np.sqrt(err * (1.0 - err) / n_req) * z2))
