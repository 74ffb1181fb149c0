"""Tests of the batched fast path (``experiments.fast``, ``experiments.fast_loop``).

Layout: every controller config of ``configs/controller/`` (and variants with other
parameters and the extended action set) plays whole runs bit-identical on the fast path
and the Gymnasium path: rows, every field of the learned state, rewards and the
generator's state (the fast path composes the very kernels the Python classes call); the
rules' per-minute records, final states and assessments too; regret recording; several
controllers sharing an episode's samples; which controllers get a fast path and the error
contract; the compiled loop's helpers against their ``py_func``; the envelope and rule
kernels on threshold-heavy inputs; the counterfactual forks (rollout, assessment against a
NumPy reference, open-loop forks, the fork memo and the no_op shadow).
"""

from __future__ import annotations

import math

import numba
import numpy as np
import pandas as pd
import pytest
from helpers import same_array
from hydra.utils import instantiate
from hypothesis import given, settings
from hypothesis import strategies as st

from controllers import kernels as CK
from controllers.base import Controller, KernelController
from controllers.envelope import Observation, alarm, infra_alarm, pi_det, risk_high
from controllers.rules import RULE_NAMES, RulesController, expert_rules
from experiments import episode as E
from experiments import fast as F
from experiments import fast_loop as FL
from experiments.config import controller_config, known_controllers
from simulator import assess_kernel as AK
from simulator import layout as L
from simulator.assessment import assess_action
from simulator.core import Simulation
from simulator.env import SelfHealEnv
from simulator.records import info_record, new_truth, verdict_dicts
from simulator.scenarios import compile_scenario, load_scenarios

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


def _scenarios():
    by_id = {sc.id: sc for sc in load_scenarios("paper43") + load_scenarios("extended")}
    return [by_id[s] for s in SCENARIOS]


def _controller(name, overrides, seed):
    """Instantiate config ``name`` with ``overrides`` as the runners do (Hydra composes it)."""
    return instantiate(controller_config(name, overrides), seed=seed)


def _assert_same_controller_state(fast, gym):
    """Every field of the state record, the rewards and the generator's next draw agree.

    Arrays of different capacity (conservative UCB's rounds: the fast path reserves a
    batch's worth up front) agree on the rows in use.
    """
    for field in type(gym.state)._fields:
        x, y = getattr(fast.state, field), getattr(gym.state, field)
        if x.shape != y.shape:
            n = gym.n_rounds
            assert n == fast.n_rounds and x.shape[1:] == y.shape[1:], field
            x, y = x[:n], y[:n]
        assert same_array(x, y), field
    assert fast.rewards == gym.rewards
    assert fast.rng.random() == gym.rng.random()


# =========================================================================== equivalence
#: Every config, plus variants: (config name, overrides, action set).
VARIANTS = [(name, {}, "auto") for name in known_controllers()] + [
    ("human", {"random_delay": True, "cooldown": 5}, "auto"),
    ("rules", {"alpha": 0.01, "cooldown": 5}, "auto"),
    ("rl", {"cooldown": 5, "epsilon": 0.5}, "auto"),
    ("bandit", {"cooldown": 5, "n_actions": 8}, "extended"),
    ("hybrid_literal", {"cooldown": 5}, "auto"),
    ("hybrid", {"canary_judge": "mann_whitney", "cooldown": 5, "burn_limit": 2.0}, "auto"),
    ("hybrid_no_shield", {"cooldown": 5}, "auto"),
    ("hybrid_no_canary", {"n_actions": 8}, "extended"),
    ("linucb", {"cooldown": 5, "n_actions": 8, "ucb_alpha": 2.0}, "extended"),
    ("lin_ts", {"cooldown": 5, "no_op_reward": 1.0}, "auto"),
    ("conservative_ucb", {"cooldown": 5, "alpha_c": 0.5, "n_actions": 8}, "extended"),
    ("oracle", {"window": 20}, "auto"),
    ("rules", {"detector": "cusum"}, "auto"),
    ("hybrid", {"detector": "page_hinkley"}, "auto"),
]


