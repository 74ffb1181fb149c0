"""The controller protocol (DESIGN 4), its parameter schema, and the kernel-backed base class.

Protocol: ``reset(seed)`` at the start of each episode (clears per-episode state, keeps what
was learned), ``act(observation, info) -> action``, ``update(transition)`` after each step,
``take_engineer_minutes()`` every minute, ``is_decision(observation, info)`` (its decision
epochs, for regret). Controllers see the observation (always the ``full`` vector, whose first
three entries are the paper's [d, a, rho]) and the public ``info``; the env keeps the hidden
truth out of ``info`` (``env.truth``), and the runner adds it as ``info["truth"]`` only for
controllers that set ``uses_hidden_state = True`` (the oracle, and the human model's
knowledge of the right fix).

Two ways to write one:

- :class:`Controller`: plain Python (any logic; runs on the Gymnasium path only);
- :class:`KernelController`: a parameter schema (a dataclass subclassing
  :class:`ControllerConfig`, registered in Hydra's ConfigStore as ``<name>_schema``), a
  kernel-parameter record, a state record and Numba kernels
  (:mod:`controllers.protocol`). Its Python methods call the kernels, and the batched fast
  path (:mod:`experiments.fast`) composes the same kernels: one implementation.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException

from controllers.envelope import Observation, alarm, observation_vector
from controllers.protocol import Kernels
from simulator import layout as L
from simulator.records import Truth, feedback_records, info_record, new_truth


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


def require(ok: bool, name: str, value, allowed: str) -> None:
    """Raise ``ValueError("<name> must be <allowed>, got <value>")`` unless ``ok``."""
    if not ok:
        raise ValueError(f"{name} must be {allowed}, got {value!r}")


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
    """Base class of plain-Python controllers: alarm epochs with a cooldown after each action.

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
    canary_judge : str
        ``"delta_sla"`` or ``"mann_whitney"``: how the env judges canaries.
    uses_hidden_state : bool
        Whether the runner passes ``info["truth"]`` (only the oracle and the human model).
    uses_simulation : bool
        Controllers that fork the simulation (the oracle) set this; the runner then calls
        ``attach(sim)`` after each ``env.reset``.
    """

    name = "base"
    deployment = "direct"
    canary_judge = "delta_sla"
    uses_hidden_state = False
    uses_simulation = False

    def __init__(self, seed: int = 0, cooldown: int = 30, alpha: float = 0.05):
        cooldown = check_int("cooldown", cooldown)
        alpha = check_number("alpha", alpha)
        require(cooldown >= 0, "cooldown", cooldown, ">= 0")
        require(0.0 < alpha < 1.0, "alpha", alpha, "in (0, 1)")
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

    def is_decision(self, observation: np.ndarray, info: dict) -> bool:
        """Return True at a decision epoch: out of cooldown and an alarm (call before act)."""
        return not self.in_cooldown(info) and alarm(self.observe(observation, info))

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


# ---------------------------------------------------------------------------------------
# Controllers with kernels
# ---------------------------------------------------------------------------------------
@dataclass
class ControllerConfig:
    """Parameters every alarm-driven controller takes; base of each controller's schema.

    A controller's schema subclasses this dataclass, adds its parameters with their
    defaults (the only place defaults are written) and its ``_target_``; Hydra refuses a
    wrong type or an unknown key at composition, naming it, and ``__post_init__`` refuses
    values out of range.

    Attributes
    ----------
    cooldown : int
        Minutes after an action during which the controller plays ``no_op``.
    alpha : float
        Significance level of the KS drift test behind the alarms (paper Sec. 3.2), in (0, 1).
    """

    cooldown: int = 30
    alpha: float = 0.05

    def __post_init__(self):
        require(self.cooldown >= 0, "cooldown", self.cooldown, ">= 0")
        require(0.0 < self.alpha < 1.0, "alpha", self.alpha, "in (0, 1)")


def make_config(schema: type, params: dict) -> Any:
    """Return ``schema`` filled with ``params``, validated by OmegaConf then ``__post_init__``.

    Raises
    ------
    ValueError
        On an unknown parameter, a value of the wrong type (the key named) or out of range.
    """
    try:
        node = OmegaConf.merge(OmegaConf.structured(schema), params)
        return OmegaConf.to_object(node)
    except OmegaConfBaseException as err:
        msg = str(err).splitlines()[0]
        key = getattr(err, "full_key", None)
        raise ValueError(f"{key}: {msg}" if key else msg) from None


def kernel_params(record: type, config: Any, **values) -> Any:
    """Build the kernel-parameter ``NamedTuple`` ``record`` from ``config``'s fields.

    Each field of ``record`` takes the config attribute of the same name unless given in
    ``values`` (for derived values, e.g. codes of string options).
    """
    return record(**{f: values[f] if f in values else getattr(config, f)
                     for f in record._fields})


class KernelController(Controller):
    """A controller whose logic is its Numba kernels (:mod:`controllers.protocol`).

    Subclasses set the class attributes ``name``, ``Config`` (the parameter schema) and
    ``kernels`` (:class:`~controllers.protocol.Kernels`), and implement :meth:`new_state`
    (config -> state record); :meth:`new_params` (config -> kernel parameters) has a
    default. This class
    validates the parameters, holds the state and calls the kernels: the Gymnasium path and
    the fast path then run the same code on the same state.

    Parameters
    ----------
    seed : int
        Seed of the run (the controller's generator).
    **params
        The schema's fields (defaults: the schema's).

    Attributes
    ----------
    config : dataclass
        The validated parameters.
    params : NamedTuple
        The kernel parameters.
    state : NamedTuple of ndarray
        Learned and per-episode state; the fields the record class lists in ``EPISODE``
        are per-episode, the others are learned.
    rewards : list of float
        Rewards learned so far, in order.
    """

    Config: ClassVar[type] = ControllerConfig
    kernels: ClassVar[Kernels]

    def __init__(self, seed: int = 0, **params):
        self.config = make_config(self.Config, params)
        self.seed = int(seed)
        self.rng = np.random.default_rng(self.seed)
        self.params = self.new_params(self.config)
        self.state = self.new_state(self.config)
        self.engineer_minutes = 0.0
        self.rewards: list[float] = []
        self._truth = new_truth()  # withheld: optimal action -1, no forks

    # -- parameters and state -----------------------------------------------------------
    def new_params(self, config) -> Any:
        """Return the kernel-parameter record of ``config``.

        Default: every field of the registered parameter record (``kernels.params``) from
        the config attribute of the same name; override for derived values.
        """
        return kernel_params(self.kernels.params, config)

    def new_state(self, config) -> Any:
        """Return a fresh state record (subclasses implement)."""
        raise NotImplementedError

    def reserve(self, n_minutes: int) -> None:
        """Make room in the state for ``n_minutes`` more minutes of play (default: none).

        The fast path calls it before a batch: kernels cannot grow arrays.
        """

    @property
    def cooldown(self) -> int:
        """Minutes of ``no_op`` after an action."""
        return int(self.config.cooldown)

    @property
    def alpha(self) -> float:
        """KS test level of the alarms."""
        return float(self.config.alpha)

    def __getattr__(self, name: str):
        """Read a parameter of the schema (or a value derived from them) as an attribute.

        ``controller.lam`` is ``controller.config.lam``.
        """
        config = self.__dict__.get("config")
        if config is not None and not name.startswith("_") and hasattr(config, name):
            return getattr(config, name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    # -- the protocol -------------------------------------------------------------------
    def reset(self, seed: int) -> None:
        """Clear per-episode state (the ``reset`` kernel); learned state is kept."""
        self.kernels.reset(self.state, self.params)
        self.engineer_minutes = 0.0

    def truth(self, info: dict) -> Truth:
        """Return the hidden state the kernels receive: withheld unless ``uses_hidden_state``."""
        if not self.uses_hidden_state or "truth" not in info:
            return self._truth
        t = new_truth(L.ACTION_NAMES.index(info["truth"]["optimal_action"]))
        return t

    def is_decision(self, observation: np.ndarray, info: dict) -> bool:
        """Return the ``epoch`` kernel's verdict: is this a decision epoch (call before ``act``)."""
        obs = observation_vector(observation)
        return bool(self.kernels.epoch(self.state, self.params, obs, info_record(info)))

    def in_cooldown(self, info: dict) -> bool:
        """Return True while a recent action's effect is still settling."""
        vars_ = getattr(self.state, "vars", None)
        if vars_ is None or "quiet_until" not in vars_.dtype.names:
            return False
        return int(info.get("minute", 0)) < int(vars_[0]["quiet_until"])

    def act(self, observation: np.ndarray, info: dict) -> int:
        """Return the ``act`` kernel's action; add its engineer minutes."""
        obs = observation_vector(observation)
        rec = info_record(info)
        truth = self.prepare_truth(obs, rec, info)
        a, eng = self.kernels.act(self.state, self.params, obs, rec, truth, self.rng)
        self.engineer_minutes += float(eng)
        return int(a)

    def prepare_truth(self, obs: np.ndarray, rec: np.ndarray, info: dict) -> Truth:
        """Return the ``truth`` argument of ``act`` (forks are the oracle's business)."""
        return self.truth(info)

    def update(self, transition: Transition) -> None:
        """Run the ``update`` kernel on the step's matured feedback; keep its rewards."""
        self.reserve(1)
        fb = feedback_records(transition.info.get("feedback", ()))
        out = np.empty(len(fb))
        n = self.kernels.update(self.state, self.params, fb, self.rng, out)
        self.rewards.extend(float(r) for r in out[:n])
