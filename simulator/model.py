"""The served models: their true accuracy on this minute's rows (DESIGN 3.5, 3.6).

A model slot (``M_SERVING``, ``M_PREVIOUS``, ``M_CANDIDATE``, ``M_FALLBACK``; a row of
``sim.models``) holds a linear classifier (weights ``MF_W``, intercept ``MF_B``) fit by
:func:`simulator.classifier.fit_lda` on the labelled rows it was trained on, with the
moments of those rows (``MF_LOC``, ``MF_SCALE``), its schema and version. Its accuracy on
a minute is the share of the minute's rows (:func:`simulator.sampling.minute_rows`) it
classifies correctly, in expectation over label noise (:func:`model_accuracy`), less the
accuracy decay of version-bound faults (:func:`_slot_effects`). Numba-compiled; nothing
here draws random numbers.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from simulator import layout as L
from simulator.classifier import MD_B, N_MODEL, ST_COUNT, ST_OUTER, ST_SUM, STRIDE, fit_lda
from simulator.faults import fault_level
from simulator.sampling import LAB_CLEAN, LAB_FLAG


@nb.njit(cache=True)
def migrated_features(sim):
    """Return a mask of the features whose column a started schema migration replaced.

    Returns
    -------
    ndarray of bool, shape (N_FEATURES,)
        True for each feature of a started ``corruption`` fault of subtype ``schema`` with
        ``migrate`` set: a model of an older schema reads the old column, which now holds
        ``P_SCHEMA_SENTINEL``.
    """
    fa, fr = sim.fa, sim.fr
    mask = np.zeros(L.N_FEATURES, dtype=np.bool_)
    for i in range(fa.shape[0]):
        if (fr[i, L.FR_STARTED] > 0.5 and int(fa[i, L.F_KIND]) == L.K_CORRUPTION
                and int(fa[i, L.F_SUBKIND]) == L.C_SCHEMA and fa[i, L.F_MIGRATE] > 0.5):
            f0 = int(fa[i, L.F_FEATURE])
            for j in range(f0, f0 + int(fa[i, L.F_NFEAT])):
                mask[j] = True
    return mask


@nb.njit(cache=True)
def artifact_multipliers(sim):
    """Return how the pipeline's live artefact scales each feature, as a model reads it.

    Returns
    -------
    ndarray of float64, shape (N_FEATURES,)
        1 for every feature, times 1 + (``magnitude`` - 1) x level of each started
        ``bad_artifact`` fault at the current minute ``s[S_T]`` (the magnitude at full
        level; a flapping one is bad in some blocks only) on the features it affects: a
        model with ``MF_ARTIFACT`` set reads those features through the bad artefact (a
        wrong normalisation or unit in a regenerated feature file).
    """
    fa, fr, s = sim.fa, sim.fr, sim.s
    mult = np.ones(L.N_FEATURES)
    for i in range(fa.shape[0]):
        if int(fa[i, L.F_KIND]) != L.K_BAD_ARTIFACT or fr[i, L.FR_STARTED] < 0.5:
            continue
        lv = fault_level(fa[i], s[L.S_T], int(s[L.S_SEED]), i)
        if lv <= 0.0:
            continue
        # at full level the magnitude itself; on a ramp, 1 + (magnitude - 1) x level
        factor = fa[i, L.F_MAGNITUDE] if lv >= 1.0 else 1.0 + (fa[i, L.F_MAGNITUDE] - 1.0) * lv
        f0 = int(fa[i, L.F_FEATURE])
        for j in range(f0, f0 + int(fa[i, L.F_NFEAT])):
            mult[j] *= factor
    return mult


@nb.njit(cache=True)
def _reads(sim, m):
    """Per-feature multipliers of the inputs as the slot's row ``m`` reads them."""
    if m[L.MF_ARTIFACT] > 0.5:
        return artifact_multipliers(sim)
    return np.ones(L.N_FEATURES)


@nb.njit(cache=True)
def slot_predicts_one(sim, k, raw, i, migrated):
    """Return True if model slot ``k`` predicts class 1 for row ``i`` of ``raw``.

    The score is w . x + b (sequential sum, as :func:`simulator.classifier.model_score`)
    on the row as the model receives it: a model of an older schema than the live one reads
    ``P_SCHEMA_SENTINEL`` in the ``migrated`` features, and a model with ``MF_GUARD`` > 0
    (the fallback) treats an input beyond its training mean +- ``MF_GUARD`` training
    standard deviations as missing and imputes that mean (an out-of-range guard). A model
    that loads the pipeline's artefact (``MF_ARTIFACT``) reads each feature times
    :func:`artifact_multipliers`. A score of exactly 0 (or NaN) predicts class 0, as
    sklearn's ``predict``.
    """
    m = sim.models[k]
    old_schema = m[L.MF_SCHEMA] != sim.s[L.S_LIVE_SCHEMA]
    return _predicts_one(m, old_schema, sim.p[L.P_SCHEMA_SENTINEL], raw, i, migrated,
                         _reads(sim, m))


