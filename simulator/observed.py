"""What an operator can see of an action's outcome: observable feedback (DESIGN 3.3, 4).

A learner is rewarded from its monitoring, never from a counterfactual fork. The
counterfactual verdicts of :mod:`simulator.assessment` (safety violation, harm, containment,
success against ``no_op``) are evaluation only; this module defines, once, the feedback a
controller receives ``outcome_window`` minutes after an action, computed from the
*measured* records of the minutes the action was live (closed loop):

measured SLA score of a minute (:func:`measured_sla`)
    The paper's SLA score (Sec. 3.4, :func:`simulator.outcomes.sla_score`) of the measured
    availability ``1 - R_ERR_OBS``, the accuracy on the delayed labels that have arrived
    ``P_BASE_ACC - R_A`` and the measured p99 latency ``R_P99_OBS``.
measured SLOs met (:func:`measured_slo_ok`)
    The same three measurements each meet their SLO (availability, accuracy, p99).
``success`` (the paper's "success", made observable: the alarm cleared)
    The last ``min(P_RECOVERY_MIN, minutes)`` minutes of the outcome window all met every
    measured SLO.
``sla_degraded`` (what the hybrid's SLA filter learns from)
    At some minute of the window the measured SLA score fell below ``SLA_DEGRADED_RATIO``
    (0.8) times the measured score of the minute before the action (``pre_sla``; 1.0, the
    score's maximum, for an action at minute 0): the before/after comparison an operator
    can make, in place of the fork's "20% below no_op's".

The reward a learner derives is the paper's -C(a) + lambda * 1[success]
(:func:`controllers.learner_kernels.feedback_reward`). Numba-compiled.
"""

from __future__ import annotations

import numba as nb

from simulator import layout as L
from simulator.assess_kernel import SLA_DEGRADED_RATIO
from simulator.outcomes import sla_score


@nb.njit(cache=True)
def measured_sla(rec, p):
    """Return the SLA score in [0, 1] of one minute's *measured* record ``rec`` (module doc)."""
    return sla_score(1.0 - rec[L.R_ERR_OBS], p[L.P_BASE_ACC] - rec[L.R_A], rec[L.R_P99_OBS], p)


@nb.njit(cache=True)
def measured_slo_ok(rec, p):
    """Return True if the minute's measured availability, accuracy and p99 meet their SLOs."""
    return (1.0 - rec[L.R_ERR_OBS] >= p[L.P_SLO_AVAIL]
            and p[L.P_BASE_ACC] - rec[L.R_A] >= p[L.P_SLO_ACC]
            and rec[L.R_P99_OBS] <= p[L.P_SLO_LATENCY_MS])


@nb.njit(cache=True)
def pre_action_sla(hist, p, t):
    """Return the measured SLA score of minute ``t - 1`` (1.0 when ``t`` is 0)."""
    return measured_sla(hist[t - 1], p) if t > 0 else 1.0


@nb.njit(cache=True)
def observed_outcome(hist, p, t0, last, pre_sla):
    """Return the observable feedback of an action played at minute ``t0`` (module doc).

    Parameters
    ----------
    hist : ndarray, shape (horizon + 1, N_RECORD)
        The episode's closed-loop records (measured fields filled).
    p : ndarray, shape (N_PARAMS,)
        Scenario parameters.
    t0 : int
        The action's minute.
    last : int
        Last minute of the window whose record exists (``>= t0``): ``t0 + outcome_window
        - 1``, or the minute the episode ended if earlier.
    pre_sla : float
        Measured SLA score before the action (:func:`pre_action_sla`).

    Returns
    -------
    success : bool
        The window's last ``min(P_RECOVERY_MIN, minutes)`` minutes met every measured SLO.
    sla_degraded : bool
        Some minute's measured SLA score fell below ``SLA_DEGRADED_RATIO * pre_sla``.
    minutes : int
        Minutes of the window observed, ``last - t0 + 1``.
    """
    minutes = last - t0 + 1
    tail = min(int(p[L.P_RECOVERY_MIN]), minutes)
    success = minutes > 0
    degraded = False
    for u in range(t0, last + 1):
        rec = hist[u]
        if u > last - tail and not measured_slo_ok(rec, p):
            success = False
        if measured_sla(rec, p) < SLA_DEGRADED_RATIO * pre_sla:
            degraded = True
    return success, degraded, minutes
