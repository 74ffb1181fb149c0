"""Tabular learners and the paper's cost-aware reward (Sec. 3.3), shared by rl/bandit/hybrid.

Reward r(a) = -C(a) + lambda * 1[success] (lambda = 10), delivered by the environment's
delayed ``feedback``. Thompson sampling uses the Bernoulli trick for bounded rewards
(Agrawal & Goyal, 2012): the reward is mapped to [0, 1] by (r + 1) / (lambda + 1) and a
Bernoulli draw with that probability updates the Beta posterior.
"""

from __future__ import annotations

import numpy as np

from controllers import learner_kernels as LK
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
        lam = check_number("lam", lam)
        n_actions = check_int("n_actions", n_actions)
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
N_LINEAR_FEATURES = len(LINEAR_FEATURES)
#: Every feature is clipped to [0, FEATURE_CAP] (only out-of-range inputs reach the cap).
FEATURE_CAP = 20.0


def linear_features(x: Observation) -> np.ndarray:
    """Map an observation to the linear bandits' context, shape (N_LINEAR_FEATURES,).

    Shares and rates (d, a, rho, error rate, canary share, validation failures) are already
    in [0, 1] and kept as they are. The heavy-tailed quantities are compressed by
    log(1 + v / v0) with a typical scale v0 (p99: the 300 ms latency SLO; utilisation: 1;
    traffic: 100 requests/s; cost: 1 dollar/min), so that the env's largest values stay
    below 17. Every entry is then clipped to [0, ``FEATURE_CAP``]: negative, infinite or
    absurd inputs (1e8 and beyond) give bounded features.
    """
    raw = np.array([
        1.0,
        x.d,
        x.a,
        x.rho,
        np.log1p(max(x.p99_ms, 0.0) / 300.0),
        x.error_rate,
        np.log1p(max(x.utilisation, 0.0)),
        np.log1p(max(x.traffic_rps, 0.0) / 100.0),
        np.log1p(max(x.cost_usd_per_min, 0.0)),
        x.canary_share,
        x.validation_fail,
    ], dtype=np.float64)
    return np.clip(np.nan_to_num(raw, nan=0.0, posinf=FEATURE_CAP), 0.0, FEATURE_CAP)


def _cholesky_rank_one_update(chol: np.ndarray, x: np.ndarray) -> None:
    """Replace the lower factor ``chol`` of A by that of A + x x^T, in place.

    Givens rotations of [chol | x] (LINPACK ``dchud``): cosines and sines stay in [-1, 1],
    and each diagonal entry becomes hypot(old, x_k) >= old, so the factor stays nonsingular.
    ``x`` is overwritten.
    """
    n = x.shape[0]
    for k in range(n):
        if x[k] == 0.0:  # nothing to rotate into this column
            continue
        lkk = chol[k, k]
        r = float(np.hypot(lkk, x[k]))
        c, s = lkk / r, x[k] / r
        chol[k, k] = r
        col = chol[k + 1 :, k].copy()
        chol[k + 1 :, k] = c * col + s * x[k + 1 :]
        x[k + 1 :] = c * x[k + 1 :] - s * col


