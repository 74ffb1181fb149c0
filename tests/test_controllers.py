"""Tests of the controllers (``controllers/``) and their Hydra registry (``configs/controller``).

Layout: golden tables of the paper's envelope pi_det and of the expert rules; the reduction
of the literal Sec. 3.5 hybrid to pi_det (property test and a full run); the shielded
hybrid never playing a forbidden action (property test over observation and info streams,
with the data-quality rule recomputed independently); every controller config
instantiating, acting validly and deterministically; the human baseline's response delay
and accuracy; parameters changing results; and the parameter-validation table.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from hydra.utils import instantiate
from hypothesis import event, given, settings
from hypothesis import strategies as st
from scipy import stats

from controllers.bandit import BanditController
from controllers.base import Controller, KernelController, Transition
from controllers.conservative import ConservativeUCBController
from controllers.envelope import NONE, Observation, alarm, pi_det, risk_high
from controllers.human import HumanController
from controllers.hybrid import HybridController
from controllers.hybrid_literal import HybridLiteralController
from controllers.lints import LinTSController
from controllers.linucb import LinUCBController
from controllers.oracle import OracleController
from controllers.rl import RLController
from controllers.rules import RULE_NAMES, RulesController, expert_rules
from controllers.shield import Shield
from experiments.config import controller_config
from experiments.episode import episode_seed, run_controller, run_episode
from simulator import layout as L
from simulator.env import SelfHealEnv
from simulator.scenarios import load_scenario, load_scenarios, parse_scenario, scenario_files
from simulator.stats import ks_critical_value

CONFIG_DIR = Path(__file__).resolve().parents[1] / "configs" / "controller"
CONTROLLER_CONFIGS = sorted(CONFIG_DIR.glob("*.yaml"))
KS_INFO = {"ks_n": 300, "ks_m": 1000}
#: The Bonferroni-corrected KS critical value for the info above (alpha = 0.05, 4 features).
D_CRIT = ks_critical_value(0.05 / L.N_FEATURES, 300, 1000)


def _scenario_of_kind(kind: str):
    """Return the first paper43 scenario whose only fault has ``kind``."""
    for path in scenario_files("paper43"):
        sc = load_scenario(path)
        if len(sc.faults) == 1 and sc.faults[0].kind == kind:
            return sc
    raise AssertionError(f"no paper43 scenario with a single {kind} fault")


def _obs(
    d=0.0, a=0.0, rho=0.0, p99=100.0, err=0.0, util=0.5, traffic=50.0, cost=1.0, canary=0.0, vf=0.0
) -> np.ndarray:
    """Return a full observation vector (env order) with benign defaults."""
    return np.array([d, a, rho, p99, err, util, traffic, cost, canary, vf], dtype=np.float64)


def _x(**kw) -> Observation:
    """Return an Observation built as the controllers build it (alpha 0.05, n=300, m=1000)."""
    return Observation.from_env(_obs(**kw), KS_INFO, 0.05)


def _play(controller: Controller, scenario, seed: int, assess: bool = True) -> dict:
    """Play one episode like the experiment runner; return actions and per-step facts."""
    env = SelfHealEnv(
        scenario,
        observation_mode="full",
        assess_actions=assess,
        deployment=getattr(controller, "deployment", "direct"),
    )
    controller.reset(seed)
    obs, info = env.reset(seed=seed)
    if controller.uses_simulation:  # the runner's hook (experiments.episode): the oracle
        controller.attach(env.sim)
    out = {"actions": [], "minutes": [], "alarms": [], "engineer": [], "optimal": None}
    out["optimal"] = L.ACTION_NAMES.index(env.truth["optimal_action"])

    def view(i):
        return {**i, "truth": env.truth} if controller.uses_hidden_state else i

    while True:
        a = controller.act(obs, view(info))
        assert isinstance(a, int | np.integer) and 0 <= a < env.n_actions, a
        out["actions"].append(int(a))
        out["minutes"].append(info["minute"])
        out["alarms"].append(alarm(Observation.from_env(obs, info, controller.alpha)))
        eng = controller.take_engineer_minutes()
        out["engineer"].append(eng)
        env.charge_engineer_time(eng)
        nobs, reward, term, trunc, ninfo = env.step(int(a))
        controller.update(Transition(obs, int(a), reward, nobs, term, trunc, view(ninfo)))
        obs, info = nobs, ninfo
        if term or trunc:
            return out


def _rows_equal(r1: dict, r2: dict) -> bool:
    """Compare two result rows, NaN equal to NaN."""
    if r1.keys() != r2.keys():
        return False
    for k in r1:
        a, b = r1[k], r2[k]
        if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
            continue
        if a != b:
            return False
    return True


# =========================================================================== pi_det
#: (d, a, rho) -> expected pi_det action; every region, its boundaries and the overlap.
PI_DET_GOLDEN = [
    ((0.00, 0.00, 0.00), NONE),
    ((0.15, 0.00, 0.00), NONE),  # d on the retrain boundary (strict >)
    ((0.12, 0.08, 0.04), NONE),  # below every region
    ((0.00, 0.00, 0.05), NONE),  # rho on the fallback boundary (strict >)
    ((0.30, 0.00, 0.00), L.FALLBACK),  # d > 0.25
    ((0.21, 0.00, 0.00), L.FALLBACK),  # overlap d in (0.20, 0.25]: fallback wins
    ((0.25, 0.05, 0.00), L.FALLBACK),  # overlap, upper edge
    ((0.00, 0.16, 0.00), L.FALLBACK),  # a > 0.15
    ((0.00, 0.00, 0.06), L.FALLBACK),  # rho > 0.05
    ((0.22, 0.12, 0.00), L.FALLBACK),  # rollback band but d > 0.20: fallback first
    ((0.00, 0.12, 0.00), L.ROLLBACK),
    ((0.00, 0.15, 0.00), L.ROLLBACK),  # a on the upper boundary
    ((0.18, 0.11, 0.00), L.ROLLBACK),  # rollback beats retrain (a > 0.10)
    ((0.20, 0.14, 0.03), L.ROLLBACK),  # d exactly 0.20 still allows rollback
    ((0.16, 0.00, 0.00), L.RETRAIN),
    ((0.20, 0.10, 0.00), L.RETRAIN),  # d = 0.20 and a = 0.10 on both boundaries
    ((0.18, 0.05, 0.04), L.RETRAIN),
]


@pytest.mark.parametrize(("dar", "expected"), PI_DET_GOLDEN, ids=[str(g[0]) for g in PI_DET_GOLDEN])
def test_pi_det_golden(dar, expected):
    """pi_det returns the paper's action for each region (first match wins)."""
    d, a, rho = dar
    x = _x(d=d, a=a, rho=rho)
    assert x.d_critical == pytest.approx(D_CRIT)
    if d > 0:
        assert d > x.d_critical  # the KS test rejects: d counts
    assert pi_det(x) == expected


