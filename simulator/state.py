"""The arrays of one simulated episode, grouped in one record (:class:`Sim`).

Every kernel of the simulator (:mod:`simulator.step` and its parts,
:mod:`simulator.assess_kernel`) takes a :class:`Sim`; Numba compiles the ``NamedTuple`` to
a struct of its arrays, and interpreted code (a kernel's ``py_func``) uses it as it is.
Three of its arrays describe the scenario and are never written by the kernels (``p``,
``fa``, ``ac``); four hold the episode's sample cache, shared by the forks of the episode
(``smp``, ``smeta``, ``slab``, ``tst``); the other seven are the episode's mutable state,
copied by a fork (:func:`fork_sim`). All arrays are float64 unless stated.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

import numba as nb
import numpy as np

from simulator import layout as L
from simulator.sampling import SAMPLE_CACHE_MIB, new_sample_cache

if TYPE_CHECKING:
    from simulator.scenarios.compile import CompiledScenario


class Sim(NamedTuple):
    """The arrays of one episode (the shapes use the ``layout`` constants).

    Attributes
    ----------
    p : ndarray, shape (N_PARAMS,)
        Scenario parameters, indexed by ``P_*`` (minutes, dollars, shares, counts as
        documented in :mod:`simulator.layout`). Read by the kernels, never written.
    fa : ndarray, shape (n_faults, N_FAULT_FIELDS)
        Fault table, one row per fault, indexed by ``F_*`` (onset and durations in minutes).
        Read only.
    ac : ndarray, shape (N_EXTENDED_ACTIONS, 3)
        Compute, risk and downtime components of the paper's C(a) per action. Read only.
    fr : ndarray, shape (n_faults, N_FAULT_RT)
        Fault runtime (``FR_*``): whether each fault has started and the model version it
        is bound to. Mutated.
    s : ndarray, shape (N_STATE,)
        Dynamic state (``S_*``): the minute ``S_T``, replicas, timers (minutes), job and
        canary state, dollars spent, catastrophe counters. Mutated.
    models : ndarray, shape (N_MODEL_SLOTS, N_MODEL_FIELDS)
        Model table (``MF_*``), one row per slot (``M_SERVING``, ``M_PREVIOUS``,
        ``M_CANDIDATE``, ``M_FALLBACK``). Mutated.
    refs : ndarray, shape (N_MODEL_SLOTS, N_FEATURES, m)
        Sorted reference sample of each slot's training distribution (m = ``P_REF_SIZE``
        feature values). Mutated on retrain and when slots move.
    hist : ndarray, shape (horizon + 1, N_RECORD)
        Per-minute records (``R_*``); row t is written by the step of minute t. Mutated.
    live : ndarray, shape (ks_window, N_FEATURES, n)
        Ring buffer of live feature samples (n = ``P_SAMPLES_PER_MIN`` per minute), each
        minute's block sorted. Mutated.
    rs : ndarray of uint64, shape (1,)
        Scratch random-stream state (:mod:`simulator.rng`). Mutated.
    smp : ndarray, shape (rows, N_FEATURES, (w + 2) n)
        Sample cache (w = ``P_KS_WINDOW``), per minute and feature: the sorted block
        [0, n), the raw rows [n, 2n), the merged KS window [2n, (w + 2) n). rows = 0
        disables the cache (:func:`simulator.sampling.sample_cache_rows`). Shared, not
        copied, by the forks of one episode: the samples of a minute depend on (seed,
        minute) only, the initial references on the seed.
    smeta : ndarray of uint64, shape (rows, N_SC)
        Sample cache, per minute: flags (``SC_*``), invalid rows, stream state after the
        draws, and the KS statistic (float64 bits) and anomalous-row count against each
        initial reference sample (:mod:`simulator.sampling`). Shared like ``smp``.
    slab : ndarray, shape (rows, N_LAB, n)
        Sample cache, per minute and row: the clean class, the arriving label and the
        quarantine flag (``simulator.sampling.LAB_*``). Shared like ``smp``.
    tst : ndarray, shape (horizon + 2, 2 N_TRAIN_STATS)
        Prefix sums of the rows' training statistics (:mod:`simulator.classifier`):
        ``tst[t]`` covers minutes 0 .. t - 1, every row in the first ``N_TRAIN_STATS``
        columns, the rows validation does not flag in the others. Allocated whatever the
        cache budget; shared like ``smp`` (its rows depend on (seed, minute) only).
    """

    p: np.ndarray
    fa: np.ndarray
    ac: np.ndarray
    fr: np.ndarray
    s: np.ndarray
    models: np.ndarray
    refs: np.ndarray
    hist: np.ndarray
    live: np.ndarray
    rs: np.ndarray
    smp: np.ndarray
    smeta: np.ndarray
    slab: np.ndarray
    tst: np.ndarray


def new_sim(compiled: CompiledScenario, sample_cache_mib: float = SAMPLE_CACHE_MIB) -> Sim:
    """Return a record of zeroed arrays for the scenario ``compiled``, with an empty cache.

    The scenario arrays are the compiled scenario's own (not copied); the state arrays are
    zeros until :func:`simulator.step.init_state`.

    Parameters
    ----------
    compiled : CompiledScenario
        Kernel arrays of the scenario (``params``, ``faults``, ``action_costs``).
    sample_cache_mib : float
        Budget of the episode's sample cache, MiB (above it the cache has no rows and the
        episode runs uncached: same results, slower forks).

    Returns
    -------
    Sim
    """
    p = compiled.params
    fa = compiled.faults
    m = int(p[L.P_REF_SIZE])
    n = int(p[L.P_SAMPLES_PER_MIN])
    horizon = int(p[L.P_HORIZON])
    smp, smeta, slab, tst = new_sample_cache(p, float(sample_cache_mib))
    return Sim(
        p=p,
        fa=fa,
        ac=compiled.action_costs,
        fr=np.zeros((fa.shape[0], L.N_FAULT_RT)),
        s=np.zeros(L.N_STATE),
        models=np.zeros((L.N_MODEL_SLOTS, L.N_MODEL_FIELDS)),
        refs=np.zeros((L.N_MODEL_SLOTS, L.N_FEATURES, m)),
        hist=np.zeros((horizon + 1, L.N_RECORD)),
        live=np.zeros((int(p[L.P_KS_WINDOW]), L.N_FEATURES, n)),
        rs=np.zeros(1, dtype=np.uint64),
        smp=smp,
        smeta=smeta,
        slab=slab,
        tst=tst,
    )


@nb.njit(cache=True)
def fork_sim(sim):
    """Return a fork of ``sim``: copies of its mutable arrays, the others shared.

    ``fr``, ``s``, ``models``, ``refs``, ``hist``, ``live`` and ``rs`` are copied; the
    scenario arrays (``p``, ``fa``, ``ac``) and the sample cache (``smp``, ``smeta``,
    ``slab``, ``tst``) are
    the same arrays as ``sim``'s.
    """
    return Sim(sim.p, sim.fa, sim.ac, sim.fr.copy(), sim.s.copy(), sim.models.copy(),
               sim.refs.copy(), sim.hist.copy(), sim.live.copy(), sim.rs.copy(), sim.smp,
               sim.smeta, sim.slab, sim.tst)


@nb.njit(cache=True)
def copy_sim_into(dst, src):
    """Copy the mutable arrays of ``src`` into those of ``dst``, in place.

    ``fr``, ``s``, ``models``, ``refs``, ``hist``, ``live`` and ``rs`` of ``dst`` take the
    values of ``src``'s; its scenario arrays and sample cache are left as they are.

    Raises
    ------
    ValueError
        If an array of ``dst`` does not have the shape of ``src``'s (NumPy's broadcasting
        error; compiled code raises it too).
    """
    dst.fr[:] = src.fr
    dst.s[:] = src.s
    dst.models[:] = src.models
    dst.refs[:] = src.refs
    dst.hist[:] = src.hist
    dst.live[:] = src.live
    dst.rs[:] = src.rs
