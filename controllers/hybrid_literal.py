"""The paper's hybrid policy exactly as written in Sec. 3.5.

pi(x) = pi_det(x) if pi_det(x) is non-empty and risk_high(x); otherwise Thompson sampling
on A_safe(x) = pi_det(x) U {no_op}. Whenever pi_det(x) is non-empty, risk_high(x) holds
(each envelope region implies d > 0.15, a > 0.10 or rho > 0.05 > 0.03), and when it is
empty A_safe = {no_op}: so the literal policy *is* pi_det, and its bandit never has a
choice. ``tests/test_controllers.py`` shows the reduction; ``hybrid`` is the intended design.
"""

from __future__ import annotations

import numpy as np

from controllers.bandit import BanditController
from controllers.envelope import NONE, pi_det, risk_high
from simulator.layout import NO_OP


class HybridLiteralController(BanditController):
    """Sec. 3.5 verbatim (reduces to pi_det): the bandit's learner, restricted to A_safe."""

    name = "hybrid_literal"
    deployment = "direct"

    def __init__(self, seed: int = 0, cooldown: int = 30, alpha: float = 0.05,
                 lam: float = 10.0, n_actions: int = 4):
        super().__init__(seed=seed, cooldown=cooldown, alpha=alpha, lam=lam,
                         n_actions=n_actions)
        self.bandit_choices = 0  # decisions where the bandit had more than one action

    def choose(self, ctx, allowed, x, info) -> int:
        """pi_det when non-empty and risky; else TS over pi_det(x) U {no_op}."""
        env = pi_det(x)
        if env != NONE and risk_high(x):
            return env
        safe = np.zeros(self.n_actions, dtype=bool)
        safe[NO_OP] = True
        if env != NONE:
            safe[env] = True
        if safe.sum() > 1:
            self.bandit_choices += 1
        return self.learner.choose(ctx, safe)
