"""RL-only baseline (paper Sec. 5).

A contextual epsilon-greedy learner over all actions, learning across episodes, with no shield,
no canary (direct deploys) and no SLA filter. The paper's baseline explores at a constant
epsilon = 0.1 (``configs/controller/rl.yaml``): its regret grows linearly in the decisions.
``epsilon_schedule="inverse_time"`` decays exploration per context (Auer, Cesa-Bianchi &
Fischer 2002's epsilon_n-greedy; ``configs/controller/rl_decaying.yaml``), see
``controllers.learners.EpsilonGreedy``.
"""

from __future__ import annotations

from controllers.learners import N_CTX, EpsilonGreedy, LearningController


class RLController(LearningController):
    """Epsilon-greedy over the paper's reward, per discrete context.

    Parameters
    ----------
    epsilon : float
        Exploration probability (paper: 0.1); the cap of the ``inverse_time`` schedule.
    epsilon_schedule : {"constant", "inverse_time"}
        ``constant`` (default, the paper's baseline: regret linear in the decisions) or
        ``inverse_time``: epsilon_n = min(epsilon, epsilon_c K / (epsilon_d**2 n)) with n the
        context's decision count and K the allowed actions (Auer, Cesa-Bianchi & Fischer
        2002; details in ``controllers.learners.EpsilonGreedy``).
    epsilon_c : float
        c > 0 of ``inverse_time`` (Auer et al.'s log-regret bound wants c large, e.g. > 5;
        ignored by ``constant``).
    epsilon_d : float
        d in (0, 1) of ``inverse_time``: assumed minimum reward gap on the [0, 1] scale
        (ignored by ``constant``).
    """

    name = "rl"
    deployment = "direct"

    def __init__(self, seed: int = 0, cooldown: int = 30, alpha: float = 0.05,
                 lam: float = 10.0, n_actions: int = 4, epsilon: float = 0.1,
                 epsilon_schedule: str = "constant", epsilon_c: float = 6.0,
                 epsilon_d: float = 0.5):
        super().__init__(seed=seed, cooldown=cooldown, alpha=alpha, lam=lam,
                         n_actions=n_actions)
        self.learner = EpsilonGreedy(N_CTX, self.n_actions, epsilon, self.rng,
                                     epsilon_schedule=epsilon_schedule, epsilon_c=epsilon_c,
                                     epsilon_d=epsilon_d)

    def choose(self, ctx, allowed, x, info) -> int:
        """Epsilon-greedy choice among all actions."""
        return self.learner.choose(ctx, allowed)

    def learn(self, ctx, action, reward, fb) -> None:
        """Running-mean update."""
        self.learner.update(ctx, action, reward)
