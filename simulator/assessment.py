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

The arithmetic is the Numba kernel :func:`simulator.assess_kernel.assess`, shared with the
batched fast path; window dollars are summed sequentially.
"""

from __future__ import annotations

from simulator.assess_kernel import assess
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
    w = -1 if window is None else max(1, int(window))
    harmful, violation, contained, success, delta, k = assess(sim.arrays, int(action), w)
    return {
        "harmful": bool(harmful),
        "safety_violation": bool(violation),
        "contained": bool(contained),
        "success": bool(success),
        "delta_cost_usd": float(delta),
        "minutes": int(k),
    }
