"""The information boundary: controllers decide from what monitoring shows (issue: part 2).

Evaluation-only quantities are the counterfactual verdicts of the action assessment (harm,
safety violation, containment, success against a ``no_op`` fork: ``env.assessments``) and
the hidden ground truth (``env.truth``, offered here to every controller as ``info["truth"]``,
real or garbage). A controller's feedback
(``info["feedback"]``) is measured (``simulator/observed.py``). For every registered
controller config except the oracle (``uses_simulation``: it forks the simulation by
design), these tests assert that its decisions do not change when the evaluation-only
quantities are not computed at all, or are replaced by garbage (NaN, inf, random): a leak
fails them, as a deliberately leaking toy controller shows. The human model
(``uses_hidden_state``) keeps the one hidden fact it is documented to read, the scenario's
expert-agreed action (found by its investigation with its error rate); the rest of its
``truth`` is garbage too. Also: the feedback equals its definition recomputed from the
episode's measured records.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hydra.utils import instantiate

from controllers.base import Controller, Transition
from experiments.config import controller_config, known_controllers
from simulator import layout as L
from simulator.env import SelfHealEnv
from simulator.observed import measured_sla, measured_slo_ok, observed_outcome, pre_action_sla
from simulator.scenarios import load_scenarios

SC = load_scenarios("paper43", select="corruption_unit_change_supplier")[0]
SEED = 3


def _controller(name):
    return instantiate(controller_config(name), seed=0)


CONFIGS = [n for n in known_controllers()
           if not getattr(_controller(n), "uses_simulation", False)]


def _garbage_truth(rng, truth, keep_annotation):
    """Garbage for every hidden value; the annotation kept for the human model only."""
    out = {"accuracy": float("nan"), "availability": float(rng.normal()),
           "p99_ms": float("inf"), "sla_score": float(rng.normal()),
           "bad_model_share": float("nan"), "corrupt_share": float(rng.normal()),
           "optimal_action": "garbage"}
    if keep_annotation:
        out["optimal_action"] = truth["optimal_action"]
    return out


class _LeakyToy(Controller):
    """Deliberately leaks: falls back when the *hidden* served accuracy drops."""

    name = "leaky_toy"

    def act(self, observation, info):  # noqa: D102
        truth = info.get("truth", {})
        return L.FALLBACK if truth.get("accuracy", 1.0) < 0.915 else L.NO_OP


def _play(name, assess, garbage):
    """Play one episode on the Gym path; return the actions, the feedback and the env.

    ``name`` is a controller config, or a ``Controller`` class to instantiate.
    """
    ctrl = name(seed=0) if isinstance(name, type) else _controller(name)
    keep = bool(ctrl.uses_hidden_state)
    env = SelfHealEnv(SC, observation_mode="full", assess_actions=assess,
                      deployment=getattr(ctrl, "deployment", "direct"),
                      canary_judge=getattr(ctrl, "canary_judge", "delta_sla"))
    ctrl.reset(SEED)
    obs, info = env.reset(seed=SEED)
    rng = np.random.default_rng(1)
    actions, feedback, done = [], [], False
    while not done:
        # every controller is offered the evaluation-only truth: the real one, or garbage
        truth = _garbage_truth(rng, env.truth, keep) if garbage else env.truth
        info = {**info, "truth": truth}
        a = int(ctrl.act(obs, info))
        env.charge_engineer_time(ctrl.take_engineer_minutes())
        nobs, reward, term, trunc, ninfo = env.step(a)
        truth = _garbage_truth(rng, env.truth, keep) if garbage else env.truth
        ninfo = {**ninfo, "truth": truth}
        ctrl.update(Transition(obs, a, reward, nobs, term, trunc, ninfo))
        actions.append(a)
        feedback.extend(ninfo["feedback"])
        obs, info, done = nobs, ninfo, term or trunc
    return actions, feedback, env


def test_information_boundary_covers_every_config_but_the_oracle():
    """The oracle is the only config excluded; the learners and the human model are in."""
    excluded = set(known_controllers()) - set(CONFIGS)
    assert excluded == {"oracle"} and "human" in CONFIGS
    assert {"hybrid", "bandit", "rl", "linucb", "lin_ts", "conservative_ucb"} <= set(CONFIGS)


@pytest.mark.parametrize("name", CONFIGS)
def test_information_boundary_decisions_ignore_evaluation_only_quantities(name):
    """Same actions with the counterfactual forks off and the hidden truth as garbage."""
    base, fb_base, env = _play(name, assess=True, garbage=False)
    blind, fb_blind, env_blind = _play(name, assess=False, garbage=True)
    assert blind == base
    assert fb_blind == fb_base
    assert env_blind.assessments == [] and len(env.assessments) == sum(a != 0 for a in base)
    if name != "noop":
        assert any(a != L.NO_OP for a in base)


def test_information_boundary_catches_a_leaking_controller():
    """The same check on a toy that reads the hidden accuracy: its decisions change."""
    base, _, _ = _play(_LeakyToy, assess=True, garbage=False)
    blind, _, _ = _play(_LeakyToy, assess=False, garbage=True)
    assert any(a == L.FALLBACK for a in base) and blind != base


def test_information_boundary_feedback_is_measured():
    """Each feedback item equals its definition on the episode's measured records."""
    actions, feedback, env = _play("rules", assess=True, garbage=False)
    hist, p = env.sim.hist, env.sim.p
    window = int(p[L.P_OUTCOME_WINDOW])
    last_minute = env.sim.t - 1  # the episode's last minute (no catastrophe here)
    assert env.sim.catastrophe == L.CAT_NONE
    assert len(feedback) == sum(a != L.NO_OP for a in actions) >= 2
    for fb in feedback:
        t0 = fb["decision_minute"]
        last = min(t0 + window - 1, last_minute)
        pre = measured_sla(hist[t0 - 1], p) if t0 > 0 else 1.0
        assert fb["pre_sla"] == pre == pre_action_sla(hist, p, t0)
        ok = [measured_slo_ok(hist[u], p) for u in range(t0, last + 1)]
        tail = min(int(p[L.P_RECOVERY_MIN]), last - t0 + 1)
        assert fb["success"] == all(ok[-tail:])
        scores = [measured_sla(hist[u], p) for u in range(t0, last + 1)]
        assert fb["sla_degraded"] == any(s < 0.8 * pre for s in scores)
        assert fb["minutes"] == last - t0 + 1
    assert {fb["success"] for fb in feedback} == {True, False} or len(feedback) < 3


