"""A simulation: the arrays of one episode, advanced by the step kernel, and forkable.

:class:`Simulation` is what the Gymnasium environment wraps and what the oracle and the
counterfactual action assessment fork. Forking copies every array, so a fork and its
origin share no state; both draw the same random numbers at the same minute (see
:mod:`simulator.rng`). They do share the episode's sample cache: the feature samples of a
minute depend only on the episode seed and the minute, so a minute drawn by one is read
back by the others (bit for bit what they would draw).
"""

from __future__ import annotations

import numpy as np

from simulator import layout as L
from simulator.sampling import SAMPLE_CACHE_MIB, new_sample_cache
from simulator.scenarios.compile import CompiledScenario, paper_cost
from simulator.step import init_state, step


class Simulation:
    """One episode's state and the arrays of its scenario.

    Parameters
    ----------
    compiled : CompiledScenario
        Kernel arrays of the scenario (shared read-only between forks).
    sample_cache_mib : float
        Budget of the episode's sample cache, MiB (:func:`simulator.sampling.sample_cache_rows`;
        above it the episode runs uncached: same results, slower forks).
    """

    def __init__(self, compiled: CompiledScenario,
                 sample_cache_mib: float = SAMPLE_CACHE_MIB):
        self.compiled = compiled
        p = compiled.params
        self.p = p
        self.fa = compiled.faults
        self.ac = compiled.action_costs
        self.c_paper = paper_cost(compiled.action_costs, p)
        self.horizon = int(p[L.P_HORIZON])
        m = int(p[L.P_REF_SIZE])
        n = int(p[L.P_SAMPLES_PER_MIN])
        self.fr = np.zeros((self.fa.shape[0], L.N_FAULT_RT))
        self.s = np.zeros(L.N_STATE)
        self.models = np.zeros((L.N_MODEL_SLOTS, L.N_MODEL_FIELDS))
        self.refs = np.zeros((L.N_MODEL_SLOTS, L.N_FEATURES, m))
        self.hist = np.zeros((self.horizon + 1, L.N_RECORD))
        self.live = np.zeros((int(p[L.P_KS_WINDOW]), L.N_FEATURES, n))
        self.rs = np.zeros(1, dtype=np.uint64)
        self._cache_mib = float(sample_cache_mib)
        self._new_sample_cache()

    def _new_sample_cache(self) -> None:
        """Allocate an empty sample cache (:mod:`simulator.sampling`) for a new episode."""
        self.smp, self.smeta = new_sample_cache(self.p, self._cache_mib)

    @property
    def t(self) -> int:
        """Minutes elapsed (the next step writes record ``t``)."""
        return int(self.s[L.S_T])

    def reset(self, seed: int) -> np.ndarray:
        """Start the episode with ``seed`` (0 <= seed < 2**53) and measure minute 0.

        Returns
        -------
        ndarray, shape (layout.N_RECORD,)
            The record of minute 0.
        """
        if not 0 <= seed < 2**53:
            raise ValueError(f"seed must be in [0, 2**53), got {seed}")
        self.hist[:] = 0.0
        self._new_sample_cache()  # new arrays: forks of the last episode keep theirs
        init_state(self.p, self.fr, self.s, self.models, self.refs, self.live, seed, self.rs)
        step(self.p, self.fa, self.fr, self.ac, self.s, self.models, self.refs, self.hist,
             self.live, self.rs, self.smp, self.smeta, L.NO_OP, 0.0)
        # Minute 0 is the reset's measurement, not part of the episode's cost.
        self.s[L.S_USD_TOTAL] = 0.0
        self.s[L.S_ENGINEER_MIN] = 0.0
        return self.hist[0]

    def step(self, action: int, engineer_minutes: float = 0.0) -> tuple[np.ndarray, int]:
        """Advance one minute.

        Returns
        -------
        record : ndarray, shape (layout.N_RECORD,)
            This minute's record (a view into the history).
        applied : int
            1 if the action took effect, 0 if it became a no-op.
        """
        t = self.t
        if t > self.horizon:
            raise RuntimeError("the episode is over: call reset()")
        applied = step(self.p, self.fa, self.fr, self.ac, self.s, self.models, self.refs,
                       self.hist, self.live, self.rs, self.smp, self.smeta, int(action),
                       float(engineer_minutes))
        return self.hist[t], applied

    @property
    def catastrophe(self) -> int:
        """The CAT_* code of the first catastrophe, 0 if none."""
        return int(self.s[L.S_CATASTROPHIC])

    def fork(self) -> Simulation:
        """Return an independent copy of this simulation at the same minute.

        Every state array is copied; the sample cache is shared (module docstring).
        """
        other = Simulation.__new__(Simulation)
        other.compiled = self.compiled
        other.p, other.fa, other.ac = self.p, self.fa, self.ac
        other.c_paper = self.c_paper
        other.horizon = self.horizon
        other._cache_mib = self._cache_mib
        other.smp, other.smeta = self.smp, self.smeta
        for name in ("fr", "s", "models", "refs", "hist", "live", "rs"):
            setattr(other, name, getattr(self, name).copy())
        return other

    def rollout(self, first_action: int, minutes: int) -> np.ndarray:
        """Play ``first_action`` then ``no_op`` for ``minutes`` minutes in total (open loop).

        Returns
        -------
        ndarray, shape (k, layout.N_RECORD)
            Records of the minutes played (k <= minutes; stops at the horizon).
        """
        t0 = self.t
        k = 0
        for i in range(minutes):
            if self.t > self.horizon:
                break
            self.step(first_action if i == 0 else L.NO_OP)
            k += 1
        return self.hist[t0 : t0 + k]
