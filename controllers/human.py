"""Human-in-the-loop baseline (paper Sec. 5).

An alert pages an engineer, who responds after a mean of 45 minutes and applies the right
fix 88% of the time.

The engineer's knowledge of the right fix is the scenario's annotated optimal action,
read from the hidden ``truth`` (``uses_hidden_state``: the one piece of hidden state this
model uses, standing for the investigation). A wrong fix is drawn uniformly from the other
actions of the env's set. Each incident charges the investigation time plus
``handling_minutes`` of engineer time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numba as nb
import numpy as np

from controllers import kernels as K
from controllers.base import ControllerConfig, KernelController, require
from controllers.protocol import Kernels, VarsState, d_crit, reset_vars, vars_state
from simulator.layout import NO_OP

#: Per-episode scalars: the cooldown clock, the minute the open page is answered (-1: none)
#: and the minute it was sent.
VARS = np.dtype([("quiet_until", np.int64), ("respond_at", np.int64), ("paged_at", np.int64)],
                align=True)


@dataclass
class HumanConfig(ControllerConfig):
    """``human``'s parameters.

    Attributes
    ----------
    cooldown : int
        Minutes after a fix before the next page (60).
    response_minutes : int
        Mean response delay, minutes (paper: 45); drawn per incident from an exponential
        with this mean when ``random_delay`` is true, else fixed.
    accuracy : float
        Probability the engineer picks the right action (paper: 0.88), in [0, 1].
    handling_minutes : float
        Engineer minutes per incident on top of the response delay, >= 0.
    random_delay : bool
        Exponential response delays instead of a fixed one.
    """

    _target_: str = "controllers.human.HumanController"
    cooldown: int = 60
    response_minutes: int = 45
    accuracy: float = 0.88
    handling_minutes: float = 30.0
    random_delay: bool = False

    def __post_init__(self):
        super().__post_init__()
        require(self.response_minutes >= 0, "response_minutes", self.response_minutes, ">= 0")
        require(0.0 <= self.accuracy <= 1.0, "accuracy", self.accuracy, "in [0, 1]")
        require(0.0 <= self.handling_minutes < float("inf"), "handling_minutes",
                self.handling_minutes, "finite and >= 0")


class HumanParams(NamedTuple):
    """Kernel parameters of ``human``."""

    alpha: float
    cooldown: int
    response_minutes: int
    accuracy: float
    handling_minutes: float
    random_delay: bool


@nb.njit(cache=True)
def act(state, params, obs, info, truth, rng):
    """Page on an alarm; when the engineer arrives, apply a fix and charge the time.

    Returns (action, engineer minutes): the right fix (``truth``'s optimal action) with
    probability ``accuracy``, else one of the other actions uniformly (one draw of
    ``rng.integers(0, n - 1)``, as ``rng.choice`` of them).
    """
    v = state.vars[0]
    minute = info[0].minute
    if v.respond_at < 0:
        err_limit, p99_limit, _ = K.slo_limits(info)
        if minute >= v.quiet_until and K.alarm(obs, d_crit(params, info), err_limit, p99_limit):
            delay = params.response_minutes
            if params.random_delay:
                delay = int(round(rng.exponential(params.response_minutes)))
            v.respond_at = minute + delay
            v.paged_at = minute
        return NO_OP, 0.0
    if minute < v.respond_at:
        return NO_OP, 0.0
    v.respond_at = -1
    v.quiet_until = minute + 1 + params.cooldown
    eng = (minute - v.paged_at) + params.handling_minutes
    n = info[0].n_actions
    right = truth.rec[0].optimal_action
    if rng.random() < params.accuracy:
        return right, eng
    if right < n:  # uniformly among the others
        k = rng.integers(0, n - 1)
        return (k if k < right else k + 1), eng
    return rng.integers(0, n), eng


class HumanController(KernelController):
    """Alert, wait ``response_minutes``, then act correctly with probability ``accuracy``."""

    name = "human"
    uses_hidden_state = True
    Config = HumanConfig
    kernels = Kernels(HumanParams, act=act, reset=reset_vars)

    def new_state(self, config: HumanConfig) -> VarsState:
        """No cooldown, no open page; nothing is learned."""
        return vars_state(VARS, quiet_until=-1, respond_at=-1)