def test_pi_det_golden_table_covers_every_region():
    """The golden table holds every pi_det outcome, including the overlap region."""
    assert {e for _, e in PI_DET_GOLDEN} == {NONE, L.FALLBACK, L.ROLLBACK, L.RETRAIN}
    assert any(0.20 < d <= 0.25 for (d, _, _), _ in PI_DET_GOLDEN)


def test_pi_det_ignores_d_below_the_critical_value():
    """A KS statistic the test does not reject (d <= D_alpha) does not count."""
    x = Observation.from_env(_obs(d=0.18), {"ks_n": 30, "ks_m": 100}, 0.05)
    assert x.d < x.d_critical and x.d_eff == 0.0
    assert pi_det(x) == NONE
    assert pi_det(_x(d=0.18)) == L.RETRAIN  # the same d with a large window counts


# =========================================================================== expert rules
RULES_GOLDEN = [
    (dict(d=0.18), 60, (L.RETRAIN, "fallback_not_enough")),
    (dict(d=0.30), 90, (L.RETRAIN, "fallback_not_enough")),  # checked before pi_det
    (dict(d=0.18), 59, (L.RETRAIN, "pi_det_retrain")),
    (dict(d=0.30), 0, (L.FALLBACK, "pi_det_fallback")),
    (dict(a=0.12), 0, (L.ROLLBACK, "pi_det_rollback")),
    (dict(vf=0.03), 0, (L.FALLBACK, "validation_failures")),
    (dict(vf=0.03, rho=0.04), 0, (L.FALLBACK, "validation_failures")),
    (dict(util=0.95, err=0.02), 0, (L.FALLBACK, "overload")),
    (dict(p99=400.0, util=0.5), 0, (L.ROLLBACK, "latency_regression")),
    (dict(err=0.02, util=0.5), 0, (L.FALLBACK, "dependency_errors")),
    (dict(p99=900.0, util=0.5), 0, (L.NO_OP, "network_timeouts")),
    (dict(p99=850.0, util=0.8, err=0.05), 0, (L.NO_OP, "network_timeouts")),
    (dict(rho=0.04), 0, (L.NO_OP, "anomaly_hold")),
    (dict(a=0.07), 0, (L.NO_OP, "accuracy_watch")),
    (dict(), 0, (L.NO_OP, "default_hold")),
    (dict(a=0.07, d=0.16), 0, (L.RETRAIN, "pi_det_retrain")),
]


