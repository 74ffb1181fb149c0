"""Typed records the environment hands to controllers and to evaluation (DESIGN 3.3, 4).

Three NumPy structured dtypes, used as one-element arrays (``info``, ``truth``) or arrays of
records (``feedback``) by the Gymnasium environment, the controllers' kernels and the
batched fast path alike, so that both paths pass the same typed values:

``INFO``: the public facts of one minute (what a real operator's monitoring shows)
    ============================== ======= ===================================================
    field                          type    meaning
    ============================== ======= ===================================================
    ``minute``                     int64   minute of the last observation (the env's step)
    ``cost``                       float64 the paper's C(a) of the action just played
    ``cost_usd``                   float64 dollars billed this minute (compute, retraining,
                                           engineer time; lost revenue and SLA penalties
                                           follow true accuracy: evaluation only)
    ``catastrophic``               bool    a catastrophic failure has happened
    ``slo_violation``              bool    some SLO was missed this minute, as measured
                                           (:func:`simulator.observed.measured_slo_ok`)
    ``action_applied``             bool    the action took effect (False: became a no-op)
    ``fallback_active``            bool    the fallback model serves traffic
    ``retrain_running``            bool    a retrain job is running
    ``canary_active``              bool    a canary is running
    ``previous_available``         bool    a previous model version exists
    ``previous_schema_compatible`` bool    the previous version accepts the live schema
    ``label_delay``                int64   minutes until a prediction's label arrives
    ``train_window``               int64   minutes of labelled data a retrain uses
    ``ks_n``, ``ks_m``             int64   KS window and reference sample sizes
    ``n_actions``                  int64   size of the env's action set (4 or 8)
    ``slo_availability``           float64 the availability SLO (share of requests served)
    ``slo_p99_ms``                 float64 the p99 latency SLO, ms
    ``slo_accuracy``               float64 the accuracy SLO
    ``timeout_ms``                 float64 the clients' request timeout, ms
    ============================== ======= ===================================================

``FEEDBACK``: what a controller learns of one action, ``outcome_window`` minutes after it
    ``decision_minute`` (int64), ``action`` (int64), ``paper_cost`` (float64, C(a)),
    ``success`` and ``sla_degraded`` (bool, measured: :mod:`simulator.observed`),
    ``pre_sla`` (float64, the measured SLA score before the action), ``minutes`` (int64,
    minutes of the window observed). Only observables: the information boundary.

``VERDICT``: the counterfactual assessment of one action, for evaluation only
    ``decision_minute``, ``action``, ``paper_cost``; ``success``, ``harmful``,
    ``safety_violation``, ``contained`` (bool, against a ``no_op`` fork with common random
    numbers: :mod:`simulator.assessment`), ``delta_cost_usd`` (float64, dollars against
    ``no_op``), ``minutes`` (int64, window simulated). Never handed to a controller.

``TRUTH``: hidden state for evaluation and the labelled hidden-state controllers only
    ``optimal_action`` (int64, the scenario's annotated action; -1 when withheld) and
    ``fork_minutes`` (int64, window of the forks in :class:`Truth`'s arrays, 0: none).
"""

from __future__ import annotations

from typing import NamedTuple

import numba as nb
import numpy as np

from simulator import layout as L
from simulator.observed import measured_slo_ok

INFO = np.dtype([
    ("minute", np.int64),
    ("cost", np.float64),
    ("cost_usd", np.float64),
    ("catastrophic", np.bool_),
    ("slo_violation", np.bool_),
    ("action_applied", np.bool_),
    ("fallback_active", np.bool_),
    ("retrain_running", np.bool_),
    ("canary_active", np.bool_),
    ("previous_available", np.bool_),
    ("previous_schema_compatible", np.bool_),
    ("label_delay", np.int64),
    ("train_window", np.int64),
    ("ks_n", np.int64),
    ("ks_m", np.int64),
    ("n_actions", np.int64),
    ("slo_availability", np.float64),
    ("slo_p99_ms", np.float64),
    ("slo_accuracy", np.float64),
    ("timeout_ms", np.float64),
], align=True)

