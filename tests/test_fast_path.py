"""Tests of the batched Numba fast path (``experiments.fast``) and the kernels it shares.

Layout: the fast path's rows equal ``run_episode``'s exactly (every column, bit for bit)
for ``noop`` and ``rules`` (alpha 0.05 / 0.01, cooldown 30 / 5) on scenarios of different
fault kinds and three seeds each, with identical per-minute records, final states and
action assessments; a whole run (``run_controller_fast`` = ``run_controller``) and which
controllers qualify; the env's internal episode seed; a completeness check and ``.py_func``
parity of every new kernel (``controllers.kernels``, ``simulator.assess_kernel``,
``experiments.fast``); the assessment kernel against the previous pure-NumPy assessment on
the same forks (direct and canary deployments); the Python envelope and rules wrappers
against their kernels; the fast path's error contract.
"""

from __future__ import annotations

import math

import numba
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from controllers import kernels as CK
from controllers.bandit import BanditController
from controllers.conservative import ConservativeUCBController
from controllers.envelope import (
    Observation,
    alarm,
    critical_value,
    infra_alarm,
    pi_det,
    risk_high,
)
from controllers.human import HumanController
from controllers.hybrid import HybridController
from controllers.linucb import LinUCBController
from controllers.noop import NoOpController
from controllers.oracle import OracleController
from controllers.rl import RLController
from controllers.rules import RULE_NAMES, RulesController, expert_rules
from experiments import episode as E
from experiments import fast as F
from simulator import assess_kernel as AK
from simulator import layout as L
from simulator.assessment import assess_action
from simulator.core import Simulation
from simulator.env import SelfHealEnv
from simulator.scenarios import compile_scenario, load_scenarios, paper_cost
from simulator.state import Sim

#: Scenarios of different fault kinds (committed files): corruption (rules retrain on
#: corrupted data at cooldown 5: a poisoned model, a catastrophe), covariate shift (all
#: three paper actions), accuracy decay (rollback), dependency and resource failures,
#: latency, an outlier cluster (catastrophes) and an extended-action compound incident.
SCENARIOS = (
    "corruption_missing_logging",
    "cov_sudden_campaign",
    "decay_serving_skew",
    "dependency_feature_store_db",
    "latency_regex_push",
    "resource_cpu_saturation",
    "outlier_bot_cluster",
    "compound_corruption_deploy",
)
SEEDS = (0, 1, 2)
CONFIGS = (
    ("noop", {"alpha": 0.05, "cooldown": 30}),
    ("rules", {"alpha": 0.05, "cooldown": 30}),
    ("rules", {"alpha": 0.01, "cooldown": 5}),
    ("rules", {"alpha": 0.05, "cooldown": 5}),
    ("rules", {"alpha": 0.01, "cooldown": 30}),
)
_CONTROLLERS = {"noop": NoOpController, "rules": RulesController}


def _scenarios():
    by_id = {sc.id: sc for sc in load_scenarios("paper43") + load_scenarios("extended")}
    return [by_id[s] for s in SCENARIOS]


# =========================================================================== equivalence
class _RecordingEnv(SelfHealEnv):
    """SelfHealEnv that remembers its instances (to read the Gymnasium path's arrays)."""

    instances: list = []

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _RecordingEnv.instances.append(self)


def _gym_episodes(name, params, scenarios, monkeypatch):
    """Rows and envs of ``run_episode`` over scenarios x SEEDS (episode order as the batch)."""
    monkeypatch.setattr(E, "SelfHealEnv", _RecordingEnv)
    rows, envs = [], []
    for sc in scenarios:
        for seed in SEEDS:
            _RecordingEnv.instances = []
            rows.append(E.run_episode(_CONTROLLERS[name](seed=0, **params), sc, seed))
            envs.append(_RecordingEnv.instances[-1])
    return rows, envs


@pytest.mark.parametrize(("name", "params"), CONFIGS,
                         ids=[f"{n}-a{p['alpha']}-cd{p['cooldown']}" for n, p in CONFIGS])
def test_fast_path_rows_equal_run_episode(name, params, monkeypatch):
    """Every column of every row, records, final states and assessments are identical."""
    scenarios = _scenarios()
    gym_rows, envs = _gym_episodes(name, params, scenarios, monkeypatch)
    compiled = [F.compile_for_fast(sc) for sc in scenarios for _ in SEEDS]
    seeds = [s for _ in scenarios for s in SEEDS]
    batch = F.play_fast(name, params, compiled, seeds)
    fast_rows = [F.episode_row(batch, i) for i in range(len(seeds))]
    gym, fast = pd.DataFrame(gym_rows), pd.DataFrame(fast_rows)
    assert list(fast.columns) == list(gym.columns)
    numeric = [c for c in gym.columns if pd.api.types.is_numeric_dtype(gym[c])]
    assert len(numeric) == len(gym.columns) - 1  # all but catastrophe_kind
    pd.testing.assert_frame_equal(fast[numeric], gym[numeric], check_exact=True)
    assert fast["catastrophe_kind"].tolist() == gym["catastrophe_kind"].tolist()
    for i, env in enumerate(envs):
        sim = env.sim
        np.testing.assert_array_equal(batch.hists[i], sim.hist, strict=True)
        np.testing.assert_array_equal(batch.states[i], sim.s, strict=True)
        assert F.verdict_dicts(batch.verdicts[i], batch.c_papers[i]) == env.assessments
    # the batch exercises what it should
    if name == "rules":
        assert gym["n_actions_taken"].sum() > 0
    else:
        assert gym["n_actions_taken"].sum() == 0
    assert gym["mttd_min"].notna().any()


