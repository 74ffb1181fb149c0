"""The rest of the horizon after a catastrophe (issue 11, item 4; ``simulator/playout.py``).

An episode's cost, SLA and recovery cover every minute of the horizon whatever happens, so
no controller looks good by failing early: after a catastrophic failure the service is
down until a human restores the last good version, then nobody acts. The scenario is
``corruption_schema_migrated_column``, where a rollback to the previous version (whose
schema the live data has left) is a catastrophe in every draw.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from controllers.base import Controller
from experiments.episode import run_episode
from simulator import layout as L
from simulator.core import Simulation
from simulator.env import SelfHealEnv
from simulator.scenarios import compile_scenario, draw_incident, load_scenarios, parse_scenario
from simulator.scenarios.plot import play

SC = load_scenarios("paper43", select="corruption_schema_migrated_column")[0]


def _sla(hist: np.ndarray) -> float:
    return float(hist[1:, L.R_SLO_ALL_OK].mean())


@settings(max_examples=5, deadline=None)
@given(seed=st.integers(0, 2**53 - 1))
def test_an_early_catastrophe_never_lowers_cost_or_raises_sla(seed):
    """A catastrophic rollback costs at least what surviving with no_op costs, SLA no higher."""
    fail, survive = play(SC, "rollback", seed), play(SC, "no_op", seed)
    assert fail.catastrophe == "accuracy_floor" and survive.catastrophe == "none"
    assert fail.cost_usd >= survive.cost_usd
    assert _sla(fail.hist) <= _sla(survive.hist)
    assert (fail.hist[1:, L.R_TRAFFIC] > 0).all()  # every minute of the horizon was played


def _failed_sim(seed: int = 3, **catastrophe) -> Simulation:
    """Draw seed's incident; no_op to 5 minutes past onset, roll back, then play out."""
    data = draw_incident(SC, seed).model_dump(mode="json")
    data["catastrophe"].update(catastrophe)
    sim = Simulation(compile_scenario(parse_scenario(data)))
    sim.reset(seed)
    while sim.t <= data["faults"][0]["onset"] + 5:
        sim.step(L.NO_OP)
    sim.step(L.ROLLBACK)
    while sim.catastrophe == L.CAT_NONE:
        sim.step(L.NO_OP)
    sim.play_out()
    return sim


def test_the_outage_lasts_the_restore_minutes_then_the_first_version_serves():
    """Down (availability 0, engineers paid) for R minutes after the catastrophe, then v1."""
    sim = _failed_sim()
    h, p = sim.hist, sim.p
    tc = int(sim.s[L.S_CAT_MINUTE])
    r = int(p[L.P_RESTORE_MIN])
    assert r == SC.annotations.historical_resolution_minutes
    assert sim.t == sim.horizon + 1 and tc < sim.horizon - r
    down = h[tc + 1: tc + 1 + r]
    assert (down[:, L.R_AVAILABILITY] == 0.0).all() and (down[:, L.R_SLO_ALL_OK] == 0).all()
    assert np.allclose(down[:, L.R_USD_ENGINEER], p[L.P_USD_ENGINEER_H] / 60.0)
    failed = down[:, L.R_TRAFFIC] * 60.0 * p[L.P_USD_FAILED]
    assert np.allclose(down[:, L.R_USD_REVENUE], failed)  # every request failed
    up = h[tc + 1 + r:]
    assert (up[:, L.R_AVAILABILITY] > 0.9).all() and (up[:, L.R_USD_ENGINEER] == 0).all()
    assert sim.models[L.M_SERVING, L.MF_VERSION] == 1.0
    assert sim.models[L.M_SERVING, L.MF_SCHEMA] == sim.s[L.S_LIVE_SCHEMA]  # compatible
    assert sim.s[L.S_CATASTROPHIC] == L.CAT_ACCURACY  # the first catastrophe is kept


def test_restore_minutes_and_engineers_are_scenario_settings():
    """``catastrophe.restore_minutes`` and ``outage_engineers`` override the defaults."""
    sim = _failed_sim(restore_minutes=30, outage_engineers=2.0)
    tc = int(sim.s[L.S_CAT_MINUTE])
    avail = sim.hist[tc + 1:, L.R_AVAILABILITY]
    assert (avail[:30] == 0.0).all() and (avail[30:] > 0.9).all()
    eng = sim.hist[tc + 1: tc + 31, L.R_USD_ENGINEER]
    assert np.allclose(eng, 2.0 * sim.p[L.P_USD_ENGINEER_H] / 60.0)


