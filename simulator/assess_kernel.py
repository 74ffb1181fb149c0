"""Numba kernel of the counterfactual action assessment (DESIGN 3.6, 6).

The numeric core of :func:`simulator.assessment.assess_action`, which wraps it, and of the
batched fast path (:mod:`experiments.fast`), which calls it from compiled code: one
implementation of the verdicts (their definitions are in :mod:`simulator.assessment`).
The simulation is a :class:`simulator.state.Sim` record; its forks copy its state arrays
(:func:`simulator.state.fork_sim`), so :func:`assess` and :func:`evaluate` never mutate it.
The forks play open loop (``S_OPEN_LOOP``): nobody observes them, so the step kernel skips
the measurements (samples, KS statistic, anomaly share, delayed labels, noisy latency and
error readings) and a retrained model's reference sample, on which no outcome depends;
their dollars, SLO records and catastrophes are those of a fully measured fork.
Window sums are sequential (left to right), so compiled and interpreted results agree bit
for bit.
"""

from __future__ import annotations

import numba as nb

from simulator import layout as L
from simulator.state import fork_sim
from simulator.step import step

#: A safety violation's "SLA score more than 20% lower" than no_op's at some minute of the
#: window (docs/paper_mapping.md, the safety violation): a score below this share of it.
SLA_DEGRADED_RATIO = 0.8


@nb.njit(cache=True)
def rollout(sim, first_action, minutes):
    """Play ``first_action`` then ``no_op`` for up to ``minutes`` minutes (in place).

    Stops early at the horizon, like :meth:`simulator.core.Simulation.rollout`.

    Parameters
    ----------
    sim : Sim
        The simulation (:class:`simulator.state.Sim`), advanced in place.
    first_action : int
        The action of the first minute.
    minutes : int
        Minutes to play at most.

    Returns
    -------
    int
        Minutes played; their records are ``sim.hist[t0 : t0 + k]`` for the start minute t0.
    """
    horizon = sim.p[L.P_HORIZON]
    s = sim.s
    k = 0
    for i in range(minutes):
        if s[L.S_T] > horizon:
            break
        step(sim, first_action if i == 0 else L.NO_OP, 0.0)
        k += 1
    return k


@nb.njit(cache=True)
def assess(sim, action, window):
    """Assess ``action`` at the current minute against ``no_op`` on two forks.

    Parameters
    ----------
    sim : Sim
        The live simulation (:class:`simulator.state.Sim`), before the action's step; not
        changed (the forks play open loop and draw no samples into the shared cache).
    action : int
        The action to assess.
    window : int
        Minutes to look ahead (< 0: the scenario's ``outcome_window``); clipped to
        [1, minutes left in the episode].

    Returns
    -------
    harmful, safety_violation, contained, success : bool
        The verdicts of :func:`simulator.assessment.assess_action`.
    delta_cost_usd : float
        The action's window dollars minus ``no_op``'s (sequential sums).
    minutes : int
        Window length actually simulated.
    """
    p = sim.p
    t0 = int(sim.s[L.S_T])
    w = fork_window(p, t0, window)
    # fork A plays the action, fork B no_op; both copy every mutable array
    fork_a = fork_sim(sim)
    fork_b = fork_sim(sim)
    s_a, hist_a = fork_a.s, fork_a.hist
    s_b, hist_b = fork_b.s, fork_b.hist
    s_a[L.S_OPEN_LOOP] = 1.0  # open loop: the verdicts need no measurements
    s_b[L.S_OPEN_LOOP] = 1.0
    aborts0 = s_a[L.S_N_CANARY_ABORTS]
    ka = rollout(fork_a, action, w)
    kb = rollout(fork_b, L.NO_OP, w)
    k = min(ka, kb)
    cat_a = s_a[L.S_CATASTROPHIC] != L.CAT_NONE
    cat_b = s_b[L.S_CATASTROPHIC] != L.CAT_NONE
    cost_a = 0.0
    cost_b = 0.0
    breach_a = 0.0
    breach_b = 0.0
    degraded = False
    for u in range(t0, t0 + k):
        ra = hist_a[u]
        rb = hist_b[u]
        cost_a += ra[L.R_COST_RATE]
        cost_b += rb[L.R_COST_RATE]
        breach_a += 1.0 - ra[L.R_SLO_ALL_OK]
        breach_b += 1.0 - rb[L.R_SLO_ALL_OK]
        if ra[L.R_SLA_SCORE] < SLA_DEGRADED_RATIO * rb[L.R_SLA_SCORE]:
            degraded = True
    caused_cat = cat_a and not cat_b
    harmful = caused_cat or cost_a > cost_b + L.TINY
    violation = caused_cat or breach_a > breach_b or degraded
    contained = harmful and s_a[L.S_N_CANARY_ABORTS] > aborts0 and not caused_cat
    rec_min = int(p[L.P_RECOVERY_MIN])
    recovered = k >= rec_min
    if recovered:
        # the last rec_min rows, sliced as NumPy's ``rows[-rec_min:]`` (0: all rows)
        first = k - rec_min if rec_min > 0 else min(k, -rec_min)
        for u in range(t0 + first, t0 + k):
            if not hist_a[u, L.R_SLO_ALL_OK] > 0.5:
                recovered = False
                break
    success = recovered and not violation
    return harmful, violation, contained, success, cost_a - cost_b, k