def test_fast_path_covers_retrain_on_corruption_and_catastrophes():
    """The equivalence batch includes a corruption retrain, all paper actions, catastrophes."""
    scenarios = _scenarios()[:2]  # corruption_missing_logging, cov_sudden_campaign
    compiled = [F.compile_for_fast(sc) for sc in scenarios for _ in SEEDS]
    seeds = [s for _ in scenarios for s in SEEDS]
    rows = pd.DataFrame(F.run_episodes_fast("rules", {"alpha": 0.01, "cooldown": 5},
                                            compiled, seeds))
    rows["scenario"] = [sc.id for sc in scenarios for _ in SEEDS]
    corr = rows[rows["scenario"] == "corruption_missing_logging"]
    assert corr["actions_retrain"].sum() > 0 and corr["catastrophic"].sum() > 0
    for a in ("fallback", "rollback", "retrain"):
        assert rows[f"actions_{a}"].sum() > 0
    assert rows["n_harmful"].sum() > 0 and rows["n_violating_actions"].sum() > 0


def test_run_episodes_fast_is_play_fast_plus_rows():
    """run_episodes_fast returns the rows episode_row builds, in order."""
    sc = _scenarios()[5]
    c = [F.compile_for_fast(sc)] * 2
    rows = F.run_episodes_fast("rules", None, c, [3, 4])
    batch = F.play_fast("rules", None, c, [3, 4])
    assert rows == [F.episode_row(batch, 0), F.episode_row(batch, 1)]
    assert batch.steps == sum(int(r["minutes"]) for r in rows)


def test_run_controller_fast_equals_run_controller():
    """A whole run (seeded scenario order, episode seeds, labels) equals run_controller's."""
    scenarios = [sc for sc in _scenarios() if sc.horizon <= 360]
    ctrl = RulesController(seed=3, cooldown=5, alpha=0.01)
    fast = pd.DataFrame(F.run_controller_fast(ctrl, scenarios, 3))
    gym = pd.DataFrame(E.run_controller(ctrl, scenarios, 3))
    pd.testing.assert_frame_equal(fast, gym, check_exact=True)


def test_fast_path_params_accepts_only_the_plain_built_ins():
    """Subclasses, canary deployments and other controllers are left to the Gymnasium path."""

    class Canary(RulesController):
        deployment = "canary"

    class MyBandit(BanditController):
        pass

    assert F.fast_path_params(RulesController(alpha=0.01, cooldown=5)) == {
        "alpha": 0.01, "cooldown": 5}
    assert F.fast_path_params(NoOpController()) == {"alpha": 0.05, "cooldown": 30}
    assert F.fast_path_params(BanditController(lam=5.0)) == {
        "alpha": 0.05, "cooldown": 30, "lam": 5.0, "n_actions": 4}
    assert F.fast_path_params(RLController(epsilon=0.2))["epsilon"] == 0.2
    assert F.fast_path_params(HumanController())["response_minutes"] == 45
    hyb = F.fast_path_params(HybridController(use_canary=False, canary_judge="mann_whitney"))
    assert hyb["use_canary"] is False and hyb["canary_judge"] == "mann_whitney"
    assert hyb["budget_window"] == 60 and hyb["sla_threshold"] == 0.95
    assert F.fast_path_params(OracleController(window=40)) == {
        "alpha": 0.05, "cooldown": 30, "window": 40, "deployment": "direct"}
    assert F.fast_path_params(HumanController(random_delay=True))["random_delay"] is True
    lin = F.fast_path_params(LinUCBController(ucb_alpha=0.7, no_op_reward=1.0))
    assert lin["ucb_alpha"] == 0.7 and lin["no_op_reward"] == 1.0
    cu = F.fast_path_params(ConservativeUCBController(alpha_c=0.3))
    assert cu["alpha_c"] == 0.3 and cu["ucb_alpha"] == 0.5
    for other in (Canary(), MyBandit()):
        assert F.fast_path_params(other) is None
    with pytest.raises(ValueError, match="cannot play"):
        F.run_controller_fast(Canary(), _scenarios()[:1], 0)


#: Learning and random controllers on the fast path: (config name, overrides, action set).
LEARNERS = (
    ("human", {}, "auto"),
    ("human", {"random_delay": True, "cooldown": 5}, "auto"),
    ("rl", {}, "auto"),
    ("rl_decaying", {}, "auto"),
    ("rl", {"cooldown": 5, "epsilon": 0.5}, "auto"),
    ("bandit", {}, "auto"),
    ("bandit", {"cooldown": 5, "n_actions": 8}, "extended"),
    ("hybrid_literal", {"cooldown": 5}, "auto"),
    ("hybrid", {}, "auto"),
    ("hybrid", {"canary_judge": "mann_whitney", "cooldown": 5, "burn_limit": 2.0}, "auto"),
    ("hybrid_no_shield", {"cooldown": 5}, "auto"),
    ("hybrid_no_canary", {"n_actions": 8}, "extended"),
    ("linucb", {}, "auto"),
    ("linucb", {"cooldown": 5, "n_actions": 8, "ucb_alpha": 2.0}, "extended"),
    ("lin_ts", {"cooldown": 5, "no_op_reward": 1.0}, "auto"),
    ("conservative_ucb", {}, "auto"),
    ("conservative_ucb", {"cooldown": 5, "alpha_c": 0.5, "n_actions": 8}, "extended"),
)


def _controller(name, overrides, seed):
    from hydra.utils import instantiate

    from experiments.config import controller_config

    cfg = controller_config(name)
    cfg.update(overrides)
    return instantiate(cfg, seed=seed)


@pytest.mark.parametrize(("name", "overrides", "action_set"), LEARNERS,
                         ids=[f"{n}-{'-'.join(f'{k}{v}' for k, v in o.items())}-{s}"
                              for n, o, s in LEARNERS])
