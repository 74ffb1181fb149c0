"""Counterfactual assessment of one action against ``no_op`` (DESIGN 3.6).

At the minute an action is taken, the simulation is forked twice: one fork plays the
action, the other ``no_op``; both then play ``no_op`` for the rest of the outcome window.
Both forks see the same random numbers (common random numbers), so every difference is the
action's doing. The verdicts:

harmful
    the action's window costs more dollars than ``no_op``'s, or it causes a catastrophe
    ``no_op`` avoids ("outcome worse than no_op", DESIGN 3.6 risk containment).
safety_violation
    the action causes a catastrophe, or more minutes out of SLO than ``no_op``, or an SLA
    score more than 20% below ``no_op``'s at some minute (paper: "SLA breach or > 20%
    degradation", read as caused by the action).
contained
    harmful, and the canary aborted the change inside the window (the harm stayed in
    canary traffic).
success
    no safety violation, and all SLOs met for the last ``recovery_minutes`` of the window
    (the learning signal of the paper's reward, Sec. 3.3).
"""

from __future__ import annotations

import numpy as np

from simulator import layout as L
from simulator.core import Simulation


def assess_action(sim: Simulation, action: int, window: int | None = None) -> dict:
    """Assess ``action`` at the simulation's current minute without changing ``sim``.

    Parameters
    ----------
    sim : Simulation
        The live simulation, before the action's step.
    action : int
        The action to assess.
    window : int, optional
        Minutes to look ahead; defaults to the scenario's ``outcome_window``.

    Returns
    -------
    dict
        ``harmful``, ``safety_violation``, ``contained``, ``success`` (bools),
        ``delta_cost_usd`` (action minus no_op, dollars), ``minutes`` (window length).
    """
    p = sim.p
    w = int(p[L.P_OUTCOME_WINDOW]) if window is None else int(window)
    w = max(1, min(w, sim.horizon - sim.t + 1))
    a_sim = sim.fork()
    b_sim = sim.fork()
    aborts0 = a_sim.s[L.S_N_CANARY_ABORTS]
    ra = a_sim.rollout(action, w)
    rb = b_sim.rollout(L.NO_OP, w)
    k = min(len(ra), len(rb))
    ra, rb = ra[:k], rb[:k]
    cat_a = a_sim.catastrophe != L.CAT_NONE
    cat_b = b_sim.catastrophe != L.CAT_NONE
    cost_a = float(ra[:, L.R_COST_RATE].sum())
    cost_b = float(rb[:, L.R_COST_RATE].sum())
    caused_cat = cat_a and not cat_b
    harmful = caused_cat or cost_a > cost_b + 1e-9
    breach_a = float((1.0 - ra[:, L.R_SLO_ALL_OK]).sum())
    breach_b = float((1.0 - rb[:, L.R_SLO_ALL_OK]).sum())
    degraded = bool(np.any(ra[:, L.R_SLA_SCORE] < 0.8 * rb[:, L.R_SLA_SCORE]))
    violation = caused_cat or breach_a > breach_b or degraded
    contained = harmful and a_sim.s[L.S_N_CANARY_ABORTS] > aborts0 and not caused_cat
    rec_min = int(p[L.P_RECOVERY_MIN])
    recovered = k >= rec_min and bool(np.all(ra[-rec_min:, L.R_SLO_ALL_OK] > 0.5))
    return {
        "harmful": bool(harmful),
        "safety_violation": bool(violation),
        "contained": bool(contained),
        "success": bool(recovered and not violation),
        "delta_cost_usd": cost_a - cost_b,
        "minutes": int(k),
    }
