"""The hybrid controller as intended (DESIGN 4).

Shield mask, a bandit inside it, canary deployments, an SLA filter and an error budget that
tightens the shield.

Per decision epoch:

1. Layer 1 (the shield, :mod:`controllers.shield`) gives the mask of permitted actions.
2. Error budget (SRE): burn rate = share of the last ``budget_window`` minutes out of SLO,
   divided by the budget (1 - ``slo_target``). Above ``burn_limit`` the shield tightens
   (retrain only when the envelope asks for it) and the controller plays the shield's
   recommendation instead of exploring.
3. Layer 3 SLA filter: the predicted SLA compliance of each permitted action (the posterior
   mean of "no measured SLA degradation" per context, prior Beta(19, 1), i.e. 0.95;
   :mod:`simulator.observed`) must be at least
   ``sla_threshold`` (paper: 0.95). The filter never empties the set: the shield's
   recommendation (or fallback) stays.
4. Layer 2: Beta-Bernoulli Thompson sampling (paper Sec. 3.3) among what is left.
5. Deployments (retrain, rollback) go through the canary (paper Sec. 3.4), judged by the
   paper's delta-SLA rule or, with ``canary_judge="mann_whitney"``, by a one-sided
   Mann-Whitney U test on per-request correctness (``simulator.deploy._judge_canary``).
6. No canary keeps the traffic on a model that misses an SLO (``docs/urgent.md``): a
   canary leaves the model it would replace on 1 - ``canary_share`` of the traffic for
   ``canary_minutes`` (30 by default), longer than an urgent incident takes to become
   catastrophic, and a rollback is chosen because that model is suspect. In any minute in
   which a canary is running, the last minute missed an SLO (``info["slo_violation"]``,
   measured) and the fallback is not serving, the hybrid plays ``fallback``: the fallback
   carries the traffic while the canary judges the candidate against it, and the
   promotion ends the fallback (``simulator.deploy._promote``). This is not a decision
   (no cooldown, no feedback of its own); without a canary (``use_canary=False``) or with
   ``urgent_fallback=False`` it never happens.

Ablation switches: ``use_shield``, ``use_canary``, ``use_sla_filter``, ``use_error_budget``,
``urgent_fallback``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numba as nb
import numpy as np

from controllers import hybrid_kernels as HK
from controllers import learner_kernels as LK
from controllers.base import KernelController, kernel_params, require
from controllers.detector_layer import DETECTORS, detector_alarm, detector_state
from controllers.kernels import slo_limits
from controllers.learners import BetaThompson, LearnerConfig
from controllers.protocol import Kernels, d_crit
from simulator.layout import FALLBACK, NO_OP
from simulator.scenarios.compile import CANARY_JUDGES

#: Per-episode scalars: the cooldown clock, the shield's last data-quality alarm, and the
#: error budget's ring buffer of SLO misses (head, length, misses in it).
VARS = np.dtype([("quiet_until", np.int64), ("last_alarm", np.int64), ("slo_head", np.int64),
                 ("slo_len", np.int64), ("slo_count", np.int64)], align=True)


@dataclass
class HybridConfig(LearnerConfig):
    """``hybrid``'s parameters.

    Attributes
    ----------
    sla_threshold : float
        Minimum predicted SLA compliance of an action (paper Sec. 3.4: 0.95), in (0, 1].
    slo_target : float
        SLO of the error budget (share of minutes meeting all SLOs), in (0, 1).
    budget_window : int
        Minutes over which the burn rate is measured, >= 1.
    burn_limit : float
        Burn rate above which the shield tightens, finite and > 0.
    use_shield, use_canary, use_sla_filter, use_error_budget : bool
        Ablation switches.
    urgent_fallback : bool
        Let the fallback carry a canary's traffic while the model it would replace misses
        an SLO (module docstring, point 6); False: the paper's canary alone.
    canary_judge : str
        ``delta_sla`` (paper Sec. 3.4) or ``mann_whitney``; the runner passes it to the env.
    detector : str
        What raises the alarm that opens a decision (:mod:`controllers.detector_layer`):
        ``ks`` (the paper's, default), ``cusum``, ``page_hinkley``, ``adwin`` or ``ewma``.
    """

    _target_: str = "controllers.hybrid.HybridController"
    sla_threshold: float = 0.95
    slo_target: float = 0.99
    budget_window: int = 60
    burn_limit: float = 14.4
    use_shield: bool = True
    use_canary: bool = True
    use_sla_filter: bool = True
    use_error_budget: bool = True
    urgent_fallback: bool = True
    canary_judge: str = "delta_sla"
    detector: str = "ks"

    def __post_init__(self):
        super().__post_init__()
        require(0.0 < self.sla_threshold <= 1.0, "sla_threshold", self.sla_threshold,
                "in (0, 1]")
        require(0.0 < self.slo_target < 1.0, "slo_target", self.slo_target, "in (0, 1)")
        require(self.budget_window >= 1, "budget_window", self.budget_window, ">= 1 minute")
        require(0.0 < self.burn_limit < float("inf"), "burn_limit", self.burn_limit,
                "finite and > 0")
        require(self.canary_judge in CANARY_JUDGES, "canary_judge", self.canary_judge,
                f"one of {CANARY_JUDGES}")
        require(self.detector in DETECTORS, "detector", self.detector,
                f"one of {', '.join(DETECTORS)}")


class HybridParams(NamedTuple):
    """Kernel parameters of ``hybrid``."""

    alpha: float
    cooldown: int
    lam: float
    sla_threshold: float
    slo_target: float
    burn_limit: float
    use_shield: bool
    use_sla_filter: bool
    use_error_budget: bool
    urgent_fallback: bool
    detector: int


class HybridState(NamedTuple):
    """State of ``hybrid``: :class:`controllers.learner_kernels.TabularState`'s fields, plus more.

    Attributes
    ----------
    slo_ring : ndarray of bool, shape (budget_window,)
        Per episode: SLO misses of the last minutes (a ring buffer, ``vars``' head/length).
    mask : ndarray of bool, shape (n_actions,)
        Per episode: the shield's mask at the last decision (before the SLA filter); all
        False before the episode's first decision.
    det, det_init : ndarray of float64
        Per episode: the detector layer's state and its fresh value
        (:mod:`controllers.detector_layer`).
    """

    tab: np.ndarray
    safe: np.ndarray
    vars: np.ndarray
    init: np.ndarray
    pend_key: np.ndarray
    pend_ctx: np.ndarray
    stats: np.ndarray
    slo_ring: np.ndarray
    mask: np.ndarray
    det: np.ndarray
    det_init: np.ndarray
    EPISODE = ("vars", "pend_key", "pend_ctx", "slo_ring", "mask", "det")
    RUN_STATS = ("stats",)


@nb.njit(cache=True)
def reset(state, params):
    """Clear the cooldown, pending decisions, the shield's memory and the error budget."""
    LK.tabular_reset(state, params)
    state.slo_ring[:] = False
    state.mask[:] = False  # no decision yet
    state.det[:] = state.det_init


@nb.njit(cache=True)
def observe_budget(state, violated):
    """Append this minute's SLO miss to the error budget's window (oldest drops out)."""
    v = state.vars[0]
    ring = state.slo_ring
    w = ring.shape[0]
    if v.slo_len < w:
        ring[(v.slo_head + v.slo_len) % w] = violated
        v.slo_len += 1
    else:
        v.slo_count -= 1 if ring[v.slo_head] else 0
        ring[v.slo_head] = violated
        v.slo_head = (v.slo_head + 1) % w
    v.slo_count += 1 if violated else 0


@nb.njit(cache=True)
def burn_rate(state, params):
    """Error-budget burn rate over the window (1 = burning exactly the budget)."""
    v = state.vars[0]
    if v.slo_len == 0:
        return 0.0
    return (v.slo_count / v.slo_len) / (1.0 - params.slo_target)


@nb.njit(cache=True)
def act(state, params, obs, info, truth, rng):
    """Every minute: the shield's memory and the error budget; at a decision epoch: choose.

    While a canary runs and the last minute missed an SLO, ``fallback`` (module docstring,
    point 6).
    """
    v = state.vars[0]
    v.last_alarm = HK.shield_observe(obs, info[0].minute, v.last_alarm,
                                     HK.QUALITY_VALIDATION, HK.QUALITY_RHO)
    observe_budget(state, info[0].slo_violation)
    err_limit, p99_limit, _ = slo_limits(info)
    alarmed = detector_alarm(params.detector, state.det, obs, d_crit(params, info),
                             err_limit, p99_limit)
    i = info[0]
    if (params.urgent_fallback and i.canary_active and i.slo_violation
            and not i.fallback_active):
        return FALLBACK, 0.0  # the fallback carries the canary's traffic (point 6)
    ctx, dc, allowed = LK.begin_decision(state, params, obs, info, 1 if alarmed else 0)
    if ctx < 0:
        return NO_OP, 0.0
    tight = params.use_error_budget and burn_rate(state, params) > params.burn_limit
    return LK.end_decision(state, params, info, ctx, HK.hybrid_choose(
        rng, state.tab, state.safe, ctx, allowed, obs, dc, info, v.last_alarm, tight, params,
        state.mask))


class HybridController(KernelController):
    """Shielded, cost-aware Thompson sampling with canary deployments."""

    name = "hybrid"
    Config = HybridConfig
    kernels = Kernels(HybridParams, act=act, reset=reset, update=LK.update_hybrid)

    def new_params(self, config: HybridConfig) -> HybridParams:
        """Return the config's fields, the detector as its code."""
        return kernel_params(HybridParams, config, detector=DETECTORS.index(config.detector))

    def new_state(self, config: HybridConfig) -> HybridState:
        """Beta(1, 1) bandit priors, Beta(19, 1) SLA-filter priors, episode cleared."""
        n = config.n_actions
        safe = np.ones((2, LK.N_CONTEXTS, n))
        safe[0] = 19.0
        base = LK.new_tabular_state(np.ones((2, LK.N_CONTEXTS, n)), safe, VARS)
        base.init[0]["last_alarm"] = HK.NO_ALARM
        base.vars[:] = base.init
        det = detector_state(config.detector)
        return HybridState(*base, np.zeros(config.budget_window, dtype=np.bool_),
                           np.zeros(n, dtype=np.bool_), det, det.copy())

    @property
    def deployment(self) -> str:
        """``canary`` unless the canary is ablated."""
        return "canary" if self.config.use_canary else "direct"

    @property
    def canary_judge(self) -> str:
        """How the env judges canaries."""
        return self.config.canary_judge

    @property
    def learner(self) -> BetaThompson:
        """The bandit's posteriors as a :class:`BetaThompson` (shares ``state.tab``)."""
        return BetaThompson(LK.N_CONTEXTS, self.config.n_actions, self.rng, tab=self.state.tab)

    @property
    def safe(self) -> np.ndarray:
        """SLA filter posteriors, shape (2, N_CONTEXTS, n_actions) (``state.safe``)."""
        return self.state.safe

    @property
    def burn_rate(self) -> float:
        """Error-budget burn rate over the window (1 = burning exactly the budget)."""
        return float(burn_rate(self.state, self.params))

    @property
    def last_mask(self) -> np.ndarray | None:
        """The shield's mask at the episode's last decision (None before the first).

        A mask always permits an action, so an all-False one means no decision yet.
        """
        return self.state.mask.copy() if self.state.mask.any() else None
