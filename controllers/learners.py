"""Tabular learners and the paper's cost-aware reward (Sec. 3.3), shared by rl/bandit/hybrid.

Reward r(a) = -C(a) + lambda * 1[success] (lambda = 10), delivered by the environment's
delayed ``feedback``. Thompson sampling uses the Bernoulli trick for bounded rewards
(Agrawal & Goyal, 2012): the reward is mapped to [0, 1] by (r + 1) / (lambda + 1) and a
Bernoulli draw with that probability updates the Beta posterior.
"""

from __future__ import annotations

import numpy as np

from controllers import learner_kernels as LK
from controllers import linear_kernels as LinK
from controllers.base import Controller, Transition, check_int, check_number
from controllers.envelope import N_CONTEXTS, Observation, context_id
from simulator.layout import ACTION_NAMES, NO_OP


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
    """

    def __init__(self, n_contexts: int, n_actions: int, rng: np.random.Generator):
        self.tab = np.ones((2, n_contexts, n_actions))
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
    """

    SCHEDULES = ("constant", "inverse_time")

    def __init__(self, n_contexts: int, n_actions: int, epsilon: float,
                 rng: np.random.Generator, epsilon_schedule: str = "constant",
                 epsilon_c: float = 6.0, epsilon_d: float = 0.5):
        epsilon = check_number("epsilon", epsilon)
        epsilon_c = check_number("epsilon_c", epsilon_c)
        epsilon_d = check_number("epsilon_d", epsilon_d)
        if not 0.0 <= epsilon <= 1.0:
            raise ValueError(f"epsilon must be in [0, 1], got {epsilon}")
        if epsilon_schedule not in self.SCHEDULES:
            raise ValueError(f"epsilon_schedule must be one of {self.SCHEDULES}, "
                             f"got {epsilon_schedule!r}")
        if not (np.isfinite(epsilon_c) and epsilon_c > 0):
            raise ValueError(f"epsilon_c must be finite and > 0, got {epsilon_c}")
        if not 0.0 < epsilon_d < 1.0:
            raise ValueError(f"epsilon_d must be in (0, 1), got {epsilon_d}")
        self.tab = np.zeros((2, n_contexts, n_actions))
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
        lam = check_number("lam", lam, finite=True)
        n_actions = check_int("n_actions", n_actions)
        if lam <= 0:
            raise ValueError(f"lam must be finite and > 0, got {lam}")
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

    def context(self, x: Observation):
        """Context the learner sees (the 16 discrete contexts; linear bandits use features)."""
        return context_id(x)

    def decide(self, x: Observation, info: dict) -> int:
        """Choose with the learner among the allowed actions; remember the context."""
        ctx = self.context(x)
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


# ----------------------------------------------------------------------------------------
# Linear contextual bandits on the full observation (LinUCB, linear Thompson sampling)
# ----------------------------------------------------------------------------------------
#: Features of the linear bandits: a bias and the 10 full observations, each scaled to O(1).
LINEAR_FEATURES = (
    "bias",  # 1
    "d",  # KS statistic, in [0, 1]
    "a",  # accuracy drop, in [0, 1]
    "rho",  # anomaly share, in [0, 1]
    "log1p_p99_per_300ms",  # log(1 + p99 / 300 ms): 1 ms -> 0.003, SLO -> 0.69, 1e5 ms -> 5.8
    "error_rate",  # in [0, 1]
    "log1p_utilisation",  # log(1 + load / capacity): 1 -> 0.69, 1e3 -> 6.9
    "log1p_traffic_per_100rps",  # log(1 + rps / 100): 1e7 rps -> 11.5
    "log1p_cost_usd_per_min",  # log(1 + dollars per minute): 1e7 -> 16.1
    "canary_share",  # in [0, 1]
    "validation_fail",  # in [0, 1]
)
N_LINEAR_FEATURES = LinK.N_LINEAR_FEATURES  # = len(LINEAR_FEATURES)
#: Every feature is clipped to [0, FEATURE_CAP] (only out-of-range inputs reach the cap).
FEATURE_CAP = LinK.FEATURE_CAP