@pytest.mark.parametrize(("name", "overrides", "action_set"), VARIANTS,
                         ids=[f"{n}-{'-'.join(f'{k}{v}' for k, v in o.items())}-{s}"
                              for n, o, s in VARIANTS])
def test_fast_path_equals_gymnasium_path(name, overrides, action_set):
    """A whole run of the config is identical on both paths, learning carried across episodes.

    Rows (every column), every field of the controller's state record, the rewards it
    learned and its generator's state.
    """
    short = [sc for sc in load_scenarios("paper43") if sc.horizon <= 480]
    scenarios = short[:7] + [sc for sc in load_scenarios("extended") if sc.horizon <= 480][:3]
    if name == "oracle":  # forks at every decision: a shorter run
        scenarios = scenarios[:6]
    # A variant (other parameters or actions) runs one seed: the second seed of every
    # default config already covers learning carried into a new run, over its first four
    # scenarios (suite time).
    for seed in (0,) if overrides else (0, 1):
        if seed == 1:
            scenarios = scenarios[:4]
        gym_ctrl = _controller(name, overrides, seed)
        fast_ctrl = _controller(name, overrides, seed)
        assert F.has_fast_path(fast_ctrl)
        gym = pd.DataFrame(E.run_controller(gym_ctrl, scenarios, seed, action_set))
        fast = pd.DataFrame(F.run_controller_fast(fast_ctrl, scenarios, seed, action_set))
        pd.testing.assert_frame_equal(fast, gym, check_exact=True)
        _assert_same_controller_state(fast_ctrl, gym_ctrl)
        if name != "noop":  # the controller acted (seed 1 plays only four scenarios)
            assert gym["n_actions_taken"].sum() > (5 if seed == 0 else 0)
        if "lam" in controller_config(name):  # a learner learned
            assert len(gym_ctrl.rewards) > 10


class _RecordingEnv(SelfHealEnv):
    """SelfHealEnv that remembers its instances (to read the Gymnasium path's arrays)."""

    instances: list = []

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _RecordingEnv.instances.append(self)


@pytest.mark.parametrize("overrides", [{}, {"alpha": 0.01, "cooldown": 5}])
def test_fast_path_records_states_and_assessments_equal_the_env(overrides, monkeypatch):
    """Per episode: the minute records, final state and assessments are the env's."""
    monkeypatch.setattr(E, "SelfHealEnv", _RecordingEnv)
    scenarios = _scenarios()
    seeds = [0, 1, 2] * len(scenarios)
    episodes = [sc for sc in scenarios for _ in range(3)]
    gym_ctrl, fast_ctrl = _controller("rules", overrides, 0), _controller("rules", overrides, 0)
    gym_rows, envs = [], []
    for sc, seed in zip(episodes, seeds, strict=True):
        _RecordingEnv.instances = []
        gym_rows.append(E.run_episode(gym_ctrl, sc, seed))
        envs.append(_RecordingEnv.instances[-1])
    compiled = [F.compile_for_fast(sc, seed=s) for sc, s in zip(episodes, seeds, strict=True)]
    batch = F.play_fast(fast_ctrl, compiled, seeds)
    fast_rows = [F.episode_row(batch, i) for i in range(len(seeds))]
    pd.testing.assert_frame_equal(pd.DataFrame(fast_rows), pd.DataFrame(gym_rows),
                                  check_exact=True)
    for i, env in enumerate(envs):
        np.testing.assert_array_equal(batch.hists[i], env.sim.hist, strict=True)
        np.testing.assert_array_equal(batch.states[i], env.sim.s, strict=True)
        assert verdict_dicts(batch.verdicts[i]) == env.assessments
    assert batch.steps == sum(int(r["minutes"]) for r in gym_rows)
    rows = pd.DataFrame(gym_rows)
    for a in ("fallback", "rollback", "retrain"):
        assert rows[f"actions_{a}"].sum() > 0
    assert rows["n_harmful"].sum() > 0 and rows["mttd_min"].notna().any()
    if overrides:  # cooldown 5: retrains, some of them on corrupted rows
        assert rows["actions_retrain"].sum() > rows["actions_retrain"].size


