"""RL-only baseline (paper Sec. 5).

A contextual epsilon-greedy learner over all actions, learning across episodes, with no shield,
no canary (direct deploys) and no SLA filter.
"""

from __future__ import annotations

from controllers.learners import N_CTX, EpsilonGreedy, LearningController


class RLController(LearningController):
    """Epsilon-greedy (epsilon = 0.1) over the paper's reward, per discrete context.

    Parameters
    ----------
    epsilon : float
        Exploration probability.
    """

    name = "rl"
    deployment = "direct"

    def __init__(self, seed: int = 0, cooldown: int = 30, alpha: float = 0.05,
                 lam: float = 10.0, n_actions: int = 4, epsilon: float = 0.1):
        super().__init__(seed=seed, cooldown=cooldown, alpha=alpha, lam=lam,
                         n_actions=n_actions)
        self.learner = EpsilonGreedy(N_CTX, self.n_actions, epsilon, self.rng)

    def choose(self, ctx, allowed, x, info) -> int:
        """Epsilon-greedy choice among all actions."""
        return self.learner.choose(ctx, allowed)

    def learn(self, ctx, action, reward, fb) -> None:
        """Running-mean update."""
        self.learner.update(ctx, action, reward)