def test_learning_controllers_fast_path_equals_run_controller(name, overrides, action_set):
    """A whole run of a random or learning controller equals the Gymnasium path's.

    Identical rows, learned tables, rewards, bandit-choice counts and generator state, with
    learning carried across episodes.
    """
    scenarios = [sc for sc in load_scenarios("paper43") + load_scenarios("extended")
                 if sc.horizon <= 480]
    for seed in (0, 1):
        gym_ctrl = _controller(name, overrides, seed)
        fast_ctrl = _controller(name, overrides, seed)
        gym = pd.DataFrame(E.run_controller(gym_ctrl, scenarios, seed, action_set))
        fast = pd.DataFrame(F.run_controller_fast(fast_ctrl, scenarios, seed, action_set))
        pd.testing.assert_frame_equal(fast, gym, check_exact=True)
        assert gym["n_actions_taken"].sum() > 20
        assert fast_ctrl.rng.random() == gym_ctrl.rng.random()
        if hasattr(gym_ctrl, "learner"):
            for arr in ("tab", "A", "b", "chol", "counts"):  # the learned state
                if hasattr(gym_ctrl.learner, arr):
                    np.testing.assert_array_equal(getattr(fast_ctrl.learner, arr),
                                                  getattr(gym_ctrl.learner, arr), strict=True)
            for arr in ("round_x", "round_played", "round_base", "round_reward"):
                if hasattr(gym_ctrl, arr):  # conservative UCB's rounds
                    np.testing.assert_array_equal(getattr(fast_ctrl, arr),
                                                  getattr(gym_ctrl, arr), strict=True)
            for attr in ("n_rounds", "n_explored", "last_margin"):
                if hasattr(gym_ctrl, attr):
                    np.testing.assert_equal(getattr(fast_ctrl, attr), getattr(gym_ctrl, attr))
            assert fast_ctrl.rewards == gym_ctrl.rewards and len(gym_ctrl.rewards) > 10
            assert getattr(fast_ctrl, "bandit_choices", 0) == getattr(
                gym_ctrl, "bandit_choices", 0)


@pytest.mark.parametrize("seed", [0, 1, 7, 12345, 2**40 + 3])
def test_env_episode_seed_matches_env_reset(seed):
    """The internal episode seed equals the one SelfHealEnv.reset(seed=...) uses."""
    env = SelfHealEnv(_scenarios()[5])
    env.reset(seed=seed)
    assert env.sim.s[L.S_SEED] == float(F.env_episode_seed(seed))


def test_fast_path_error_contract():
    """Unsupported controllers, unknown parameters and mismatched lengths raise ValueError."""
    c = [F.compile_for_fast(_scenarios()[5])]
    with pytest.raises(ValueError, match="fast path plays"):
        F.play_fast("my_controller", None, c, [0])
    with pytest.raises(ValueError, match="must match use_canary"):  # c is compiled direct
        F.play_fast("hybrid", None, c, [0], HybridController())
    with pytest.raises(ValueError, match="unknown rules parameters"):
        F.play_fast("rules", {"z": 3.0}, c, [0])
    with pytest.raises(ValueError, match="alpha"):
        F.play_fast("rules", {"alpha": 1.5}, c, [0])
    with pytest.raises(ValueError, match="cooldown"):
        F.play_fast("rules", {"cooldown": -1}, c, [0])
    with pytest.raises(ValueError, match="1 scenarios but 2 seeds"):
        F.play_fast("rules", None, c, [0, 1])
    with pytest.raises(ValueError, match="needs the rl controller"):
        F.play_fast("rl", None, c, [0])
    with pytest.raises(ValueError, match=r"unknown bandit parameters .*\['epsilon'\]"):
        F.play_fast("bandit", {"epsilon": 0.1}, c, [0], BanditController())
    with pytest.raises(ValueError, match="action_set"):
        F.compile_for_fast(_scenarios()[5], action_set="all")
    assert F.run_episodes_fast("noop", None, [], []) == []


# =========================================================================== completeness
COVERED = {
    "controllers.kernels": {"d_eff", "pi_det", "risk_high", "infra_alarm", "alarm",
                            "expert_rules", "rules_act"},
    "simulator.assess_kernel": {"rollout", "assess", "evaluate", "evaluate_range",
                                "fork_window", "window_cost", "best_action"},
    "experiments.fast": {"observe", "play_episode", "play_batch", "_deliver_feedback",
                         "_learner_choose", "_evaluate_at"},
}


@pytest.mark.parametrize("module", [CK, AK, F], ids=lambda m: m.__name__)
def test_every_njit_function_has_a_parity_case(module):
    """The njit functions defined in each module are exactly those covered here."""
    found = {
        name
        for name, obj in vars(module).items()
        if isinstance(obj, numba.core.registry.CPUDispatcher)
        and obj.py_func.__module__ == module.__name__
    }
    assert found == COVERED[module.__name__]


# =========================================================================== py_func parity
#: Values at and around every threshold of the envelope, the alarms and the rules.
_EDGES = (0.0, 0.01, 0.02, 0.03, 0.05, 0.07, 0.1, 0.12, 0.15, 0.18, 0.2, 0.22, 0.25, 0.3,
          0.5, 0.7, 0.8, 0.9, 0.95, 1.0)
_obs_entry = st.one_of(st.sampled_from(_EDGES), st.floats(0.0, 1.0))
_latency = st.one_of(st.sampled_from((0.0, 100.0, 299.9, 300.0, 300.1, 799.0, 800.0, 1e3)),
                     st.floats(0.0, 2e3))