@pytest.mark.parametrize(("kw", "fb_min", "expected"), RULES_GOLDEN)
def test_expert_rules_golden(kw, fb_min, expected):
    """expert_rules returns the documented (action, rule name) of the first matching rule."""
    assert expert_rules(_x(**kw), fb_min) == expected


def test_expert_rules_table_covers_every_rule():
    """Every named rule appears in the golden table."""
    assert {name for _, _, (_, name) in RULES_GOLDEN} == set(RULE_NAMES)
    assert len(RULE_NAMES) == 12


def test_rules_controller_tracks_fallback_time():
    """After 60 minutes of fallback with d still high, the rules controller retrains."""
    ctrl = RulesController(seed=0, cooldown=0)
    ctrl.reset(0)
    info = {**KS_INFO, "fallback_active": True}
    assert ctrl.act(_obs(d=0.30), {**info, "minute": 10}) == L.FALLBACK
    assert ctrl.act(_obs(d=0.30), {**info, "minute": 69}) == L.FALLBACK
    assert ctrl.act(_obs(d=0.30), {**info, "minute": 70}) == L.RETRAIN


# =========================================================================== hybrid_literal
_unit = st.floats(0.0, 1.0, allow_nan=False)
_full_obs = st.tuples(
    _unit,
    _unit,
    _unit,
    st.floats(0.0, 3000.0),
    st.floats(0.0, 1.0),
    st.floats(0.0, 3.0),
    st.floats(0.0, 1000.0),
    st.floats(0.0, 100.0),
    st.floats(0.0, 0.5),
    st.floats(0.0, 1.0),
)


@settings(max_examples=400, deadline=None)
@given(
    _full_obs,
    st.sampled_from([100, 300, 3000]),
    st.sampled_from([100, 1000, 5000]),
    st.integers(0, 2**32 - 1),
)
def test_hybrid_literal_reduces_to_pi_det(obs, ks_n, ks_m, seed):
    """The literal Sec. 3.5 policy plays pi_det(x) when non-empty, else no_op, never exploring."""
    info = {"ks_n": ks_n, "ks_m": ks_m, "minute": 0, "n_actions": 4}
    x = Observation.from_env(np.array(obs), info, 0.05)
    ctrl = HybridLiteralController(seed=seed, cooldown=0)
    ctrl.reset(seed)
    env = pi_det(x)
    if env != NONE:
        assert risk_high(x)  # the paper's premise: a non-empty envelope is always risky
    expected = env if env != NONE else L.NO_OP
    assert ctrl.act(np.array(obs), info) == expected
    assert ctrl.bandit_choices == 0