class _RollbackOnce(Controller):
    """Rolls back once, at minute ``at``; no_op otherwise."""

    name = "rollback_once"

    def __init__(self, at: int):
        super().__init__()
        self.at = at

    def act(self, observation, info):  # noqa: D102
        return L.ROLLBACK if info["minute"] == self.at else L.NO_OP


def test_the_env_charges_the_rest_of_the_horizon_to_the_terminal_step():
    """Terminated at the catastrophe; its reward carries the play-out; the row covers all."""
    env = SelfHealEnv(SC, assess_actions=False)
    env.reset(seed=5)
    at = draw_incident(SC, int(env.sim.s[L.S_SEED])).faults[0].onset + 5
    total, done, info = 0.0, False, {}
    while not done:
        a = L.ROLLBACK if env.sim.t - 1 == at else L.NO_OP
        _, reward, term, trunc, info = env.step(a)
        total += reward
        done = term or trunc
    assert term and info["catastrophic"] and info["minute"] < SC.horizon
    assert env.sim.t == env.sim.horizon + 1
    cost = env.sim.hist[1:, L.R_COST_RATE].sum()
    assert -total * env.reward_scale == pytest.approx(cost, rel=1e-12)


def test_a_catastrophic_episode_is_never_recovered():
    """The row: whole-horizon minutes, the catastrophe's minute, not recovered, no MTTR."""
    row = run_episode(_RollbackOnce(at=-1), SC, 5)  # never acts: no catastrophe
    assert row["catastrophic"] == 0.0 and math.isnan(row["catastrophe_minute"])
    env = SelfHealEnv(SC)
    env.reset(seed=5)
    at = draw_incident(SC, int(env.sim.s[L.S_SEED])).faults[0].onset + 5
    row = run_episode(_RollbackOnce(at=at), SC, 5)
    assert row["catastrophic"] == 1.0 and row["catastrophe_kind"] == "accuracy_floor"
    assert row["minutes"] == SC.horizon and at < row["catastrophe_minute"] < SC.horizon
    assert row["recovered"] == 0.0 and math.isnan(row["mttr_min"])


def test_the_row_names_the_catastrophes_cause():
    """A rollback to the schema-stale version: cause ``rollback``, no build minute."""
    env = SelfHealEnv(SC)
    env.reset(seed=5)
    at = draw_incident(SC, int(env.sim.s[L.S_SEED])).faults[0].onset + 5
    row = run_episode(_RollbackOnce(at=at), SC, 5)
    assert row["catastrophe_cause"] == "rollback"
    assert math.isnan(row["catastrophe_model_built_at"])
    assert row["catastrophe_contamination"] == 0.0
    calm = run_episode(_RollbackOnce(at=-1), SC, 5)
    assert calm["catastrophe_cause"] == "none" and math.isnan(calm["catastrophe_contamination"])


class _RetrainOnce(_RollbackOnce):
    """Retrains once, at minute ``at`` (direct deployment); no_op otherwise."""

    name = "retrain_once"

    def act(self, observation, info):  # noqa: D102
        return L.RETRAIN if info["minute"] == self.at else L.NO_OP


def test_a_degenerate_retrain_is_named_with_its_build_minute_and_contamination():
    """A retrain on a window where a feature never arrived: cause retrain, built then, share 1.

    Minutes [10, 130) lose one feature in every row (imputed 0.0); a retrain at 65 fits on
    [15, 45) of a 30-minute window, a constant feature: the fit falls back to the majority
    class, whose accuracy is below the floor.
    """
    sc = load_scenarios("paper43", select="corruption_missing_logging")[0]
    data = sc.model_dump(mode="json")
    data["faults"][0].update(magnitude=1.0, onset=10, duration=120)
    data.setdefault("deployment", {})["train_window"] = 30
    sc = parse_scenario(data)
    bad = [run_episode(_RetrainOnce(at=65), sc, seed) for seed in range(3)]
    assert all(r["catastrophic"] for r in bad), "no catastrophe to explain"
    for r in bad:
        assert r["catastrophe_kind"] == "accuracy_floor" and r["catastrophe_cause"] == "retrain"
        assert r["catastrophe_model_built_at"] <= r["catastrophe_minute"]
        assert r["catastrophe_contamination"] == pytest.approx(1.0)