@nb.njit(cache=True)
def _predicts_one(m, old_schema, sentinel, raw, i, migrated, mult):
    """:func:`slot_predicts_one` on the slot's row ``m`` (few array arguments: it runs per row)."""
    guard = m[L.MF_GUARD]
    s = 0.0
    for j in range(L.N_FEATURES):
        x = raw[j, i] * mult[j]
        if old_schema and migrated[j]:
            x = sentinel
        if guard > 0.0 and abs(x - m[L.MF_LOC + j]) > guard * m[L.MF_SCALE + j]:
            x = m[L.MF_LOC + j]
        s += m[L.MF_W + j] * x
    return s + m[L.MF_B] > 0.0


@nb.njit(cache=True)
def model_accuracy(sim, k, raw, lab, quarantine, decay):
    """Return the true accuracy of model slot ``k`` on this minute's rows.

    acc = (1 - eta) a + eta (1 - a) - decay, clipped to [0, 1], where a is the share of the
    minute's n rows whose clean class (``LAB_CLEAN``) the model predicts
    (:func:`slot_predicts_one`) and eta = ``P_LABEL_NOISE``: the expected share of correct
    answers over label noise (a row whose clean class is predicted is correct unless its
    label flips). Under ``quarantine_inputs`` the rows the quarantine flags (``LAB_FLAG``)
    are answered by the fallback instead. An empty slot scores 0.

    Parameters
    ----------
    sim : Sim
        The simulation (:class:`simulator.state.Sim`); reads ``models``, ``p``, ``s``.
    k : int
        Model slot (``M_*``).
    raw : ndarray, shape (N_FEATURES, n)
        The minute's rows as the pipeline receives them.
    lab : ndarray, shape (N_LAB, n)
        Their clean classes and flags (:func:`simulator.sampling.minute_rows`).
    quarantine : bool
        Whether ``quarantine_inputs`` is active this minute.
    decay : float
        Accuracy lost to version-bound faults (accuracy points, >= 0).

    Returns
    -------
    float
        Accuracy in [0, 1].
    """
    if sim.models[k, L.MF_VALID] < 0.5:
        return 0.0
    n = raw.shape[1]
    live, sentinel = sim.s[L.S_LIVE_SCHEMA], sim.p[L.P_SCHEMA_SENTINEL]
    m, fbm = sim.models[k], sim.models[L.M_FALLBACK]
    old_m, old_fb = m[L.MF_SCHEMA] != live, fbm[L.MF_SCHEMA] != live
    agree = 0
    if not quarantine and m[L.MF_GUARD] <= 0.0 and not old_m and m[L.MF_ARTIFACT] < 0.5:
        # the common case, feature-major (the same sums in the same order, so the same bits)
        score = np.zeros(n)
        for j in range(L.N_FEATURES):
            wj = m[L.MF_W + j]
            for i in range(n):
                score[i] += wj * raw[j, i]
        b = m[L.MF_B]
        for i in range(n):
            if (score[i] + b > 0.0) == (lab[LAB_CLEAN, i] > 0.5):
                agree += 1
    else:
        migrated = migrated_features(sim)
        mult_m, mult_fb = _reads(sim, m), _reads(sim, fbm)
        for i in range(n):
            if quarantine and lab[LAB_FLAG, i] > 0.5:  # answered by the fallback
                pred = _predicts_one(fbm, old_fb, sentinel, raw, i, migrated, mult_fb)
            else:
                pred = _predicts_one(m, old_m, sentinel, raw, i, migrated, mult_m)
            if pred == (lab[LAB_CLEAN, i] > 0.5):
                agree += 1
    a = agree / n
    eta = sim.p[L.P_LABEL_NOISE]
    acc = (1.0 - eta) * a + eta * (1.0 - a) - decay
    return min(1.0, max(0.0, acc))


