"""Linear contextual bandits on the full observation (LinUCB, linear TS, conservative UCB).

The learners (:class:`RidgeArms`, :class:`LinUCB`, :class:`LinearThompson`), the
controllers' shared parameter schema (:class:`LinearConfig`), state record
(:class:`LinearState`) and kernels (decision epochs, the reward of each matured decision,
conservative UCB's rounds). The arithmetic is :mod:`controllers.linear_kernels`'.

The reward is the paper's r = -C(a) + lambda * 1[success] from the env's delayed
``feedback``, mapped to [0, 1] by (r + 1) / (lambda + 1) (deterministically; no Bernoulli
trick), the scale LinUCB's confidence widths assume. ``no_op`` is never assessed by the
environment (its feedback compares actions *with* no_op), so no learner could learn its
value; the linear bandits treat it as known: r(no_op) = ``no_op_reward`` (default 0 =
-C(no_op) with no success credit). An action is therefore preferred to waiting when its
estimated reward beats that, e.g. when its success probability exceeds C(a) / lambda.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numba as nb
import numpy as np

from controllers import linear_kernels as LinK
from controllers.base import check_number, require
from controllers.envelope import Observation
from controllers.kernels import alarm, slo_limits
from controllers.learner_kernels import (
    PENDING_SLOTS,
    allowed_actions,
    feedback_reward,
    reward_to_unit,
    start_cooldown,
)
from controllers.learners import LearnerConfig
from controllers.protocol import d_crit
from simulator.layout import NO_OP
from simulator.records import new_records

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
    arrays : tuple of ndarray, optional
        ``(A, b, chol, counts)`` to use as they are (a controller's state); default the
        prior.

    Attributes
    ----------
    A : ndarray, shape (n_arms, n_features, n_features)
    b : ndarray, shape (n_arms, n_features)
    chol : ndarray, shape (n_arms, n_features, n_features)
        Lower Cholesky factors of ``A``.
    counts : ndarray, shape (n_arms,)
        Observations per arm.
    """

    def __init__(self, n_arms: int, n_features: int, l2_lambda: float = 1.0,
                 arrays: tuple | None = None):
        l2_lambda = check_number("l2_lambda", l2_lambda, finite=True)
        require(l2_lambda > 0, "l2_lambda", l2_lambda, "finite and > 0")
        self.l2_lambda = float(l2_lambda)
        self.n_features = int(n_features)
        if arrays is not None:  # a controller's learned state, shared
            self.A, self.b, self.chol, self.counts = arrays
            return
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
                 l2_lambda: float = 1.0, arrays: tuple | None = None):
        super().__init__(n_arms, n_features, l2_lambda, arrays)
        ucb_alpha = check_number("ucb_alpha", ucb_alpha, finite=True)
        require(ucb_alpha >= 0, "ucb_alpha", ucb_alpha, "finite and >= 0")
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
                 rng: np.random.Generator, arrays: tuple | None = None):
        super().__init__(n_arms, n_features, l2_lambda, arrays)
        v = check_number("v", v, finite=True)
        require(v >= 0, "v", v, "finite and >= 0")
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


@dataclass
class LinearConfig(LearnerConfig):
    """Parameters of every linear bandit (base of their schemas).

    Attributes
    ----------
    l2_lambda : float
        Ridge prior precision of every arm's model, finite and > 0.
    no_op_reward : float
        Known paper reward of ``no_op`` at a decision epoch, in [-1, lam].
    """

    l2_lambda: float = 1.0
    no_op_reward: float = 0.0

    def __post_init__(self):
        super().__post_init__()
        require(0.0 < self.l2_lambda < float("inf"), "l2_lambda", self.l2_lambda,
                "finite and > 0")
        require(-1.0 <= self.no_op_reward <= self.lam, "no_op_reward", self.no_op_reward,
                f"in [-1, lam = {self.lam}]")

    @property
    def no_op_value(self) -> float:
        """``no_op_reward`` mapped to [0, 1]."""
        return reward_to_unit(self.no_op_reward, self.lam)


