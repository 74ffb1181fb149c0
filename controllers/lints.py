"""Linear Thompson sampling on the full observation (Agrawal & Goyal, ICML 2013).

A bandit-only baseline like ``bandit``: no shield, no canary, direct deploys, all actions.
At each decision epoch it draws every action's expected reward from its Gaussian posterior
N(theta_a . x, v^2 x^T A_a^{-1} x) (one ridge model per action on the scaled full
observation with a bias, :func:`controllers.learners.linear_features`) and plays the best.
``no_op``'s value is known, not learned (:class:`controllers.learners.LinearBanditController`).
"""

from __future__ import annotations

from controllers.base import check_number
from controllers.learners import N_LINEAR_FEATURES, LinearBanditController, LinearThompson


class LinTSController(LinearBanditController):
    """Linear Thompson sampling with disjoint arms.

    Parameters
    ----------
    v : float
        Posterior scale (exploration).
    l2_lambda : float
        Ridge prior precision.
    no_op_reward : float
        Known paper reward of ``no_op``.
    """

    name = "lin_ts"

    def __init__(self, seed: int = 0, cooldown: int = 30, alpha: float = 0.05,
                 lam: float = 10.0, n_actions: int = 4, v: float = 0.25,
                 l2_lambda: float = 1.0, no_op_reward: float = 0.0):
        self.v = check_number("v", v, finite=True)
        super().__init__(seed=seed, cooldown=cooldown, alpha=alpha, lam=lam,
                         n_actions=n_actions, l2_lambda=l2_lambda, no_op_reward=no_op_reward)

    def make_learner(self) -> LinearThompson:
        """One Gaussian posterior per action, drawing from the controller's generator."""
        return LinearThompson(self.n_actions, N_LINEAR_FEATURES, self.v, self.l2_lambda,
                              self.rng)
