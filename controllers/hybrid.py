"""The hybrid controller as intended (DESIGN 4).

Shield mask, a bandit inside it, canary deployments, an SLA filter and an error budget that
tightens the shield.

Per decision epoch:

1. Layer 1 (:class:`~controllers.shield.Shield`) gives the mask of permitted actions.
2. Error budget (SRE): burn rate = share of the last ``budget_window`` minutes out of SLO,
   divided by the budget (1 - ``slo_target``). Above ``burn_limit`` the shield tightens
   (retrain only when the envelope asks for it) and the controller plays the shield's
   recommendation instead of exploring.
3. Layer 3 SLA filter: the predicted SLA compliance of each permitted action (the posterior
   mean of "no safety violation" per context, prior Beta(19, 1), i.e. 0.95) must be at least
   ``sla_threshold`` (paper: 0.95). The filter never empties the set: the shield's
   recommendation (or fallback) stays.
4. Layer 2: Beta-Bernoulli Thompson sampling (paper Sec. 3.3) among what is left.
5. Deployments (retrain, rollback) go through the canary (paper Sec. 3.4), judged by the
   paper's delta-SLA rule or, with ``canary_judge="mann_whitney"``, by a one-sided
   Mann-Whitney U test on per-request correctness (``simulator.deploy._judge_canary``).

Ablation switches: ``use_shield``, ``use_canary``, ``use_sla_filter``, ``use_error_budget``.
"""

from __future__ import annotations

from collections import deque

import numpy as np

from controllers import hybrid_kernels as _hk
from controllers.base import check_bool, check_int, check_number
from controllers.learners import N_CTX, BetaThompson, LearningController
from controllers.shield import Shield, shield_facts
from simulator.scenarios.compile import CANARY_JUDGES


class HybridController(LearningController):
    """Shielded, cost-aware Thompson sampling with canary deployments.

    Parameters
    ----------
    sla_threshold : float
        Minimum predicted SLA compliance of an action (paper Sec. 3.4: 0.95).
    slo_target : float
        SLO of the error budget (share of minutes meeting all SLOs).
    budget_window : int
        Minutes over which the burn rate is measured.
    burn_limit : float
        Burn rate above which the shield tightens.
    use_shield, use_canary, use_sla_filter, use_error_budget : bool
        Ablation switches.
    canary_judge : str
        ``"delta_sla"`` (paper Sec. 3.4) or ``"mann_whitney"``; the runner passes it to the env.
    """

    name = "hybrid"

    def __init__(self, seed: int = 0, cooldown: int = 30, alpha: float = 0.05,
                 lam: float = 10.0, n_actions: int = 4, sla_threshold: float = 0.95,
                 slo_target: float = 0.99, budget_window: int = 60, burn_limit: float = 14.4,
                 use_shield: bool = True, use_canary: bool = True, use_sla_filter: bool = True,
                 use_error_budget: bool = True, canary_judge: str = "delta_sla"):
        super().__init__(seed=seed, cooldown=cooldown, alpha=alpha, lam=lam,
                         n_actions=n_actions)
        sla_threshold = check_number("sla_threshold", sla_threshold)
        slo_target = check_number("slo_target", slo_target)
        budget_window = check_int("budget_window", budget_window)
        burn_limit = check_number("burn_limit", burn_limit, finite=True)
        use_shield = check_bool("use_shield", use_shield)
        use_canary = check_bool("use_canary", use_canary)
        use_sla_filter = check_bool("use_sla_filter", use_sla_filter)
        use_error_budget = check_bool("use_error_budget", use_error_budget)
        if not 0.0 < sla_threshold <= 1.0:
            raise ValueError(f"sla_threshold must be in (0, 1], got {sla_threshold}")
        if not 0.0 < slo_target < 1.0:
            raise ValueError(f"slo_target must be in (0, 1), got {slo_target}")
        if budget_window < 1:
            raise ValueError(f"budget_window must be >= 1 minute, got {budget_window}")
        if burn_limit <= 0:
            raise ValueError(f"burn_limit must be > 0, got {burn_limit}")
        if canary_judge not in CANARY_JUDGES:
            raise ValueError(f"canary_judge must be one of {CANARY_JUDGES}, got {canary_judge!r}")
        self.sla_threshold = sla_threshold
        self.slo_target = slo_target
        self.burn_limit = burn_limit
        self.use_shield = use_shield
        self.use_sla_filter = use_sla_filter
        self.use_error_budget = use_error_budget
        self.deployment = "canary" if use_canary else "direct"
        self.canary_judge = canary_judge
        self.learner = BetaThompson(N_CTX, self.n_actions, self.rng)
        self.safe = np.ones((2, N_CTX, self.n_actions))
        self.safe[0] = 19.0
        self.shield = Shield()
        self._slo_window: deque[bool] = deque(maxlen=budget_window)
        self.last_mask: np.ndarray | None = None

    def reset(self, seed: int) -> None:
        """Clear the episode's shield memory and error-budget window."""
        super().reset(seed)
        self.shield.reset()
        self._slo_window.clear()
        self.last_mask = None

    @property
    def safe_a(self) -> np.ndarray:
        """SLA filter: alphas of the "no safety violation" posteriors (a view of ``safe``)."""
        return self.safe[0]

    @property
    def safe_b(self) -> np.ndarray:
        """SLA filter: betas of the "no safety violation" posteriors (a view of ``safe``)."""
        return self.safe[1]

    @property
    def burn_rate(self) -> float:
        """Error-budget burn rate over the window (1 = burning exactly the budget)."""
        if not self._slo_window:
            return 0.0
        return float(np.mean(self._slo_window)) / (1.0 - self.slo_target)

    def act(self, observation, info) -> int:
        """Update the shield's memory and the error budget every minute, then decide."""
        x = self.observe(observation, info)
        self.shield.observe(x, int(info.get("minute", 0)))
        self._slo_window.append(bool(info.get("slo_violation", False)))
        return super().act(observation, info)

    def choose(self, ctx, allowed, x, info) -> int:
        """Mask, error budget, SLA filter, then Thompson sampling (hybrid_kernels)."""
        tight = self.use_error_budget and self.burn_rate > self.burn_limit
        minute, busy, prev_ok, prev_compat, delay, window = shield_facts(info)
        mask = np.empty(self.n_actions, dtype=bool)
        a = _hk.hybrid_choose(
            self.rng, self.learner.tab, self.safe, int(ctx), np.asarray(allowed, dtype=bool),
            x.vector, x.d_critical, minute, int(self.shield.last_quality_alarm), busy,
            prev_ok, prev_compat, delay, window, bool(tight), bool(self.use_shield),
            bool(self.use_sla_filter), float(self.sla_threshold), mask)
        self.last_mask = mask
        return int(a)

    def learn(self, ctx, action, reward, fb) -> None:
        """Update the bandit and the SLA filter's violation posterior."""
        _hk.hybrid_learn(self.rng, self.learner.tab, self.safe, int(ctx), int(action),
                         float(reward), self.lam, bool(fb.get("safety_violation")))
