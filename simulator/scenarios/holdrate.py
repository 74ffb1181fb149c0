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

from simulator.scenarios.plot import compare_actions
from simulator.scenarios.schema import Scenario

#: Absolute tie tolerance, dollars.
TOL_USD = 10.0
#: Relative tie tolerance, share of the draw's no-op dollars.
TOL_SHARE = 0.02
#: ``cheapest`` of a draw in which every action had a catastrophic failure.
ALL_CATASTROPHIC = "all_catastrophic"
#: Smallest acceptable hold rate of an annotation.
MIN_HOLD_RATE = 0.6


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
