"""Tabular learners, the learners' parameter schema and the paper's cost-aware reward (Sec. 3.3).

Reward r(a) = -C(a) + lambda * 1[success] (lambda = 10), delivered by the environment's
delayed ``feedback``. Thompson sampling uses the Bernoulli trick for bounded rewards
(Agrawal & Goyal, 2012): the reward is mapped to [0, 1] by (r + 1) / (lambda + 1) and a
Bernoulli draw with that probability updates the Beta posterior.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from controllers import learner_kernels as LK
from controllers.base import ControllerConfig, check_number, require


def paper_reward(paper_cost: float, success: bool, lam: float = 10.0) -> float:
    """R = -C(a) + lambda * 1[success] (paper Sec. 3.3)."""
    return -float(paper_cost) + lam * float(bool(success))


def reward_to_unit(reward: float, lam: float) -> float:
    """Map r in [-1, lambda] to [0, 1] by (r + 1) / (lambda + 1), clipped (Bernoulli trick)."""
    return float(LK.reward_to_unit(float(reward), float(lam)))


class BetaThompson:
    """Beta-Bernoulli Thompson sampling per (context, action), Beta(1, 1) priors.

    The draws and updates are :mod:`controllers.learner_kernels`' (shared with the fast
    path). ``a`` and ``b`` are views of the one state array ``tab`` (shape (2, n_contexts,
    n_actions)) the kernels take; only ``tab`` is stored, so copies stay consistent.

    Parameters
    ----------
    n_contexts, n_actions : int
    rng : numpy.random.Generator
    tab : ndarray, shape (2, n_contexts, n_actions), optional
        The table to learn into (a controller's state); default a fresh one.
    """

    def __init__(self, n_contexts: int, n_actions: int, rng: np.random.Generator,
                 tab: np.ndarray | None = None):
        self.tab = np.ones((2, n_contexts, n_actions)) if tab is None else tab
        self.rng = rng

    @property
    def a(self) -> np.ndarray:
        """Posterior alphas, shape (n_contexts, n_actions) (a view of ``tab``)."""
        return self.tab[0]

    @property
    def b(self) -> np.ndarray:
        """Posterior betas, shape (n_contexts, n_actions) (a view of ``tab``)."""
        return self.tab[1]

    def choose(self, ctx: int, allowed: np.ndarray) -> int:
        """Sample theta ~ Beta for every action; return the best allowed one."""
        return int(LK.ts_choose(self.rng, self.a[ctx], self.b[ctx],
                                np.asarray(allowed, dtype=np.bool_)))

    def update(self, ctx: int, action: int, r01: float) -> None:
        """Bernoulli trial with probability ``r01`` in [0, 1] updates the posterior."""
        LK.ts_update(self.rng, self.tab, int(ctx), int(action), float(r01))


class EpsilonGreedy:
    """Epsilon-greedy over running mean rewards per (context, action).

    With probability epsilon_n a uniformly random allowed action is played, otherwise the
    allowed action with the highest running-mean reward (ties broken at random). Two
    exploration schedules:

    ``constant`` (default; the paper's RL-only baseline): epsilon_n = ``epsilon`` at every
    decision. It explores forever, so its expected regret grows linearly in the number of
    decisions.

    ``inverse_time``: the epsilon_n-greedy schedule of Auer, Cesa-Bianchi & Fischer,
    "Finite-time analysis of the multiarmed bandit problem", Machine Learning 47 (2002),
    235-256, Fig. 3 and Theorem 3, capped at ``epsilon``::

        epsilon_n = min(epsilon, c * K / (d**2 * n))

    - n (dimensionless, >= 1): 1 + the number of rewards observed so far in this context,
      i.e. the context's own decision count (each context is an independent bandit);
      decisions whose delayed feedback has not arrived yet do not count.
    - K (dimensionless): the number of actions allowed at this decision.
    - c > 0 (``epsilon_c``, dimensionless): exploration constant. Auer et al.'s Theorem 3
      bounds the probability of a suboptimal choice at play n >= c K / d by
      c / (d**2 n) + o(1/n) for c large enough (their example: c > 5; default 6), hence
      O(log n) regret.
    - d in (0, 1) (``epsilon_d``): a lower bound on the gap between the best and the second
      best action's mean reward, on the reward mapped to [0, 1]; here rewards are
      the paper's r in [-1, lambda], so a gap of Delta reward points is Delta / (lambda + 1)
      (``reward_to_unit``). The guarantee needs d <= the true gap; a larger d decays
      exploration faster than the theorem covers.
    - ``epsilon`` caps the schedule (``epsilon = 1`` is Auer et al.'s min(1, .) exactly;
      ``epsilon = 0.1`` starts at the paper's constant rate and decays once
      c K / (d**2 n) < 0.1). For epsilon > 0 the sum of epsilon_n diverges, so every action
      is tried infinitely often while exploration vanishes: greedy in the limit with
      infinite exploration (GLIE; Singh, Jaakkola, Littman & Szepesvari, "Convergence
      results for single-step on-policy reinforcement-learning algorithms", Machine
      Learning 38 (2000), 287-308).

    The schedule reads only the learned counts ``n`` (changed by ``update`` alone), so it
    persists across episodes like the rest of the learned state (``reset`` keeps it). Both
    schedules draw one uniform and then one choice per decision from ``rng``: a seed fixes
    the actions, and ``constant`` draws exactly what it drew before the option existed.

    Parameters
    ----------
    epsilon : float
        Exploration probability in [0, 1] (paper's RL-only: 0.1); the cap of
        ``inverse_time``.
    epsilon_schedule : {"constant", "inverse_time"}
        Exploration schedule (default ``constant``).
    epsilon_c : float
        Auer et al.'s c of ``inverse_time`` (> 0; ignored by ``constant``).
    epsilon_d : float
        Auer et al.'s d of ``inverse_time`` (in (0, 1); ignored by ``constant``).
    tab : ndarray, shape (2, n_contexts, n_actions), optional
        The table to learn into (a controller's state); default a fresh one.
    """

    SCHEDULES = LK.EPSILON_SCHEDULES

    def __init__(self, n_contexts: int, n_actions: int, epsilon: float,
                 rng: np.random.Generator, epsilon_schedule: str = "constant",
                 epsilon_c: float = 6.0, epsilon_d: float = 0.5,
                 tab: np.ndarray | None = None):
        check_exploration(check_number("epsilon", epsilon), epsilon_schedule,
                          check_number("epsilon_c", epsilon_c),
                          check_number("epsilon_d", epsilon_d))
        self.tab = np.zeros((2, n_contexts, n_actions)) if tab is None else tab
        self.epsilon = epsilon
        self.epsilon_schedule = epsilon_schedule
        self.epsilon_c = float(epsilon_c)
        self.epsilon_d = float(epsilon_d)
        self.rng = rng

    def epsilon_at(self, ctx: int, n_allowed: int) -> float:
        """Exploration probability of the next decision in ``ctx`` with ``n_allowed`` actions."""
        return float(LK.eg_epsilon(self.n[ctx], int(n_allowed), self.epsilon,
                                   self.schedule_code, self.epsilon_c, self.epsilon_d))

    @property
    def q(self) -> np.ndarray:
        """Running-mean rewards, shape (n_contexts, n_actions) (a view of ``tab``)."""
        return self.tab[0]

    @property
    def n(self) -> np.ndarray:
        """Reward counts, shape (n_contexts, n_actions) (a view of ``tab``)."""
        return self.tab[1]

    @property
    def schedule_code(self) -> int:
        """Kernel code of the schedule (position in ``SCHEDULES``)."""
        return self.SCHEDULES.index(self.epsilon_schedule)

    def choose(self, ctx: int, allowed: np.ndarray) -> int:
        """Random allowed action with probability epsilon_n, else the best (random ties)."""
        return int(LK.eg_choose(self.rng, self.tab, int(ctx), np.asarray(allowed, dtype=np.bool_),
                                self.epsilon, self.schedule_code, self.epsilon_c,
                                self.epsilon_d))

    def update(self, ctx: int, action: int, reward: float) -> None:
        """Incremental mean update."""
        LK.eg_update(self.tab, int(ctx), int(action), float(reward))


def check_exploration(epsilon: float, schedule: str, c: float, d: float) -> None:
    """Validate epsilon-greedy's exploration settings (:class:`EpsilonGreedy`).

    Raises
    ------
    ValueError
        Unless epsilon is in [0, 1], the schedule known, c finite and > 0, d in (0, 1).
    """
    require(0.0 <= epsilon <= 1.0, "epsilon", epsilon, "in [0, 1]")
    require(schedule in LK.EPSILON_SCHEDULES, "epsilon_schedule", schedule,
            f"one of {LK.EPSILON_SCHEDULES}")
    require(bool(np.isfinite(c)) and c > 0, "epsilon_c", c, "finite and > 0")
    require(0.0 < d < 1.0, "epsilon_d", d, "in (0, 1)")


@dataclass
class LearnerConfig(ControllerConfig):
    """Parameters every learning controller takes (base of their schemas).

    Attributes
    ----------
    lam : float
        Success bonus lambda of the reward -C(a) + lambda * success (paper: 10), > 0.
    n_actions : int
        Size of the action set the learner chooses from (4 paper, 8 extended).
    """

    lam: float = 10.0
    n_actions: int = 4

    def __post_init__(self):
        super().__post_init__()
        require(0.0 < self.lam < float("inf"), "lam", self.lam, "finite and > 0")
        require(self.n_actions in (4, 8), "n_actions", self.n_actions, "4 or 8")