#: Per-episode scalars: the cooldown clock, the fallback stretch (conservative UCB's rules
#: baseline), and the round decided by ``act`` that ``update`` records (minute -1: none).
VARS = np.dtype([("quiet_until", np.int64), ("fb_since", np.int64),
                 ("round_minute", np.int64), ("round_play", np.int64),
                 ("round_base", np.int64)], align=True)
#: Learned counters of conservative UCB's rounds.
ROUNDS = np.dtype([("n_rounds", np.int64), ("n_explored", np.int64)], align=True)
#: Run statistics (never reset, never read by a decision): conservative UCB's margin at the
#: last round where LinUCB's action differed from the baseline's.
STATS = np.dtype([("last_margin", np.float64)], align=True)


class LinearState(NamedTuple):
    """State of a linear bandit (``d = N_LINEAR_FEATURES``, ``cap`` rounds of capacity).

    Attributes
    ----------
    A, b, chol, counts : ndarray
        Learned: the ridge models (:mod:`controllers.linear_kernels`).
    rx, rplayed, rbase, rreward : ndarray, shapes (cap, d), (cap,), (cap,), (cap,)
        Learned: conservative UCB's rounds (capacity 0 for the others).
    rounds : ndarray of ROUNDS, shape (1,)
        Learned: rounds recorded and rounds that explored.
    stats : ndarray of STATS, shape (1,)
        Run statistics.
    vars, init : ndarray of VARS, shape (1,)
        Per episode; ``init`` their values at an episode's start.
    pend_key : ndarray of int64, shape (PENDING_SLOTS,)
        Per episode: the minute of each pending decision, in slot ``minute %
        PENDING_SLOTS`` (-1: empty).
    pend_x : ndarray, shape (PENDING_SLOTS, d)
        Per episode: each pending decision's features.
    pend_round : ndarray of int64, shape (PENDING_SLOTS,)
        Per episode: each pending decision's round awaiting its reward (-1: none).
    """

    A: np.ndarray
    b: np.ndarray
    chol: np.ndarray
    counts: np.ndarray
    rx: np.ndarray
    rplayed: np.ndarray
    rbase: np.ndarray
    rreward: np.ndarray
    rounds: np.ndarray
    stats: np.ndarray
    vars: np.ndarray
    init: np.ndarray
    pend_key: np.ndarray
    pend_x: np.ndarray
    pend_round: np.ndarray
    EPISODE = ("vars", "pend_key", "pend_x", "pend_round")
    RUN_STATS = ("stats",)


def new_linear_state(n_actions: int, l2_lambda: float, capacity: int = 0) -> LinearState:
    """Return the ridge prior, ``capacity`` empty rounds, and a cleared episode."""
    d = N_LINEAR_FEATURES
    arms = RidgeArms(n_actions, d, l2_lambda)
    rounds = LinK.cucb_grow(np.zeros((0, d)), np.zeros(0, dtype=np.int64),
                            np.zeros(0, dtype=np.int64), np.zeros(0), capacity)
    stats = new_records(STATS)
    stats[0]["last_margin"] = np.nan
    init = new_records(VARS)
    for key in ("quiet_until", "fb_since", "round_minute"):
        init[0][key] = -1
    state = LinearState(arms.A, arms.b, arms.chol, arms.counts, *rounds,
                        new_records(ROUNDS), stats, init.copy(), init,
                        np.zeros(PENDING_SLOTS, dtype=np.int64),
                        np.zeros((PENDING_SLOTS, d)), np.zeros(PENDING_SLOTS, dtype=np.int64))
    linear_reset(state, None)
    return state


@nb.njit(cache=True)
def linear_reset(state, params):
    """Start an episode: no cooldown, fallback stretch, pending round or decision."""
    state.vars[:] = state.init
    state.pend_key[:] = -1
    state.pend_x[:] = 0.0
    state.pend_round[:] = 0


