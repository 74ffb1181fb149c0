"""The urgent class of the extended set, and the hybrid's answer to an urgent rollback.

An urgent scenario (``annotations.urgent: true``) harms past a hard floor within about 15
minutes of onset if nothing is done. The tests pin that definition on every urgent file
over drawn incidents, show that the paper's canary (30 minutes with the suspect model on 99%
of the traffic) is slower than that harm while a direct rollback or a rollback with the
fallback carrying the canary's traffic is not, and check the hybrid's rule
(``controllers/hybrid.py``, point 6; ``docs/urgent.md``) as an invariant of its episodes.
"""

from __future__ import annotations

import pytest
import yaml
from hydra.utils import instantiate

from controllers.base import Transition
from experiments.config import controller_config
from experiments.episode import _public
from simulator import layout as L
from simulator.core import Simulation
from simulator.env import SelfHealEnv
from simulator.scenarios import load_scenario, scenario_files
from simulator.scenarios.holdrate import URGENT_MINUTES, urgent_draws
from simulator.scenarios.plot import decision_sim

URGENT = [p for p in scenario_files("extended") if load_scenario(p).annotations.urgent]
IDS = [p.stem for p in URGENT]
N_DRAWS = 10


def test_the_urgent_class_has_a_rollback_incident_of_each_harm():
    """Two sourced urgent files: an outage (availability) and a bad push (accuracy floor)."""
    assert set(IDS) == {"urgent_bad_config_cpu", "urgent_model_push_fast_labels"}
    for p in URGENT:
        sc = load_scenario(p)
        assert sc.annotations.optimal_action == "rollback"
        assert sc.source and sc.family == "extended"


@pytest.mark.parametrize("path", URGENT, ids=IDS)
def test_doing_nothing_is_catastrophic_within_15_minutes_of_onset(path):
    """no_op: a catastrophic failure within 15 minutes of the drawn onset, in every draw."""
    assert URGENT_MINUTES == 15
    assert urgent_draws(load_scenario(path), range(N_DRAWS)) == [True] * N_DRAWS


def test_check_refuses_an_urgent_annotation_that_is_not(tmp_path, capsys):
    """A file marked urgent whose harm takes 60 minutes fails ``check``, saying why."""
    from simulator.scenarios.cli import main

    data = yaml.safe_load(URGENT[0].read_text(encoding="utf-8"))
    data["catastrophe"]["availability_minutes"] = 60
    (tmp_path / URGENT[0].name).write_text(yaml.safe_dump(data), encoding="utf-8")
    code = main(["--dir", str(tmp_path), "check", URGENT[0].stem, "--seeds", "3"])
    out = capsys.readouterr().out
    assert code == 1
    assert ("urgent: no_op is catastrophic within 15 minutes of onset in 0 of 3 draws "
            "(FAILS: an urgent incident must be, in every draw)") in out


def _play(path, seed: int, plan: list[int], canary: bool) -> tuple[Simulation, int]:
    """Play ``plan`` (one action a minute) from the decision minute, then no_op to the end.

    Returns the simulation and the decision minute.
    """
    sc = load_scenario(path)
    sim, minute, alarmed = decision_sim(sc, seed)
    assert alarmed
    sim.p[L.P_DEPLOY_CANARY] = 1.0 if canary else 0.0  # a private copy per simulation
    for a in plan:
        sim.step(a)
    while sim.t <= sim.horizon and sim.catastrophe == L.CAT_NONE:
        sim.step(L.NO_OP)
    return sim, minute


@pytest.mark.parametrize("path", URGENT, ids=IDS)
def test_a_canary_rollback_is_too_slow_unless_the_fallback_carries_its_traffic(path):
    """At the first alarm (5 draws) a canary rollback alone is catastrophic before its end.

    A direct rollback survives; a canary rollback with the fallback played the next minute
    survives the canary, and the whole episode whenever the canary promotes (the
    delta-SLA judge, on 1% of the labels, aborts a good rollback now and then: the
    fallback then serves to its TTL and the incident returns, for the controller to act
    again).
    """
    promoted = 0
    for seed in range(5):
        direct, _ = _play(path, seed, [L.ROLLBACK], canary=False)
        assert direct.catastrophe == L.CAT_NONE
        alone, minute = _play(path, seed, [L.ROLLBACK], canary=True)
        canary_end = minute + alone.p[L.P_CANARY_MIN]
        assert alone.catastrophe != L.CAT_NONE and alone.s[L.S_CAT_MINUTE] < canary_end
        fronted, _ = _play(path, seed, [L.ROLLBACK, L.FALLBACK], canary=True)
        assert fronted.catastrophe == L.CAT_NONE or fronted.s[L.S_CAT_MINUTE] > canary_end
        if fronted.s[L.S_N_PROMOTIONS] > 0:
            promoted += 1
            assert fronted.catastrophe == L.CAT_NONE
    assert promoted >= 3


def _episode(name: str, path, seed: int) -> list[tuple[int, bool, bool, bool]]:
    """Play one episode of controller ``name``; per minute its action and what it saw.

    Each entry: (action, and in the minute before it: a canary running, an SLO missed, the
    fallback serving).
    """
    ctrl = instantiate(controller_config(name), seed=0)
    env = SelfHealEnv(load_scenario(path), observation_mode="full",
                      deployment=ctrl.deployment)
    ctrl.reset(seed)
    obs, info = env.reset(seed=seed)
    out, done = [], False
    while not done:
        a = ctrl.act(obs, _public(info, ctrl, env))
        out.append((a, bool(info["canary_active"]), bool(info["slo_violation"]),
                    bool(info["fallback_active"])))
        nobs, r, term, trunc, ninfo = env.step(a)
        ctrl.update(Transition(obs, a, r, nobs, term, trunc, _public(ninfo, ctrl, env)))
        obs, info, done = nobs, ninfo, term or trunc
    return out


def test_no_hybrid_canary_keeps_the_traffic_on_a_model_that_misses_an_slo():
    """While a canary runs after a minute that missed an SLO, the hybrid plays fallback.

    Every such minute of 3 episodes of each urgent scenario (the rule was exercised at
    least 3 times); the ablation ``hybrid_no_urgent_fallback`` meets such minutes and
    leaves the traffic where it is in some of them.
    """
    guarded = 0
    for path in URGENT:
        for seed in range(3):
            for a, canary, miss, fb in _episode("hybrid", path, seed):
                if canary and miss and not fb:
                    guarded += 1
                    assert a == L.FALLBACK, (path.stem, seed)
    assert guarded >= 3
    left = [a for path in URGENT for seed in range(3)
            for a, canary, miss, fb in _episode("hybrid_no_urgent_fallback", path, seed)
            if canary and miss and not fb]
    assert left and any(a != L.FALLBACK for a in left)
