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
"""

from __future__ import annotations

import numpy as np

from controllers.learners import argmax_random_ties, reward_to_unit
from controllers.linucb import LinUCBController
from controllers.rules import expert_rules
from simulator.layout import NO_OP


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
    """

    name = "conservative_ucb"

    def __init__(self, seed: int = 0, cooldown: int = 30, alpha: float = 0.05,
                 lam: float = 10.0, n_actions: int = 4, alpha_c: float = 0.1,
                 ucb_alpha: float = 0.5, l2_lambda: float = 1.0, no_op_reward: float = 0.0):
        super().__init__(seed=seed, cooldown=cooldown, alpha=alpha, lam=lam,
                         n_actions=n_actions, ucb_alpha=ucb_alpha, l2_lambda=l2_lambda,
                         no_op_reward=no_op_reward)
        if not 0.0 <= alpha_c <= 1.0:
            raise ValueError(f"alpha_c must be in [0, 1], got {alpha_c}")
        self.alpha_c = float(alpha_c)
        self._fb_since = -1
        self._round_x: list[np.ndarray] = []
        self._round_played: list[int] = []
        self._round_base: list[int] = []
        self._round_reward: list[float] = []  # realised reward in [0, 1]; nan until known
        self._round_of_decision: dict[int, int] = {}  # decision minute -> round (episode)
        self._pending_round: tuple | None = None  # decided by act(), recorded by update()
        self.n_explored = 0
        self.last_margin = float("nan")

    @property
    def n_rounds(self) -> int:
        """Decision rounds so far (over the whole run)."""
        return len(self._round_played)

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
        """LCB and UCB in [0, 1] of ``arms[i]`` at context ``xs[i]``; shapes (k,)."""
        xs = np.atleast_2d(xs)
        arms = np.asarray(arms, dtype=np.int64)
        lo = np.full(arms.shape[0], self.no_op_value)
        hi = lo.copy()
        for a in np.unique(arms):
            if a == NO_OP:
                continue
            sel = arms == a
            mean, width = self.learner.predict_arm(int(a), xs[sel])
            lo[sel] = np.clip(mean - self.ucb_alpha * width, 0.0, 1.0)
            hi[sel] = np.clip(mean + self.ucb_alpha * width, 0.0, 1.0)
        return lo, hi

    def baseline(self, x, info) -> int:
        """Return the rules controller's action at this decision epoch."""
        fb_min = int(info.get("minute", 0)) - self._fb_since if self._fb_since >= 0 else 0
        return expert_rules(x, fb_min)[0]

    def choose(self, ctx, allowed, x, info) -> int:
        """LinUCB's action if the conservative condition holds, else the baseline's."""
        base = self.baseline(x, info)
        if not allowed[base]:
            base = NO_OP
        cand = argmax_random_ties(self.scores(ctx), allowed, self.rng)
        play = cand
        if cand != base:
            self.last_margin = self.margin(ctx, cand, base)
            play = cand if self.last_margin >= 0.0 else base
        # Recorded by update(): act() changes per-episode state only (the conformance contract).
        self._pending_round = (np.asarray(ctx, dtype=np.float64), int(play), int(base),
                               int(info.get("minute", 0)) + 1)
        return play

    def update(self, transition) -> None:
        """Record the decision round played this step, then learn from matured feedback."""
        if self._pending_round is not None:
            ctx, play, base, minute = self._pending_round
            self._pending_round = None
            k = len(self._round_played)
            self._round_x.append(ctx)
            self._round_played.append(play)
            self._round_base.append(base)
            if play == base and play == NO_OP:
                self._round_reward.append(self.no_op_value)  # known at once
            else:
                self._round_reward.append(np.nan)  # until the feedback arrives
                self._round_of_decision[minute] = k
            self.n_explored += int(play != base)
        super().update(transition)

    def margin(self, ctx: np.ndarray, cand: int, base: int) -> float:
        """Left minus right side of the conservative condition if ``cand`` is played now."""
        played = np.array([*self._round_played, cand])
        bases = np.array([*self._round_base, base])
        reward = np.array([*self._round_reward, np.nan])
        settled = (played == bases) & ~np.isnan(reward)
        left = right = float(reward[settled].sum())
        rest = np.flatnonzero(~settled)
        xs = np.vstack([*(self._round_x[i] for i in rest[:-1]), ctx])
        lo, _ = self.bounds(xs, played[rest])
        _, hi = self.bounds(xs, bases[rest])
        left += float(lo.sum())
        right += float(hi.sum())
        return left - (1.0 - self.alpha_c) * right

    def learn(self, ctx, action, reward, fb) -> None:
        """Update the action's model and settle the round's reward."""
        super().learn(ctx, action, reward, fb)
        k = self._round_of_decision.pop(int(fb["decision_minute"]), None)
        if k is not None:
            self._round_reward[k] = reward_to_unit(reward, self.lam)
