"""LinUCB on the full observation (Li, Chu, Langford & Schapire, WWW 2010; disjoint arms).

A bandit-only baseline like ``bandit``: no shield, no canary, direct deploys, all actions.
At each decision epoch (an alarm outside the cooldown) it plays
argmax_a theta_a . x + ucb_alpha sqrt(x^T A_a^{-1} x) over the scaled full observation x
with a bias (:func:`controllers.learners.linear_features`), with one ridge model per action
(:class:`controllers.learners.LinUCB`), learned from the env's delayed feedback with the
paper's cost-aware reward. ``no_op``'s value is known, not learned
(:class:`controllers.learners.LinearBanditController`).
"""

from __future__ import annotations

from controllers.base import check_number
from controllers.learners import N_LINEAR_FEATURES, LinearBanditController, LinUCB


class LinUCBController(LinearBanditController):
    """LinUCB with disjoint arms, ridge prior ``l2_lambda`` and width multiplier ``ucb_alpha``.

    Parameters
    ----------
    ucb_alpha : float
        Exploration: the confidence-width multiplier (Li et al.'s alpha; mabwiser's
        ``LinUCB(alpha=...)``). Named so as not to clash with ``alpha``, the KS test level.
    l2_lambda : float
        Ridge prior precision.
    no_op_reward : float
        Known paper reward of ``no_op`` (see :class:`~controllers.learners.LinearBanditController`).
    """

    name = "linucb"

    def __init__(self, seed: int = 0, cooldown: int = 30, alpha: float = 0.05,
                 lam: float = 10.0, n_actions: int = 4, ucb_alpha: float = 0.5,
                 l2_lambda: float = 1.0, no_op_reward: float = 0.0):
        self.ucb_alpha = check_number("ucb_alpha", ucb_alpha, finite=True)
        super().__init__(seed=seed, cooldown=cooldown, alpha=alpha, lam=lam,
                         n_actions=n_actions, l2_lambda=l2_lambda, no_op_reward=no_op_reward)

    def make_learner(self) -> LinUCB:
        """One ridge model per action."""
        return LinUCB(self.n_actions, N_LINEAR_FEATURES, self.ucb_alpha, self.l2_lambda)