class _PiDetController(Controller):
    """Reference: pi_det at every alarm, no_op otherwise (no learning at all)."""

    name = "pi_det"

    def decide(self, x, info):
        """Play pi_det's action, or no_op when the envelope is empty."""
        a = pi_det(x)
        return L.NO_OP if a == NONE else a


def test_hybrid_literal_run_equals_pi_det_run():
    """Over 15 paper43 scenarios (every third, every family), hybrid_literal gives pi_det's rows.

    Suite time: the whole set adds nothing the rule does not show.
    """
    scenarios = load_scenarios("paper43")[::3]
    literal = HybridLiteralController(seed=0)
    rows_literal = run_controller(literal, scenarios, 0)
    rows_ref = run_controller(_PiDetController(seed=0), scenarios, 0)
    assert literal.bandit_choices == 0
    assert literal.rewards  # it did receive feedback and update its (idle) posterior
    assert sum(r["n_actions_taken"] for r in rows_literal) > 0
    for r1, r2 in zip(rows_literal, rows_ref, strict=True):
        assert _rows_equal(r1, r2), r1["scenario"]


# =========================================================================== hybrid shield
def _rarely(p_percent: int):
    """Return a strategy of booleans that are True about ``p_percent`` % of the time."""
    return st.integers(0, 99).map(lambda v: v < p_percent)


@st.composite
def _streams(draw):
    """Draw a hybrid configuration and a stream of (observation, public info) pairs.

    Data-quality alarms and busy deployments come in episodes of their own rates, so that
    long clean stretches (where retrain is permitted) and alarm bursts both occur.
    """
    n_actions = draw(st.sampled_from([4, 8]))
    label_delay = draw(st.integers(0, 30))
    train_window = draw(st.integers(10, 60))
    ks = {"ks_n": draw(st.sampled_from([100, 300])), "ks_m": draw(st.sampled_from([200, 1000]))}
    alarm_rate = draw(st.sampled_from([0, 3, 10, 50]))
    busy_rate = draw(st.sampled_from([0, 10, 50]))
    minute = draw(st.integers(0, 50))
    steps = []
    for _ in range(draw(st.integers(1, 80))):
        minute += draw(st.integers(1, 5))
        quality = draw(_rarely(alarm_rate))
        obs = _obs(
            d=draw(st.floats(0.0, 0.6)),
            a=draw(st.floats(0.0, 0.4)),
            rho=draw(st.floats(0.031, 0.2)) if quality else draw(st.floats(0.0, 0.03)),
            p99=draw(st.floats(20.0, 1500.0)),
            err=draw(st.floats(0.0, 0.3)),
            util=draw(st.floats(0.0, 2.0)),
            canary=draw(st.sampled_from([0.0, 0.01])),
            vf=draw(st.floats(0.0, 0.2)) if quality else draw(st.floats(0.0, 0.01)),
        )
        info = {
            "minute": minute,
            "previous_available": not draw(_rarely(20)),
            "previous_schema_compatible": not draw(_rarely(20)),
            "retrain_running": draw(_rarely(busy_rate)),
            "canary_active": draw(_rarely(busy_rate)),
            "slo_violation": draw(st.booleans()),
            "label_delay": label_delay,
            "train_window": train_window,
            "n_actions": n_actions,
            **ks,
        }
        steps.append((obs, info))
    return {
        "n_actions": n_actions,
        "cooldown": draw(st.integers(0, 3)),
        "seed": draw(st.integers(0, 1000)),
        "burn_limit": draw(st.sampled_from([1.0, 14.4, 1000.0])),
        "steps": steps,
    }