@nb.njit(cache=True)
def evaluate(sim, n_actions, window, cost, cat):
    """Fork once per action, play it then ``no_op`` for the window (the oracle's forks).

    Parameters
    ----------
    sim : Sim
        The live simulation (:class:`simulator.state.Sim`); not changed.
    n_actions : int
        Actions ``0 .. n_actions - 1`` are evaluated.
    window : int
        Minutes per fork (< 0: the scenario's ``outcome_window``), clipped to the minutes
        left in the episode.
    cost : ndarray, shape (>= n_actions,)
        Output: each fork's window dollars (sequential sum of the minutes' cost rates).
    cat : ndarray of bool, shape (>= n_actions,)
        Output: whether each fork hit a catastrophic failure within the window.

    Returns
    -------
    int
        Window length actually simulated (the shortest fork).
    """
    return evaluate_range(sim, 0, n_actions, window, cost, cat)


@nb.njit(cache=True)
def evaluate_range(sim, first, n_actions, window, cost, cat):
    """:func:`evaluate` for actions ``first .. n_actions - 1`` only (the others untouched)."""
    t0 = int(sim.s[L.S_T])
    w = fork_window(sim.p, t0, window)
    k = w
    for a in range(first, n_actions):
        fork = fork_sim(sim)
        fork.s[L.S_OPEN_LOOP] = 1.0  # open loop: the window dollars need no measurements
        ka = rollout(fork, a, w)
        k = min(k, ka)
        cost[a] = window_cost(fork.hist, t0, ka)
        cat[a] = fork.s[L.S_CATASTROPHIC] != L.CAT_NONE
    return k


@nb.njit(cache=True)
def fork_window(p, t0, window):
    """Return the minutes a fork from ``t0`` plays: ``window``, clipped to the episode.

    ``window`` < 0 stands for the scenario's outcome window; the result is in
    [1, minutes left in the episode].
    """
    horizon = int(p[L.P_HORIZON])
    w = int(p[L.P_OUTCOME_WINDOW]) if window < 0 else window
    return max(1, min(w, horizon - t0 + 1))


@nb.njit(cache=True)
def window_cost(hist, t0, k):
    """Dollars of the minutes ``t0 .. t0 + k - 1`` of ``hist``, summed left to right."""
    c = 0.0
    for u in range(t0, t0 + k):
        c += hist[u, L.R_COST_RATE]
    return c


@nb.njit(cache=True)
def best_action(cost, cat, n_actions):
    """Return the oracle's action: no catastrophe, then fewest dollars, then lowest index."""
    b = 0
    for a in range(1, n_actions):
        if (not cat[a] and cat[b]) or (cat[a] == cat[b] and cost[a] < cost[b]):
            b = a
    return b