@st.composite
def _observations(draw):
    obs = np.array([draw(_obs_entry) for _ in range(10)])
    obs[CK.OBS_P99] = draw(_latency)
    obs[CK.OBS_UTIL] = draw(st.one_of(st.sampled_from((0.5, 0.7, 0.9, 0.95)),
                                      st.floats(0.0, 3.0)))
    return obs


def _same(x, y):
    """Assert equal values of the same kind (bool, int or float; NumPy scalars allowed)."""
    for kind in (bool | np.bool_, int | np.integer, float | np.floating):
        if isinstance(x, kind) or isinstance(y, kind):
            assert isinstance(x, kind) and isinstance(y, kind), (x, y)
            break
    assert x == y, (x, y)


@settings(max_examples=300, deadline=None)
@given(_observations(), st.sampled_from((0.0, 0.05, 0.1, 0.16)), st.integers(0, 120))
def test_decision_kernels_match_py_func(obs, d_crit, fb_min):
    """Envelope, alarm and rule kernels equal their py_funcs on threshold-heavy inputs."""
    for fn in (CK.d_eff, CK.pi_det, CK.risk_high, CK.alarm):
        _same(fn(obs, d_crit), fn.py_func(obs, d_crit))
    _same(CK.infra_alarm(obs), CK.infra_alarm.py_func(obs))
    r1 = CK.expert_rules(obs, d_crit, fb_min, 1000.0, 300.0)
    r2 = CK.expert_rules.py_func(obs, d_crit, fb_min, 1000.0, 300.0)
    assert r1 == r2 and 0 <= r1[1] < len(RULE_NAMES)


@settings(max_examples=200, deadline=None)
@given(_observations(), st.integers(-1, 50), st.integers(-1, 50), st.integers(0, 60),
       st.booleans(), st.integers(0, 40))
def test_rules_act_matches_py_func(obs, quiet, fb_since, minute, fb_active, cooldown):
    """rules_act returns the same action and leaves the same state as its py_func."""
    s1 = np.array([quiet, fb_since], dtype=np.int64)
    s2 = s1.copy()
    a1 = CK.rules_act(s1, obs, minute, fb_active, 0.05, cooldown)
    a2 = CK.rules_act.py_func(s2, obs, minute, fb_active, 0.05, cooldown)
    assert a1 == a2
    np.testing.assert_array_equal(s1, s2)


@settings(max_examples=200, deadline=None)
@given(_observations(), st.sampled_from((0.0, 0.05, 0.16)), st.integers(0, 120))
def test_python_wrappers_call_the_kernels(obs, d_crit, fb_min):
    """Observation-based pi_det, risk_high, infra_alarm, alarm and expert_rules = kernels."""
    x = Observation(*obs.tolist(), d_critical=d_crit)
    assert pi_det(x) == CK.pi_det(obs, d_crit)
    assert risk_high(x) == CK.risk_high(obs, d_crit)
    assert infra_alarm(x) == CK.infra_alarm(obs)
    assert alarm(x) == CK.alarm(obs, d_crit)
    assert x.d_eff == CK.d_eff(obs, d_crit)
    a, rule = CK.expert_rules(obs, d_crit, fb_min, 1000.0, 300.0)
    assert expert_rules(x, fb_min) == (a, RULE_NAMES[rule])


def test_rules_controller_state_goes_through_the_kernel():
    """Act updates _quiet_until and _fb_since as rules_act does; reset clears them."""
    c = RulesController(cooldown=5)
    assert c._quiet_until == -1 and c._fb_since == -1
    obs = np.zeros(10)
    obs[CK.OBS_A] = 0.2  # pi_det: fallback
    info = {"minute": 10, "fallback_active": True, "ks_n": 300, "ks_m": 1000}
    assert c.act(obs, info) == L.FALLBACK
    assert c._quiet_until == 16 and c._fb_since == 10
    assert c.in_cooldown({"minute": 15}) and not c.in_cooldown({"minute": 16})
    assert c.act(obs, {**info, "minute": 12}) == L.NO_OP  # cooldown; the fallback tracked
    assert c._quiet_until == 16 and c._fb_since == 10
    assert c.act(obs, {**info, "minute": 13, "fallback_active": False}) == L.NO_OP
    assert c._fb_since == -1
    c.reset(1)
    assert c._quiet_until == -1 and c._fb_since == -1


def _sim_at(scenario_id, minutes, actions=(), deployment="direct", seed=11):
    """Return ``scenario_id``'s simulation after ``minutes`` steps (actions: {minute: a})."""
    sc = {s.id: s for s in _scenarios()}[scenario_id]
    sim = Simulation(compile_scenario(sc, deploy_canary=deployment == "canary"))
    sim.reset(seed)
    acts = dict(actions)
    for t in range(1, minutes):
        sim.step(acts.get(t, L.NO_OP))
    return sim


def _kernel_args(sim):
    """Return the simulation's arrays, in the order of the fields of its Sim record."""
    return tuple(sim.arrays)


def _own_cache(sim):
    """Give a fork its own copy of the shared sample cache (for side-by-side parity)."""
    sim.smp, sim.smeta = sim.smp.copy(), sim.smeta.copy()
    return sim


def _assert_arrays_equal(xs, ys):
    for x, y in zip(xs, ys, strict=True):
        if isinstance(x, np.ndarray):
            np.testing.assert_array_equal(x, y, strict=True)