@settings(max_examples=100, deadline=None)
@given(_streams())
def test_hybrid_never_plays_a_forbidden_action(case):
    """Every action the hybrid decides is in its shield mask; retrain never follows bad data.

    Outside a decision it plays no_op, or fallback while a canary runs after a minute that
    missed an SLO (the canary guard; the shield never forbids the fallback).
    """
    ctrl = HybridController(
        seed=case["seed"],
        cooldown=case["cooldown"],
        n_actions=case["n_actions"],
        burn_limit=case["burn_limit"],
    )
    ctrl.reset(case["seed"])
    quality_alarms = []
    for obs, info in case["steps"]:
        ctrl.state.mask[:] = False  # last_mask: this minute's decision's mask, if any
        a = ctrl.act(obs, info)
        assert 0 <= a < case["n_actions"]
        if obs[9] > 0.01 or obs[2] > 0.03:
            quality_alarms.append(info["minute"])
        if a == L.NO_OP:
            continue
        if ctrl.last_mask is None:  # not a decision: only the canary guard (hybrid, point 6)
            assert a == L.FALLBACK, a
            assert info["canary_active"] and info["slo_violation"]
            assert not info.get("fallback_active", False)
            event("the fallback carried a canary's traffic")
            continue
        assert ctrl.last_mask[a], (a, ctrl.last_mask)
        busy = info["retrain_running"] or info["canary_active"]
        event(f"played {L.ACTION_NAMES[a]}")
        if a == L.RETRAIN:
            horizon = info["label_delay"] + info["train_window"]
            assert not busy
            assert all(info["minute"] - m > horizon for m in quality_alarms)
            if quality_alarms:
                event("retrain after an expired quality alarm")
        if a == L.ROLLBACK:
            assert info["previous_available"] and info["previous_schema_compatible"]
            assert not busy


@pytest.mark.parametrize("seed", range(5))
def test_hybrid_retrains_only_after_the_quality_window(seed):
    """After a data-quality alarm the hybrid waits out the window, then does retrain."""
    ctrl = HybridController(seed=seed, cooldown=0)
    ctrl.reset(seed)
    info = {
        **KS_INFO,
        "label_delay": 20,
        "train_window": 30,
        "n_actions": 4,
        "previous_available": True,
        "previous_schema_compatible": True,
    }
    assert ctrl.act(_obs(d=0.18, vf=0.05), {**info, "minute": 0}) != L.RETRAIN
    actions = [ctrl.act(_obs(d=0.18), {**info, "minute": m}) for m in range(1, 300)]
    first = actions.index(L.RETRAIN) + 1  # the minute of the first retrain
    assert first > 20 + 30
    assert ctrl.last_mask[L.RETRAIN]


def test_shield_data_quality_window_boundaries():
    """Retrain is forbidden up to label_delay + train_window minutes after a quality alarm."""
    shield = Shield()
    info = {**KS_INFO, "label_delay": 20, "train_window": 120}
    shield.observe(_x(vf=0.02), 100)
    shield.observe(_x(), 101)  # a clean minute does not clear the memory
    x = _x(d=0.18)
    assert not shield.mask(x, {**info, "minute": 100}, 4)[L.RETRAIN]
    assert not shield.mask(x, {**info, "minute": 240}, 4)[L.RETRAIN]
    assert shield.mask(x, {**info, "minute": 241}, 4)[L.RETRAIN]
    shield.observe(_x(rho=0.031), 300)
    assert not shield.mask(x, {**info, "minute": 300}, 4)[L.RETRAIN]
    shield.reset()
    assert shield.mask(x, {**info, "minute": 300}, 4)[L.RETRAIN]


@pytest.mark.parametrize(
    ("kw", "info", "forbidden"),
    [
        (dict(a=0.2), {}, {L.NO_OP}),
        (dict(d=0.18), {"retrain_running": True}, {L.RETRAIN, L.ROLLBACK}),
        (dict(d=0.18), {"canary_active": True}, {L.RETRAIN, L.ROLLBACK}),
        (dict(d=0.18), {"previous_available": False}, {L.ROLLBACK}),
        (dict(d=0.18), {"previous_schema_compatible": False}, {L.ROLLBACK}),
        (dict(d=0.30, a=0.2, rho=0.1), {"retrain_running": True}, {L.NO_OP, L.RETRAIN, L.ROLLBACK}),
    ],
)
def test_shield_mask_golden(kw, info, forbidden):
    """The shield forbids exactly the actions its stated rules name."""
    m = Shield().mask(_x(**kw), {**KS_INFO, "minute": 0, **info}, 4)
    assert {a for a in range(4) if not m[a]} == forbidden
    assert m[L.FALLBACK]  # fallback is always permitted


