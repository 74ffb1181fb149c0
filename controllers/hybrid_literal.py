"""The paper's hybrid policy exactly as written in Sec. 3.5.

pi(x) = pi_det(x) if pi_det(x) is non-empty and risk_high(x); otherwise Thompson sampling
on A_safe(x) = pi_det(x) U {no_op}. Whenever pi_det(x) is non-empty, risk_high(x) holds
(each envelope region implies d > 0.15, a > 0.10 or rho > 0.05 > 0.03), and when it is
empty A_safe = {no_op}: so the literal policy *is* pi_det, and its bandit never has a
choice. ``tests/test_controllers.py`` shows the reduction; ``hybrid`` is the intended design.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numba as nb
import numpy as np

from controllers import kernels as K
from controllers import learner_kernels as LK
from controllers.bandit import new_beta_state
from controllers.base import KernelController
from controllers.learners import BetaThompson, LearnerConfig
from controllers.protocol import Kernels
from simulator.layout import NO_OP


@dataclass
class HybridLiteralConfig(LearnerConfig):
    """``hybrid_literal``'s parameters (those of every learner)."""

    _target_: str = "controllers.hybrid_literal.HybridLiteralController"


class HybridLiteralParams(NamedTuple):
    """Kernel parameters of ``hybrid_literal``."""

    alpha: float
    cooldown: int
    lam: float


@nb.njit(cache=True)
def act(state, params, obs, info, truth, rng):
    """pi_det when non-empty and risky; else Thompson sampling over pi_det(x) U {no_op}.

    A decision where the bandit has more than one action counts in
    ``state.stats[0].bandit_choices``.
    """
    ctx, dc, _ = LK.begin_decision(state, params, obs, info)
    if ctx < 0:
        return NO_OP, 0.0
    env = K.pi_det(obs, dc)
    if env != K.NONE and K.risk_high(obs, dc):
        return LK.end_decision(state, params, info, ctx, env)
    safe = np.zeros(state.tab.shape[2], dtype=np.bool_)
    safe[NO_OP] = True
    if env != K.NONE:
        safe[env] = True
        state.stats[0].bandit_choices += 1
    return LK.end_decision(state, params, info, ctx,
                           LK.ts_choose(rng, state.tab[0, ctx], state.tab[1, ctx], safe))


class HybridLiteralController(KernelController):
    """Sec. 3.5 verbatim (reduces to pi_det): Thompson sampling restricted to A_safe."""

    name = "hybrid_literal"
    Config = HybridLiteralConfig
    kernels = Kernels(HybridLiteralParams, act=act, reset=LK.tabular_reset,
                      update=LK.update_thompson)

    def new_state(self, config: HybridLiteralConfig) -> LK.TabularState:
        """Beta(1, 1) priors."""
        return new_beta_state(config.n_actions)

    @property
    def learner(self) -> BetaThompson:
        """The posteriors as a :class:`BetaThompson` (shares ``state.tab``)."""
        return BetaThompson(LK.N_CONTEXTS, self.config.n_actions, self.rng, tab=self.state.tab)

    @property
    def bandit_choices(self) -> int:
        """Decisions so far where the bandit had more than one action."""
        return int(self.state.stats[0]["bandit_choices"])
