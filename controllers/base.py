"""The controller protocol (DESIGN 4) and a base class with the shared decision epochs.

Protocol: ``reset(seed)`` at the start of each episode (clears per-episode state, keeps what
was learned), ``act(observation, info) -> action``, ``update(transition)`` after each step.
Controllers see the observation (always the ``full`` vector, whose first three entries are
the paper's [d, a, rho]) and the public ``info``; ``info["truth"]`` is removed by the runner
except for controllers that set ``uses_hidden_state = True`` (oracle, and the human model's
knowledge of the right fix).
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field

import numpy as np

from controllers.envelope import Observation, alarm


def check_bool(name: str, value) -> bool:
    """Return ``value`` as a bool; raise ValueError unless it is true or false."""
    if not isinstance(value, bool | np.bool_):
        raise ValueError(f"{name} must be true or false, got {value!r}")
    return bool(value)


def check_number(name: str, value, *, finite: bool = False) -> float:
    """Return ``value`` as a float; raise ValueError unless it is a real number.

    With ``finite``, NaN and +-inf are refused too.
    """
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a number, got {value!r}")
    if finite and not math.isfinite(float(value)):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    return float(value)


def check_int(name: str, value) -> int:
    """Return ``value`` as an int; raise ValueError unless it is a whole number."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be a whole number, got {value!r}")
    return int(value)


@dataclass
class Transition:
    """One environment step as a controller sees it.

    Attributes
    ----------
    observation, next_observation : ndarray, shape (10,)
        Full observations before and after the step.
    action : int
    reward : float
        The environment's reward (negative dollars / scale).
    terminated, truncated : bool
    info : dict
        Public info of the step, including matured ``feedback``.
    """

    observation: np.ndarray
    action: int
    reward: float
    next_observation: np.ndarray
    terminated: bool
    truncated: bool
    info: dict = field(default_factory=dict)


class Controller:
    """Base class: alarm-driven decision epochs with a cooldown after each action.

    Parameters
    ----------
    seed : int
        Seed of the run; the controller's generator is derived from it.
    cooldown : int
        Minutes after an action during which the controller plays ``no_op`` (the action's
        effect needs time to show in the delayed observations).
    alpha : float
        Significance level of the KS drift test (paper Sec. 3.2).

    Attributes
    ----------
    deployment : str
        ``"direct"`` or ``"canary"``: how the runner configures deployments.
    uses_hidden_state : bool
        Whether the runner passes ``info["truth"]`` (only the oracle and the human model).
    """

    name = "base"
    deployment = "direct"
    uses_hidden_state = False
    #: Controllers that fork the simulation (the oracle) set this; the runner then calls
    #: ``attach(sim)`` after each ``env.reset``.
    uses_simulation = False

    def __init__(self, seed: int = 0, cooldown: int = 30, alpha: float = 0.05):
        cooldown = check_int("cooldown", cooldown)
        alpha = check_number("alpha", alpha)
        if cooldown < 0:
            raise ValueError(f"cooldown must be >= 0, got {cooldown}")
        if not 0.0 < alpha < 1.0:
            raise ValueError(f"alpha must be in (0, 1), got {alpha}")
        self.seed = int(seed)
        self.cooldown = int(cooldown)
        self.alpha = float(alpha)
        self.rng = np.random.default_rng(self.seed)
        self._quiet_until = -1
        self.engineer_minutes = 0.0

    def attach(self, sim) -> None:
        """Receive the episode's :class:`simulator.core.Simulation` (oracle only)."""
        raise TypeError(f"controller {self.name!r} does not use the simulation")

    def reset(self, seed: int) -> None:
        """Start an episode: clear per-episode state; learned state is kept."""
        self._quiet_until = -1
        self.engineer_minutes = 0.0

    def observe(self, observation: np.ndarray, info: dict) -> Observation:
        """Wrap the raw observation with the public facts the rules need."""
        return Observation.from_env(observation, info, self.alpha)

    def in_cooldown(self, info: dict) -> bool:
        """Return True while a recent action's effect is still settling."""
        return int(info.get("minute", 0)) < self._quiet_until

    def act(self, observation: np.ndarray, info: dict) -> int:
        """Return an action index; ``no_op`` outside decision epochs."""
        x = self.observe(observation, info)
        if self.in_cooldown(info) or not alarm(x):
            return 0
        a = int(self.decide(x, info))
        if a != 0:
            self._quiet_until = int(info.get("minute", 0)) + 1 + self.cooldown
        return a

    def decide(self, x: Observation, info: dict) -> int:
        """Choose an action at a decision epoch (subclasses override)."""
        return 0

    def update(self, transition: Transition) -> None:
        """Learn from a step (learning controllers override); default does nothing."""

    def take_engineer_minutes(self) -> float:
        """Engineer minutes spent since the last call (charged to the episode's cost)."""
        m, self.engineer_minutes = self.engineer_minutes, 0.0
        return m
