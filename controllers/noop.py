"""The do-nothing baseline: the cost of not acting."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numba as nb
import numpy as np

from controllers.base import ControllerConfig, KernelController
from controllers.protocol import Kernels, VarsState, reset_vars, vars_state
from simulator.layout import NO_OP

#: Per-episode scalars: the cooldown clock (never set: no_op starts none).
VARS = np.dtype([("quiet_until", np.int64)], align=True)


@dataclass
class NoOpConfig(ControllerConfig):
    """``noop``'s parameters: only the alarm level and cooldown its decision epochs use."""

    _target_: str = "controllers.noop.NoOpController"


class NoOpParams(NamedTuple):
    """Kernel parameters of ``noop``."""

    alpha: float
    cooldown: int


@nb.njit(cache=True)
def act(state, params, obs, info, truth, rng):
    """Return ``no_op`` and no engineer minutes."""
    return NO_OP, 0.0


class NoOpController(KernelController):
    """Always plays ``no_op``: the cost of not acting."""

    name = "noop"
    Config = NoOpConfig
    kernels = Kernels(NoOpParams, act=act, reset=reset_vars)

    def new_state(self, config: NoOpConfig) -> VarsState:
        """No cooldown, ever."""
        return vars_state(VARS, quiet_until=-1)