def linear_features(x: Observation) -> np.ndarray:
    """Map an observation to the linear bandits' context, shape (N_LINEAR_FEATURES,).

    Shares and rates (d, a, rho, error rate, canary share, validation failures) are already
    in [0, 1] and kept as they are. The heavy-tailed quantities are compressed by
    log(1 + v / v0) with a typical scale v0 (p99: the 300 ms latency SLO; utilisation: 1;
    traffic: 100 requests/s; cost: 1 dollar/min), so that the env's largest values stay
    below 17. Every entry is then clipped to [0, ``FEATURE_CAP``]: negative, infinite or
    absurd inputs (1e8 and beyond) give bounded features. The kernel
    :func:`controllers.linear_kernels.linear_features` on the observation vector.
    """
    return LinK.linear_features(x.vector, np.empty(N_LINEAR_FEATURES))


class RidgeArms:
    """Disjoint ridge regressions, one per arm (Li et al. 2010, Alg. 1).

    For arm a: A_a = l2_lambda I + sum x x^T, b_a = sum r x, theta_a = A_a^{-1} b_a.
    The lower Cholesky factor L_a of A_a is kept by rank-one updates; predictions use
    triangular solves, never an explicit inverse: with w = L_a^{-1} x and u = L_a^{-1} b_a,
    theta_a . x = w . u and x^T A_a^{-1} x = |w|^2 (non-negative by construction). The ridge
    prior (l2_lambda > 0) keeps every diagonal entry of L_a >= sqrt(l2_lambda): an arm with 0
    or 1 observations, zero or collinear contexts and contexts of scale 1e8 all give finite
    predictions.

    The arithmetic is :mod:`controllers.linear_kernels`' (shared with compiled callers);
    this class validates the inputs and holds the state arrays the kernels take.

    Parameters
    ----------
    n_arms, n_features : int
    l2_lambda : float
        Ridge prior precision (mabwiser's ``l2_lambda``).

    Attributes
    ----------
    A : ndarray, shape (n_arms, n_features, n_features)
    b : ndarray, shape (n_arms, n_features)
    chol : ndarray, shape (n_arms, n_features, n_features)
        Lower Cholesky factors of ``A``.
    counts : ndarray, shape (n_arms,)
        Observations per arm.
    """

    def __init__(self, n_arms: int, n_features: int, l2_lambda: float = 1.0):
        l2_lambda = check_number("l2_lambda", l2_lambda, finite=True)
        if not l2_lambda > 0:
            raise ValueError(f"l2_lambda must be finite and > 0, got {l2_lambda}")
        self.l2_lambda = float(l2_lambda)
        self.n_features = int(n_features)
        self.A = np.empty((n_arms, n_features, n_features))
        self.b = np.empty((n_arms, n_features))
        self.chol = np.empty((n_arms, n_features, n_features))
        self.counts = np.empty(n_arms, dtype=np.int64)
        LinK.ridge_init(self.A, self.b, self.chol, self.counts, self.l2_lambda)

    @property
    def n_arms(self) -> int:
        """Number of arms."""
        return self.b.shape[0]

    def _check(self, x: np.ndarray, ndim: int | None = None) -> np.ndarray:
        x = np.ascontiguousarray(x, dtype=np.float64)
        if (x.shape[-1:] != (self.n_features,) or (ndim is not None and x.ndim != ndim)
                or not np.all(np.isfinite(x))):
            raise ValueError(
                f"contexts must be finite with {self.n_features} features, got shape "
                f"{x.shape} (finite: {bool(np.all(np.isfinite(x)))})"
            )
        return x

    def _check_arm(self, arm) -> int:
        if not 0 <= int(arm) < self.n_arms or int(arm) != arm:
            raise ValueError(f"arm must be an integer in [0, {self.n_arms}), got {arm!r}")
        return int(arm)

    def update(self, arm: int, x: np.ndarray, reward: float) -> None:
        """Add one observation (context ``x``, shape (n_features,), and ``reward``) to ``arm``."""
        arm = self._check_arm(arm)
        x = self._check(x, ndim=1)
        if not np.isfinite(reward):
            raise ValueError(f"reward must be finite, got {reward}")
        LinK.ridge_update(self.A, self.b, self.chol, self.counts, arm, x, float(reward))

    def theta(self) -> np.ndarray:
        """Ridge estimates theta_a = A_a^{-1} b_a, shape (n_arms, n_features)."""
        out = np.empty_like(self.b)
        for k in range(self.n_arms):
            LinK.ridge_theta(self.chol, self.b, k, out[k])
        return out

    def predict_arm(self, arm: int, xs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return mean theta_a . x and width sqrt(x^T A_a^{-1} x) of ``arm``.

        ``xs`` has shape (k, n_features) (or (n_features,)); both results have shape (k,).
        """
        arm = self._check_arm(arm)
        xs = np.atleast_2d(self._check(xs))
        if xs.ndim != 2:
            raise ValueError(f"contexts must have shape (k, {self.n_features}), got {xs.shape}")
        mean, width = np.empty(xs.shape[0]), np.empty(xs.shape[0])
        LinK.ridge_predict_many(self.chol, self.b, arm, xs, mean, width)
        return mean, width

    def predict(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean and width of every arm at one context ``x``; two arrays of shape (n_arms,)."""
        x = self._check(x, ndim=1)
        mean, width = np.empty(self.n_arms), np.empty(self.n_arms)
        LinK.ridge_predict_all(self.chol, self.b, x, mean, width)
        return mean, width


def _check_allowed(allowed: np.ndarray, n_arms: int) -> np.ndarray:
    """Return ``allowed`` as a bool array of shape (n_arms,) with at least one True."""
    allowed = np.ascontiguousarray(allowed, dtype=np.bool_)
    if allowed.shape != (n_arms,) or not allowed.any():
        raise ValueError(f"allowed must be a mask of shape ({n_arms},) with at least one "
                         f"True, got {allowed!r}")
    return allowed


class LinUCB(RidgeArms):
    """LinUCB with disjoint linear models (Li, Chu, Langford & Schapire, WWW 2010, Alg. 1).

    score_a(x) = theta_a . x + ucb_alpha sqrt(x^T A_a^{-1} x): mabwiser's
    ``LearningPolicy.LinUCB(alpha=ucb_alpha, l2_lambda=l2_lambda)`` computes the same.

    Parameters
    ----------
    ucb_alpha : float
        Width multiplier (exploration), >= 0.
    """

    def __init__(self, n_arms: int, n_features: int, ucb_alpha: float = 1.0,
                 l2_lambda: float = 1.0):
        super().__init__(n_arms, n_features, l2_lambda)
        ucb_alpha = check_number("ucb_alpha", ucb_alpha, finite=True)
        if not ucb_alpha >= 0:
            raise ValueError(f"ucb_alpha must be finite and >= 0, got {ucb_alpha}")
        self.ucb_alpha = float(ucb_alpha)

    def scores(self, x: np.ndarray) -> np.ndarray:
        """Upper confidence bounds of every arm at context ``x``, shape (n_arms,)."""
        out = np.empty(self.n_arms)
        LinK.linucb_scores(self.chol, self.b, self._check(x, ndim=1), self.ucb_alpha, out)
        return out

    def choose(self, x: np.ndarray, allowed: np.ndarray, no_op_value: float,
               rng: np.random.Generator) -> int:
        """Best allowed arm by :meth:`scores`, ``no_op``'s replaced by ``no_op_value``.

        Exact ties are broken by ``rng`` (:func:`controllers.linear_kernels.linucb_choose`).
        """
        return int(LinK.linucb_choose(rng, self.chol, self.b, self._check(x, ndim=1),
                                      self.ucb_alpha, float(no_op_value),
                                      _check_allowed(allowed, self.n_arms)))


class LinearThompson(RidgeArms):
    """Linear Thompson sampling (Agrawal & Goyal, ICML 2013), one model per arm.

    Draws theta~_a ~ N(theta_a, v^2 A_a^{-1}) and scores theta~_a . x. For one context that
    score is exactly N(theta_a . x, v^2 x^T A_a^{-1} x), which is what is drawn: one standard
    normal per arm, scaled by the width (no covariance factorisation beyond the Cholesky
    factor kept by :class:`RidgeArms`).

    Parameters
    ----------
    v : float
        Posterior scale (the paper's v; its theoretical value R sqrt(24 d ln(1/delta) / eps)
        is far too large in practice), >= 0.
    rng : numpy.random.Generator
    """

    def __init__(self, n_arms: int, n_features: int, v: float, l2_lambda: float,
                 rng: np.random.Generator):
        super().__init__(n_arms, n_features, l2_lambda)
        v = check_number("v", v, finite=True)
        if not v >= 0:
            raise ValueError(f"v must be finite and >= 0, got {v}")
        self.v = float(v)
        self.rng = rng

    def scores(self, x: np.ndarray) -> np.ndarray:
        """One posterior sample of every arm's expected reward at ``x``, shape (n_arms,)."""
        out = np.empty(self.n_arms)
        LinK.lints_scores(self.rng, self.chol, self.b, self._check(x, ndim=1), self.v, out)
        return out

    def choose(self, x: np.ndarray, allowed: np.ndarray, no_op_value: float,
               rng: np.random.Generator | None = None) -> int:
        """Best allowed arm of one posterior sample, ``no_op``'s replaced by ``no_op_value``.

        Draws from ``rng`` (default: the learner's own generator), ties broken by it too
        (:func:`controllers.linear_kernels.lints_choose`).
        """
        return int(LinK.lints_choose(self.rng if rng is None else rng, self.chol, self.b,
                                     self._check(x, ndim=1), self.v, float(no_op_value),
                                     _check_allowed(allowed, self.n_arms)))


def argmax_random_ties(scores: np.ndarray, allowed: np.ndarray, rng: np.random.Generator) -> int:
    """Index of the best allowed score; exact ties broken uniformly at random.

    :func:`controllers.linear_kernels.argmax_random_ties` (a draw of ``rng.integers(0, k)``,
    as ``rng.choice`` of the k tied indices, only on ties).
    """
    scores = np.ascontiguousarray(scores, dtype=np.float64)
    return int(LinK.argmax_random_ties(scores, _check_allowed(allowed, scores.shape[0]), rng))


class LinearBanditController(LearningController):
    """Base of the linear bandits: a disjoint-arm linear model per action on the full observation.

    Contexts are :func:`linear_features` (a bias and the scaled full observation). The reward
    is the paper's r = -C(a) + lambda * 1[success] from the env's delayed ``feedback``, mapped
    to [0, 1] by (r + 1) / (lambda + 1) (deterministically; no Bernoulli trick), the scale
    LinUCB's confidence widths assume.

    ``no_op`` is never assessed by the environment (its feedback compares actions *with*
    no_op), so no learner could learn its value; the linear bandits treat it as known:
    r(no_op) = ``no_op_reward`` (default 0 = -C(no_op) with no success credit). An action is
    therefore preferred to waiting when its estimated reward beats that, e.g. when its success
    probability exceeds C(a) / lambda.

    Decisions and updates are the kernels of :mod:`controllers.linear_kernels`.

    Parameters
    ----------
    l2_lambda : float
        Ridge prior precision of every arm's model.
    no_op_reward : float
        Known paper reward of ``no_op`` at a decision epoch, in [-1, lambda].
    """

    deployment = "direct"

    def __init__(self, seed: int = 0, cooldown: int = 30, alpha: float = 0.05,
                 lam: float = 10.0, n_actions: int = 4, l2_lambda: float = 1.0,
                 no_op_reward: float = 0.0):
        super().__init__(seed=seed, cooldown=cooldown, alpha=alpha, lam=lam,
                         n_actions=n_actions)
        no_op_reward = check_number("no_op_reward", no_op_reward, finite=True)
        if not -1.0 <= no_op_reward <= self.lam:
            raise ValueError(f"no_op_reward must be in [-1, lam = {self.lam}], "
                             f"got {no_op_reward}")
        self.l2_lambda = check_number("l2_lambda", l2_lambda, finite=True)
        self.no_op_reward = float(no_op_reward)
        self.no_op_value = reward_to_unit(no_op_reward, self.lam)
        self.learner: LinUCB | LinearThompson = self.make_learner()

    def make_learner(self) -> LinUCB | LinearThompson:
        """Build the per-arm model (subclasses implement)."""
        raise NotImplementedError

    def context(self, x: Observation) -> np.ndarray:
        """Return the scaled full observation with a bias (:func:`linear_features`)."""
        return linear_features(x)

    def scores(self, ctx: np.ndarray) -> np.ndarray:
        """Scores of every action at ``ctx``; no_op's is its known value."""
        sc = self.learner.scores(ctx)
        sc[NO_OP] = self.no_op_value
        return sc

    def choose(self, ctx, allowed, x, info) -> int:
        """Best-scoring allowed action (random among exact ties)."""
        return self.learner.choose(ctx, allowed, self.no_op_value, self.rng)

    def learn(self, ctx, action, reward, fb) -> None:
        """Ridge update of the action's model with the reward mapped to [0, 1].

        :func:`controllers.linear_kernels.linear_learn` (no_op's value is known, not learned).
        """
        ctx, action = self._check_learn(ctx, action, reward)
        L_ = self.learner
        LinK.linear_learn(L_.A, L_.b, L_.chol, L_.counts, action, ctx, float(reward), self.lam)

    def _check_learn(self, ctx, action, reward) -> tuple[np.ndarray, int]:
        """Validate one feedback item (context, action index, finite reward)."""
        if not np.isfinite(reward):
            raise ValueError(f"reward must be finite, got {reward}")
        return self.learner._check(ctx, ndim=1), self.learner._check_arm(action)
