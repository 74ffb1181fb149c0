"""Faults (DESIGN 3.4): their levels, their onsets and their effects on one minute.

A scenario's faults are rows of the fault table ``sim.fa`` (``F_*`` columns: kind, shape,
onset and end in minutes, ramp, magnitude, affected features). :func:`fault_level` gives
a fault's level in [0, 1] at a minute from its shape; :func:`_fault_onsets` binds
version-bound faults to the model serving at their onset and applies bad deploys and
schema migrations; :func:`fault_effects` sums the active faults into the minute's inputs
(:class:`FaultEffects`), which the served models' accuracy (:mod:`simulator.model`), the
traffic and error model (:func:`simulator.step.serve`) and the samples
(:mod:`simulator.sampling`) read. Numba-compiled; the only random numbers drawn here are a
flapping fault's states, from their own streams (``STREAM_FLAP`` + fault index).
"""

from __future__ import annotations

from typing import NamedTuple

import numba as nb
import numpy as np

from simulator import layout as L
from simulator.rng import STREAM_FLAP, seed_stream, uniform

_BASE_LOC = np.array(L.BASE_LOC)  # fault-free feature means


class FaultEffects(NamedTuple):
    """What the active faults do to one minute (:func:`fault_effects`).

    Attributes
    ----------
    levels : ndarray, shape (n_faults,)
        Level in [0, 1] of each fault (:func:`fault_level`).
    loc : ndarray, shape (N_FEATURES,)
        Mean of each feature's live distribution (the baseline ``BASE_LOC`` plus covariate
        shifts; a gradual shift's mixture mean).
    scale : ndarray, shape (N_FEATURES,)
        Scale factor of each feature's live distribution (1: unchanged).
    concept : float
        Concept shift (sum of active concept drifts' magnitudes times level).
    prior : float
        Label (prior) shift: added to the clean score, in its standard deviations (sum of
        active label shifts' magnitudes times level; :func:`simulator.sampling.draw_samples`).
    corrupt : float
        Share of rows hurting the primary model (corruptions, half a dependency failure),
        at most 1, less the detectable share under ``quarantine_inputs``.
    corrupt_detectable : float
        Share of corrupted rows that validation flags (every corruption but skew).
    adv : float
        Share of adversarial inputs.
    outl : float
        Share of an outlier cluster (0 under ``quarantine_inputs``).
    cap_factor : float
        Capacity multiplier from resource exhaustion (1: full capacity).
    err_disk : float
        Error share from disk exhaustion.
    err_dep : float
        Error share from a dependency failure.
    net_ms : float
        Added network latency, ms.
    traffic_mult : float
        Traffic multiplier (temporal anomalies, surges).
    price_mult : float
        Compute price multiplier (cost shocks).
    runaway : float
        Replica-minutes per minute billed to runaway work (runaway usage not yet stopped by
        a ``restart``).
    quarantine : bool
        Whether ``quarantine_inputs`` is active this minute.
    """

    levels: np.ndarray
    loc: np.ndarray
    scale: np.ndarray
    concept: float
    prior: float
    corrupt: float
    corrupt_detectable: float
    adv: float
    outl: float
    cap_factor: float
    err_disk: float
    err_dep: float
    net_ms: float
    traffic_mult: float
    price_mult: float
    runaway: float
    quarantine: bool


