"""Linear Thompson sampling on the full observation (Agrawal & Goyal, ICML 2013).

A bandit-only baseline like ``bandit``: no shield, no canary, direct deploys, all actions.
At each decision epoch it draws every action's expected reward from its Gaussian posterior
N(theta_a . x, v^2 x^T A_a^{-1} x) (one ridge model per action on the scaled full
observation with a bias, :func:`controllers.linear.linear_features`) and plays the best.
``no_op``'s value is known, not learned (:mod:`controllers.linear`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numba as nb

from controllers.base import KernelController, require
from controllers.linear import (
    N_LINEAR_FEATURES,
    LinearConfig,
    LinearState,
    LinearThompson,
    linear_act,
    linear_reset,
    linear_update,
    new_linear_state,
)
from controllers.protocol import Kernels


@dataclass
class LinTSConfig(LinearConfig):
    """``lin_ts``' parameters.

    Attributes
    ----------
    v : float
        Posterior scale (exploration; the paper's v, whose theoretical value is far too
        large in practice), finite and >= 0.
    """

    _target_: str = "controllers.lints.LinTSController"
    v: float = 0.25

    def __post_init__(self):
        super().__post_init__()
        require(0.0 <= self.v < float("inf"), "v", self.v, "finite and >= 0")


class LinTSParams(NamedTuple):
    """Kernel parameters of ``lin_ts`` (``no_op_value``: ``no_op_reward`` on [0, 1])."""

    alpha: float
    cooldown: int
    lam: float
    v: float
    no_op_value: float


@nb.njit(cache=True)
def act(state, params, obs, info, truth, rng):
    """At a decision epoch, the best allowed action of one posterior sample."""
    return linear_act(state, params, obs, info, rng, True, params.v)


class LinTSController(KernelController):
    """Linear Thompson sampling with disjoint arms."""

    name = "lin_ts"
    Config = LinTSConfig
    kernels = Kernels(LinTSParams, act=act, reset=linear_reset, update=linear_update)

    def new_state(self, config: LinTSConfig) -> LinearState:
        """One ridge prior per action."""
        return new_linear_state(config.n_actions, config.l2_lambda)

    @property
    def learner(self) -> LinearThompson:
        """The models as a :class:`~controllers.linear.LinearThompson` (shares the state)."""
        s = self.state
        return LinearThompson(self.config.n_actions, N_LINEAR_FEATURES, self.config.v,
                              self.config.l2_lambda, self.rng,
                              arrays=(s.A, s.b, s.chol, s.counts))
