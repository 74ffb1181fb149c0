"""The oracle: hindsight-best action from forked simulations (DESIGN 3.6, 4).

At each decision epoch (the same alarm-driven epochs and cooldown as every controller,
:class:`controllers.base.Controller`) the oracle forks the live simulation once per action
of the env's action set, plays that action and then ``no_op`` for the outcome window, and
plays the action whose window costs the fewest dollars. An action whose window ends in a
catastrophe is worth +inf: it is never chosen if another action avoids one (if every
action ends in one, the cheapest in dollars is chosen). Ties go to the lower action index.

All forks draw the same random numbers at the same minute (streams keyed by (episode seed,
minute), :mod:`simulator.rng`): common random numbers by construction, so every difference
between two forks is the actions' doing.

:func:`evaluate_actions` is the one fork-and-evaluate function of the framework: the oracle
decides with it and :mod:`experiments.regret` measures every controller's regret with it, so
the two can never disagree. It lives here, not in ``experiments/``, to keep the dependency
direction ``experiments -> controllers -> simulator`` (DESIGN 2).

The oracle is the one controller that reads hidden state: it sees the whole simulation.
Its kernels ask for the forks at its decision epochs (``forks``) and pick the best action
from them (``act``); the Gymnasium path computes the forks from the attached simulation, the
batched fast path from its own, with the same kernel.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numba as nb
import numpy as np

from controllers.base import ControllerConfig, KernelController, require
from controllers.protocol import Kernels, VarsState, alarm_epoch, reset_vars, vars_state
from simulator import layout as L
from simulator.assess_kernel import best_action, evaluate
from simulator.records import Truth, new_truth


@dataclass(frozen=True)
class ActionValues:
    """Window outcomes of every action at one minute (one fork per action).

    Attributes
    ----------
    minute : int
        The minute the actions would be taken at (the next step's record index).
    cost_usd : ndarray, shape (n_actions,)
        Dollars spent over the window after playing each action then ``no_op``.
    catastrophic : ndarray of bool, shape (n_actions,)
        Whether that fork hit a catastrophic failure inside the window.
    minutes : int
        Window length actually simulated (shorter near the horizon).
    """

    minute: int
    cost_usd: np.ndarray
    catastrophic: np.ndarray
    minutes: int

    @property
    def n_actions(self) -> int:
        """Number of actions evaluated."""
        return len(self.cost_usd)

    def value(self, action: int) -> float:
        """Window cost of ``action`` in dollars, +inf if it ends in a catastrophe."""
        return math.inf if self.catastrophic[action] else float(self.cost_usd[action])

    @property
    def best(self) -> int:
        """The oracle's action: no catastrophe first, then fewest dollars, then lowest index."""
        return min(range(self.n_actions),
                   key=lambda a: (bool(self.catastrophic[a]), float(self.cost_usd[a])))

    def regret(self, action: int) -> tuple[float, bool]:
        """Regret of ``action`` against the best action of this minute.

        Returns
        -------
        regret_usd : float
            Window dollars of ``action`` minus those of the best action (>= 0, finite). When
            ``action`` ends in a catastrophe the best action avoids, the regret is +inf by
            definition; the dollar gap is then clipped at 0 and the flag below is set.
        avoidable_catastrophe : bool
            ``action`` ends in a catastrophe that the best action avoids.
        """
        b = self.best
        avoidable = bool(self.catastrophic[action]) and not bool(self.catastrophic[b])
        gap = float(self.cost_usd[action]) - float(self.cost_usd[b])
        if avoidable:
            return max(0.0, gap), True
        return gap, False


def evaluate_actions(sim, n_actions: int | None = None, window: int | None = None
                     ) -> ActionValues:
    """Fork ``sim`` once per action, play it then ``no_op`` for the window; ``sim`` is unchanged.

    The forks are :func:`simulator.assess_kernel.evaluate`'s (shared with the fast path);
    window dollars are sequential sums over the minutes.

    Parameters
    ----------
    sim : simulator.core.Simulation
        The live simulation *before* this minute's step (what the env holds when a
        controller's ``act`` is called).
    n_actions : int, optional
        Actions ``0 .. n_actions - 1`` are evaluated; default the env's action set
        (``sim.p[P_N_ACTIONS]``).
    window : int, optional
        Minutes per fork; default the scenario's outcome window
        (``sim.p[P_OUTCOME_WINDOW]``), clipped at the horizon.

    Returns
    -------
    ActionValues
    """
    n = int(sim.p[L.P_N_ACTIONS]) if n_actions is None else int(n_actions)
    w = int(sim.p[L.P_OUTCOME_WINDOW]) if window is None else int(window)
    if n < 1 or w < 1:
        raise ValueError(f"need n_actions >= 1 and window >= 1, got {n} and {w}")
    cost = np.zeros(n)
    cat = np.zeros(n, dtype=bool)
    k = evaluate(sim.arrays, n, w, cost, cat)
    if not np.all(np.isfinite(cost)):
        raise ValueError(f"non-finite window cost at minute {sim.t}: {cost.tolist()}")
    return ActionValues(minute=sim.t, cost_usd=cost, catastrophic=cat, minutes=int(k))


#: Per-episode scalars: the cooldown clock.
VARS = np.dtype([("quiet_until", np.int64)], align=True)


@dataclass
class OracleConfig(ControllerConfig):
    """The oracle's parameters.

    Attributes
    ----------
    window : int or None
        Minutes each fork is played (>= 1); None: the scenario's outcome window.
    deployment : str
        ``direct`` or ``canary``: how the env deploys retrain and rollback for the oracle
        (the forks inherit it).
    """

    _target_: str = "controllers.oracle.OracleController"
    window: int | None = None
    deployment: str = "direct"

    def __post_init__(self):
        super().__post_init__()
        require(self.window is None or self.window >= 1, "window", self.window,
                ">= 1 minute (or null)")
        require(self.deployment in ("direct", "canary"), "deployment", self.deployment,
                "'direct' or 'canary'")

    @property
    def fork_window(self) -> int:
        """``window`` for the kernels: -1 for the outcome window."""
        return -1 if self.window is None else int(self.window)


class OracleParams(NamedTuple):
    """Kernel parameters of the oracle (``fork_window`` -1: the outcome window)."""

    alpha: float
    cooldown: int
    fork_window: int


@nb.njit(cache=True)
def forks(state, params, obs, info):
    """At a decision epoch, the fork window the oracle reads (-1: outcome window); else 0."""
    if alarm_epoch(state, params, obs, info):
        return params.fork_window
    return 0


@nb.njit(cache=True)
def act(state, params, obs, info, truth, rng):
    """At a decision epoch, the action whose fork costs least (no catastrophe first).

    Raises
    ------
    ValueError
        If the forks the oracle asked for are missing from ``truth``.
    """
    if not alarm_epoch(state, params, obs, info):
        return L.NO_OP, 0.0
    if truth.rec[0].fork_minutes == 0:
        raise ValueError("the oracle needs its forks (truth.fork_cost) at a decision epoch")
    a = best_action(truth.fork_cost, truth.fork_cat, info[0].n_actions)
    if a != L.NO_OP:
        state.vars[0].quiet_until = info[0].minute + 1 + params.cooldown
    return a, 0.0


class OracleController(KernelController):
    """Hindsight-best action per decision epoch, from one forked simulation per action.

    Same decision epochs as every controller (an alarm outside the cooldown). The
    Gymnasium path needs the episode's simulation: the runner calls :meth:`attach` after
    each ``env.reset``.
    """

    name = "oracle"
    uses_simulation = True
    uses_hidden_state = True
    Config = OracleConfig
    kernels = Kernels(OracleParams, act=act, reset=reset_vars, forks=forks)

    def __init__(self, seed: int = 0, **params):
        super().__init__(seed=seed, **params)
        self.sim = None
        self.last_values: ActionValues | None = None

    def new_state(self, config: OracleConfig) -> VarsState:
        """No cooldown; nothing is learned."""
        return vars_state(VARS, quiet_until=-1)

    @property
    def deployment(self) -> str:
        """How the env deploys retrain and rollback for the oracle."""
        return self.config.deployment

    def attach(self, sim) -> None:
        """Receive the episode's simulation (called by the runner after each ``env.reset``)."""
        self.sim = sim
        self.last_values = None

    def prepare_truth(self, obs: np.ndarray, rec: np.ndarray, info: dict) -> Truth:
        """Fork the attached simulation per action when the ``forks`` kernel asks.

        Raises
        ------
        RuntimeError
            If no simulation is attached, or it is not at the minute ``info`` describes
            (the fork must be the state before this minute's step).
        """
        window = int(forks(self.state, self.params, obs, rec))
        if window == 0:
            return self._truth
        if self.sim is None:
            raise RuntimeError(
                "the oracle needs the simulation: call controller.attach(env.sim) after "
                "env.reset() (experiments.episode.run_episode does)"
            )
        minute = int(rec[0]["minute"])
        if self.sim.t != minute + 1:
            raise RuntimeError(
                f"the attached simulation is at minute {self.sim.t}, but act() was called "
                f"for minute {minute}: attach the env's own simulation, before its step"
            )
        self.last_values = evaluate_actions(self.sim, window=None if window < 0 else window)
        truth = new_truth()
        n = self.last_values.n_actions
        truth.fork_cost[:n] = self.last_values.cost_usd
        truth.fork_cat[:n] = self.last_values.catastrophic
        truth.rec[0]["fork_minutes"] = self.last_values.minutes
        return truth