def _forward_substitution(chol: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """Solve ``chol @ out = rhs`` for lower-triangular ``chol`` (d, d); ``rhs`` (d,) or (d, k).

    A row loop vectorised over right-hand sides: for d ~ 10 this is faster than LAPACK's
    ``trtrs`` call overhead and independent of BLAS threading.
    """
    out = np.empty(rhs.shape)
    for i in range(chol.shape[0]):
        out[i] = (rhs[i] - chol[i, :i] @ out[:i]) / chol[i, i]
    return out


def _back_substitution(chol: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """Solve ``chol.T @ out = rhs`` for lower-triangular ``chol`` (d, d); ``rhs`` (d,)."""
    d = chol.shape[0]
    out = np.empty(rhs.shape)
    for i in range(d - 1, -1, -1):
        out[i] = (rhs[i] - chol[i + 1 :, i] @ out[i + 1 :]) / chol[i, i]
    return out


class RidgeArms:
    """Disjoint ridge regressions, one per arm (Li et al. 2010, Alg. 1).

    For arm a: A_a = l2_lambda I + sum x x^T, b_a = sum r x, theta_a = A_a^{-1} b_a.
    The lower Cholesky factor L_a of A_a is kept by rank-one updates; predictions use
    triangular solves, never an explicit inverse: with w = L_a^{-1} x and u = L_a^{-1} b_a,
    theta_a . x = w . u and x^T A_a^{-1} x = |w|^2 (non-negative by construction). The ridge
    prior (l2_lambda > 0) keeps every diagonal entry of L_a >= sqrt(l2_lambda): an arm with 0
    or 1 observations, zero or collinear contexts and contexts of scale 1e8 all give finite
    predictions.

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
        if not (np.isfinite(l2_lambda) and l2_lambda > 0):
            raise ValueError(f"l2_lambda must be finite and > 0, got {l2_lambda}")
        eye = np.eye(n_features)
        self.l2_lambda = float(l2_lambda)
        self.n_features = int(n_features)
        self.A = np.tile(self.l2_lambda * eye, (n_arms, 1, 1))
        self.b = np.zeros((n_arms, n_features))
        self.chol = np.tile(np.sqrt(self.l2_lambda) * eye, (n_arms, 1, 1))
        self.counts = np.zeros(n_arms, dtype=np.int64)

    def _check(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        if x.shape[-1] != self.n_features or not np.all(np.isfinite(x)):
            raise ValueError(
                f"contexts must be finite with {self.n_features} features, got shape "
                f"{x.shape} (finite: {bool(np.all(np.isfinite(x)))})"
            )
        return x

    def update(self, arm: int, x: np.ndarray, reward: float) -> None:
        """Add one observation (context ``x``, shape (n_features,), and ``reward``) to ``arm``."""
        x = self._check(x)
        if not np.isfinite(reward):
            raise ValueError(f"reward must be finite, got {reward}")
        self.A[arm] += np.outer(x, x)
        self.b[arm] += reward * x
        _cholesky_rank_one_update(self.chol[arm], x.copy())
        self.counts[arm] += 1

    def theta(self) -> np.ndarray:
        """Ridge estimates theta_a = A_a^{-1} b_a, shape (n_arms, n_features)."""
        out = np.empty_like(self.b)
        for k in range(self.b.shape[0]):
            out[k] = _back_substitution(self.chol[k], _forward_substitution(self.chol[k],
                                                                             self.b[k]))
        return out

    def predict_arm(self, arm: int, xs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return mean theta_a . x and width sqrt(x^T A_a^{-1} x) of ``arm``.

        ``xs`` has shape (k, n_features) (or (n_features,)); both results have shape (k,).
        """
        xs = np.atleast_2d(self._check(xs))
        L = self.chol[arm]
        w = _forward_substitution(L, xs.T)  # (n_features, k)
        u = _forward_substitution(L, self.b[arm])
        return u @ w, np.sqrt(np.einsum("ij,ij->j", w, w))

    def predict(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean and width of every arm at one context ``x``; two arrays of shape (n_arms,)."""
        n = self.b.shape[0]
        mean, width = np.empty(n), np.empty(n)
        for k in range(n):
            m, w = self.predict_arm(k, x)
            mean[k], width[k] = m[0], w[0]
        return mean, width


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
        if not (np.isfinite(ucb_alpha) and ucb_alpha >= 0):
            raise ValueError(f"ucb_alpha must be finite and >= 0, got {ucb_alpha}")
        self.ucb_alpha = float(ucb_alpha)

    def scores(self, x: np.ndarray) -> np.ndarray:
        """Upper confidence bounds of every arm at context ``x``, shape (n_arms,)."""
        mean, width = self.predict(x)
        return mean + self.ucb_alpha * width


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
        if not (np.isfinite(v) and v >= 0):
            raise ValueError(f"v must be finite and >= 0, got {v}")
        self.v = float(v)
        self.rng = rng

    def scores(self, x: np.ndarray) -> np.ndarray:
        """One posterior sample of every arm's expected reward at ``x``, shape (n_arms,)."""
        mean, width = self.predict(x)
        return mean + self.v * width * self.rng.standard_normal(mean.shape[0])


def argmax_random_ties(scores: np.ndarray, allowed: np.ndarray, rng: np.random.Generator) -> int:
    """Index of the best allowed score; exact ties broken uniformly at random."""
    idx = np.flatnonzero(allowed)
    v = scores[idx]
    best = idx[v == v.max()]
    return int(best[0]) if best.shape[0] == 1 else int(rng.choice(best))


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
        if not -1.0 <= no_op_reward <= lam:
            raise ValueError(f"no_op_reward must be in [-1, lam], got {no_op_reward}")
        self.l2_lambda = float(l2_lambda)
        self.no_op_value = reward_to_unit(no_op_reward, self.lam)
        self.learner: RidgeArms = self.make_learner()

    def make_learner(self) -> RidgeArms:
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
        return argmax_random_ties(self.scores(ctx), allowed, self.rng)

    def learn(self, ctx, action, reward, fb) -> None:
        """Ridge update of the action's model with the reward mapped to [0, 1]."""
        if action != NO_OP:
            self.learner.update(action, ctx, reward_to_unit(reward, self.lam))