def test_rollout_matches_py_func_and_simulation_rollout():
    """The rollout kernel equals its py_func and Simulation.rollout (records and every array)."""
    sim = _sim_at("corruption_missing_logging", 70)
    a, b, c = (_own_cache(sim.fork()) for _ in range(3))
    k1 = AK.rollout(a.arrays, L.RETRAIN, 40)
    k2 = AK.rollout.py_func(b.arrays, L.RETRAIN, 40)
    recs = c.rollout(L.RETRAIN, 40)
    assert k1 == k2 == len(recs) == 40
    _assert_arrays_equal(_kernel_args(a), _kernel_args(b))
    _assert_arrays_equal(_kernel_args(a), _kernel_args(c))
    end = sim.fork()  # stops at the horizon
    left = end.horizon - end.t + 1
    assert AK.rollout(end.arrays, L.NO_OP, 10 * end.horizon) == left
    assert end.t == end.horizon + 1


@pytest.mark.parametrize(("scenario", "minute", "action"), [
    ("corruption_missing_logging", 70, L.RETRAIN),
    ("cov_sudden_campaign", 65, L.FALLBACK),
    ("decay_serving_skew", 100, L.ROLLBACK),
])
def test_assess_matches_py_func(scenario, minute, action):
    """The assess kernel equals its py_func bit for bit and leaves the state untouched.

    The shared sample cache too: the forks play open loop and draw no samples.
    """
    sim = _sim_at(scenario, minute)
    other = _own_cache(sim.fork())
    before = [x.copy() for x in _kernel_args(sim)[:-2]]
    def filled_rows():
        return int(((sim.smeta[:, 0] & np.uint64(1)) > 0).sum())

    filled = filled_rows()
    r1 = AK.assess(sim.arrays, action, -1)
    r2 = AK.assess.py_func(other.arrays, action, -1)
    for x, y in zip(r1, r2, strict=True):
        _same(x, y)
    _assert_arrays_equal(before, _kernel_args(sim)[:-2])
    assert filled_rows() == filled


def test_observe_matches_py_func_and_env_obs():
    """The observe kernel clips like SelfHealEnv._obs and equals its py_func; NaN is reported."""
    env = SelfHealEnv(_scenarios()[1], observation_mode="full")
    env.reset(seed=0)
    rec = env.sim.hist[0].copy()
    rec[L.R_P99_OBS] = 5e5  # above the Box bound
    rec[L.R_UTIL] = -1.0  # below it
    o1, o2 = np.empty(10), np.empty(10)
    assert F.observe(rec, F._OBS_IDX, F._OBS_HIGH, o1)
    assert F.observe.py_func(rec, F._OBS_IDX, F._OBS_HIGH, o2)
    np.testing.assert_array_equal(o1, env._obs(rec), strict=True)
    np.testing.assert_array_equal(o1, o2, strict=True)
    rec[L.R_D] = np.nan
    assert not F.observe(rec, F._OBS_IDX, F._OBS_HIGH, o1)
    assert not F.observe.py_func(rec, F._OBS_IDX, F._OBS_HIGH, o2)


def _episode_args(sc, seed, alpha=0.05):
    c = F.compile_for_fast(sc)
    p = c.params
    horizon = int(p[L.P_HORIZON])
    d_crit = critical_value(alpha, int(p[L.P_SAMPLES_PER_MIN] * p[L.P_KS_WINDOW]),
                            int(p[L.P_REF_SIZE]))
    return (F._RULES, p, c.faults, c.action_costs, paper_cost(c.action_costs, p),
            F.env_episode_seed(seed), d_crit, 5, int(c.faults[:, L.F_ONSET].min()),
            F._OBS_IDX, F._OBS_HIGH, np.zeros((horizon + 1, L.N_RECORD)), np.zeros(L.N_STATE),
            np.zeros((horizon + 1, F.N_VERDICT_FIELDS)),
            np.zeros(L.N_EXTENDED_ACTIONS, dtype=np.int64), np.zeros((2, 1, 1)),
            np.ones((2, 1, 1)), F._lpar(F._PARAMS["rules"]), np.random.default_rng(0),
            np.zeros(horizon + 1), np.zeros(F.N_LSTATS, dtype=np.int64), F._NO_SMP,
            F._NO_SMETA, False, np.zeros((0, F.N_DEC_FIELDS)), np.zeros((0, F.N_FM_FIELDS)),
            F.no_linear_state())


def test_play_episode_matches_py_func():
    """play_episode (rules, cooldown 5) equals its py_func: returns and output arrays."""
    sc = {s.id: s for s in _scenarios()}["resource_cpu_saturation"]
    a1, a2 = _episode_args(sc, 4), _episode_args(sc, 4)
    r1 = F.play_episode(*a1)
    r2 = F.play_episode.py_func(*a2)
    assert r1 == r2 and r1[0] == F.OK and r1[1] > 0
    _assert_arrays_equal(a1, a2)


def test_play_batch_matches_py_func():
    """play_batch equals its py_func (via play_fast's arguments) on a two-episode batch."""
    sc = {s.id: s for s in _scenarios()}["resource_cpu_saturation"]
    calls = {}

    def spy(fn, key):
        def run(*args):
            calls[key] = args
            return fn(*args)
        return run

    b1 = F.play_fast("rules", None, [F.compile_for_fast(sc)] * 2, [5, 6])
    mp = pytest.MonkeyPatch()
    try:
        mp.setattr(F, "play_batch", spy(F.play_batch.py_func, "py"))
        b2 = F.play_fast("rules", None, [F.compile_for_fast(sc)] * 2, [5, 6])
    finally:
        mp.undo()
    assert "py" in calls
    for x, y in zip(b1.hists + b1.states + b1.verdicts, b2.hists + b2.states + b2.verdicts,
                    strict=True):
        np.testing.assert_array_equal(x, y, strict=True)
    for name in ("counts", "first_alarm", "paper_costs"):
        np.testing.assert_array_equal(getattr(b1, name), getattr(b2, name), strict=True)