@pytest.mark.parametrize(("name", "over"), [("oracle", {}), ("oracle", {"window": 30}),
                                            ("rules", {}), ("bandit", {}), ("hybrid", {}),
                                            ("human", {}), ("conservative_ucb", {})])
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
    assert d_fast == d_gym and len(d_gym) > 30
    assert {"regret_usd", "n_decisions", "n_avoidable_catastrophes"} <= set(fast.columns)
    if name == "oracle" and not over:
        assert all(d["regret_usd"] == 0.0 for d in d_gym)



# =========================================================================== who, and errors
class _PlainRules(Controller):
    """A plain-Python controller: the Gymnasium path only."""

    name = "plain"


class _RulesWithAPythonAct(RulesController):
    """A subclass that overrides ``act`` in Python: the compiled loop would ignore it."""

    def act(self, observation, info):
        """Never act."""
        return L.NO_OP


def test_which_controllers_get_the_fast_path():
    """Every config's controller; not plain-Python ones nor a Python override of act."""
    for name in known_controllers():
        ctrl = _controller(name, {}, 0)
        assert isinstance(ctrl, KernelController) and F.has_fast_path(ctrl), name
    assert not F.has_fast_path(_PlainRules())
    assert not F.has_fast_path(_RulesWithAPythonAct())
    scenarios = _scenarios()[:1]
    for other in (_PlainRules(), _RulesWithAPythonAct()):
        with pytest.raises(ValueError, match="cannot play"):
            F.run_controller_fast(other, scenarios, 0)
        with pytest.raises(ValueError, match="cannot play"):
            F.run_controllers_fast([RulesController(), other], scenarios, 0)


def test_fast_path_error_contract():
    """Mismatched lengths and deployments raise ValueError; an empty batch is empty."""
    c = [F.compile_for_fast(_scenarios()[5])]
    with pytest.raises(ValueError, match="1 scenarios but 2 seeds"):
        F.play_fast(RulesController(), c, [0, 1])
    with pytest.raises(ValueError, match="deployment and canary judge must be"):
        F.play_fast(_controller("hybrid", {}, 0), c, [0])  # c is compiled direct
    with pytest.raises(ValueError, match="action_set"):
        F.compile_for_fast(_scenarios()[5], action_set="all")
    assert F.run_episodes_fast(RulesController(), [], []) == []


@pytest.mark.parametrize("seed", [0, 1, 7, 12345, 2**40 + 3])
def test_env_episode_seed_matches_env_reset(seed):
    """The internal episode seed equals the one SelfHealEnv.reset(seed=...) uses."""
    env = SelfHealEnv(_scenarios()[5])
    env.reset(seed=seed)
    assert env.sim.s[L.S_SEED] == float(F.env_episode_seed(seed))


# =========================================================================== the compiled loop
#: The njit functions of each kernel module and the test that compares each with its
#: py_func (or, for a Numba-only dispatch, with the Python path).
COVERED = {
    "experiments.fast_loop": {
        "observe": "test_observe_matches_py_func_and_env_obs",
        "shadow_of": "test_no_op_shadow_equals_fresh_forks",
        "evaluate_at": "test_evaluate_at_memo_matches_py_func",
        **{name: "test_play_episode_matches_py_func" for name in (
            "start_episode", "outcome_forks", "fill_truth", "play_minute", "record_regret",
            "record_verdict", "play_episode")},
    },
    "controllers.kernels": {
        "critical_value": "test_critical_value_kernel_equals_numpy",
        "d_eff": "test_decision_kernels_match_py_func",
        "pi_det": "test_decision_kernels_match_py_func",
        "risk_high": "test_decision_kernels_match_py_func",
        "infra_alarm": "test_decision_kernels_match_py_func",
        "alarm": "test_decision_kernels_match_py_func",
        "expert_rules": "test_decision_kernels_match_py_func",
        "slo_limits": "test_decision_kernels_match_py_func",
        "track_fallback": "test_play_episode_matches_py_func",
    },
    "simulator.assess_kernel": {
        "rollout": "test_rollout_matches_py_func_and_simulation_rollout",
        "assess": "test_assess_matches_py_func",
        "evaluate": "test_evaluate_matches_py_func_and_leaves_the_state",
        "evaluate_range": "test_no_op_shadow_equals_fresh_forks",
        "fork_window": "test_no_op_shadow_equals_fresh_forks",
        "window_cost": "test_no_op_shadow_equals_fresh_forks",
        "best_action": "test_best_action_kernel_equals_action_values_best",
    },
}