# =========================================================================== configs
@pytest.mark.parametrize("path", CONTROLLER_CONFIGS, ids=lambda p: p.stem)
def test_controller_config_instantiates_and_is_deterministic(path):
    """Each registry config builds a controller that acts validly and repeats with its seed."""
    sc = _scenario_of_kind("covariate_shift")
    runs = []
    for _ in range(2):
        ctrl = instantiate(controller_config(path.stem), seed=0)
        assert isinstance(ctrl, Controller)
        runs.append(_play(ctrl, sc, seed=17)["actions"])
    assert runs[0] == runs[1]
    if path.stem == "noop":
        assert set(runs[0]) == {L.NO_OP}
    else:
        assert any(runs[0]), f"{path.stem} never acted during a covariate shift"


def test_controller_registry_is_complete():
    """The registry holds the built-in controllers of DESIGN 4 (oracle aside)."""
    names = {p.stem for p in CONTROLLER_CONFIGS}
    assert {"noop", "rules", "human", "rl", "bandit", "hybrid", "hybrid_literal"} <= names


def test_learning_controllers_differ_across_seeds():
    """A learner's seed matters: two seeds give different action sequences over a run."""
    sc = _scenario_of_kind("covariate_shift")
    seqs = []
    for seed in (0, 1):
        ctrl = RLController(seed=seed, epsilon=0.5)
        seqs.append(sum((_play(ctrl, sc, seed=s, assess=True)["actions"] for s in range(3)), []))
    assert seqs[0] != seqs[1]


# =========================================================================== human
@pytest.mark.parametrize("response", [45, 10])
def test_human_acts_exactly_response_minutes_after_the_first_alarm(response):
    """The engineer's first action comes response_minutes after the first alarm, charged."""
    sc = _scenario_of_kind("covariate_shift")
    ctrl = HumanController(seed=0, response_minutes=response, accuracy=1.0, handling_minutes=30.0)
    out = _play(ctrl, sc, seed=3)
    first_alarm = out["minutes"][out["alarms"].index(True)]
    i = next(k for k, a in enumerate(out["actions"]) if a != L.NO_OP)
    assert out["minutes"][i] - first_alarm == response
    assert out["actions"][i] == out["optimal"]
    assert out["engineer"][i] == response + 30.0
    assert sum(out["engineer"][:i]) == 0.0


def test_human_accuracy_is_088_over_many_episodes():
    """Over many episodes the engineer's share of right fixes is consistent with 0.88."""
    ctrl = HumanController(seed=0)
    n = k = 0
    for seed in range(1):  # ~170 decisions; the synthetic test below checks 3,000
        for sc in load_scenarios("paper43"):
            out = _play(ctrl, sc, seed=seed, assess=False)
            for a, eng in zip(out["actions"], out["engineer"], strict=True):
                if eng > 0:  # a decision: the engineer arrived
                    n += 1
                    k += a == out["optimal"]
    lo, hi = stats.binom.interval(0.99, n, 0.88)
    assert n >= 150
    assert lo <= k <= hi, (k, n)


def test_human_accuracy_is_088_on_synthetic_incidents():
    """Over 3000 synthetic incidents the share of right fixes is within the 99% interval."""
    ctrl = HumanController(seed=0, cooldown=0, response_minutes=5)
    info = {**KS_INFO, "n_actions": 4, "truth": {"optimal_action": "rollback"}}
    n, k, wrong = 3000, 0, np.zeros(4, dtype=int)
    for _ in range(n):
        ctrl.reset(0)
        assert ctrl.act(_obs(d=0.3), {**info, "minute": 0}) == L.NO_OP  # paged
        assert ctrl.act(_obs(), {**info, "minute": 4}) == L.NO_OP  # not there yet
        a = ctrl.act(_obs(), {**info, "minute": 5})
        k += a == L.ROLLBACK
        wrong[a] += a != L.ROLLBACK
    lo, hi = stats.binom.interval(0.99, n, 0.88)
    assert lo <= k <= hi
    # wrong fixes are spread over the three other actions
    assert wrong[L.ROLLBACK] == 0 and np.all(wrong[[0, 1, 3]] > 0.2 * (n - k))


