"""A simulation: the arrays of one episode, advanced by the step kernel, and forkable.

:class:`Simulation` is what the Gymnasium environment wraps and what the oracle and the
counterfactual action assessment fork. Forking copies every state array, so a fork and its
origin share no state; both draw the same random numbers at the same minute (see
:mod:`simulator.rng`). They do share the episode's sample cache: the feature samples of a
minute depend only on the episode seed and the minute, so a minute drawn by one is read
back by the others (bit for bit what they would draw).
"""

from __future__ import annotations

import numpy as np

from simulator import layout as L
from simulator.playout import play_out
from simulator.sampling import SAMPLE_CACHE_MIB, new_sample_cache
from simulator.scenarios.compile import CompiledScenario, paper_cost
from simulator.state import Sim, fork_sim, new_sim
from simulator.step import init_state, step


def _array(name: str) -> property:
    """Return a read-write attribute backed by the field ``name`` of ``Simulation.arrays``."""

    def get(self: Simulation) -> np.ndarray:
        return getattr(self.arrays, name)

    def set_(self: Simulation, value: np.ndarray) -> None:
        self.arrays = self.arrays._replace(**{name: value})

    return property(get, set_, doc=f"The episode's ``{name}`` array (:class:`Sim`).")


class Simulation:
    """One episode's state and the arrays of its scenario.

    The arrays are held in one record, :attr:`arrays` (:class:`simulator.state.Sim`), that
    the kernels take; each of its fields is also an attribute (``p``, ``fa``, ``ac``,
    ``fr``, ``s``, ``models``, ``refs``, ``hist``, ``live``, ``rs``, ``smp``, ``smeta``,
    ``slab``, ``tst``; shapes and units in :class:`~simulator.state.Sim`). Assigning such
    an attribute replaces that array in the record.

    Parameters
    ----------
    compiled : CompiledScenario
        Kernel arrays of the scenario (shared read-only between forks).
    sample_cache_mib : float
        Budget of the episode's sample cache, MiB (:func:`simulator.sampling.sample_cache_rows`;
        above it the episode runs uncached: same results, slower forks).
    """

    p = _array("p")
    fa = _array("fa")
    ac = _array("ac")
    fr = _array("fr")
    s = _array("s")
    models = _array("models")
    refs = _array("refs")
    hist = _array("hist")
    live = _array("live")
    rs = _array("rs")
    smp = _array("smp")
    smeta = _array("smeta")
    slab = _array("slab")
    tst = _array("tst")

    def __init__(self, compiled: CompiledScenario,
                 sample_cache_mib: float = SAMPLE_CACHE_MIB):
        self.compiled = compiled
        self._cache_mib = float(sample_cache_mib)
        self.arrays: Sim = new_sim(compiled, self._cache_mib)
        self.c_paper = paper_cost(compiled.action_costs, compiled.params)
        self.horizon = int(compiled.params[L.P_HORIZON])

    def _new_sample_cache(self) -> None:
        """Allocate an empty sample cache (:mod:`simulator.sampling`) for a new episode."""
        smp, smeta, slab, tst = new_sample_cache(self.p, self._cache_mib)
        self.arrays = self.arrays._replace(smp=smp, smeta=smeta, slab=slab, tst=tst)

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
        init_state(self.arrays, seed)
        step(self.arrays, L.NO_OP, 0.0)
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
        applied = step(self.arrays, int(action), float(engineer_minutes))
        return self.hist[t], applied

    def play_out(self) -> None:
        """After a catastrophe: outage, restore and no_op to the horizon (:mod:`simulator.playout`).

        Does nothing without a catastrophe.
        """
        play_out(self.arrays)

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
        other.c_paper = self.c_paper
        other.horizon = self.horizon
        other._cache_mib = self._cache_mib
        other.arrays = fork_sim(self.arrays)
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