def test_observed_outcome_golden():
    """Hand-made records: the tail decides success; one bad minute decides degradation."""
    p = np.zeros(L.N_PARAMS)
    p[L.P_BASE_ACC], p[L.P_SLO_ACC], p[L.P_SLO_AVAIL] = 0.92, 0.84, 0.99
    p[L.P_SLO_LATENCY_MS], p[L.P_RECOVERY_MIN] = 300.0, 3
    hist = np.zeros((12, L.N_RECORD))
    hist[:, L.R_P99_OBS] = 100.0  # every measured SLO met, SLA score 1
    assert measured_sla(hist[0], p) == pytest.approx(1.0)
    assert observed_outcome(hist, p, 2, 9, 1.0) == (True, False, 8)
    hist[5, L.R_ERR_OBS] = 0.5  # availability 0.5: an SLO missed, score 0.8 (not < 0.8)
    assert observed_outcome(hist, p, 2, 9, 1.0) == (True, False, 8)
    hist[5, L.R_A] = 0.2  # and accuracy 0.72: score 0.8 - 0.4 * (1 - 0.72 / 0.92) < 0.8
    assert observed_outcome(hist, p, 2, 9, 1.0)[:2] == (True, True)
    assert observed_outcome(hist, p, 2, 7, 1.0) == (False, True, 6)  # 5 is in the tail
    assert observed_outcome(hist, p, 6, 9, 1.0) == (True, False, 4)
    ok = observed_outcome.py_func(hist, p, 2, 7, 1.0)
    assert ok == observed_outcome(hist, p, 2, 7, 1.0)
    assert math.isclose(measured_sla.py_func(hist[5], p), measured_sla(hist[5], p))
    assert measured_slo_ok.py_func(hist[5], p) == measured_slo_ok(hist[5], p) is False
    assert measured_slo_ok(hist[4], p) is True
    assert pre_action_sla(hist, p, 0) == pre_action_sla.py_func(hist, p, 0) == 1.0
    assert pre_action_sla(hist, p, 6) == pre_action_sla.py_func(hist, p, 6) == measured_sla(
        hist[5], p)


#: Record fields that follow the hidden truth (true accuracy, availability, latency, the
#: dollars and SLO flags derived from them, fault internals): evaluation only.
TRUTH_FIELDS = (L.R_ACC_SERVED, L.R_ACC_PRIMARY, L.R_AVAILABILITY, L.R_P99_MS,
                L.R_ERROR_RATE, L.R_SLA_SCORE, L.R_SLO_AVAIL_OK, L.R_SLO_LAT_OK,
                L.R_SLO_ACC_OK, L.R_SLO_ALL_OK, L.R_COST_RATE, L.R_USD_REVENUE, L.R_USD_SLA,
                L.R_CORRUPT_SHARE, L.R_CONCEPT, L.R_BAD_MODEL_SHARE, L.R_CORRUPT_DETECTABLE,
                *range(L.R_LOC, L.R_LOC + 2 * L.N_FEATURES))


def test_information_boundary_info_and_observation_ignore_truth_fields():
    """The observation and every INFO field are the same with the truth fields garbled."""
    from simulator.env import REC_OF_OBS
    from simulator.records import fill_info, new_info

    assert not set(REC_OF_OBS) & set(TRUTH_FIELDS)
    _, _, env = _play("rules", assess=False, garbage=False)
    sim = env.sim
    rng = np.random.default_rng(0)
    for minute in range(0, sim.t, 37):
        rec = sim.hist[minute].copy()
        bad = rec.copy()
        bad[list(TRUTH_FIELDS)] = rng.uniform(-1e3, 1e3, len(TRUTH_FIELDS))
        a, b = new_info(), new_info()
        fill_info(sim.p, sim.s, sim.models, rec, 0.5, 1, a)
        fill_info(sim.p, sim.s, sim.models, bad, 0.5, 1, b)
        assert a.tobytes() == b.tobytes(), minute