@pytest.mark.parametrize("module", [FL, CK, AK], ids=lambda m: m.__name__)
def test_every_njit_function_has_a_parity_case(module):
    """The njit functions defined in each module are exactly those covered here."""
    found = {
        name
        for name, obj in vars(module).items()
        if isinstance(obj, numba.core.registry.CPUDispatcher)
        and obj.py_func.__module__ == module.__name__
    }
    assert found == set(COVERED[module.__name__])
    for test in COVERED[module.__name__].values():
        assert test in globals(), test


#: The loop's helpers, replaced by their py_funcs for the interpreted run.
_LOOP_HELPERS = ("start_episode", "outcome_forks", "fill_truth", "play_minute",
                 "record_regret", "record_verdict", "evaluate_at", "shadow_of", "observe")


@pytest.mark.parametrize("name", ["conservative_ucb", "human", "oracle"])
def test_play_episode_matches_py_func(name, monkeypatch):
    """The compiled loop equals the interpreted one on a whole episode with regret recording.

    The interpreted run is ``play_episode``'s py_func with every helper of the loop
    replaced by its py_func (the simulator's and the controller's kernels compiled; the
    controller's looked up by ``controllers.protocol``): every output array, the
    simulation, the controller's state and its generator agree. Conservative UCB exercises
    the feedback and its rounds, the human the engineer minutes and hidden state, the
    oracle its forks.
    """
    sc = {s.id: s for s in _scenarios()}["corruption_missing_logging"]
    c = F.compile_for_fast(sc)
    runs = []
    for interpreted in (False, True):
        if interpreted:
            for helper in _LOOP_HELPERS:
                monkeypatch.setattr(FL, helper, getattr(FL, helper).py_func)
        ctrl = _controller(name, {"cooldown": 5}, 0)
        ctrl.reserve(sc.horizon + 1)
        sim, ep, out, memo = F.episode_arguments(ctrl, c, 4, None, True)
        fn = FL.play_episode.py_func if interpreted else FL.play_episode
        fn(ctrl.state, ctrl.params, ctrl.rng, new_truth(), sim, ep, out, memo)
        runs.append((ctrl, sim, out))
    (c1, s1, o1), (c2, s2, o2) = runs
    assert o1.summary[0]["status"] == FL.OK and o1.summary[0]["n_decisions"] > 0
    for x, y in zip((*s1, *o1), (*s2, *o2), strict=True):
        assert same_array(x, y)
    _assert_same_controller_state(c1, c2)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from([0.001, 0.01, 0.05, 0.1, 0.2]), st.sampled_from([100, 300, 900]),
       st.sampled_from([200, 1000, 5000]))
