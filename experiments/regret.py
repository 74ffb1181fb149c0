"""Regret per decision, cumulative regret and convergence (DESIGN 3.6).

Definitions (docs/regret.md):

decision
    A minute the controller's ``is_decision`` (its ``epoch`` kernel) calls a decision epoch,
    checked *before* ``act``: for every built-in, out of cooldown with an alarm
    (:func:`controllers.envelope.alarm` at its KS level), whatever the controller then
    returns (``no_op`` included).
oracle value
    At a decision the live simulation is forked once per action of the env's action set;
    each fork plays its action then ``no_op`` for the outcome window (common random
    numbers). The value of an action is its window cost in dollars (+inf if the window ends
    in a catastrophe); the oracle value is the minimum. The forks are those of
    :func:`controllers.oracle.evaluate_actions`, the function the oracle decides with.
regret
    Chosen action's window dollars minus the best action's (>= 0). An *avoidable
    catastrophe* (the chosen action's fork ends in a catastrophe, the best action's does
    not) has infinite regret: it is counted in ``n_avoidable_catastrophes`` and its dollar
    gap, clipped at 0, enters ``regret_usd``, so that sums stay finite.
cumulative regret
    Sum of ``regret_usd`` over a run's episodes, in episode order.
convergence
    Episodes until the rolling mean (``window`` = 5 episodes) of a run's paper reward
    reaches 95% of the oracle's rolling mean on the same (seed, scenario) sequence; +inf
    ("never") if it does not.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from controllers.base import Controller
from controllers.oracle import ActionValues, evaluate_actions
from simulator.layout import ACTION_NAMES

__all__ = [
    "ActionValues",
    "convergence_episode",
    "cumulative_regret",
    "decision_record",
    "episode_regret",
    "evaluate_actions",
    "is_decision",
]


def is_decision(controller: Controller, observation: np.ndarray, info: dict) -> bool:
    """Return True if this minute is a decision epoch of ``controller``.

    Call it *before* ``controller.act`` (acting starts a cooldown).
    """
    return bool(controller.is_decision(observation, info))


def decision_record(sim, action: int, n_actions: int | None = None,
                    window: int | None = None) -> dict:
    """Fork ``sim`` (before this minute's step) and return the regret of ``action``.

    Parameters
    ----------
    sim : simulator.core.Simulation
        The env's simulation when ``act`` was called (before ``env.step``).
    action : int
        The action the controller returned.
    n_actions, window : int, optional
        As :func:`controllers.oracle.evaluate_actions`.

    Returns
    -------
    dict
        ``minute``, ``action``, ``best_action`` (names), ``regret_usd``,
        ``avoidable_catastrophe``, ``chosen_cost_usd``, ``best_cost_usd``,
        ``chosen_catastrophic``, ``window_minutes``.
    """
    v = evaluate_actions(sim, n_actions, window)
    a = int(action)
    b = v.best
    regret, avoidable = v.regret(a)
    return {
        "minute": int(v.minute),
        "action": ACTION_NAMES[a],
        "best_action": ACTION_NAMES[b],
        "regret_usd": float(regret),
        "avoidable_catastrophe": bool(avoidable),
        "chosen_cost_usd": float(v.cost_usd[a]),
        "best_cost_usd": float(v.cost_usd[b]),
        "chosen_catastrophic": bool(v.catastrophic[a]),
        "window_minutes": int(v.minutes),
    }


def episode_regret(records: Sequence[dict]) -> dict:
    """Episode row fields from the episode's decision records.

    Returns
    -------
    dict
        ``regret_usd`` (sum), ``n_decisions``, ``n_avoidable_catastrophes``.
    """
    return {
        "regret_usd": float(sum(r["regret_usd"] for r in records)),
        "n_decisions": float(len(records)),
        "n_avoidable_catastrophes": float(sum(r["avoidable_catastrophe"] for r in records)),
    }


def cumulative_regret(df: pd.DataFrame) -> pd.DataFrame:
    """Add ``cum_regret_usd``: regret summed over each run's episodes, in episode order.

    Parameters
    ----------
    df : DataFrame
        Episode rows with ``controller``, ``seed``, ``episode`` and ``regret_usd``.

    Returns
    -------
    DataFrame
        A copy sorted by (controller, seed, episode) with the new column.
    """
    if "regret_usd" not in df:
        raise ValueError("no regret_usd column: run with regret recording on (regret=true)")
    out = df.sort_values(["controller", "seed", "episode"], kind="stable").copy()
    out["cum_regret_usd"] = out.groupby(["controller", "seed"])["regret_usd"].cumsum()
    return out


def convergence_episode(rewards: Sequence[float], oracle_rewards: Sequence[float],
                        window: int = 5, level: float = 0.95) -> float:
    """Episodes until the rolling mean reward reaches ``level`` of the oracle's.

    Both series are per-episode rewards of the same (seed, scenario) sequence, in episode
    order. At episode k (1-based, k >= ``window``) the rolling means over the last
    ``window`` episodes, r_k and o_k, are compared; the run has converged when
    r_k >= o_k - (1 - level) * abs(o_k) (for o_k > 0 this is r_k >= level * o_k; the
    absolute value keeps "95% of optimal" meaningful when rewards are negative).

    Returns
    -------
    float
        The first such k, or ``math.inf`` if never reached.
    """
    r = np.asarray(rewards, dtype=np.float64)
    o = np.asarray(oracle_rewards, dtype=np.float64)
    if r.shape != o.shape or r.ndim != 1:
        raise ValueError(f"reward series must be 1-D and of equal length, got {r.shape}, "
                         f"{o.shape}")
    if window < 1 or not 0.0 < level <= 1.0:
        raise ValueError(f"need window >= 1 and level in (0, 1], got {window}, {level}")
    if not (np.all(np.isfinite(r)) and np.all(np.isfinite(o))):
        raise ValueError("reward series hold NaN or inf")
    if len(r) < window:
        return math.inf
    kernel = np.ones(window) / window
    rm = np.convolve(r, kernel, mode="valid")
    om = np.convolve(o, kernel, mode="valid")
    hit = np.flatnonzero(rm >= om - (1.0 - level) * np.abs(om) - 1e-12)
    return float(hit[0] + window) if len(hit) else math.inf