def _random_delay_incidents(n: int, seed: int = 1) -> list[tuple[int, float]]:
    """Return (minutes from page to action, engineer minutes charged) of ``n`` incidents."""
    ctrl = HumanController(seed=seed, cooldown=0, random_delay=True, handling_minutes=30.0)
    info = {**KS_INFO, "n_actions": 4, "truth": {"optimal_action": "fallback"}}
    out = []
    for _ in range(n):
        ctrl.reset(0)
        ctrl.act(_obs(d=0.3), {**info, "minute": 0})  # the page
        minute = 0
        while ctrl.engineer_minutes == 0.0:
            minute += 1
            ctrl.act(_obs(), {**info, "minute": minute})
        out.append((minute, ctrl.take_engineer_minutes()))
    return out


def test_human_random_delay_is_exponential_with_the_configured_mean():
    """With random_delay the response delays vary, with mean response_minutes (45)."""
    delays = np.array([m for m, _ in _random_delay_incidents(600)])
    assert len(np.unique(delays)) > 50
    assert abs(delays.mean() - 45.0) < 5 * 45.0 / math.sqrt(len(delays))
    # exponential: the median is ln 2 times the mean
    assert np.median(delays) == pytest.approx(45.0 * math.log(2), rel=0.2)


def test_human_random_delay_charges_the_drawn_delay():
    """Each incident charges the engineer's actual delay plus handling_minutes."""
    for minutes, charged in _random_delay_incidents(50):
        assert charged == minutes + 30.0


# =========================================================================== parameters
def test_rules_cooldown_changes_the_result_row():
    """Rules with cooldown 30 and 5 give different result rows on one scenario and seed."""
    sc = _scenario_of_kind("feature_corruption")
    seed = episode_seed(0, sc.id)
    slow = run_episode(RulesController(seed=0, alpha=0.05, cooldown=30), sc, seed)
    fast = run_episode(RulesController(seed=0, alpha=0.05, cooldown=5), sc, seed)
    again = run_episode(RulesController(seed=0, alpha=0.05, cooldown=30), sc, seed)
    assert _rows_equal(slow, again)
    assert fast["n_actions_taken"] > slow["n_actions_taken"]
    assert fast["cost_usd"] != slow["cost_usd"]


def test_rules_alpha_changes_the_result_row():
    """Under a mild drift (d between the two critical values) alpha changes the rules' row."""
    data = _scenario_of_kind("covariate_shift").model_dump(mode="json")
    data["faults"][0]["magnitude"] = 0.35  # KS distance of a 0.35-sd shift: about 0.14-0.2
    sc = parse_scenario(data)
    seed = episode_seed(0, sc.id)
    assert D_CRIT < 0.2 < ks_critical_value(1e-12 / L.N_FEATURES, 300, 1000)
    base = run_episode(RulesController(seed=0, alpha=0.05), sc, seed)
    strict = run_episode(RulesController(seed=0, alpha=1e-12), sc, seed)
    assert base["actions_retrain"] > 0  # the KS test at alpha 0.05 sees the drift
    assert strict["actions_retrain"] == 0  # at alpha 1e-12 the same d is not significant
    assert not _rows_equal(base, strict)