def test_critical_value_kernel_equals_numpy(alpha, n, m):
    """The alarms' KS critical value: the asymptotic D at alpha / 4 (compiled = interpreted)."""
    from simulator.stats import ks_critical_value

    got = CK.critical_value(alpha, n, m)
    assert got == CK.critical_value.py_func(alpha, n, m)
    assert got == pytest.approx(ks_critical_value(alpha / L.N_FEATURES, n, m), rel=1e-15)


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
    # the scenario's SLO limits (here a 95% availability and 150 ms p99 SLO, 800 ms timeout)
    info = info_record({"slo_availability": 0.95, "slo_p99_ms": 150.0, "timeout_ms": 800.0})
    lim = CK.slo_limits(info)
    assert lim == CK.slo_limits.py_func(info)
    _same(CK.alarm(obs, d_crit, lim[0], lim[1]), CK.alarm.py_func(obs, d_crit, lim[0], lim[1]))
    _same(CK.infra_alarm(obs, lim[0], lim[1]), CK.infra_alarm.py_func(obs, lim[0], lim[1]))
    r3 = CK.expert_rules(obs, d_crit, fb_min, lim[2], lim[1], lim[0])
    assert r3 == CK.expert_rules.py_func(obs, d_crit, fb_min, lim[2], lim[1], lim[0])


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
    sim.slab, sim.tst = sim.slab.copy(), sim.tst.copy()
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

    The shared sample cache keeps every minute it held: the forks play open loop, drawing
    the rows of the minutes ahead (the models' accuracy needs them) but measuring nothing.
    """
    sim = _sim_at(scenario, minute)
    other = _own_cache(sim.fork())
    before = [x.copy() for x in _kernel_args(sim)]  # ... smp, smeta, slab, tst
    def filled_rows():
        return int(((sim.smeta[:, 0] & np.uint64(1)) > 0).sum())

    filled = filled_rows()
    r1 = AK.assess(sim.arrays, action, -1)
    r2 = AK.assess.py_func(other.arrays, action, -1)
    for x, y in zip(r1, r2, strict=True):
        _same(x, y)
    _assert_arrays_equal(before[:-4], _kernel_args(sim)[:-4])
    assert filled_rows() >= filled
    rows = (before[-3][:, 0] & np.uint64(1)) > 0  # the minutes cached before the forks
    _assert_arrays_equal([before[-4][rows], before[-2][rows]],
                         [sim.smp[rows], sim.slab[rows]])



def test_observe_matches_py_func_and_env_obs():
    """The observe kernel clips like SelfHealEnv._obs and equals its py_func; NaN is reported."""
    env = SelfHealEnv(_scenarios()[1], observation_mode="full")
    env.reset(seed=0)
    rec = env.sim.hist[0].copy()
    rec[L.R_P99_OBS] = 5e5  # above the Box bound
    rec[L.R_UTIL] = -1.0  # below it
    o1, o2 = np.empty(10), np.empty(10)
    assert FL.observe(rec, o1)
    assert FL.observe.py_func(rec, o2)
    np.testing.assert_array_equal(o1, env._obs(rec), strict=True)
    np.testing.assert_array_equal(o1, o2, strict=True)
    rec[L.R_D] = np.nan
    assert not FL.observe(rec, o1)
    assert not FL.observe.py_func(rec, o2)


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


def test_assess_action_leaves_the_simulation_unchanged():
    """assess_action forks: the live simulation's state arrays are untouched.

    The shared sample cache (the last four kernel arguments) only gains the forks' minutes.
    """
    sim = _sim_at("cov_sudden_campaign", 65)
    before = [x.copy() for x in _kernel_args(sim)[:-4]]
    assess_action(sim, L.RETRAIN)
    _assert_arrays_equal(before, _kernel_args(sim)[:-4])



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
        _assert_same_controller_state(ctrl, alone)


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
    """Return an unstarted no_op shadow for evaluate_at, shaped like the simulation."""
    return FL.shadow_of(sim.arrays, sim.hist.shape[0]), np.zeros(1, dtype=np.int64)


def test_evaluate_at_memo_matches_py_func():
    """The fork memo holds evaluate's values on a pristine trajectory and reads them back."""
    sim = _sim_at("cov_sudden_campaign", 65)
    t = sim.t
    want_c, want_k = np.zeros(8), np.zeros(8, dtype=bool)
    n = AK.evaluate(sim.arrays, 4, -1, want_c, want_k)
    for fn in (FL.evaluate_at, FL.evaluate_at.py_func):
        memo = FL.new_fork_memo(sim.horizon + 2)
        c, k = np.zeros(8), np.zeros(8, dtype=bool)
        assert fn(sim.arrays, 4, c, k, memo, False, *_shadow(sim)) == n  # no memo
        assert not memo.valid.any()
        np.testing.assert_array_equal(c[:4], want_c[:4])
        assert fn(sim.arrays, 4, c, k, memo, True, *_shadow(sim)) == n
        assert memo.valid[t] and memo.minutes[t] == n
        np.testing.assert_array_equal(memo.cost[t, :4], want_c[:4])
        memo.cost[t, 0] = 123.0  # read back, not recomputed
        c2, k2 = np.zeros(8), np.zeros(8, dtype=bool)
        assert fn(sim.arrays, 4, c2, k2, memo, True, *_shadow(sim)) == n
        assert c2[0] == 123.0 and (c2[1:4] == want_c[1:4]).all()
        np.testing.assert_array_equal(k2, want_k)


@pytest.mark.parametrize("scenario", ["cov_sudden_campaign", "corruption_missing_logging"])
def test_no_op_shadow_equals_fresh_forks(scenario):
    """The no_op shadow gives each decision exactly evaluate's values from the live state.

    It is started at one decision and extended while the episode plays no_op; compiled and
    interpreted helpers (shadow_of, evaluate_range, fork_window, window_cost) agree.
    """
    sim = _sim_at(scenario, 60)
    sh, sh_ok = _shadow(sim)
    py_sh = FL.shadow_of.py_func(sim.arrays, sim.hist.shape[0])
    for x, y in zip(sh, py_sh, strict=True):
        np.testing.assert_array_equal(x, y, strict=True)
    memo = FL.new_fork_memo(0)
    for minute in range(60, 140):
        if minute % 7 in (0, 1, 3):  # decisions at irregular minutes, gaps beyond the window
            c, k = np.zeros(8), np.zeros(8, dtype=bool)
            n = FL.evaluate_at(sim.arrays, 4, c, k, memo, False, sh, sh_ok)
            want_c, want_k = np.zeros(8), np.zeros(8, dtype=bool)
            assert AK.evaluate(sim.arrays, 4, -1, want_c, want_k) == n
            np.testing.assert_array_equal(c, want_c)
            np.testing.assert_array_equal(k, want_k)
            assert sh_ok[0] == 1 and sh.s[L.S_T] == sim.t + n  # extended to the window end
            t = sim.t
            assert AK.fork_window(sim.p, t, -1) == AK.fork_window.py_func(sim.p, t, -1)
            assert AK.window_cost(sh.hist, t, n) == AK.window_cost.py_func(sh.hist, t, n)
            other = _own_cache(sim.fork())
            c3, k3 = np.zeros(8), np.zeros(8, dtype=bool)
            assert AK.evaluate_range.py_func(other.arrays, 1, 4, -1, c3, k3) == n
            np.testing.assert_array_equal(c3[1:4], want_c[1:4])
        sim.step(L.NO_OP)
        if minute == 100:  # the episode acts: the caller drops the shadow, a new one starts
            sim.step(L.FALLBACK)
            sh_ok[0] = 0


def test_evaluate_matches_py_func_and_leaves_the_state():
    """The oracle's forks: compiled equals py_func; the live state is untouched."""
    sim = _sim_at("cov_sudden_campaign", 65)
    other = _own_cache(sim.fork())
    before = [x.copy() for x in _kernel_args(sim)[:-4]]
    c1, c2 = np.zeros(4), np.zeros(4)
    k1, k2 = np.zeros(4, dtype=bool), np.zeros(4, dtype=bool)
    n1 = AK.evaluate(sim.arrays, 4, -1, c1, k1)
    n2 = AK.evaluate.py_func(other.arrays, 4, -1, c2, k2)
    assert n1 == n2 == int(sim.p[L.P_OUTCOME_WINDOW])
    np.testing.assert_array_equal(c1, c2)
    np.testing.assert_array_equal(k1, k2)
    assert len(set(c1.tolist())) > 1  # the actions' windows differ
    _assert_arrays_equal(before, _kernel_args(sim)[:-4])