@nb.njit(cache=True)
def linear_decision(state, params, obs, info):
    """Return (slot, d_crit): at a decision epoch the slot holding the features, else -1.

    A decision epoch is a minute out of cooldown with an alarm; the decision is remembered
    under ``minute + 1`` (the step that plays it), its features
    (:func:`controllers.linear_kernels.linear_features`) in ``pend_x[slot]``.
    """
    dc = d_crit(params, info)
    minute = info[0].minute
    err_limit, p99_limit, _ = slo_limits(info)
    if minute < state.vars[0].quiet_until or not alarm(obs, dc, err_limit, p99_limit):
        return -1, dc
    k = (minute + 1) % state.pend_key.shape[0]
    LinK.linear_features(obs, state.pend_x[k])
    state.pend_key[k] = minute + 1
    state.pend_round[k] = -1
    return k, dc


@nb.njit(cache=True)
def linear_act(state, params, obs, info, rng, thompson, scale):
    """``act`` of LinUCB (``thompson`` False, ``scale`` = ucb_alpha) or linear TS (True, v).

    At a decision epoch, the allowed action with the best score
    (:func:`controllers.linear_kernels.linucb_choose` or ``lints_choose``), ``no_op``
    scored by its known value ``params.no_op_value``.
    """
    slot, _ = linear_decision(state, params, obs, info)
    if slot < 0:
        return NO_OP, 0.0
    allowed = allowed_actions(state.b.shape[0], info)
    x = state.pend_x[slot]
    if thompson:
        a = LinK.lints_choose(rng, state.chol, state.b, x, scale, params.no_op_value, allowed)
    else:
        a = LinK.linucb_choose(rng, state.chol, state.b, x, scale, params.no_op_value, allowed)
    start_cooldown(state, params, info, a)
    return a, 0.0


@nb.njit(cache=True)
def record_round(state, params):
    """Record the round ``act`` decided (conservative UCB), if any; count it.

    Raises
    ------
    IndexError
        If the round arrays are full (``ConservativeUCBController.reserve`` grows them).
    """
    v = state.vars[0]
    if v.round_minute < 0:
        return
    k = state.rounds[0].n_rounds
    if k >= state.rplayed.shape[0]:
        raise IndexError("conservative UCB's round arrays are full: reserve() first")
    slot = v.round_minute % state.pend_key.shape[0]
    if LinK.cucb_record(state.rx, state.rplayed, state.rbase, state.rreward, k,
                        state.pend_x[slot], v.round_play, v.round_base, params.no_op_value):
        state.pend_round[slot] = k  # its reward awaits the decision's feedback
    state.rounds[0].n_rounds = k + 1
    state.rounds[0].n_explored += 1 if v.round_play != v.round_base else 0
    v.round_minute = -1


@nb.njit(cache=True)
def linear_update(state, params, feedback, rng, rewards):
    """Record a pending round, then learn every matured decision of this episode, in order.

    Each reward updates the action's ridge model with (r + 1) / (lambda + 1) (``no_op``'s
    value is known, not learned) and settles the decision's round, if it has one
    (:func:`controllers.linear_kernels.cucb_learn`). Returns the number of rewards written
    to ``rewards``.
    """
    record_round(state, params)
    n = 0
    for j in range(feedback.shape[0]):
        fb = feedback[j]
        slot = fb.decision_minute % state.pend_key.shape[0]
        if state.pend_key[slot] != fb.decision_minute:
            continue
        state.pend_key[slot] = -1
        r = feedback_reward(params, fb)
        rewards[n] = r
        n += 1
        LinK.cucb_learn(state.A, state.b, state.chol, state.counts, fb.action,
                        state.pend_x[slot], r, params.lam, state.rreward,
                        state.pend_round[slot])
    return n
