"""Tabular learners and the paper's cost-aware reward (Sec. 3.3), shared by rl/bandit/hybrid.

Reward r(a) = -C(a) + lambda * 1[success] (lambda = 10), delivered by the environment's
delayed ``feedback``. Thompson sampling uses the Bernoulli trick for bounded rewards
(Agrawal & Goyal, 2012): the reward is mapped to [0, 1] by (r + 1) / (lambda + 1) and a
Bernoulli draw with that probability updates the Beta posterior.
"""

from __future__ import annotations

import numpy as np

from controllers.base import Controller, Transition
from controllers.envelope import N_CONTEXTS, Observation, context_id
from simulator.layout import ACTION_NAMES


def paper_reward(paper_cost: float, success: bool, lam: float = 10.0) -> float:
    """R = -C(a) + lambda * 1[success] (paper Sec. 3.3)."""
    return -float(paper_cost) + lam * float(bool(success))


def reward_to_unit(reward: float, lam: float) -> float:
    """Map r in [-1, lambda] to [0, 1] by (r + 1) / (lambda + 1), clipped (Bernoulli trick)."""
    return min(1.0, max(0.0, (reward + 1.0) / (lam + 1.0)))


class BetaThompson:
    """Beta-Bernoulli Thompson sampling per (context, action), Beta(1, 1) priors.

    Parameters
    ----------
    n_contexts, n_actions : int
    rng : numpy.random.Generator
    """

    def __init__(self, n_contexts: int, n_actions: int, rng: np.random.Generator):
        self.a = np.ones((n_contexts, n_actions))
        self.b = np.ones((n_contexts, n_actions))
        self.rng = rng

    def choose(self, ctx: int, allowed: np.ndarray) -> int:
        """Sample theta ~ Beta for every action; return the best allowed one."""
        theta = self.rng.beta(self.a[ctx], self.b[ctx])
        theta = np.where(allowed, theta, -np.inf)
        return int(np.argmax(theta))

    def update(self, ctx: int, action: int, r01: float) -> None:
        """Bernoulli trial with probability ``r01`` in [0, 1] updates the posterior."""
        if self.rng.random() < r01:
            self.a[ctx, action] += 1.0
        else:
            self.b[ctx, action] += 1.0


class EpsilonGreedy:
    """Epsilon-greedy over running mean rewards per (context, action).

    Parameters
    ----------
    epsilon : float
        Exploration probability (paper's RL-only: 0.1).
    """

    def __init__(self, n_contexts: int, n_actions: int, epsilon: float,
                 rng: np.random.Generator):
        if not 0.0 <= epsilon <= 1.0:
            raise ValueError(f"epsilon must be in [0, 1], got {epsilon}")
        self.q = np.zeros((n_contexts, n_actions))
        self.n = np.zeros((n_contexts, n_actions))
        self.epsilon = epsilon
        self.rng = rng

    def choose(self, ctx: int, allowed: np.ndarray) -> int:
        """Random allowed action with probability epsilon, else the best (random ties)."""
        idx = np.flatnonzero(allowed)
        if self.rng.random() < self.epsilon:
            return int(self.rng.choice(idx))
        q = self.q[ctx, idx]
        best = idx[q == q.max()]
        return int(self.rng.choice(best))

    def update(self, ctx: int, action: int, reward: float) -> None:
        """Incremental mean update."""
        self.n[ctx, action] += 1.0
        self.q[ctx, action] += (reward - self.q[ctx, action]) / self.n[ctx, action]


class LearningController(Controller):
    """Base of the learning controllers.

    Remembers each decision's context and learns from the environment's delayed feedback (which
    arrives ``outcome_window`` minutes later).

    Parameters
    ----------
    lam : float
        Success bonus lambda of the reward (paper: 10).
    n_actions : int
        Size of the action set the learner chooses from (4 paper, 8 extended).
    """

    def __init__(self, seed: int = 0, cooldown: int = 30, alpha: float = 0.05,
                 lam: float = 10.0, n_actions: int = 4):
        super().__init__(seed=seed, cooldown=cooldown, alpha=alpha)
        if lam <= 0:
            raise ValueError(f"lam must be > 0, got {lam}")
        if n_actions not in (4, 8):
            raise ValueError(f"n_actions must be 4 or 8, got {n_actions}")
        self.lam = float(lam)
        self.n_actions = int(n_actions)
        self._ctx_of_decision: dict[int, int] = {}
        self.rewards: list[float] = []

    def reset(self, seed: int) -> None:
        """Clear per-episode state (pending decisions); learning is kept."""
        super().reset(seed)
        self._ctx_of_decision = {}

    def allowed(self, x: Observation, info: dict) -> np.ndarray:
        """Mask of actions the learner may choose (all, by default)."""
        n = min(self.n_actions, int(info.get("n_actions", self.n_actions)))
        mask = np.zeros(self.n_actions, dtype=bool)
        mask[:n] = True
        return mask

    def decide(self, x: Observation, info: dict) -> int:
        """Choose with the learner among the allowed actions; remember the context."""
        ctx = context_id(x)
        a = self.choose(ctx, self.allowed(x, info), x, info)
        self._ctx_of_decision[int(info.get("minute", 0)) + 1] = ctx
        return a

    def choose(self, ctx: int, allowed: np.ndarray, x: Observation, info: dict) -> int:
        """Pick an action (subclasses implement)."""
        raise NotImplementedError

    def update(self, transition: Transition) -> None:
        """Learn from every matured feedback item of this step."""
        for fb in transition.info.get("feedback", ()):
            ctx = self._ctx_of_decision.pop(int(fb["decision_minute"]), None)
            if ctx is None:
                continue
            a = ACTION_NAMES.index(fb["action"])
            r = paper_reward(fb["paper_cost"], fb["success"], self.lam)
            self.rewards.append(r)
            self.learn(ctx, a, r, fb)

    def learn(self, ctx: int, action: int, reward: float, fb: dict) -> None:
        """Update the learner (subclasses implement)."""
        raise NotImplementedError


N_CTX = N_CONTEXTS
