"""The kernel protocol of a controller, and its composition in compiled code (DESIGN 4, 6).

A controller with a fast path is one module holding its parameter schema (a dataclass,
see :class:`controllers.base.ControllerConfig`), its kernel parameters (a ``NamedTuple``
of scalars), its state (a ``NamedTuple`` of arrays) and five Numba kernels over them,
registered here with :class:`Kernels`:

============ ==================================================== =========================
kernel       signature                                            called
============ ==================================================== =========================
``reset``    ``(state, params) -> None``                          at each episode start
``act``      ``(state, params, obs, info, truth, rng)``           every minute, before the
             ``-> (action, engineer_minutes)``                    step
``update``   ``(state, params, feedback, rng, rewards) -> int``   every minute, after the
                                                                  step, with the feedback
                                                                  matured by then
``epoch``    ``(state, params, obs, info) -> bool``               before ``act``: is this a
                                                                  decision epoch (regret)?
``forks``    ``(state, params, obs, info) -> int``                before ``act``: window of
                                                                  counterfactual forks the
                                                                  controller reads (0: none;
                                                                  -1: the outcome window)
============ ==================================================== =========================

``obs`` is the full observation (10 float64, the env's table), ``info`` a one-element
:data:`simulator.records.INFO` array, ``truth`` a :class:`simulator.records.Truth` (the
runner withholds it, ``optimal_action = -1`` and no forks, unless the controller sets
``uses_hidden_state``), ``feedback`` an array of :data:`simulator.records.FEEDBACK` records,
``rng`` the controller's ``numpy.random.Generator``; ``update`` writes the rewards it
learned into ``rewards`` and returns how many. ``act`` may change only per-episode state
(the fields the state record lists in ``EPISODE``); learned state changes in ``update``.

The Python class (:class:`controllers.base.KernelController`) calls the kernels on its own
state; the batched fast path (:mod:`experiments.fast_loop`) calls :func:`ctl_reset`,
:func:`ctl_act`, :func:`ctl_update`, :func:`ctl_epoch` and :func:`ctl_forks`, which Numba
resolves at compile time to the kernels registered for the type of ``params`` (and Python
looks up at call time, so the loop's ``py_func`` runs too): the fast path composes kernels
and never switches on a controller's kind.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import numba as nb
import numpy as np
from numba.extending import overload

from controllers.kernels import alarm, critical_value, slo_limits
from simulator.records import new_records

_REGISTRY: dict[type, Kernels] = {}


# ------------------------------------------------------------------ default kernels
class VarsState(NamedTuple):
    """The state of a controller whose only state is a record of per-episode scalars.

    Attributes
    ----------
    vars : ndarray, shape (1,)
        The scalars (a structured dtype of the controller's).
    init : ndarray, shape (1,)
        Their values at an episode's start (constant).
    """

    vars: np.ndarray
    init: np.ndarray
    EPISODE = ("vars",)


def vars_state(dtype: np.dtype, **initial) -> VarsState:
    """Return a :class:`VarsState` of ``dtype`` starting from ``initial`` (others 0)."""
    init = new_records(dtype)
    for key, value in initial.items():
        init[0][key] = value
    return VarsState(init.copy(), init)


@nb.njit(cache=True)
def reset_vars(state, params):
    """``reset`` of a :class:`VarsState`: the scalars return to their initial values."""
    state.vars[:] = state.init


@nb.njit(cache=True)
def reset_nothing(state, params):
    """Default ``reset``: no per-episode state to clear."""


@nb.njit(cache=True)
def update_nothing(state, params, feedback, rng, rewards):
    """Default ``update``: learns nothing; returns 0 rewards."""
    return 0


@nb.njit(cache=True)
def d_crit(params, info):
    """Bonferroni-corrected KS critical value of ``params.alpha`` for this env's sizes."""
    i = info[0]
    return critical_value(params.alpha, i.ks_n, i.ks_m)


@nb.njit(cache=True)
def alarm_epoch(state, params, obs, info):
    """Default ``epoch``: out of cooldown (``state.vars[0].quiet_until``) and an alarm.

    The decision epochs of every alarm-driven controller (:func:`controllers.kernels.alarm`
    at the KS level ``params.alpha``).
    """
    err_limit, p99_limit, _ = slo_limits(info)
    return (info[0].minute >= state.vars[0].quiet_until
            and alarm(obs, d_crit(params, info), err_limit, p99_limit))


@nb.njit(cache=True)
def no_forks(state, params, obs, info):
    """Default ``forks``: the controller reads no counterfactual forks."""
    return 0


# ------------------------------------------------------------------ the registry
@dataclass(frozen=True)
class Kernels:
    """The kernels of one controller, registered under its kernel-parameter type.

    Parameters
    ----------
    params : type
        The controller's kernel-parameter ``NamedTuple`` class (one per controller).
    act : numba dispatcher
    reset, update, epoch, forks : numba dispatcher, optional
        Defaults: :func:`reset_nothing`, :func:`update_nothing`, :func:`alarm_epoch`,
        :func:`no_forks`.

    Raises
    ------
    ValueError
        If kernels are already registered for ``params``.
    """

    params: type
    act: Callable
    reset: Callable = reset_nothing
    update: Callable = update_nothing
    epoch: Callable = alarm_epoch
    forks: Callable = no_forks

    def __post_init__(self):
        if self.params in _REGISTRY:
            raise ValueError(f"kernels for {self.params.__qualname__} are already registered")
        _REGISTRY[self.params] = self


def registered(params_type: type) -> Kernels:
    """Return the kernels registered for ``params_type``.

    Raises
    ------
    KeyError
        If none are.
    """
    return _REGISTRY[params_type]


def _kernels_of(params) -> Kernels:
    """Return the kernels registered for a Numba ``NamedTuple`` type (compile time)."""
    cls = getattr(params, "instance_class", None)
    if cls not in _REGISTRY:
        raise nb.core.errors.TypingError(f"no controller kernels registered for {params}")
    return _REGISTRY[cls]


# ------------------------------------------------------------------ composition
def ctl_reset(state, params):
    """Call the ``reset`` kernel of ``params``' controller (Numba: resolved at compile time)."""
    return registered(type(params)).reset(state, params)


def ctl_act(state, params, obs, info, truth, rng):
    """Call the ``act`` kernel of ``params``' controller (Numba: resolved at compile time)."""
    return registered(type(params)).act(state, params, obs, info, truth, rng)


def ctl_update(state, params, feedback, rng, rewards):
    """Call the ``update`` kernel of ``params``' controller (Numba: resolved at compile time)."""
    return registered(type(params)).update(state, params, feedback, rng, rewards)


def ctl_epoch(state, params, obs, info):
    """Call the ``epoch`` kernel of ``params``' controller (Numba: resolved at compile time)."""
    return registered(type(params)).epoch(state, params, obs, info)


def ctl_forks(state, params, obs, info):
    """Call the ``forks`` kernel of ``params``' controller (Numba: resolved at compile time)."""
    return registered(type(params)).forks(state, params, obs, info)


@overload(ctl_reset)
def _ol_reset(state, params):
    fn = _kernels_of(params).reset

    def impl(state, params):
        return fn(state, params)
    return impl


@overload(ctl_act)
def _ol_act(state, params, obs, info, truth, rng):
    fn = _kernels_of(params).act

    def impl(state, params, obs, info, truth, rng):
        a, eng = fn(state, params, obs, info, truth, rng)
        return np.int64(a), np.float64(eng)  # one type for every controller
    return impl


@overload(ctl_update)
def _ol_update(state, params, feedback, rng, rewards):
    fn = _kernels_of(params).update

    def impl(state, params, feedback, rng, rewards):
        return np.int64(fn(state, params, feedback, rng, rewards))
    return impl


@overload(ctl_epoch)
def _ol_epoch(state, params, obs, info):
    fn = _kernels_of(params).epoch

    def impl(state, params, obs, info):
        return bool(fn(state, params, obs, info))
    return impl


@overload(ctl_forks)
def _ol_forks(state, params, obs, info):
    fn = _kernels_of(params).forks

    def impl(state, params, obs, info):
        return np.int64(fn(state, params, obs, info))
    return impl
