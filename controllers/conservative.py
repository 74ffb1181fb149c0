"""Conservative linear UCB: explore only while the rules baseline's performance is safe.

After Conservative UCB (Wu, Shariff, Lattimore & Szepesvari, ICML 2016) and its contextual
linear form CLUCB (Kazerouni, Ghavamzadeh, Abbasi-Yadkori & Van Roy, NeurIPS 2017). The
baseline policy is the ``rules`` controller's choice, :func:`controllers.kernels.expert_rules`.

At decision round t (context x_t, baseline action b_t) the optimistic action is LinUCB's
a_t = argmax_a UCB_a(x_t). If a_t = b_t it is played. Otherwise a_t is played only if the
pessimistic estimate of the cumulative reward *with* it stays at least (1 - alpha_c) times the
baseline's cumulative reward over the same rounds (CLUCB's condition)::

    sum_{s in B} r_s + sum_{s in S + {t}} LCB_{a_s}(x_s)
        >= (1 - alpha_c) * ( sum_{s in B} r_s + sum_{s in S + {t}} UCB_{b_s}(x_s) )

else b_t is played. B holds the past rounds that played the baseline, S those that played an
exploratory action a_s. Reward units are [0, 1] (the mapped paper reward); the bounds come
from the per-action ridge models with the *current* estimates,
LCB = max(0, mean - ucb_alpha * width), UCB = min(1, mean + ucb_alpha * width); ``no_op``'s
reward is known (LCB = UCB = its value, see :mod:`controllers.linear`).

The baseline's rewards are not known in advance here (CLUCB assumes them known):

- in a baseline round, r_s is the reward the env's feedback reports for it once that has
  arrived (``outcome_window`` minutes later); until then the round counts pessimistically,
  with LCB on the left and UCB on the right;
- in an exploratory round the baseline's reward is counterfactual and counts optimistically
  (UCB), as in Wu et al.'s treatment of an unknown baseline.

The left side sums per-round lower bounds, itself a lower bound of CLUCB's joint minimum over
the confidence set. alpha_c = 1 never constrains (plain LinUCB); alpha_c = 0 with wide bounds
never explores (plain rules). Rounds accumulate over the run (learning is kept across
episodes), so the guarantee is on the learner's lifetime, as in the papers.

The choice, the margin and the round arithmetic are the kernels ``cucb_*`` of
:mod:`controllers.linear_kernels`; ``act`` decides a round, ``update`` records it
(:func:`controllers.linear.record_round`) before learning, so learned state changes only in
``update``. The rounds live in preallocated arrays that :meth:`reserve` grows by doubling.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numba as nb
import numpy as np

from controllers import kernels as K
from controllers import linear_kernels as LinK
from controllers.base import require
from controllers.learner_kernels import allowed_actions, start_cooldown
from controllers.linear import LinearState, linear_decision, linear_reset, linear_update
from controllers.linucb import LinUCBConfig, LinUCBController
from controllers.protocol import Kernels
from simulator.layout import NO_OP

#: Initial capacity of the round arrays (doubled when full).
ROUNDS_CAPACITY = 64


@dataclass
class ConservativeUCBConfig(LinUCBConfig):
    """``conservative_ucb``'s parameters.

    Attributes
    ----------
    alpha_c : float
        Tolerated shortfall against the baseline, in [0, 1] (Wu et al.'s alpha): the
        cumulative reward must stay >= (1 - alpha_c) x the baseline's. ``ucb_alpha`` also
        sets the lower bounds.
    """

    _target_: str = "controllers.conservative.ConservativeUCBController"
    alpha_c: float = 0.1

    def __post_init__(self):
        super().__post_init__()
        require(0.0 <= self.alpha_c <= 1.0, "alpha_c", self.alpha_c, "in [0, 1]")


class ConservativeUCBParams(NamedTuple):
    """Kernel parameters of ``conservative_ucb``."""

    alpha: float
    cooldown: int
    lam: float
    ucb_alpha: float
    no_op_value: float
    alpha_c: float


@nb.njit(cache=True)
def act(state, params, obs, info, truth, rng):
    """At a decision epoch, LinUCB's action if the conservative condition holds, else the rules'.

    Tracks the fallback's age every minute (the rules' first rule needs it); the round
    decided is recorded by ``update``.
    """
    v = state.vars[0]
    fb_min = K.track_fallback(v, info)
    slot, dc = linear_decision(state, params, obs, info)
    if slot < 0:
        return NO_OP, 0.0
    err_limit, p99_limit, timeout_ms = K.slo_limits(info)
    base, _ = K.expert_rules(obs, dc, fb_min, timeout_ms, p99_limit, err_limit)
    a, base, cand, margin = LinK.cucb_choose(
        rng, state.chol, state.b, state.pend_x[slot], base,
        allowed_actions(state.b.shape[0], info), params.ucb_alpha, params.no_op_value,
        params.alpha_c, state.rx, state.rplayed, state.rbase, state.rreward,
        state.rounds[0].n_rounds)
    if cand != base:
        state.stats[0].last_margin = margin
    v.round_minute = info[0].minute + 1
    v.round_play = a
    v.round_base = base
    start_cooldown(state, params, info, a)
    return a, 0.0


class ConservativeUCBController(LinUCBController):
    """LinUCB that defers to the expert rules unless the conservative budget allows exploring.

    Attributes
    ----------
    n_rounds, n_explored : int
        Decision rounds recorded so far and those where an exploratory action was played.
    last_margin : float
        Left minus right side of the condition at the last round where LinUCB's action
        differed from the baseline's (:func:`controllers.linear_kernels.cucb_margin`).
    round_x, round_played, round_base, round_reward : ndarray
        The recorded rounds (views of the first ``n_rounds`` rows of the capacity arrays):
        context (n_rounds, N_LINEAR_FEATURES), action played and baseline action (int64),
        reward in [0, 1] (NaN until known).
    """

    name = "conservative_ucb"
    Config = ConservativeUCBConfig
    kernels = Kernels(ConservativeUCBParams, act=act, reset=linear_reset, update=linear_update)

    def new_state(self, config: ConservativeUCBConfig) -> LinearState:
        """One ridge prior per action and ``ROUNDS_CAPACITY`` empty rounds."""
        state = super().new_state(config)
        return self._grown(state, ROUNDS_CAPACITY)

    @staticmethod
    def _grown(state: LinearState, cap: int) -> LinearState:
        """``state`` with round arrays of capacity ``cap`` (rows copied)."""
        return state._replace(**dict(zip(
            ("rx", "rplayed", "rbase", "rreward"),
            LinK.cucb_grow(state.rx, state.rplayed, state.rbase, state.rreward, cap),
            strict=True)))

    def reserve(self, n_minutes: int) -> None:
        """Grow the round arrays (doubling) until ``n_minutes`` more rounds fit."""
        need = self.n_rounds + int(n_minutes)
        cap = self.state.rplayed.shape[0]
        if need > cap:
            while cap < need:
                cap = max(2 * cap, 1)
            self.state = self._grown(self.state, cap)

    def bounds(self, xs: np.ndarray, arms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """LCB and UCB in [0, 1] of ``arms[i]`` at features ``xs[i]``; shapes (k,).

        :func:`controllers.linear_kernels.cucb_bounds` row by row (xs: (k, d), arms: (k,)).
        """
        learner = self.learner
        xs = np.atleast_2d(learner._check(xs))
        arms = np.asarray(arms, dtype=np.int64).reshape(-1)
        if xs.ndim != 2 or arms.shape[0] != xs.shape[0]:
            raise ValueError(f"bounds needs one arm per context, got {arms.shape[0]} arms "
                             f"for contexts of shape {xs.shape}")
        lo, hi = np.empty(arms.shape[0]), np.empty(arms.shape[0])
        for i, a in enumerate(arms):
            lo[i], hi[i] = LinK.cucb_bounds(self.state.chol, self.state.b,
                                            learner._check_arm(a), xs[i], self.config.ucb_alpha,
                                            self.params.no_op_value)
        return lo, hi

    def margin(self, x: np.ndarray, cand: int, base: int) -> float:
        """Left minus right side of the conservative condition if ``cand`` is played now.

        :func:`controllers.linear_kernels.cucb_margin` on the recorded rounds (x: features
        of shape (d,)).
        """
        s, learner = self.state, self.learner
        return float(LinK.cucb_margin(s.chol, s.b, self.config.ucb_alpha,
                                      self.params.no_op_value, self.config.alpha_c, s.rx,
                                      s.rplayed, s.rbase, s.rreward, self.n_rounds,
                                      learner._check(x, ndim=1), learner._check_arm(cand),
                                      learner._check_arm(base)))

    @property
    def n_rounds(self) -> int:
        """Decision rounds recorded so far (over the whole run)."""
        return int(self.state.rounds[0]["n_rounds"])

    @property
    def n_explored(self) -> int:
        """Rounds that played LinUCB's action against the baseline's."""
        return int(self.state.rounds[0]["n_explored"])

    @property
    def last_margin(self) -> float:
        """The conservative condition's margin at the last round it was evaluated."""
        return float(self.state.stats[0]["last_margin"])

    @property
    def round_x(self) -> np.ndarray:
        """Contexts of the rounds, shape (n_rounds, N_LINEAR_FEATURES) (a view)."""
        return self.state.rx[: self.n_rounds]

    @property
    def round_played(self) -> np.ndarray:
        """Actions played in the rounds, shape (n_rounds,) (a view)."""
        return self.state.rplayed[: self.n_rounds]

    @property
    def round_base(self) -> np.ndarray:
        """Baseline actions of the rounds, shape (n_rounds,) (a view)."""
        return self.state.rbase[: self.n_rounds]

    @property
    def round_reward(self) -> np.ndarray:
        """Realised rewards in [0, 1] of the rounds, NaN until known, shape (n_rounds,)."""
        return self.state.rreward[: self.n_rounds]