# =========================================================================== assessment
def _assess_reference(sim: Simulation, action: int, window: int | None = None) -> dict:
    """Assess as before the kernel (NumPy pairwise sums): the reference to compare with."""
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


_BOOLS = ("harmful", "safety_violation", "contained", "success")


@pytest.mark.parametrize("deployment", ["direct", "canary"])
@pytest.mark.parametrize("scenario", ["corruption_missing_logging", "cov_sudden_campaign",
                                      "decay_serving_skew", "outlier_bot_cluster",
                                      "compound_corruption_deploy"])
def test_assess_kernel_agrees_with_the_numpy_assessment(scenario, deployment):
    """On the same forks every verdict is equal and delta_cost agrees to rounding."""
    n_actions = 8 if scenario == "compound_corruption_deploy" else 4
    seen = {k: set() for k in _BOOLS}
    for minute in (20, 61, 75, 130, 235):
        sim = _sim_at(scenario, minute, {62: L.FALLBACK}, deployment)
        for action in range(1, n_actions):
            for window in (None, 1, 7) if minute < 235 else (None, 10_000):
                ref = _assess_reference(sim, action, window)
                got = assess_action(sim, action, window)
                for k in (*_BOOLS, "minutes"):
                    assert got[k] == ref[k], (minute, action, window, k)
                    assert type(got[k]) is type(ref[k])
                assert math.isclose(got["delta_cost_usd"], ref["delta_cost_usd"],
                                    rel_tol=1e-12, abs_tol=1e-9)
                for k in _BOOLS:
                    seen[k].add(got[k])
    assert seen["harmful"] == {True, False}
    if deployment == "canary" and scenario == "corruption_missing_logging":
        assert True in seen["contained"]


def test_assess_action_leaves_the_simulation_unchanged():
    """assess_action forks: the live simulation's state arrays are untouched.

    The shared sample cache (the last two kernel arguments) only gains the forks' minutes.
    """
    sim = _sim_at("cov_sudden_campaign", 65)
    before = [x.copy() for x in _kernel_args(sim)[:-2]]
    assess_action(sim, L.RETRAIN)
    _assert_arrays_equal(before, _kernel_args(sim)[:-2])


@pytest.mark.parametrize("code", [F._RL, F._BANDIT, F._HYBRID_LITERAL, F._HYBRID])
def test_learner_helpers_match_py_func(code):
    """_learner_choose and _deliver_feedback equal their py_funcs (draws, tables, outputs)."""
    obs_set = [np.array([0.9, 0.3, 0.1, 200.0, 0.0, 0.5, 100.0, 1.0, 0.0, 0.03]),
               np.array([0.0, 0.0, 0.0, 900.0, 0.2, 0.5, 100.0, 1.0, 0.0, 0.0]),
               np.array([0.5, 0.0, 0.0, 100.0, 0.0, 0.5, 100.0, 1.0, 0.0, 0.0])]
    lpar = F._lpar({**F._PARAMS["rl"], "epsilon": 0.3})
    for seed in range(20):
        tabs = [np.random.default_rng(seed).uniform(1.0, 5.0, (2, 16, 4)) for _ in range(2)]
        safes = [np.random.default_rng(seed + 1).uniform(1.0, 20.0, (2, 16, 4)) for _ in range(2)]
        rngs = [np.random.default_rng(seed) for _ in range(2)]
        stats = [np.zeros(F.N_LSTATS, dtype=np.int64) for _ in range(2)]
        for obs in obs_set:
            if code == F._HYBRID:  # its choice is hybrid_choose (tests/test_hybrid_kernels.py)
                break
            got = [fn(code, obs, 0.1, seed % 16, 4, tab, lpar, rng, st)
                   for fn, tab, rng, st in zip((F._learner_choose, F._learner_choose.py_func),
                                               tabs, rngs, stats, strict=True)]
            assert got[0] == got[1] and 0 <= got[0] < 4
        verdicts = np.zeros((6, F.N_VERDICT_FIELDS))
        verdicts[:, F.V_MINUTE] = [3, 5, 9, 20, 30, 41]
        verdicts[:, F.V_ACTION] = [1, 2, 3, 1, 2, 3]
        verdicts[:, F.V_SUCCESS] = [1, 0, 1, 1, 0, 0]
        outs = []
        for fn, tab, safe, rng in zip((F._deliver_feedback, F._deliver_feedback.py_func), tabs,
                                      safes, rngs, strict=True):
            ctx_of = np.full(50, -1, dtype=np.int64)
            ctx_of[[3, 9, 20, 30, 41]] = [1, 2, 3, 4, 5]  # minute 5: an earlier episode's
            rewards = np.zeros(10)
            r = fn(code, verdicts, 6, 0, ctx_of, 35, False, 10, np.array([0.0, 1, 2, 4]),
                   tab, safe, lpar, rng, rewards, 0, F.no_linear_state(),
                   np.zeros((0, 11)), np.full(50, -1, dtype=np.int64))
            outs.append((r, rewards, ctx_of))
        assert outs[0][0] == outs[1][0] == (4, 3)  # 4 matured by minute 35, 1 of them dropped
        np.testing.assert_array_equal(outs[0][1], outs[1][1])
        np.testing.assert_array_equal(outs[0][1][:4], [10.0 - 1, 10.0 - 4, 10.0 - 1, 0.0])
        np.testing.assert_array_equal(outs[0][2], outs[1][2])
        np.testing.assert_array_equal(tabs[0], tabs[1])
        np.testing.assert_array_equal(safes[0], safes[1])
        assert rngs[0].random() == rngs[1].random()
        assert stats[0].tolist() == stats[1].tolist()


