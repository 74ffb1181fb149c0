"""Feature samples, reference samples and the per-episode sample cache, Numba-compiled."""

from __future__ import annotations

import numba as nb
import numpy as np

from simulator import layout as L
from simulator.rng import normal, uniform

_BASE_LOC = np.array(L.BASE_LOC)
# How an active fault changes one feature's samples (decoded once per minute in `step`).
_OP_ADD = 0
_OP_MIX = 1
_OP_OUTLIER = 2
_OP_CORRUPT = 3  # + corruption sub-kind code


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
        models[k, L.MF_RSTD + j] = max(np.sqrt(ssd / m), 1e-9)


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
