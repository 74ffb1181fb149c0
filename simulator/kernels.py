"""The simulator's step kernel (DESIGN 3), Numba-compiled over flat arrays.

One call advances one episode by one simulated minute. The Gymnasium environment and any
batched rollout call this same function. All arrays are float64 unless stated.

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

import math

import numba as nb
import numpy as np

from simulator import layout as L
from simulator.outcomes import accrue_costs, sla_score, update_catastrophe, update_slos
from simulator.rng import (
    STREAM_CANARY,
    STREAM_MINUTE,
    STREAM_RETRAIN,
    STREAM_WARMUP,
    binomial,
    normal,
    seed_stream,
    uniform,
)

_BASE_LOC = np.array(L.BASE_LOC)
# How an active fault changes one feature's samples (decoded once per minute in `step`).
_OP_ADD = 0
_OP_MIX = 1
_OP_OUTLIER = 2
_OP_CORRUPT = 3  # + corruption sub-kind code


# ----------------------------------------------------------------------------------------
# Statistics
# ----------------------------------------------------------------------------------------
@nb.njit(cache=True)
def ks_statistic(a, b):
    """Two-sample Kolmogorov-Smirnov statistic of two sorted samples.

    Parameters
    ----------
    a : ndarray of float64, shape (n,)
        First sample, sorted in non-decreasing order, finite values.
    b : ndarray of float64, shape (m,)
        Second sample, sorted in non-decreasing order, finite values.

    Returns
    -------
    float
        ``sup_t |F_a(t) - F_b(t)|`` with right-continuous empirical CDFs, exactly as
        ``scipy.stats.ks_2samp`` computes it (ties included). NaN if either sample is empty.

    Notes
    -----
    Between two consecutive distinct values of ``a``, F_a is constant and F_b is
    non-decreasing, so the supremum is reached at a value x of ``a`` (F_a(x) - F_b(x)) or
    just below one (F_a(x-) - F_b(x-)); past the last value of ``a``, F_a = 1 >= F_b. Only
    these candidates are evaluated, in one forward scan of ``b``. They are jump points of
    the full merge walk, computed with the same arithmetic, so the result is the same float.
    """
    n = a.shape[0]
    m = b.shape[0]
    if n == 0 or m == 0:
        return np.nan
    i = 0
    j = 0
    d = 0.0
    while i < n:
        x = a[i]
        while j < m and b[j] < x:  # j = m F_b(x-)
            j += 1
        diff = abs(i / n - j / m)
        if diff > d:
            d = diff
        while i < n and a[i] <= x:
            i += 1
        while j < m and b[j] <= x:  # j = m F_b(x)
            j += 1
        diff = abs(i / n - j / m)
        if diff > d:
            d = diff
    return d


@nb.njit(cache=True)
def sort_block(x):
    """Sort the finite 1-D array ``x`` in place; return it.

    Insertion sort up to 256 entries (the default 100-sample minute block sorts in about
    half of ``np.sort``'s time, its comparisons being cheap and predictable), NumPy's sort
    above. The sorted values are the same either way.
    """
    n = x.shape[0]
    if n > 256:
        x.sort()
        return x
    for i in range(1, n):
        v = x[i]
        k = i - 1
        while k >= 0 and x[k] > v:
            x[k + 1] = x[k]
            k -= 1
        x[k + 1] = v
    return x


@nb.njit(cache=True)
def _merge2(x, nx, y, ny, out):
    """Merge the sorted ``x[:nx]`` and ``y[:ny]`` into ``out[:nx + ny]``."""
    i = 0
    j = 0
    o = 0
    while i < nx and j < ny:  # branch-free body (selects): the order of draws is random
        xv = x[i]
        yv = y[j]
        take_y = yv < xv
        out[o] = yv if take_y else xv
        j += 1 if take_y else 0
        i += 0 if take_y else 1
        o += 1
    while i < nx:
        out[o] = x[i]
        i += 1
        o += 1
    while j < ny:
        out[o] = y[j]
        j += 1
        o += 1


@nb.njit(cache=True)
def merge_sorted_blocks(live, j, n, out):
    """Merge the sorted blocks ``live[k, j, :n]`` (k = 0..w-1) into ``out`` (length w n).

    The result equals ``np.sort`` of their concatenation: w - 1 linear two-way merges
    replace a full sort of the KS window each minute.
    """
    w = live.shape[0]
    tmp = np.empty(w * n)
    # ping-pong between out and tmp so that the last merge writes into out
    if (w - 1) % 2 == 0:
        cur, oth = out, tmp
    else:
        cur, oth = tmp, out
    cur[:n] = live[0, j, :n]
    for k in range(1, w):
        _merge2(cur, k * n, live[k, j], n, oth)
        cur, oth = oth, cur


def ks_critical_value(alpha: float, n: int, m: int) -> float:
    """Asymptotic two-sample KS critical value D_alpha(n, m) (Smirnov 1948).

    D_alpha = c(alpha) sqrt((n + m) / (n m)), c(alpha) = sqrt(-ln(alpha / 2) / 2).

    Raises
    ------
    ValueError
        If alpha is not in (0, 1) or n, m < 1.
    """
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    if n < 1 or m < 1:
        raise ValueError(f"sample sizes must be >= 1, got n={n}, m={m}")
    return float(np.sqrt(-np.log(alpha / 2.0) / 2.0) * np.sqrt((n + m) / (n * m)))


# ----------------------------------------------------------------------------------------
# Fault levels and model accuracy
# ----------------------------------------------------------------------------------------
@nb.njit(cache=True)
def fault_level(f, t):
    """Level in [0, 1] of fault row ``f`` at minute ``t`` (shape of DESIGN 3.4)."""
    onset = f[L.F_ONSET]
    if t < onset or t >= f[L.F_END]:
        return 0.0
    shape = int(f[L.F_SHAPE])
    if shape == L.SH_SUDDEN:
        return 1.0
    if shape == L.SH_RECURRING:
        phase = (t - onset) % f[L.F_PERIOD]
        return 1.0 if phase < f[L.F_ACTIVE] else 0.0
    return min(1.0, (t - onset + 1.0) / f[L.F_RAMP])


@nb.njit(cache=True)
def model_accuracy(models, k, p, s, loc, scale, concept, corrupt, adv, outl, decay):
    """Return the true accuracy of model slot ``k`` on this minute's inputs.

    acc = base - cov_sens * sum_f(|loc_f - loc_k,f| / scale_k,f + |ln(scale_f / scale_k,f)|)
              - concept_sens * |concept - concept_k| - corruption_sens * corrupt
              - adversarial_sens * adv - 0.5 * outlier share - decay,
    with the fallback's covariate and concept terms scaled down, its corruption term zero
    and its adversarial and outlier terms scaled by 0.3 (DESIGN 3.5: a simpler robust
    model). A poisoned or schema-incompatible model scores the poisoned accuracy.
    """
    m = models[k]
    if m[L.MF_VALID] < 0.5:
        return 0.0
    if m[L.MF_CORRUPT] > p[L.P_POISON_THRESHOLD] or m[L.MF_SCHEMA] != s[L.S_LIVE_SCHEMA]:
        return p[L.P_POISON_ACC]
    fb = m[L.MF_IS_FALLBACK] > 0.5
    shift = 0.0
    for j in range(L.N_FEATURES):
        sc = m[L.MF_SCALE + j]
        shift += abs(loc[j] - m[L.MF_LOC + j]) / sc + abs(np.log(scale[j] / sc))
    cov = p[L.P_COV_SENS] * shift
    con = p[L.P_CONCEPT_SENS] * abs(concept - m[L.MF_CONCEPT])
    cor = p[L.P_CORRUPT_SENS] * corrupt
    adv_pen = p[L.P_ADV_SENS] * adv
    out_pen = 0.5 * outl
    if fb:
        cov *= p[L.P_FB_COV_MULT]
        con *= p[L.P_FB_CONCEPT_MULT]
        cor = 0.0
        adv_pen *= 0.3
        out_pen *= 0.3
    acc = m[L.MF_BASE_ACC] - cov - con - cor - adv_pen - out_pen - decay
    return min(1.0, max(0.0, acc))


@nb.njit(cache=True)
def model_is_bad(models, k, p, s):
    """Return True if model slot ``k`` is poisoned or schema-incompatible (DESIGN 3.6)."""
    m = models[k]
    return m[L.MF_VALID] > 0.5 and (
        m[L.MF_CORRUPT] > p[L.P_POISON_THRESHOLD] or m[L.MF_SCHEMA] != s[L.S_LIVE_SCHEMA]
    )


@nb.njit(cache=True)
def draw_reference(models, refs, k, p, rs):
    """Draw and sort model ``k``'s reference sample from its training distribution."""
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
        models[k, L.MF_RSTD + j] = max(np.sqrt(ssd / m), 1e-9)


# ----------------------------------------------------------------------------------------
# Initial state
# ----------------------------------------------------------------------------------------
@nb.njit(cache=True)
def init_state(p, fr, s, models, refs, live, seed, rs):
    """Reset the episode: serving v1, previous v0, fallback; baseline references.

    The live-sample window is pre-filled with fault-free samples of the minutes before the
    episode, so that the KS statistic uses a full window from minute 0.
    """
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
        draw_reference(models, refs, k, p, rs)
        models[k, L.MF_REF_ID] = i  # the sample cache keeps KS statistics per initial id
    seed_stream(rs, seed, 0, STREAM_WARMUP)
    for w in range(live.shape[0]):
        for j in range(L.N_FEATURES):
            for i in range(live.shape[2]):
                live[w, j, i] = _BASE_LOC[j] + normal(rs)
            sort_block(live[w, j, :])


# ----------------------------------------------------------------------------------------
# Actions
# ----------------------------------------------------------------------------------------
@nb.njit(cache=True)
def _promote(s, models, refs, src):
    """Make slot ``src`` the serving model; the old serving model becomes previous."""
    if src == L.M_PREVIOUS:
        tmp = models[L.M_SERVING].copy()
        models[L.M_SERVING] = models[L.M_PREVIOUS]
        models[L.M_PREVIOUS] = tmp
        tmp_r = refs[L.M_SERVING].copy()
        refs[L.M_SERVING] = refs[L.M_PREVIOUS]
        refs[L.M_PREVIOUS] = tmp_r
    else:
        models[L.M_PREVIOUS] = models[L.M_SERVING]
        refs[L.M_PREVIOUS] = refs[L.M_SERVING]
        models[L.M_SERVING] = models[src]
        refs[L.M_SERVING] = refs[src]
        models[src, L.MF_VALID] = 0.0
    s[L.S_FALLBACK_ACTIVE] = 0.0
    s[L.S_LEAK] = 0.0
    s[L.S_N_PROMOTIONS] += 1.0


@nb.njit(cache=True)
def _deploy(p, s, models, refs, src, t):
    """Deploy slot ``src`` (previous or candidate): through the canary or directly."""
    if p[L.P_DEPLOY_CANARY] > 0.5:
        if src == L.M_PREVIOUS:
            models[L.M_CANDIDATE] = models[L.M_PREVIOUS]
            refs[L.M_CANDIDATE] = refs[L.M_PREVIOUS]
            s[L.S_CANARY_KIND] = L.ROLLBACK
        else:
            s[L.S_CANARY_KIND] = L.RETRAIN
        s[L.S_CANARY_ACTIVE] = 1.0
        s[L.S_CANARY_END] = t + p[L.P_CANARY_MIN]
    else:
        _promote(s, models, refs, src)
        s[L.S_DEPLOY_UNTIL] = t + p[L.P_DEPLOY_MIN]


@nb.njit(cache=True)
def _capture_training_window(p, s, hist, t):
    """Average the labelled data a retrain started at ``t`` can use (DESIGN 3.5).

    Labelled data are minutes [t - delay - W, t - delay); minutes before the episode are
    the pre-fault baseline. Under an active ``quarantine_inputs`` the rows that validation
    flags are filtered out of the whole window, not only those recorded under quarantine.
    """
    quarantine = s[L.S_QUARANTINE_UNTIL] > t
    delay = p[L.P_LABEL_DELAY]
    w = int(p[L.P_TRAIN_WINDOW])
    hi = int(t - delay)
    lo = hi - w
    for j in range(L.N_FEATURES):
        s[L.S_JOB_LOC + j] = 0.0
        s[L.S_JOB_SCALE + j] = 0.0
    s[L.S_JOB_CONCEPT] = 0.0
    s[L.S_JOB_CORRUPT] = 0.0
    for u in range(lo, hi):
        if u >= 0:
            r = hist[u]
            for j in range(L.N_FEATURES):
                s[L.S_JOB_LOC + j] += r[L.R_LOC + j]
                s[L.S_JOB_SCALE + j] += r[L.R_SCALE + j]
            s[L.S_JOB_CONCEPT] += r[L.R_CONCEPT]
            s[L.S_JOB_CORRUPT] += r[L.R_CORRUPT_SHARE]
            if quarantine:  # the training pipeline filters rows validation flags
                s[L.S_JOB_CORRUPT] -= r[L.R_CORRUPT_DETECTABLE]
        else:
            for j in range(L.N_FEATURES):
                s[L.S_JOB_LOC + j] += _BASE_LOC[j]
                s[L.S_JOB_SCALE + j] += 1.0
    for j in range(L.N_FEATURES):
        s[L.S_JOB_LOC + j] /= w
        s[L.S_JOB_SCALE + j] /= w
    s[L.S_JOB_CONCEPT] /= w
    s[L.S_JOB_CORRUPT] /= w


@nb.njit(cache=True)
def apply_action(p, s, models, refs, hist, a, t):
    """Start action ``a`` at minute ``t``. Returns 1 if it took effect, 0 if it became a no-op.

    An action that conflicts with one in progress (a retrain or canary running, a rollback
    with no previous version) becomes a no-op and is counted in ``s[S_N_CONFLICTS]``.
    """
    if a == L.NO_OP:
        return 1
    busy = s[L.S_JOB_ACTIVE] > 0.5 or s[L.S_CANARY_ACTIVE] > 0.5
    if a == L.FALLBACK:
        s[L.S_FALLBACK_ACTIVE] = 1.0
        s[L.S_FALLBACK_UNTIL] = t + p[L.P_FALLBACK_TTL]
        return 1
    if a == L.ROLLBACK:
        if busy or models[L.M_PREVIOUS, L.MF_VALID] < 0.5:
            s[L.S_N_CONFLICTS] += 1.0
            return 0
        _deploy(p, s, models, refs, L.M_PREVIOUS, t)
        return 1
    if a == L.RETRAIN:
        if busy:
            s[L.S_N_CONFLICTS] += 1.0
            return 0
        _capture_training_window(p, s, hist, t)
        s[L.S_JOB_ACTIVE] = 1.0
        s[L.S_JOB_DONE_AT] = t + p[L.P_RETRAIN_MIN]
        return 1
    if a == L.SCALE_OUT:
        s[L.S_REPLICAS] += p[L.P_SCALE_STEP]
        return 1
    if a == L.RESTART:
        s[L.S_LEAK] = 0.0
        s[L.S_RESTART_UNTIL] = t + p[L.P_RESTART_MIN]
        return 1
    if a == L.QUARANTINE_INPUTS:
        s[L.S_QUARANTINE_UNTIL] = t + p[L.P_QUARANTINE_TTL]
        return 1
    if a == L.ESCALATE:
        if s[L.S_ESCALATE_AT] >= 0.0:
            s[L.S_N_CONFLICTS] += 1.0
            return 0
        s[L.S_ESCALATE_AT] = t + p[L.P_ESCALATE_DELAY]
        return 1
    return 0


@nb.njit(cache=True)
def _finish_retrain(p, s, models, refs, rs, t):
    """Build the candidate from the captured window (poisoned if corrupted) and deploy it."""
    c = L.M_CANDIDATE
    models[c] = 0.0
    models[c, L.MF_VALID] = 1.0
    models[c, L.MF_VERSION] = s[L.S_NEXT_VERSION]
    s[L.S_NEXT_VERSION] += 1.0
    models[c, L.MF_CONCEPT] = s[L.S_JOB_CONCEPT]
    models[c, L.MF_CORRUPT] = s[L.S_JOB_CORRUPT]
    models[c, L.MF_SCHEMA] = s[L.S_LIVE_SCHEMA]
    models[c, L.MF_BASE_ACC] = p[L.P_BASE_ACC]
    models[c, L.MF_COST] = 1.0
    models[c, L.MF_TRAINED_AT] = t
    models[c, L.MF_REF_ID] = -1.0  # a new reference: its KS statistics are not cached
    for j in range(L.N_FEATURES):
        models[c, L.MF_LOC + j] = s[L.S_JOB_LOC + j]
        models[c, L.MF_SCALE + j] = s[L.S_JOB_SCALE + j]
    if s[L.S_OPEN_LOOP] < 0.5:  # the reference serves the measurements only
        seed_stream(rs, int(s[L.S_SEED]), int(t), STREAM_RETRAIN)
        draw_reference(models, refs, c, p, rs)
    s[L.S_JOB_ACTIVE] = 0.0
    _deploy(p, s, models, refs, c, t)


@nb.njit(cache=True)
def _judge_canary(p, s, models, refs, rs, t, acc_main, acc_cand, err, diag=None):
    """Judge the canary and promote or abort it; return 1 if promoted.

    The judge's samples are the labels that have arrived for each slice by the end of the
    canary: ``n = share * label_volume * max(0, canary_minutes - label_delay)`` labelled
    requests of the candidate and ``(1 - share) * ...`` of the baseline (the model serving the
    rest), each correct (1) or not (0) with the slice's true accuracy. They are drawn from the
    canary stream (seed, t), baseline first, the same draws whichever judge runs, so the
    judge changes no other random number (common random numbers).

    ``p[P_CANARY_JUDGE]`` selects the judge:

    0 (``delta_sla``, the paper's Sec. 3.4)
        Abort if the candidate's measured SLA score is more than ``canary_delta_sla`` below the
        baseline's. Without candidate labels its accuracy is taken to equal the baseline's.
    1 (``mann_whitney``, as canary-analysis systems such as Kayenta do)
        One-sided Mann-Whitney U test (Mann & Whitney 1947) of H1 "the candidate's correctness
        is stochastically smaller than the baseline's"; abort if p < 0.05. With 0/1 samples
        the statistic depends only on the counts: for the candidate sample
        U_c = k_c (n_b - k_b) + (k_c k_b + (n_c - k_c)(n_b - k_b)) / 2 and U_b = n_c n_b - U_c.
        Normal approximation with tie correction and continuity correction (what
        ``scipy.stats.mannwhitneyu(c, b, alternative="less", method="asymptotic")`` computes):
        z = (U_b - n_c n_b / 2 - 1/2) / sigma, sigma^2 = n_c n_b / 12 ((N + 1) -
        sum_g (t_g^3 - t_g) / (N (N - 1))) over the two tie groups (correct, wrong), and
        p = P(Z >= z). Without samples in either slice, or with all samples tied (sigma = 0),
        p = 1: no evidence, the candidate is promoted.

    Parameters
    ----------
    diag : ndarray, shape (4,), optional
        If given, receives (U_c, z, p, abort) of the Mann-Whitney judge, computed whichever
        judge decides (z = -inf when sigma = 0 or a slice is empty).
    """
    seed_stream(rs, int(s[L.S_SEED]), int(t), STREAM_CANARY)
    share = p[L.P_CANARY_SHARE]
    minutes = max(0.0, p[L.P_CANARY_MIN] - p[L.P_LABEL_DELAY])
    n_c = int(share * p[L.P_LABEL_VOLUME] * minutes)
    n_b = int((1.0 - share) * p[L.P_LABEL_VOLUME] * minutes)
    k_b = binomial(rs, n_b, acc_main)
    k_c = binomial(rs, n_c, acc_cand)
    s[L.S_CANARY_ACTIVE] = 0.0
    mwu_abort = False
    if p[L.P_CANARY_JUDGE] > 0.5 or diag is not None:
        nc = float(n_c)
        nb = float(n_b)
        kc = float(k_c)
        kb = float(k_b)
        u_c = kc * (nb - kb) + 0.5 * (kc * kb + (nc - kc) * (nb - kb))
        z = -np.inf
        pval = 1.0
        if n_c > 0 and n_b > 0:
            n_all = nc + nb
            t1 = kc + kb
            t0 = n_all - t1
            ties = (t1 * t1 * t1 - t1) + (t0 * t0 * t0 - t0)
            var = nc * nb / 12.0 * ((n_all + 1.0) - ties / (n_all * (n_all - 1.0)))
            if var > 0.0:
                z = ((nc * nb - u_c) - 0.5 * nc * nb - 0.5) / math.sqrt(var)
                pval = 0.5 * math.erfc(z / math.sqrt(2.0))
        mwu_abort = pval < 0.05
        if diag is not None:
            diag[0] = u_c
            diag[1] = z
            diag[2] = pval
            diag[3] = 1.0 if mwu_abort else 0.0
    if p[L.P_CANARY_JUDGE] > 0.5:
        abort = mwu_abort
    else:
        acc_b = k_b / n_b if n_b > 0 else acc_main
        acc_c = k_c / n_c if n_c > 0 else acc_b
        avail = 1.0 - err
        lat = p[L.P_SLO_LATENCY_MS]
        sla_b = sla_score(avail, acc_b, lat, p)
        sla_c = sla_score(avail, acc_c, lat, p)
        abort = sla_c < sla_b - p[L.P_CANARY_DELTA]
    if abort:
        s[L.S_N_CANARY_ABORTS] += 1.0
        models[L.M_CANDIDATE, L.MF_VALID] = 0.0
        return 0
    if s[L.S_CANARY_KIND] == L.ROLLBACK:
        models[L.M_CANDIDATE, L.MF_VALID] = 0.0
        _promote(s, models, refs, L.M_PREVIOUS)
    else:
        _promote(s, models, refs, L.M_CANDIDATE)
    s[L.S_DEPLOY_UNTIL] = t + p[L.P_DEPLOY_MIN]
    return 1


@nb.njit(cache=True)
def _fault_onsets(p, fa, fr, s, models, refs, t):
    """Attach version-bound faults to the model serving at onset; apply bad deploys."""
    for i in range(fa.shape[0]):
        if fr[i, L.FR_STARTED] > 0.5 or t < fa[i, L.F_ONSET]:
            continue
        fr[i, L.FR_STARTED] = 1.0
        kind = int(fa[i, L.F_KIND])
        if kind == L.K_BAD_DEPLOY:
            models[L.M_PREVIOUS] = models[L.M_SERVING]
            refs[L.M_PREVIOUS] = refs[L.M_SERVING]
            models[L.M_SERVING, L.MF_VERSION] = s[L.S_NEXT_VERSION]
            s[L.S_NEXT_VERSION] += 1.0
        if kind == L.K_CORRUPTION and int(fa[i, L.F_SUBKIND]) == L.C_SCHEMA:
            if fa[i, L.F_MIGRATE] > 0.5:
                s[L.S_LIVE_SCHEMA] += 1.0
                models[L.M_SERVING, L.MF_SCHEMA] = s[L.S_LIVE_SCHEMA]
                models[L.M_FALLBACK, L.MF_SCHEMA] = s[L.S_LIVE_SCHEMA]
        fr[i, L.FR_VERSION] = models[L.M_SERVING, L.MF_VERSION]


@nb.njit(cache=True)
def _slot_effects(p, fa, fr, s, models, levels, loc, scale, concept, corrupt, adv, outl,
                  decay, latmult, acc):
    """Fill per-slot accuracy decay, latency multiplier and true accuracy; return the leak rate.

    Version-bound faults (accuracy decay, latency increase, memory leak, bad deploy) act on
    the model version that served at their onset, wherever that version now sits; the leak
    grows only while that version is the serving model. Call again whenever slots move.
    """
    decay[:] = 0.0
    latmult[:] = 1.0
    leak_rate = 0.0
    for i in range(fa.shape[0]):
        kind = int(fa[i, L.F_KIND])
        bound = (kind == L.K_ACC_DECAY or kind == L.K_LATENCY or kind == L.K_LEAK
                 or kind == L.K_BAD_DEPLOY)
        if not bound or fr[i, L.FR_STARTED] < 0.5:
            continue
        lv = 1.0 if kind == L.K_BAD_DEPLOY else levels[i]
        for k in range(L.N_MODEL_SLOTS):
            if models[k, L.MF_VALID] < 0.5 or models[k, L.MF_VERSION] != fr[i, L.FR_VERSION]:
                continue
            if kind == L.K_ACC_DECAY or kind == L.K_BAD_DEPLOY:
                decay[k] += fa[i, L.F_MAGNITUDE] * lv
            elif kind == L.K_LATENCY:
                latmult[k] += fa[i, L.F_MAGNITUDE] * lv
            elif k == L.M_SERVING:
                leak_rate += fa[i, L.F_MAGNITUDE] * lv
    for k in range(L.N_MODEL_SLOTS):
        acc[k] = model_accuracy(models, k, p, s, loc, scale, concept, corrupt, adv, outl,
                                decay[k])
    return leak_rate


@nb.njit(cache=True)
def draw_samples(fa, levels, scale, raw, rs, n):
    """Draw one minute's ``n`` feature rows into ``raw[j, i]``; return the invalid-row count.

    Each row's features are standard normals around the baseline, scaled by the active
    covariate shifts, then changed by the minute's active faults in fault order (shifts,
    gradual mixtures, outlier clusters, corruptions, DESIGN 3.4). The draws depend only on
    the scenario, the minute's fault ``levels`` and the stream ``rs``, never on actions.

    Parameters
    ----------
    fa : ndarray, shape (n_faults, N_FAULT_FIELDS)
    levels : ndarray, shape (n_faults,)
        Fault levels at this minute (:func:`fault_level`).
    scale : ndarray, shape (N_FEATURES,)
        Per-feature scale factor of this minute.
    raw : ndarray, shape (N_FEATURES, >= n)
        Output: the rows, feature-major.
    rs : ndarray of uint64, shape (1,)
        The minute's random stream, advanced by 4 draws per feature value.
    n : int
        Rows to draw.

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
        else:
            continue
        f0 = int(fa[q, L.F_FEATURE])
        for j in range(f0, f0 + int(fa[q, L.F_NFEAT])):
            c = n_act[j]
            act_op[j, c], act_p[j, c], act_v[j, c] = op, pq, vq
            n_act[j] = c + 1
    n_invalid = 0
    for i in range(n):
        row_invalid = False
        for j in range(L.N_FEATURES):
            u_mix = uniform(rs)
            u_cor = uniform(rs)
            x = normal(rs)
            val = _BASE_LOC[j] + x * scale[j]
            for c in range(n_act[j]):
                op = act_op[j, c]
                if op == _OP_ADD:
                    val += act_v[j, c]
                elif op == _OP_MIX:  # gradual shift: a growing share comes from the new mean
                    if u_mix < act_p[j, c]:
                        val += act_v[j, c]
                elif u_cor < act_p[j, c]:
                    if op == _OP_OUTLIER:
                        val = _BASE_LOC[j] + act_v[j, c]
                    elif op == _OP_CORRUPT + L.C_MISSING:
                        val = 0.0  # imputed default
                        row_invalid = True
                    elif op == _OP_CORRUPT + L.C_OUTLIERS:
                        val = _BASE_LOC[j] + 12.0 * (1.0 if x >= 0 else -1.0)
                        row_invalid = True
                    elif op == _OP_CORRUPT + L.C_SCHEMA:
                        val = -999.0
                        row_invalid = True
                    elif op == _OP_CORRUPT + L.C_UNIT:
                        val = val * act_v[j, c]
                        row_invalid = True
                    else:  # skew: serving computes the feature differently, silently
                        val = _BASE_LOC[j] + 0.5 * x
            raw[j, i] = val
        if row_invalid:
            n_invalid += 1
    return n_invalid


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
    """Rows of the sample cache for scenario ``p`` within ``mib`` MiB (0: no cache).

    One row per minute (horizon + 1) holds N_FEATURES x (ks_window + 2) x
    samples_per_minute float64 values (sorted block, raw rows, merged KS window): 23 MiB for
    a day at 100 samples a minute and a 3-minute window. Above the budget the episode runs
    without the cache (same results; forks draw and merge again).
    """
    rows = int(p[L.P_HORIZON]) + 1
    width = (p[L.P_KS_WINDOW] + 2.0) * p[L.P_SAMPLES_PER_MIN]
    nbytes = rows * L.N_FEATURES * width * 8.0
    return rows if nbytes <= mib * 1048576.0 else 0


@nb.njit(cache=True)
def new_sample_cache(p, mib):
    """Return an empty sample cache ``(smp, smeta)`` for scenario ``p`` (module docstring)."""
    rows = sample_cache_rows(p, mib)
    n = int(p[L.P_SAMPLES_PER_MIN])
    width = (int(p[L.P_KS_WINDOW]) + 2) * n
    return np.empty((rows, L.N_FEATURES, width)), np.zeros((rows, N_SC), dtype=np.uint64)


# ----------------------------------------------------------------------------------------
# The step
# ----------------------------------------------------------------------------------------
@nb.njit(cache=True)
def step(p, fa, fr, ac, s, models, refs, hist, live, rs, smp, smeta, action, eng_min):
    """Advance one minute with ``action``; write the minute's record into ``hist[t]``.

    Order within a minute: fault onsets, the action, retrain and canary progress, fallback
    TTL, ground truth (traffic, capacity, latency, errors, accuracy), measured observations
    from drawn samples (KS statistic, anomaly rate, delayed-label accuracy drop), SLOs,
    catastrophe counters, dollar costs. Random draws of the minute come from the stream
    (seed, t), and their number does not depend on the action (common random numbers).

    Parameters
    ----------
    smp, smeta : ndarray
        The episode's sample cache (module docstring); a new episode needs a fresh one
        (``smeta[:, 0] == 0``).
    action : int
        Action index (``layout.NO_OP`` ...); must be < ``p[P_N_ACTIONS]``.
    eng_min : float
        Engineer minutes charged this minute by the controller (human baseline).

    Returns
    -------
    int
        1 if the action took effect, 0 if it became a no-op.
    """
    t = s[L.S_T]
    ti = int(t)
    rec = hist[ti]
    rec[:] = 0.0
    seed = int(s[L.S_SEED])

    # 1. Fault onsets and the action.
    _fault_onsets(p, fa, fr, s, models, refs, t)
    applied = apply_action(p, s, models, refs, hist, action, t)
    if s[L.S_ESCALATE_AT] >= 0.0 and t >= s[L.S_ESCALATE_AT]:
        s[L.S_ESCALATE_AT] = -1.0
        eng_min += p[L.P_ENGINEER_MIN_ESCALATE]
        opt = int(p[L.P_OPTIMAL_ACTION])
        if opt != L.ESCALATE:
            apply_action(p, s, models, refs, hist, opt, t)
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
        _finish_retrain(p, s, models, refs, rs, t)
        moved = True
        if s[L.S_CANARY_ACTIVE] > 0.5:  # the candidate's accuracy is needed by the judge
            leak_rate = _slot_effects(p, fa, fr, s, models, levels, loc, scale, concept,
                                      corrupt, adv, outl, decay_by_slot, latmult_by_slot, acc)
            moved = False
    if s[L.S_CANARY_ACTIVE] > 0.5 and t >= s[L.S_CANARY_END]:
        err_prev = hist[ti - 1, L.R_ERROR_RATE] if ti > 0 else 0.0
        _judge_canary(p, s, models, refs, rs, t, acc[main], acc[L.M_CANDIDATE], err_prev)
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