def test_run_controllers_fast_shares_samples_and_equals_separate_runs():
    """Controllers played together (one sample cache per episode) equal their own runs.

    Rows and learned states; the store keys caches by episode and frees them per scenario.
    """
    scenarios = [sc for sc in load_scenarios("paper43") if sc.horizon <= 360][:8]
    names = ("rules", "human", "bandit", "hybrid")
    together = [_controller(n, {}, 4) for n in names]
    runs = F.run_controllers_fast(together, scenarios, 4)
    for name, ctrl, rows in zip(names, together, runs, strict=True):
        alone = _controller(name, {}, 4)
        pd.testing.assert_frame_equal(pd.DataFrame(rows),
                                      pd.DataFrame(E.run_controller(alone, scenarios, 4)),
                                      check_exact=True)
        assert alone.rng.random() == ctrl.rng.random()
        if hasattr(alone, "learner"):
            np.testing.assert_array_equal(alone.learner.tab, ctrl.learner.tab)
    with pytest.raises(ValueError, match="cannot play"):
        F.run_controllers_fast([RulesController(), type("MyRules", (RulesController,), {})()],
                               scenarios, 0)


def test_regret_forks_shared_between_controllers_equal_separate_runs():
    """With regret, controllers played together share the no_op-only trajectory's forks.

    noop, the human (paging, then waiting), the oracle (its own decision forks are the
    regret forks) and rules and hybrid_literal: rows and decision records equal those of
    each controller's own Gymnasium-path run; noop's and the human's records agree at the
    minutes before the human's first action.
    """
    scenarios = [sc for sc in load_scenarios("paper43") if sc.horizon <= 360][:4]
    names = ("noop", "human", "oracle", "rules", "hybrid_literal")
    together = [_controller(n, {}, 6) for n in names]
    decs: list[list[dict]] = [[] for _ in names]
    runs = F.run_controllers_fast(together, scenarios, 6, regret=True, decisions=decs)
    for name, rows, d_fast in zip(names, runs, decs, strict=True):
        d_gym: list[dict] = []
        gym = E.run_controller(_controller(name, {}, 6), scenarios, 6, regret=True,
                               decisions=d_gym)
        pd.testing.assert_frame_equal(pd.DataFrame(rows), pd.DataFrame(gym), check_exact=True)
        assert d_fast == d_gym, name
    # the human pages at its first decision and acts response_minutes (45) later
    noop = {(d["scenario"], d["minute"]): d for d in decs[0]}
    paged: dict = {}
    for d in decs[1]:
        paged.setdefault(d["scenario"], d["minute"])
    shared = [d for d in decs[1] if d["minute"] < paged[d["scenario"]] + 45]
    assert len(shared) > 20
    for d in shared:
        n = noop[(d["scenario"], d["minute"])]
        assert (d["action"], d["best_action"], d["regret_usd"]) == (
            n["action"], n["best_action"], n["regret_usd"])


def test_sample_caches_key_on_the_episode():
    """Same episode: the same arrays, whatever the deployment; not otherwise.

    Another seed, fault table or sampling size gives another cache.
    """
    sc = _scenarios()[1]
    direct, canary = F.compile_for_fast(sc), F.compile_for_fast(sc, deployment="canary")
    store = F.SampleCaches()
    a = store.get(direct.params, direct.faults, 11)
    assert store.get(canary.params, canary.faults, 11)[0] is a[0]
    assert store.get(direct.params, direct.faults, 12)[0] is not a[0]
    faults = direct.faults.copy()
    faults[0, L.F_MAGNITUDE] *= 2
    assert store.get(direct.params, faults, 11)[0] is not a[0]
    p = direct.params.copy()
    p[L.P_REF_SIZE] = 500
    assert store.get(p, direct.faults, 11)[0] is not a[0]
    assert len(store) == 4
    store.clear()
    assert len(store) == 0


@pytest.mark.parametrize(("name", "over"), [("oracle", {}), ("oracle", {"window": 30}),
                                            ("rules", {}), ("bandit", {}), ("hybrid", {}),
                                            ("human", {})])
def test_regret_recording_fast_path_equals_run_controller(name, over):
    """With regret on, rows (regret fields included) and decision records are identical.

    An oracle forking over another window than the outcome window records separate forks.
    """
    scenarios = [sc for sc in load_scenarios("paper43") if sc.horizon <= 360][:8]
    gym_ctrl, fast_ctrl = _controller(name, over, 3), _controller(name, over, 3)
    d_gym, d_fast = [], []
    gym = pd.DataFrame(E.run_controller(gym_ctrl, scenarios, 3, regret=True, decisions=d_gym))
    fast = pd.DataFrame(F.run_controller_fast(fast_ctrl, scenarios, 3, regret=True,
                                              decisions=d_fast))
    pd.testing.assert_frame_equal(fast, gym, check_exact=True)
    assert d_fast == d_gym and len(d_gym) > 50
    assert {"regret_usd", "n_decisions", "n_avoidable_catastrophes"} <= set(fast.columns)
    if name == "oracle" and not over:
        assert all(d["regret_usd"] == 0.0 for d in d_gym)


@settings(max_examples=300, deadline=None)
@given(costs=st.lists(st.sampled_from([0.0, 1.5, 2.0, 7.25]), min_size=1, max_size=8),
       data=st.data())
def test_best_action_kernel_equals_action_values_best(costs, data):
    """No catastrophe first, then fewest dollars, then lowest index (ties included)."""
    from controllers.oracle import ActionValues

    cat = np.array(data.draw(st.lists(st.booleans(), min_size=len(costs),
                                      max_size=len(costs))))
    cost = np.array(costs)
    v = ActionValues(minute=1, cost_usd=cost, catastrophic=cat, minutes=5)
    assert AK.best_action(cost, cat, len(costs)) == v.best
    assert AK.best_action.py_func(cost, cat, len(costs)) == v.best