FEEDBACK = np.dtype([
    ("decision_minute", np.int64),
    ("action", np.int64),
    ("paper_cost", np.float64),
    ("success", np.bool_),
    ("sla_degraded", np.bool_),
    ("pre_sla", np.float64),
    ("minutes", np.int64),
], align=True)

VERDICT = np.dtype([
    ("decision_minute", np.int64),
    ("action", np.int64),
    ("paper_cost", np.float64),
    ("success", np.bool_),
    ("harmful", np.bool_),
    ("safety_violation", np.bool_),
    ("contained", np.bool_),
    ("delta_cost_usd", np.float64),
    ("minutes", np.int64),
], align=True)

TRUTH = np.dtype([("optimal_action", np.int64), ("fork_minutes", np.int64)], align=True)


class Truth(NamedTuple):
    """Hidden state a hidden-state controller (the oracle, the human model) may read.

    Attributes
    ----------
    rec : ndarray of TRUTH, shape (1,)
    fork_cost : ndarray of float64, shape (N_EXTENDED_ACTIONS,)
        Dollars over ``rec[0].fork_minutes`` after playing each action then ``no_op``
        (:func:`simulator.assess_kernel.evaluate`); NaN when not computed.
    fork_cat : ndarray of bool, shape (N_EXTENDED_ACTIONS,)
        Whether that fork ended in a catastrophe.
    """

    rec: np.ndarray
    fork_cost: np.ndarray
    fork_cat: np.ndarray


def new_records(dtype: np.dtype, n: int = 1) -> np.recarray:
    """Return ``n`` zeroed records of ``dtype``.

    A ``numpy.recarray``: its elements read and write fields as attributes
    (``info[0].minute``) in interpreted Python as in Numba, which types it as a plain
    structured array; so a kernel's ``py_func`` runs on the same arrays.
    """
    return np.zeros(n, dtype=dtype).view(np.recarray)


def new_info() -> np.recarray:
    """Return a zeroed one-element ``INFO`` array."""
    return new_records(INFO)


def new_truth(optimal_action: int = -1) -> Truth:
    """Return a :class:`Truth` with ``optimal_action`` and no forks (NaN costs)."""
    rec = new_records(TRUTH)
    rec[0]["optimal_action"] = optimal_action
    return Truth(rec, np.full(L.N_EXTENDED_ACTIONS, np.nan),
                 np.zeros(L.N_EXTENDED_ACTIONS, dtype=np.bool_))


def feedback_records(items: list[dict]) -> np.ndarray:
    """Convert the env's ``info["feedback"]`` dicts to a ``FEEDBACK`` array, in order.

    ``decision_minute``, ``action`` (a name) and ``paper_cost`` are required; a missing
    flag reads False, ``pre_sla`` 1.0 and ``minutes`` 0. Other keys are ignored: a
    controller's kernels never see them.
    """
    out = new_records(FEEDBACK, len(items))
    for i, fb in enumerate(items):
        r = out[i]
        r["decision_minute"] = int(fb["decision_minute"])
        r["action"] = L.ACTION_NAMES.index(fb["action"])
        r["paper_cost"] = float(fb["paper_cost"])
        for key in ("success", "sla_degraded"):
            r[key] = bool(fb.get(key, False))
        r["pre_sla"] = float(fb.get("pre_sla", 1.0))
        r["minutes"] = int(fb.get("minutes", 0))
    return out


def feedback_dicts(records: np.ndarray) -> list[dict]:
    """Convert ``FEEDBACK`` records to the env's feedback dicts (action as its name)."""
    return [{
        "decision_minute": int(r["decision_minute"]),
        "action": L.ACTION_NAMES[int(r["action"])],
        "paper_cost": float(r["paper_cost"]),
        "success": bool(r["success"]),
        "sla_degraded": bool(r["sla_degraded"]),
        "pre_sla": float(r["pre_sla"]),
        "minutes": int(r["minutes"]),
    } for r in records]


