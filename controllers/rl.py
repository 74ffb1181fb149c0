"""RL-only baseline (paper Sec. 5).

A contextual epsilon-greedy learner over all actions, learning across episodes, with no shield,
no canary (direct deploys) and no SLA filter. The paper's baseline explores at a constant
epsilon = 0.1 (``configs/controller/rl.yaml``): its regret grows linearly in the decisions.
``epsilon_schedule="inverse_time"`` decays exploration per context (Auer, Cesa-Bianchi &
Fischer 2002's epsilon_n-greedy; ``configs/controller/rl_decaying.yaml``), see
``controllers.learners.EpsilonGreedy``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numba as nb
import numpy as np

from controllers import learner_kernels as LK
from controllers.base import KernelController
from controllers.learners import EpsilonGreedy, LearnerConfig, check_exploration
from controllers.protocol import Kernels
from simulator.layout import NO_OP


@dataclass
class RLConfig(LearnerConfig):
    """``rl``'s parameters.

    Attributes
    ----------
    epsilon : float
        Exploration probability in [0, 1] (paper: 0.1); the cap of ``inverse_time``.
    epsilon_schedule : str
        ``constant`` (the paper's baseline: regret linear in the decisions) or
        ``inverse_time``: epsilon_n = min(epsilon, epsilon_c K / (epsilon_d**2 n)) with n the
        context's decision count and K the allowed actions (Auer, Cesa-Bianchi & Fischer
        2002; details in ``controllers.learners.EpsilonGreedy``).
    epsilon_c : float
        c > 0 of ``inverse_time`` (their log-regret bound wants c large, e.g. > 5).
    epsilon_d : float
        d in (0, 1) of ``inverse_time``: assumed minimum reward gap on the [0, 1] scale.
    """

    _target_: str = "controllers.rl.RLController"
    epsilon: float = 0.1
    epsilon_schedule: str = "constant"
    epsilon_c: float = 6.0
    epsilon_d: float = 0.5

    def __post_init__(self):
        super().__post_init__()
        check_exploration(self.epsilon, self.epsilon_schedule, self.epsilon_c, self.epsilon_d)

    @property
    def schedule(self) -> int:
        """Kernel code of ``epsilon_schedule`` (its position in ``EPSILON_SCHEDULES``)."""
        return LK.EPSILON_SCHEDULES.index(self.epsilon_schedule)


class RLParams(NamedTuple):
    """Kernel parameters of ``rl`` (``schedule``: position in ``EPSILON_SCHEDULES``)."""

    alpha: float
    cooldown: int
    lam: float
    epsilon: float
    schedule: int
    epsilon_c: float
    epsilon_d: float


@nb.njit(cache=True)
def act(state, params, obs, info, truth, rng):
    """At a decision epoch, the epsilon-greedy choice among the allowed actions."""
    ctx, _, allowed = LK.begin_decision(state, params, obs, info)
    if ctx < 0:
        return NO_OP, 0.0
    return LK.end_decision(state, params, info, ctx, LK.eg_choose(
        rng, state.tab, ctx, allowed, params.epsilon, params.schedule, params.epsilon_c,
        params.epsilon_d))


class RLController(KernelController):
    """Epsilon-greedy over the paper's reward, per discrete context."""

    name = "rl"
    Config = RLConfig
    kernels = Kernels(RLParams, act=act, reset=LK.tabular_reset, update=LK.update_epsilon_greedy)

    def new_state(self, config: RLConfig) -> LK.TabularState:
        """Zero means and counts (``tab``), episode cleared."""
        return LK.new_tabular_state(np.zeros((2, LK.N_CONTEXTS, config.n_actions)))

    @property
    def learner(self) -> EpsilonGreedy:
        """The learned table as an :class:`EpsilonGreedy` (shares ``state.tab``)."""
        c = self.config
        return EpsilonGreedy(LK.N_CONTEXTS, c.n_actions, c.epsilon, self.rng,
                             c.epsilon_schedule, c.epsilon_c, c.epsilon_d, tab=self.state.tab)
