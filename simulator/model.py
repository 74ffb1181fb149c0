"""The served models: their true accuracy on this minute's inputs (DESIGN 3.5, 3.6).

A model slot (``M_SERVING``, ``M_PREVIOUS``, ``M_CANDIDATE``, ``M_FALLBACK``; a row of
``sim.models``) records the data its model was trained on (feature locations and scales,
the concept, the corrupted share), its schema, version and base accuracy. Its accuracy on
a minute's inputs falls with the distance between those and the minute's fault effects
(:class:`simulator.faults.FaultEffects`), and with the accuracy decay of version-bound
faults (:func:`_slot_effects`). Numba-compiled; nothing here draws random numbers.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from simulator import layout as L


@nb.njit(cache=True)
def model_accuracy(sim, k, eff, decay):
    """Return the true accuracy of model slot ``k`` on this minute's inputs.

    acc = base - cov_sens * sum_f(|loc_f - loc_k,f| / scale_k,f + |ln(scale_f / scale_k,f)|)
              - concept_sens * |concept - concept_k| - corruption_sens * corrupt
              - adversarial_sens * adv - 0.5 * outlier share - decay,
    clipped to [0, 1], with the fallback's covariate and concept terms scaled down, its
    corruption term zero and its adversarial and outlier terms scaled by 0.3 (DESIGN 3.5: a
    simpler robust model). A poisoned or schema-incompatible model scores the poisoned
    accuracy ``P_POISON_ACC``; an empty slot scores 0.

    Parameters
    ----------
    sim : Sim
        The simulation (:class:`simulator.state.Sim`); reads ``models[k]``, ``p`` and the
        live schema ``s[S_LIVE_SCHEMA]``.
    k : int
        Model slot (``M_*``).
    eff : FaultEffects
        The minute's fault effects (:func:`simulator.faults.fault_effects`): feature
        locations and scales, concept, corrupted, adversarial and outlier shares.
    decay : float
        Accuracy lost to version-bound faults (accuracy points, >= 0).

    Returns
    -------
    float
        Accuracy in [0, 1].
    """
    p, s = sim.p, sim.s
    loc, scale = eff.loc, eff.scale
    m = sim.models[k]
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
    con = p[L.P_CONCEPT_SENS] * abs(eff.concept - m[L.MF_CONCEPT])
    cor = p[L.P_CORRUPT_SENS] * eff.corrupt
    adv_pen = p[L.P_ADV_SENS] * eff.adv
    out_pen = p[L.P_OUTLIER_PENALTY] * eff.outl
    if fb:
        cov *= p[L.P_FB_COV_MULT]
        con *= p[L.P_FB_CONCEPT_MULT]
        cor = 0.0
        adv_pen *= p[L.P_FB_ROBUST]
        out_pen *= p[L.P_FB_ROBUST]
    acc = m[L.MF_BASE_ACC] - cov - con - cor - adv_pen - out_pen - decay
    return min(1.0, max(0.0, acc))


@nb.njit(cache=True)
def model_is_bad(sim, k):
    """Return True if model slot ``k`` is poisoned or schema-incompatible (DESIGN 3.6).

    Poisoned: trained on a corrupted share above ``P_POISON_THRESHOLD``; incompatible: its
    schema is not the live one. An empty slot is not bad.
    """
    p, s = sim.p, sim.s
    m = sim.models[k]
    return m[L.MF_VALID] > 0.5 and (
        m[L.MF_CORRUPT] > p[L.P_POISON_THRESHOLD] or m[L.MF_SCHEMA] != s[L.S_LIVE_SCHEMA]
    )


@nb.njit(cache=True)
def _slot_effects(sim, eff, decay, latmult, acc):
    """Fill per-slot accuracy decay, latency multiplier and true accuracy; return the leak rate.

    Version-bound faults (accuracy decay, latency increase, memory leak, bad deploy) act on
    the model version that served at their onset, wherever that version now sits; the leak
    grows only while that version is the serving model. Call again whenever slots move.

    Parameters
    ----------
    sim : Sim
        The simulation (:class:`simulator.state.Sim`); reads ``fa``, ``fr``, ``models``.
    eff : FaultEffects
        The minute's fault effects (:func:`simulator.faults.fault_effects`).
    decay, latmult, acc : ndarray, shape (N_MODEL_SLOTS,)
        Output: accuracy decay (accuracy points), latency multiplier (>= 1) and true
        accuracy (:func:`model_accuracy`) of each slot.

    Returns
    -------
    float
        Leak rate of the serving model this minute (share of the heap per minute).
    """
    fa, fr, models = sim.fa, sim.fr, sim.models
    levels = eff.levels
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
        acc[k] = model_accuracy(sim, k, eff, decay[k])
    return leak_rate
