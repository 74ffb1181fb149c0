"""LinUCB on the full observation (Li, Chu, Langford & Schapire, WWW 2010; disjoint arms).

A bandit-only baseline like ``bandit``: no shield, no canary, direct deploys, all actions.
At each decision epoch (an alarm outside the cooldown) it plays
argmax_a theta_a . x + ucb_alpha sqrt(x^T A_a^{-1} x) over the scaled full observation x
with a bias (:func:`controllers.linear.linear_features`), with one ridge model per action,
learned from the env's delayed feedback with the paper's cost-aware reward. ``no_op``'s
value is known, not learned (:mod:`controllers.linear`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numba as nb
import numpy as np

from controllers.base import KernelController, require
from controllers.linear import (
    N_LINEAR_FEATURES,
    LinearConfig,
    LinearState,
    LinUCB,
    linear_act,
    linear_reset,
    linear_update,
    new_linear_state,
)
from controllers.protocol import Kernels
from simulator.layout import NO_OP


@dataclass
class LinUCBConfig(LinearConfig):
    """``linucb``'s parameters.

    Attributes
    ----------
    ucb_alpha : float
        Exploration: the confidence-width multiplier (Li et al.'s alpha; mabwiser's
        ``LinUCB(alpha=...)``), finite and >= 0. Named so as not to clash with ``alpha``,
        the KS test level.
    """

    _target_: str = "controllers.linucb.LinUCBController"
    ucb_alpha: float = 0.5

    def __post_init__(self):
        super().__post_init__()
        require(0.0 <= self.ucb_alpha < float("inf"), "ucb_alpha", self.ucb_alpha,
                "finite and >= 0")


class LinUCBParams(NamedTuple):
    """Kernel parameters of ``linucb`` (``no_op_value``: ``no_op_reward`` on [0, 1])."""

    alpha: float
    cooldown: int
    lam: float
    ucb_alpha: float
    no_op_value: float


@nb.njit(cache=True)
def act(state, params, obs, info, truth, rng):
    """At a decision epoch, the allowed action with the highest upper confidence bound."""
    return linear_act(state, params, obs, info, rng, False, params.ucb_alpha)


class LinUCBController(KernelController):
    """LinUCB with disjoint arms, ridge prior ``l2_lambda`` and width multiplier ``ucb_alpha``."""

    name = "linucb"
    Config = LinUCBConfig
    kernels = Kernels(LinUCBParams, act=act, reset=linear_reset, update=linear_update)

    def new_state(self, config: LinUCBConfig) -> LinearState:
        """One ridge prior per action."""
        return new_linear_state(config.n_actions, config.l2_lambda)

    def scores(self, x: np.ndarray) -> np.ndarray:
        """Upper confidence bounds of every action at features ``x``; no_op's is its value.

        ``x`` has shape (N_LINEAR_FEATURES,) (:func:`controllers.linear.linear_features`);
        the result shape (n_actions,).
        """
        sc = self.learner.scores(x)
        sc[NO_OP] = self.params.no_op_value
        return sc

    @property
    def learner(self) -> LinUCB:
        """The ridge models as a :class:`~controllers.linear.LinUCB` (shares the state)."""
        s = self.state
        return LinUCB(self.config.n_actions, N_LINEAR_FEATURES, self.config.ucb_alpha,
                      self.config.l2_lambda, arrays=(s.A, s.b, s.chol, s.counts))