def verdict_dicts(records: np.ndarray) -> list[dict]:
    """Convert ``VERDICT`` records to the env's assessment dicts (action as its name)."""
    return [{
        "harmful": bool(r["harmful"]),
        "safety_violation": bool(r["safety_violation"]),
        "contained": bool(r["contained"]),
        "success": bool(r["success"]),
        "delta_cost_usd": float(r["delta_cost_usd"]),
        "minutes": int(r["minutes"]),
        "decision_minute": int(r["decision_minute"]),
        "action": L.ACTION_NAMES[int(r["action"])],
        "paper_cost": float(r["paper_cost"]),
    } for r in records]


@nb.njit(cache=True)
def fill_info(p, s, models, rec, paper_cost, applied, out):
    """Write the public facts of the minute just stepped into ``out[0]`` (an ``INFO`` array).

    Parameters
    ----------
    p, s, models : ndarray
        The simulation's parameters, state and model table (:mod:`simulator.layout`).
    rec : ndarray, shape (N_RECORD,)
        The minute's record.
    paper_cost : float
        C(a) of the action played.
    applied : int
        1 if the action took effect.
    out : ndarray of INFO, shape (1,)
    """
    i = out[0]
    i.minute = int(s[L.S_T]) - 1
    i.cost = paper_cost
    i.cost_usd = rec[L.R_COST_BILLED]
    i.catastrophic = s[L.S_CATASTROPHIC] != L.CAT_NONE
    i.slo_violation = not measured_slo_ok(rec, p)
    i.action_applied = applied != 0
    i.fallback_active = s[L.S_FALLBACK_ACTIVE] > 0.5
    i.retrain_running = s[L.S_JOB_ACTIVE] > 0.5
    i.canary_active = s[L.S_CANARY_ACTIVE] > 0.5
    i.previous_available = models[L.M_PREVIOUS, L.MF_VALID] > 0.5
    i.previous_schema_compatible = models[L.M_PREVIOUS, L.MF_SCHEMA] == s[L.S_LIVE_SCHEMA]
    i.label_delay = int(p[L.P_LABEL_DELAY])
    i.train_window = int(p[L.P_TRAIN_WINDOW])
    i.ks_n = int(p[L.P_SAMPLES_PER_MIN] * p[L.P_KS_WINDOW])
    i.ks_m = int(p[L.P_REF_SIZE])
    i.n_actions = int(p[L.P_N_ACTIONS])
    i.slo_availability = p[L.P_SLO_AVAIL]
    i.slo_p99_ms = p[L.P_SLO_LATENCY_MS]
    i.slo_accuracy = p[L.P_SLO_ACC]
    i.timeout_ms = p[L.P_TIMEOUT_MS]


#: The ``info`` keys the ``INFO`` record holds, in its order (the env's dict adds
#: ``catastrophe_kind`` and ``feedback``; the hidden truth is ``env.truth``, not in ``info``).
INFO_KEYS = INFO.names


#: Values of the ``INFO`` fields missing from an info dict: a quiet minute 0 (no fallback,
#: nothing running, a compatible previous version, no label delay, a 120-minute training
#: window, the default KS sizes 300 and 1000, the paper's 4 actions, the default SLOs
#: (availability 0.99, p99 300 ms, accuracy 0.84) and client timeout (1,000 ms)).
INFO_DEFAULTS = {key: 0 for key in INFO_KEYS} | {
    "previous_available": True, "previous_schema_compatible": True, "train_window": 120,
    "ks_n": 300, "ks_m": 1000, "n_actions": 4, "slo_availability": 0.99,
    "slo_p99_ms": 300.0, "slo_accuracy": 0.84, "timeout_ms": 1000.0}


def info_record(info: dict) -> np.recarray:
    """Convert an env ``info`` dict to a one-element ``INFO`` array.

    Keys missing from ``info`` take :data:`INFO_DEFAULTS`.
    """
    row = tuple(info.get(key, default) for key, default in INFO_DEFAULTS.items())
    return np.array([row], dtype=INFO).view(np.recarray)
