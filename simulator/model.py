"""The served models' true accuracy (DESIGN 3.5, 3.6), Numba-compiled."""

from __future__ import annotations

import numba as nb
import numpy as np

from simulator import layout as L


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