@pytest.mark.parametrize(
    ("cls", "kwargs", "match"),
    [
        (RLController, {"epsilon": 1.5}, r"epsilon must be in \[0, 1\]"),
        (RLController, {"epsilon": -0.1}, r"epsilon must be in \[0, 1\]"),
        (RulesController, {"alpha": 0.0}, r"alpha must be in \(0, 1\)"),
        (RulesController, {"alpha": 1.0}, r"alpha must be in \(0, 1\)"),
        (RulesController, {"cooldown": -1}, "cooldown must be >= 0"),
        (HybridController, {"sla_threshold": 0.0}, r"sla_threshold must be in \(0, 1\]"),
        (HybridController, {"slo_target": 1.0}, r"slo_target must be in \(0, 1\)"),
        (HybridController, {"budget_window": 0}, "budget_window must be >= 1"),
        (HybridController, {"lam": 0.0}, "lam must be finite and > 0"),
        (HybridController, {"burn_limit": float("nan")}, "burn_limit must be finite and > 0"),
        (HybridController, {"burn_limit": -1.0}, "burn_limit must be finite and > 0, got -1.0"),
        (HybridController, {"use_shield": "maybe"}, "use_shield: Value .maybe. is not a valid"),
        (HybridController, {"sla_threshhold": 0.9}, "sla_threshhold: Key .sla_threshhold. not in"),
        (OracleController, {"window": 2.7}, "window: Value .2.7. .* could not be converted to Int"),
        (OracleController, {"window": True}, "window: Value .True. .* converted to Integer"),
        (OracleController, {"window": 0}, "window must be >= 1 minute"),
        (BanditController, {"lam": float("nan")}, "lam must be finite and > 0, got nan"),
        (HybridController, {"lam": float("inf")}, "lam must be finite and > 0, got inf"),
        (HybridLiteralController, {"n_actions": 5}, "n_actions must be 4 or 8"),
        (HumanController, {"accuracy": 1.5}, r"accuracy must be in \[0, 1\], got 1.5"),
        (HumanController, {"handling_minutes": float("inf")},
         "handling_minutes must be finite and >= 0"),
        (HumanController, {"response_minutes": -3}, "response_minutes must be >= 0"),
        (LinUCBController, {"ucb_alpha": "abc"}, "ucb_alpha: Value .abc. .* converted to Float"),
        (LinUCBController, {"l2_lambda": "abc"}, "l2_lambda: Value .abc. .* converted to Float"),
        (LinUCBController, {"lam": float("nan")}, "lam must be finite and > 0, got nan"),
        (LinTSController, {"v": None}, "v: Incompatible value .None. for field of type .float."),
        (ConservativeUCBController, {"alpha_c": float("nan")}, r"alpha_c must be in \[0, 1\]"),
        (ConservativeUCBController, {"no_op_reward": "abc"}, "no_op_reward: Value .abc."),
        (ConservativeUCBController, {"no_op_reward": 20.0}, r"\[-1, lam = 10.0\]"),
    ],
)
def test_bad_parameters_raise_value_error(cls, kwargs, match):
    """Invalid controller parameters raise ValueError naming the parameter and what is allowed.

    Types and unknown keys are refused by the schema (OmegaConf, as Hydra refuses them at
    composition), ranges by the schema's ``__post_init__``.
    """
    with pytest.raises(ValueError, match=match):
        cls(seed=0, **kwargs)


def test_controllers_reject_paper_only_observations():
    """Controllers need the full observation; a 3-entry one raises ValueError."""
    with pytest.raises(ValueError, match="full observation"):
        RulesController(seed=0).act(np.zeros(3), {"minute": 0})
    with pytest.raises(ValueError, match="non-finite observation"):
        RulesController(seed=0).act(_obs(d=float("nan")), {"minute": 0})


def test_learning_controller_learns_from_feedback():
    """Feedback items update the learner: the rewards follow the paper's -C(a) + 10 success."""
    ctrl = HybridController(seed=0, cooldown=0)
    ctrl.reset(0)
    info = {**KS_INFO, "minute": 5, "n_actions": 4, "label_delay": 0, "train_window": 10}
    a = ctrl.act(_obs(d=0.18), info)
    assert a != L.NO_OP
    fb = {
        "decision_minute": 6,
        "action": L.ACTION_NAMES[a],
        "paper_cost": 0.4,
        "success": True,
        "sla_degraded": False,
    }
    ctrl.update(Transition(_obs(), a, 0.0, _obs(), False, False, {"feedback": [fb]}))
    assert ctrl.rewards == [pytest.approx(-0.4 + 10.0)]
    assert isinstance(ctrl, KernelController)
