"""Conservative linear UCB: explore only while the rules baseline's performance is safe.

After Conservative UCB (Wu, Shariff, Lattimore & Szepesvari, ICML 2016) and its contextual
linear form CLUCB (Kazerouni, Ghavamzadeh, Abbasi-Yadkori & Van Roy, NeurIPS 2017). The
baseline policy is the ``rules`` controller's choice, :func:`controllers.rules.expert_rules`.

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
reward is known (LCB = UCB = its value, see
:class:`~controllers.learners.LinearBanditController`).

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

The choice, the margin, the round bookkeeping and the learning are the kernels
``cucb_*`` of :mod:`controllers.linear_kernels` (shared with compiled callers); the rounds
live in preallocated arrays that grow by doubling.
"""

from __future__ import annotations

import numpy as np

from controllers import linear_kernels as LinK
from controllers.base import check_number
from controllers.learners import N_LINEAR_FEATURES, _check_allowed
from controllers.linucb import LinUCBController
from controllers.rules import expert_rules

#: Initial capacity of the round arrays (doubled when full).
ROUNDS_CAPACITY = 64


class ConservativeUCBController(LinUCBController):
    """LinUCB that defers to the expert rules unless the conservative budget allows exploring.

    Parameters
    ----------
    alpha_c : float
        Tolerated shortfall against the baseline, in [0, 1] (Wu et al.'s alpha): the
        cumulative reward must stay >= (1 - alpha_c) x the baseline's.
    ucb_alpha, l2_lambda, no_op_reward : float
        As for :class:`~controllers.linucb.LinUCBController`; ``ucb_alpha`` also sets the
        lower bounds.

    Attributes
    ----------
    n_rounds, n_explored : int
        Decision rounds so far and those where an exploratory action was played.
    last_margin : float
        Left minus right side of the condition at the last round where a_t != b_t
        (:meth:`margin`).
    round_x, round_played, round_base, round_reward : ndarray
        The recorded rounds (views of the first ``n_rounds`` rows of the capacity arrays;
        see :mod:`controllers.linear_kernels`): context (n_rounds, N_LINEAR_FEATURES),
        action played and baseline action (int64), reward in [0, 1] (NaN until known).
    """

    name = "conservative_ucb"

    def __init__(self, seed: int = 0, cooldown: int = 30, alpha: float = 0.05,
                 lam: float = 10.0, n_actions: int = 4, alpha_c: float = 0.1,
                 ucb_alpha: float = 0.5, l2_lambda: float = 1.0, no_op_reward: float = 0.0):
        super().__init__(seed=seed, cooldown=cooldown, alpha=alpha, lam=lam,
                         n_actions=n_actions, ucb_alpha=ucb_alpha, l2_lambda=l2_lambda,
                         no_op_reward=no_op_reward)
        alpha_c = check_number("alpha_c", alpha_c, finite=True)
        if not 0.0 <= alpha_c <= 1.0:
            raise ValueError(f"alpha_c must be in [0, 1], got {alpha_c}")
        self.alpha_c = float(alpha_c)
        self._fb_since = -1
        self._rx, self._rplayed, self._rbase, self._rreward = LinK.cucb_grow(
            np.zeros((0, N_LINEAR_FEATURES)), np.zeros(0, dtype=np.int64),
            np.zeros(0, dtype=np.int64), np.zeros(0), ROUNDS_CAPACITY)
        self._n_rounds = 0
        self._round_of_decision: dict[int, int] = {}  # decision minute -> round (episode)
        self._pending_round: tuple | None = None  # decided by act(), recorded by update()
        self.n_explored = 0
        self.last_margin = float("nan")

    @property
    def n_rounds(self) -> int:
        """Decision rounds so far (over the whole run)."""
        return self._n_rounds

    @property
    def round_x(self) -> np.ndarray:
        """Contexts of the rounds, shape (n_rounds, N_LINEAR_FEATURES) (a view)."""
        return self._rx[: self._n_rounds]

    @property
    def round_played(self) -> np.ndarray:
        """Actions played in the rounds, shape (n_rounds,) (a view)."""
        return self._rplayed[: self._n_rounds]

    @property
    def round_base(self) -> np.ndarray:
        """Baseline actions of the rounds, shape (n_rounds,) (a view)."""
        return self._rbase[: self._n_rounds]

    @property
    def round_reward(self) -> np.ndarray:
        """Realised rewards in [0, 1] of the rounds, NaN until known, shape (n_rounds,)."""
        return self._rreward[: self._n_rounds]

    def reset(self, seed: int) -> None:
        """Clear per-episode state (fallback clock, pending decisions); rounds are kept."""
        super().reset(seed)
        self._fb_since = -1
        self._round_of_decision = {}
        self._pending_round = None

    def act(self, observation, info) -> int:
        """Track fallback time (the rules' rule 0 needs it), then act at decision epochs."""
        minute = int(info.get("minute", 0))
        if info.get("fallback_active"):
            if self._fb_since < 0:
                self._fb_since = minute
        else:
            self._fb_since = -1
        return super().act(observation, info)

    def bounds(self, xs: np.ndarray, arms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """LCB and UCB in [0, 1] of ``arms[i]`` at context ``xs[i]``; shapes (k,).

        :func:`controllers.linear_kernels.cucb_bounds` row by row.
        """
        xs = np.atleast_2d(self.learner._check(xs))
        arms = np.asarray(arms, dtype=np.int64).reshape(-1)
        if xs.ndim != 2 or arms.shape[0] != xs.shape[0]:
            raise ValueError(f"bounds needs one arm per context, got {arms.shape[0]} arms "
                             f"for contexts of shape {xs.shape}")
        lo, hi = np.empty(arms.shape[0]), np.empty(arms.shape[0])
        for i, a in enumerate(arms):
            lo[i], hi[i] = LinK.cucb_bounds(self.learner.chol, self.learner.b,
                                            self.learner._check_arm(a), xs[i],
                                            self.ucb_alpha, self.no_op_value)
        return lo, hi

    def baseline(self, x, info) -> int:
        """Return the rules controller's action at this decision epoch."""
        fb_min = int(info.get("minute", 0)) - self._fb_since if self._fb_since >= 0 else 0
        return expert_rules(x, fb_min)[0]

    def choose(self, ctx, allowed, x, info) -> int:
        """LinUCB's action if the conservative condition holds, else the baseline's.

        :func:`controllers.linear_kernels.cucb_choose`.
        """
        L_ = self.learner
        ctx = L_._check(ctx, ndim=1)
        play, base, cand, margin = LinK.cucb_choose(
            self.rng, L_.chol, L_.b, ctx, L_._check_arm(self.baseline(x, info)),
            _check_allowed(allowed, L_.n_arms), self.ucb_alpha, self.no_op_value,
            self.alpha_c, self._rx, self._rplayed, self._rbase, self._rreward, self._n_rounds)
        if cand != base:
            self.last_margin = float(margin)
        # Recorded by update(): act() changes per-episode state only (the conformance contract).
        self._pending_round = (ctx, int(play), int(base), int(info.get("minute", 0)) + 1)
        return int(play)

    def _record_round(self, ctx: np.ndarray, play: int, base: int) -> tuple[int, bool]:
        """Append a round; return its index and whether its reward awaits feedback.

        :func:`controllers.linear_kernels.cucb_record`, after growing the arrays if full.
        """
        k = self._n_rounds
        if k == self._rplayed.shape[0]:
            self._rx, self._rplayed, self._rbase, self._rreward = LinK.cucb_grow(
                self._rx, self._rplayed, self._rbase, self._rreward, 2 * k)
        pending = LinK.cucb_record(self._rx, self._rplayed, self._rbase, self._rreward, k,
                                   self.learner._check(ctx, ndim=1),
                                   self.learner._check_arm(play), self.learner._check_arm(base),
                                   self.no_op_value)
        self._n_rounds = k + 1
        self.n_explored += int(play != base)
        return k, bool(pending)

    def update(self, transition) -> None:
        """Record the decision round played this step, then learn from matured feedback."""
        if self._pending_round is not None:
            ctx, play, base, minute = self._pending_round
            self._pending_round = None
            k, pending = self._record_round(ctx, play, base)
            if pending:  # until the feedback arrives
                self._round_of_decision[minute] = k
        super().update(transition)

    def margin(self, ctx: np.ndarray, cand: int, base: int) -> float:
        """Left minus right side of the conservative condition if ``cand`` is played now.

        :func:`controllers.linear_kernels.cucb_margin`.
        """
        L_ = self.learner
        return float(LinK.cucb_margin(L_.chol, L_.b, self.ucb_alpha, self.no_op_value,
                                      self.alpha_c, self._rx, self._rplayed, self._rbase,
                                      self._rreward, self._n_rounds, L_._check(ctx, ndim=1),
                                      L_._check_arm(cand), L_._check_arm(base)))

    def learn(self, ctx, action, reward, fb) -> None:
        """Update the action's model and settle the round's reward.

        :func:`controllers.linear_kernels.cucb_learn`.
        """
        ctx, action = self._check_learn(ctx, action, reward)
        k = self._round_of_decision.pop(int(fb["decision_minute"]), -1)
        L_ = self.learner
        LinK.cucb_learn(L_.A, L_.b, L_.chol, L_.counts, action, ctx, float(reward), self.lam,
                        self._rreward, k)
