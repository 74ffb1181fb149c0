"""Bandit-only baseline (DESIGN 4).

Beta-Bernoulli Thompson sampling per discrete context over all actions, no shield,
direct deploys.
"""

from __future__ import annotations

from controllers.learners import N_CTX, BetaThompson, LearningController, reward_to_unit


class BanditController(LearningController):
    """Thompson sampling with Beta(1, 1) priors on the normalised paper reward."""

    name = "bandit"
    deployment = "direct"

    def __init__(self, seed: int = 0, cooldown: int = 30, alpha: float = 0.05,
                 lam: float = 10.0, n_actions: int = 4):
        super().__init__(seed=seed, cooldown=cooldown, alpha=alpha, lam=lam,
                         n_actions=n_actions)
        self.learner = BetaThompson(N_CTX, self.n_actions, self.rng)

    def choose(self, ctx, allowed, x, info) -> int:
        """Thompson sample among all actions."""
        return self.learner.choose(ctx, allowed)

    def learn(self, ctx, action, reward, fb) -> None:
        """Bernoulli-trick posterior update with r01 = (r + 1) / (lambda + 1)."""
        r01 = reward_to_unit(reward, self.lam)
        self.learner.update(ctx, action, r01)