@pytest.mark.parametrize(("scenario", "minute"), [("cov_sudden_campaign", 65),
                                                ("corruption_missing_logging", 70)])
def test_open_loop_forks_equal_fully_measured_forks(scenario, minute):
    """The oracle's open-loop forks give the dollars and catastrophes of measured forks.

    The reference forks are Simulation.fork() rollouts, which measure every minute (samples,
    KS statistic, labels, a retrained model's reference); retrain finishes within the window.
    """
    sim = _sim_at(scenario, minute)
    w = int(sim.p[L.P_OUTCOME_WINDOW])
    cost, cat = np.zeros(4), np.zeros(4, dtype=bool)
    assert AK.evaluate(sim.arrays, 4, -1, cost, cat) == w
    promoted = []
    for a in range(4):
        fork = sim.fork()
        rows = fork.rollout(a, w)
        assert rows.shape[0] == w and rows[:, L.R_D].max() > 0.0  # measured
        total = 0.0
        for r in rows:
            total += r[L.R_COST_RATE]
        assert cost[a] == total and cat[a] == (fork.catastrophe != L.CAT_NONE)
        promoted.append(fork.models[L.M_SERVING, L.MF_REF_ID])
    assert promoted[L.RETRAIN] == -1.0  # the retrained model serves: its reference was drawn


def _shadow(sim):
    """Return an unstarted no_op shadow for _evaluate_at, shaped like the simulation."""
    rec = sim.arrays
    return (Sim(rec.p, rec.fa, rec.ac, rec.fr.copy(), rec.s.copy(), rec.models.copy(),
                rec.refs.copy(), np.zeros_like(rec.hist), rec.live.copy(), rec.rs.copy(),
                rec.smp, rec.smeta),
            np.zeros(1, dtype=np.int64))


def test_evaluate_at_memo_matches_py_func():
    """The fork memo holds evaluate's values on a pristine trajectory and reads them back."""
    sim = _sim_at("cov_sudden_campaign", 65)
    t = sim.t
    want_c, want_k = np.zeros(8), np.zeros(8, dtype=bool)
    n = AK.evaluate(sim.arrays, 4, -1, want_c, want_k)
    for fn in (F._evaluate_at, F._evaluate_at.py_func):
        memo = np.zeros((sim.horizon + 2, F.N_FM_FIELDS))
        c, k = np.zeros(8), np.zeros(8, dtype=bool)
        assert fn(sim.arrays, 4, c, k, memo, False, *_shadow(sim)) == n  # no memo
        assert not memo.any()
        np.testing.assert_array_equal(c[:4], want_c[:4])
        assert fn(sim.arrays, 4, c, k, memo, True, *_shadow(sim)) == n
        assert memo[t, F.FM_VALID] == 1.0 and memo[t, F.FM_WINDOW] == n
        np.testing.assert_array_equal(memo[t, F.FM_COST:F.FM_COST + 4], want_c[:4])
        memo[t, F.FM_COST] = 123.0  # read back, not recomputed
        c2, k2 = np.zeros(8), np.zeros(8, dtype=bool)
        assert fn(sim.arrays, 4, c2, k2, memo, True, *_shadow(sim)) == n
        assert c2[0] == 123.0 and (c2[1:4] == want_c[1:4]).all()
        np.testing.assert_array_equal(k2, want_k)


@pytest.mark.parametrize("scenario", ["cov_sudden_campaign", "corruption_missing_logging"])
def test_no_op_shadow_equals_fresh_forks(scenario):
    """The no_op shadow gives each decision exactly evaluate's values from the live state.

    It is started at one decision and extended while the episode plays no_op.
    """
    sim = _sim_at(scenario, 60)
    sh, sh_ok = _shadow(sim)
    memo = np.zeros((0, F.N_FM_FIELDS))
    for minute in range(60, 140):
        if minute % 7 in (0, 1, 3):  # decisions at irregular minutes, gaps beyond the window
            c, k = np.zeros(8), np.zeros(8, dtype=bool)
            n = F._evaluate_at(sim.arrays, 4, c, k, memo, False, sh, sh_ok)
            want_c, want_k = np.zeros(8), np.zeros(8, dtype=bool)
            assert AK.evaluate(sim.arrays, 4, -1, want_c, want_k) == n
            np.testing.assert_array_equal(c, want_c)
            np.testing.assert_array_equal(k, want_k)
            assert sh_ok[0] == 1 and sh.s[L.S_T] == sim.t + n  # extended to the window end
        sim.step(L.NO_OP)
        if minute == 100:  # the episode acts: the caller drops the shadow, a new one starts
            sim.step(L.FALLBACK)
            sh_ok[0] = 0


def test_evaluate_matches_py_func_and_leaves_the_state():
    """The oracle's forks: compiled equals py_func; the live state is untouched."""
    sim = _sim_at("cov_sudden_campaign", 65)
    other = _own_cache(sim.fork())
    before = [x.copy() for x in _kernel_args(sim)[:-2]]
    c1, c2 = np.zeros(4), np.zeros(4)
    k1, k2 = np.zeros(4, dtype=bool), np.zeros(4, dtype=bool)
    n1 = AK.evaluate(sim.arrays, 4, -1, c1, k1)
    n2 = AK.evaluate.py_func(other.arrays, 4, -1, c2, k2)
    assert n1 == n2 == int(sim.p[L.P_OUTCOME_WINDOW])
    np.testing.assert_array_equal(c1, c2)
    np.testing.assert_array_equal(k1, k2)
    assert len(set(c1.tolist())) > 1  # the actions' windows differ
    _assert_arrays_equal(before, _kernel_args(sim)[:-2])