@nb.njit(cache=True)
def fit_slot(sim, k, stats):
    """Fit model slot ``k``'s classifier on the training rows behind ``stats``.

    Writes the LDA weights and intercept (:func:`simulator.classifier.fit_lda`; a failed fit
    writes the majority-class model and its status to ``MF_FIT_STATUS``) and the moments of
    the rows, pooled over both classes (``MF_LOC``: mean, ``MF_SCALE``: standard deviation,
    at least ``TINY``; the baseline's with no rows). Other fields are left as they are.

    Parameters
    ----------
    sim : Sim
        The simulation (:class:`simulator.state.Sim`); ``models[k]`` is written.
    k : int
        Model slot.
    stats : ndarray, shape (N_TRAIN_STATS,)
        Sufficient statistics of the training rows (:mod:`simulator.classifier`).
    """
    m = sim.models[k]
    out = np.empty(N_MODEL)
    m[L.MF_FIT_STATUS] = fit_lda(stats, out)
    for j in range(L.N_FEATURES):
        m[L.MF_W + j] = out[j]
    m[L.MF_B] = out[MD_B]
    n = stats[ST_COUNT] + stats[STRIDE + ST_COUNT]
    for j in range(L.N_FEATURES):
        if n >= 1.0:
            mean = (stats[ST_SUM + j] + stats[STRIDE + ST_SUM + j]) / n
            sq = (stats[ST_OUTER + j * L.N_FEATURES + j]
                  + stats[STRIDE + ST_OUTER + j * L.N_FEATURES + j]) / n
            m[L.MF_LOC + j] = mean
            m[L.MF_SCALE + j] = max(np.sqrt(max(sq - mean * mean, 0.0)), L.TINY)
        else:
            m[L.MF_LOC + j] = L.BASE_LOC[j]
            m[L.MF_SCALE + j] = 1.0


@nb.njit(cache=True)
def model_is_bad(sim, k):
    """Return True if model slot ``k`` is schema-incompatible (diagnostic only).

    Its schema is not the live one: it reads a migrated column's sentinel. This decides
    nothing (a catastrophe follows from outcomes alone, :mod:`simulator.outcomes`); it
    fills the record's ``R_BAD_MODEL_SHARE``. An empty slot is not bad.
    """
    m = sim.models[k]
    return m[L.MF_VALID] > 0.5 and m[L.MF_SCHEMA] != sim.s[L.S_LIVE_SCHEMA]


@nb.njit(cache=True)
def _slot_effects(sim, eff, raw, lab, decay, latmult, acc):
    """Fill per-slot accuracy decay, latency multiplier and true accuracy; return the leak rate.

    Version-bound faults (accuracy decay, latency increase, memory leak, bad deploy) act on
    the model version that served at their onset, wherever that version now sits; the leak
    grows only while that version is the serving model; a bad deploy whose previous version
    was bad too (``F_SCALE`` > 0) also costs that version ``F_SCALE`` accuracy points. Call
    again whenever slots move.

    Parameters
    ----------
    sim : Sim
        The simulation (:class:`simulator.state.Sim`); reads ``fa``, ``fr``, ``models``.
    eff : FaultEffects
        The minute's fault effects (:func:`simulator.faults.fault_effects`).
    raw, lab : ndarray
        The minute's rows and labels (:func:`model_accuracy`).
    decay, latmult, acc : ndarray, shape (N_MODEL_SLOTS,)
        Output: accuracy decay (accuracy points), latency multiplier (>= 1) and true
        accuracy (:func:`model_accuracy`) of each slot that can serve this minute (the
        serving model, the candidate, the fallback while it is active; 0 for the others).

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
            if models[k, L.MF_VALID] < 0.5:
                continue
            if (kind == L.K_BAD_DEPLOY and fa[i, L.F_SCALE] > 0.0
                    and models[k, L.MF_VERSION] == fr[i, L.FR_PREV_VERSION]):
                decay[k] += fa[i, L.F_SCALE]  # the bad version before the bad deploy
                continue
            if models[k, L.MF_VERSION] != fr[i, L.FR_VERSION]:
                continue
            if kind == L.K_ACC_DECAY or kind == L.K_BAD_DEPLOY:
                decay[k] += fa[i, L.F_MAGNITUDE] * lv
            elif kind == L.K_LATENCY:
                latmult[k] += fa[i, L.F_MAGNITUDE] * lv
            elif k == L.M_SERVING:
                leak_rate += fa[i, L.F_MAGNITUDE] * lv
    fb = sim.s[L.S_FALLBACK_ACTIVE] > 0.5
    for k in range(L.N_MODEL_SLOTS):
        # only the slots that can serve this minute: the serving model, a candidate (canary
        # or the judge), the fallback while it is active; the previous version serves nothing
        if k == L.M_PREVIOUS or (k == L.M_FALLBACK and not fb):
            acc[k] = 0.0
        else:
            acc[k] = model_accuracy(sim, k, raw, lab, eff.quarantine, decay[k])
    return leak_rate