@nb.njit(cache=True)
def fault_level(f, t, seed, index):
    """Return the level in [0, 1] of fault row ``f`` at minute ``t`` (DESIGN 3.4).

    0 outside [onset, end); inside, 1 for a sudden fault, 1 during the first
    ``F_ACTIVE`` minutes of each ``F_PERIOD`` for a recurring one, a linear ramp
    (t - onset + 1) / ``F_RAMP`` capped at 1 for gradual and incremental ones. A flapping
    fault switches between its good (0) and bad (1) state at random: the minutes from
    onset fall in blocks of ``F_PERIOD`` minutes, and each block is bad with probability
    ``F_ACTIVE`` / ``F_PERIOD`` (so, on average, ``F_ACTIVE`` bad minutes per period as
    for a recurring fault, but with no schedule a controller could learn), drawn from the
    stream (``seed``, block, ``STREAM_FLAP`` + ``index``): the same in every fork of an
    episode, independent across faults and episodes.

    Parameters
    ----------
    f : ndarray, shape (N_FAULT_FIELDS,)
        One row of the fault table.
    t : float
        The minute.
    seed : int
        Episode seed (flapping faults only).
    index : int
        The fault's row in the fault table (flapping faults only).
    """
    onset = f[L.F_ONSET]
    if t < onset or t >= f[L.F_END]:
        return 0.0
    shape = int(f[L.F_SHAPE])
    if shape == L.SH_SUDDEN:
        return 1.0
    if shape == L.SH_RECURRING:
        phase = (t - onset) % f[L.F_PERIOD]
        return 1.0 if phase < f[L.F_ACTIVE] else 0.0
    if shape == L.SH_FLAPPING:
        block = int((t - onset) // f[L.F_PERIOD])
        rs = np.empty(1, np.uint64)
        seed_stream(rs, seed, block, STREAM_FLAP + index)
        return 1.0 if uniform(rs) * f[L.F_PERIOD] < f[L.F_ACTIVE] else 0.0
    return min(1.0, (t - onset + 1.0) / f[L.F_RAMP])


@nb.njit(cache=True)
def _fault_onsets(sim, t):
    """Attach version-bound faults to the model serving at onset; apply bad deploys.

    At minute ``t``, every fault whose onset has come and that has not started yet starts
    (``fr[i, FR_STARTED]``) and is bound to the serving model's version; a bad deploy moves
    the serving model to previous and gives it a new version (with a bad previous version,
    ``F_SCALE`` > 0, the version moved to previous is renumbered as well: the good version
    that served before onset is out of a rollback's reach), a migrating schema change
    bumps the live schema (and the serving and fallback models' schemas with it), a bad
    artefact is loaded by the serving release (``MF_ARTIFACT``).
    """
    fa, fr, s, models, refs = sim.fa, sim.fr, sim.s, sim.models, sim.refs
    for i in range(fa.shape[0]):
        if fr[i, L.FR_STARTED] > 0.5 or t < fa[i, L.F_ONSET]:
            continue
        fr[i, L.FR_STARTED] = 1.0
        kind = int(fa[i, L.F_KIND])
        if kind == L.K_BAD_DEPLOY:
            models[L.M_PREVIOUS] = models[L.M_SERVING]
            refs[L.M_PREVIOUS] = refs[L.M_SERVING]
            if fa[i, L.F_SCALE] > 0.0:  # the version before it was bad too (a new number)
                models[L.M_PREVIOUS, L.MF_VERSION] = s[L.S_NEXT_VERSION]
                fr[i, L.FR_PREV_VERSION] = s[L.S_NEXT_VERSION]
                s[L.S_NEXT_VERSION] += 1.0
            models[L.M_SERVING, L.MF_VERSION] = s[L.S_NEXT_VERSION]
            s[L.S_NEXT_VERSION] += 1.0
        if kind == L.K_BAD_ARTIFACT:  # the serving release hot-reloads the new artefact
            models[L.M_SERVING, L.MF_ARTIFACT] = 1.0
        if kind == L.K_CORRUPTION and int(fa[i, L.F_SUBKIND]) == L.C_SCHEMA:
            if fa[i, L.F_MIGRATE] > 0.5:
                s[L.S_LIVE_SCHEMA] += 1.0
                models[L.M_SERVING, L.MF_SCHEMA] = s[L.S_LIVE_SCHEMA]
                models[L.M_FALLBACK, L.MF_SCHEMA] = s[L.S_LIVE_SCHEMA]
        fr[i, L.FR_VERSION] = models[L.M_SERVING, L.MF_VERSION]


@nb.njit(cache=True)
def fault_effects(sim, t):
    """Return the effects of the active faults on minute ``t`` (:class:`FaultEffects`).

    Each fault contributes at its level (:func:`fault_level`), in fault order: covariate
    shifts move feature means and scales, concept drifts add up, corruptions and half of a
    dependency failure's magnitude add to the corrupted share (at most 1), resource
    exhaustion scales capacity down (disk: errors instead), network latency adds
    milliseconds, surges, temporal anomalies and cost shocks multiply traffic and prices,
    a traffic drop multiplies traffic by 1 - its magnitude, label shifts add up into the
    clean score's intercept, runaway usage bills replica-minutes until a ``restart`` stops
    it (``fr[i, FR_STOPPED]``: level 0 from then on), stale features add to the corrupted
    share (undetectable by validation; no action ends them).
    Under an active ``quarantine_inputs`` the rows validation flags are dropped: the
    detectable corrupted share and the outlier share no longer reach the models.

    Parameters
    ----------
    sim : Sim
        The simulation (:class:`simulator.state.Sim`); reads ``fa`` and
        ``s[S_QUARANTINE_UNTIL]``.
    t : float
        The minute.

    Returns
    -------
    FaultEffects
    """
    fa, fr, s = sim.fa, sim.fr, sim.s
    seed = int(s[L.S_SEED])
    loc = _BASE_LOC.copy()
    scale = np.ones(L.N_FEATURES)
    concept = 0.0
    prior = 0.0
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
    runaway = 0.0
    n_f = fa.shape[0]
    levels = np.zeros(n_f)
    for i in range(n_f):
        lv = fault_level(fa[i], t, seed, i)
        if fr[i, L.FR_STOPPED] > 0.5:  # runaway work killed by a restart
            lv = 0.0  # (no fault that touches the rows may depend on actions: forks share them)
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
        elif kind == L.K_LABEL_SHIFT:
            prior += mag
        elif kind == L.K_TRAFFIC_DROP:
            traffic_mult *= 1.0 - mag
        elif kind == L.K_RUNAWAY:
            runaway += mag
        elif kind == L.K_STALE:
            corrupt += mag  # hurts every model; validation cannot flag a stale value
    corrupt = min(corrupt, 1.0)
    quarantine = s[L.S_QUARANTINE_UNTIL] > t
    if quarantine:
        corrupt = max(0.0, corrupt - corrupt_detectable)
        outl = 0.0
    return FaultEffects(levels, loc, scale, concept, prior, corrupt, corrupt_detectable, adv,
                        outl, cap_factor, err_disk, err_dep, net_ms, traffic_mult, price_mult,
                        runaway, quarantine)

