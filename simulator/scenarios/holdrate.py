"""How often a scenario's annotated action is the best first response over drawn incidents.

A scenario whose file gives fields as distributions is an incident class
(:mod:`simulator.scenarios.randomise`); its annotated optimal action (paper Sec. 5) should be
the best first response to most incidents of the class, not only to the nominal one. For
each seed (each seed draws its own incident), :func:`simulator.scenarios.plot.compare_actions`
forks the episode after the first alarm once per action and plays each to the horizon.
A draw *holds* when the annotated action had no catastrophic failure and its dollars are
within the tie tolerance of the cheapest action of that draw:

    cost(annotated) <= min over actions of cost + max(TOL_USD, TOL_SHARE x cost(no_op))

with a catastrophe counting as infinitely costly. ``TOL_USD`` ($10) is about 40 minutes of
the net cost of an unneeded fallback, a difference no operator would act on; ``TOL_SHARE``
(2% of the no-op dollars) covers costly scenarios, where it is about the paired noise of a
best-versus-second difference (``docs/scenario_annotations.md``). The hold rate is the
share of draws that hold; an annotation that holds in fewer than ``MIN_HOLD_RATE`` of 20
draws must be changed or the file's ranges narrowed (``docs/scenario_ranges.md``).
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

import numpy as np

from simulator import layout as L
from simulator.assess_kernel import evaluate
from simulator.scenarios.plot import compare_actions, decision_sim, episode_start
from simulator.scenarios.schema import Scenario

#: Absolute tie tolerance, dollars.
TOL_USD = 10.0
#: Relative tie tolerance, share of the draw's no-op dollars.
TOL_SHARE = 0.02
#: ``cheapest`` of a draw in which every action had a catastrophic failure.
ALL_CATASTROPHIC = "all_catastrophic"
#: Smallest acceptable hold rate of an annotation.
MIN_HOLD_RATE = 0.6
#: An urgent incident (``annotations.urgent``) becomes a catastrophic failure within this
#: many minutes of its onset if nothing is done (``docs/urgent.md``).
URGENT_MINUTES = 15


@dataclass(frozen=True)
class HoldRate:
    """The hold rate of one scenario's annotation.

    Attributes
    ----------
    scenario, annotated : str
        Scenario id and its annotated optimal action.
    seeds : tuple of int
        The seeds played, one drawn incident each.
    holds : tuple of bool
        Per seed: whether the annotation holds (module docstring).
    cheapest : tuple of str
        Per seed: the cheapest action (catastrophe = inf; ties to the earlier action), or
        :data:`ALL_CATASTROPHIC`.
    catastrophic : tuple of bool
        Per seed: whether the annotated action's branch had a catastrophic failure.
    """

    scenario: str
    annotated: str
    seeds: tuple[int, ...]
    holds: tuple[bool, ...]
    cheapest: tuple[str, ...]
    catastrophic: tuple[bool, ...]

    @property
    def rate(self) -> float:
        """Share of the draws that hold, in [0, 1]."""
        return sum(self.holds) / len(self.holds)

    @property
    def cheapest_counts(self) -> dict[str, int]:
        """How often each action was the cheapest, most frequent first."""
        return dict(Counter(self.cheapest).most_common())


def draw_verdicts(rows: list[dict], annotated: str) -> tuple[list[int], list[bool], list[str]]:
    """Return the seeds, per-seed hold flags and cheapest actions of ``compare_actions`` rows.

    Raises
    ------
    ValueError
        If a seed has no row for ``annotated`` or for ``no_op``.
    """
    seeds = sorted({r["seed"] for r in rows})
    holds, cheapest = [], []
    for seed in seeds:
        score = {r["action"]: r["score"] for r in rows if r["seed"] == seed}
        if annotated not in score or "no_op" not in score:
            raise ValueError(f"seed {seed}: no row for {annotated!r} or 'no_op'")
        best = min(score, key=lambda a: score[a])  # rows come in action order: ties -> earlier
        noop = score["no_op"]
        tol = max(TOL_USD, TOL_SHARE * noop) if math.isfinite(noop) else TOL_USD
        holds.append(math.isfinite(score[annotated]) and score[annotated] <= score[best] + tol)
        cheapest.append(best if math.isfinite(score[best]) else ALL_CATASTROPHIC)
    return seeds, holds, cheapest


def hold_rate(scenario: Scenario, seeds: range | list[int]) -> HoldRate:
    """Play ``seeds`` (one drawn incident each) and return the annotation's hold rate.

    Raises
    ------
    ValueError
        If ``seeds`` is empty.
    """
    seeds = [int(s) for s in seeds]
    if not seeds:
        raise ValueError("hold_rate needs at least one seed")
    ann = scenario.annotations.optimal_action
    rows = compare_actions(scenario, seeds)
    played, holds, cheapest = draw_verdicts(rows, ann)
    cats = tuple(any(r["catastrophe"] != "none" for r in rows
                     if r["seed"] == s and r["action"] == ann) for s in played)
    return HoldRate(scenario.id, ann, tuple(played), tuple(holds), tuple(cheapest), cats)


#: Minutes the remedy search waits after an action before it decides again (the
#: controllers' default cooldown: an action's effect needs time to show).
REMEDY_COOLDOWN = 10


@dataclass(frozen=True)
class Remedy:
    """A multi-step remedy found by :func:`search_remedy` for one drawn incident.

    Attributes
    ----------
    seed : int
        The episode seed (the drawn incident).
    actions : tuple of (int, str)
        (minute, action) of every action taken, in order.
    catastrophe : str
        ``none`` if the remedy avoided a catastrophic failure, else its kind.
    cost_usd : float
        Dollars over minutes 1..horizon (after a catastrophe: outage, restore, no_op).
    """

    seed: int
    actions: tuple[tuple[int, str], ...]
    catastrophe: str
    cost_usd: float

    def describe(self) -> str:
        """One line: the actions with their minutes, the outcome and the dollars."""
        steps = ", ".join(f"{a}@{m}" for m, a in self.actions) or "no action"
        outcome = "no catastrophe" if self.catastrophe == "none" else self.catastrophe
        return f"seed {self.seed}: {steps} ({outcome}, ${self.cost_usd:,.0f})"


def search_remedy(scenario: Scenario, seed: int) -> Remedy:
    """Search a multi-step remedy for one drawn incident, the oracle's way, greedily.

    From the first alarm (:func:`simulator.scenarios.plot.decision_sim`), at every minute
    outside a ``REMEDY_COOLDOWN``-minute cooldown after an action (the next decision comes
    ``REMEDY_COOLDOWN + 1`` minutes after it, as the controllers' ``quiet_until``), fork the
    simulation once per
    action and play each for the outcome window
    (:func:`simulator.assess_kernel.evaluate`, the oracle's forks); take the action whose
    window has no catastrophic failure and the fewest dollars (``no_op`` on ties, the
    cheapest if every fork fails). A greedy sequence of one-window lookaheads: it can miss a
    remedy whose benefit shows only beyond the window.

    Parameters
    ----------
    scenario : Scenario
    seed : int
        Episode seed (the drawn incident and its random streams).

    Returns
    -------
    Remedy
    """
    sim, _, _ = decision_sim(scenario, int(seed))
    n = int(sim.p[L.P_N_ACTIONS])
    cost, cat = np.zeros(n), np.zeros(n, dtype=bool)
    taken: list[tuple[int, str]] = []
    quiet_until = -1
    while sim.t <= sim.horizon and sim.catastrophe == L.CAT_NONE:
        a = L.NO_OP
        if sim.t >= quiet_until:
            evaluate(sim.arrays, n, -1, cost, cat)
            safe = [k for k in range(n) if not cat[k]]
            pool = safe or list(range(n))
            a = min(pool, key=lambda k: (cost[k], k))
        minute = sim.t
        _, applied = sim.step(a)
        if a != L.NO_OP and applied:
            taken.append((minute, L.ACTION_NAMES[a]))
            quiet_until = minute + 1 + REMEDY_COOLDOWN
    sim.play_out()
    return Remedy(int(seed), tuple(taken), L.CATASTROPHE_NAMES[sim.catastrophe],
                  float(sim.hist[1:, L.R_COST_RATE].sum()))


def urgent_draws(scenario: Scenario, seeds: range | list[int]) -> list[bool]:
    """Per seed: whether ``no_op`` fails catastrophically within URGENT_MINUTES of onset.

    Each seed's incident is drawn and reset (:func:`simulator.scenarios.plot.episode_start`),
    then played with ``no_op`` from reset until a catastrophe or URGENT_MINUTES past its earliest
    onset. An urgent scenario must give True for every seed.
    """
    out = []
    for seed in seeds:
        sim, onset = episode_start(scenario, seed)
        while sim.t <= onset + URGENT_MINUTES and sim.catastrophe == L.CAT_NONE:
            sim.step(L.NO_OP)
        out.append(sim.catastrophe != L.CAT_NONE
                   and sim.s[L.S_CAT_MINUTE] - onset <= URGENT_MINUTES)
    return out
