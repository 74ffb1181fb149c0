"""Bandit-only baseline (DESIGN 4).

Beta-Bernoulli Thompson sampling per discrete context over all actions, no shield,
direct deploys. The reward -C(a) + lambda * success is mapped to [0, 1] by
(r + 1) / (lambda + 1) and a Bernoulli draw with that probability updates the posterior
(Agrawal & Goyal 2012).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numba as nb
import numpy as np

from controllers import learner_kernels as LK
from controllers.base import KernelController
from controllers.learners import BetaThompson, LearnerConfig
from controllers.protocol import Kernels
from simulator.layout import NO_OP


@dataclass
class BanditConfig(LearnerConfig):
    """``bandit``'s parameters (those of every learner)."""

    _target_: str = "controllers.bandit.BanditController"


class BanditParams(NamedTuple):
    """Kernel parameters of ``bandit``."""

    alpha: float
    cooldown: int
    lam: float


@nb.njit(cache=True)
def act(state, params, obs, info, truth, rng):
    """At a decision epoch, a Thompson sample among the allowed actions."""
    ctx, _, allowed = LK.begin_decision(state, params, obs, info)
    if ctx < 0:
        return NO_OP, 0.0
    return LK.end_decision(state, params, info, ctx,
                           LK.ts_choose(rng, state.tab[0, ctx], state.tab[1, ctx], allowed))


def new_beta_state(n_actions: int) -> LK.TabularState:
    """Beta(1, 1) priors for every (context, action), episode cleared."""
    return LK.new_tabular_state(np.ones((2, LK.N_CONTEXTS, n_actions)))


class BanditController(KernelController):
    """Thompson sampling with Beta(1, 1) priors on the normalised paper reward."""

    name = "bandit"
    Config = BanditConfig
    kernels = Kernels(BanditParams, act=act, reset=LK.tabular_reset, update=LK.update_thompson)

    def new_state(self, config: BanditConfig) -> LK.TabularState:
        """Beta(1, 1) priors."""
        return new_beta_state(config.n_actions)

    @property
    def learner(self) -> BetaThompson:
        """The posteriors as a :class:`BetaThompson` (shares ``state.tab``)."""
        return BetaThompson(LK.N_CONTEXTS, self.config.n_actions, self.rng, tab=self.state.tab)
