"""Tests of the oracle, per-decision regret, cumulative regret and convergence (DESIGN 3.6).

Layout: regret is >= 0 at every decision for every controller config in the registry on
three short toy scenarios, the oracle's own regret is exactly 0, and recording regret does
not change an episode; the oracle's choice equals brute-force forks stepped by hand in the
test; a two-action toy (dependency failure: no_op or fallback) where every learning
controller's cumulative regret grows sublinearly (log-log slope < 0.8 over two decades),
epsilon-greedy with the inverse-time schedule (``rl_decaying``) included, while the paper's
RL-only (constant epsilon) and ``hybrid_literal`` (= pi_det) grow linearly; golden values of
the convergence function and the learning table; and ``reproduce regret=true`` end to end.
"""

from __future__ import annotations

import functools
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate

import experiments.reproduce as xreproduce
from controllers.bandit import BanditController
from controllers.base import Transition
from controllers.oracle import OracleController, evaluate_actions
from controllers.rl import RLController
from experiments.config import controller_config
from experiments.episode import run_episode
from experiments.regret import convergence_episode, cumulative_regret, is_decision
from experiments.tables import learning_results, learning_results_markdown
from simulator import layout as L
from simulator.assessment import assess_action
from simulator.env import SelfHealEnv
from simulator.scenarios import parse_scenario

REPO = Path(__file__).resolve().parents[1]
CONFIGS = REPO / "configs"
CONTROLLER_CONFIGS = sorted((CONFIGS / "controller").glob("*.yaml"))


def _toy(sid: str, subtype: str, family: str, fault: dict, **extra) -> dict:
    """Return a short scenario mapping (100 minutes, fault at minute 20) for fast tests."""
    return {
        "id": sid,
        "family": family,
        "subtype": subtype,
        "description": f"Test toy: {subtype}.",
        "source": "tests/test_oracle_regret.py",
        "horizon": 100,
        "annotations": {"optimal_action": "fallback", "business_impact": 5,
                        "recovery_complexity": "easy", "historical_resolution_minutes": 60.0},
        "faults": [fault],
        "outcome_window": 20,
        **extra,
    }


TOY_DEPENDENCY = parse_scenario(_toy(
    "toy_dependency_db", "dependency_failure", "infrastructure",
    {"kind": "dependency_failure", "variant": "database", "onset": 20, "shape": "sudden",
     "magnitude": 0.4, "duration": 60},
))
TOY_CORRUPTION = parse_scenario(_toy(
    "toy_corruption_missing", "feature_corruption", "data_drift",
    {"kind": "feature_corruption", "variant": "missing_values", "onset": 20, "shape": "sudden",
     "magnitude": 0.1, "feature": 2, "n_features": 1},
    deployment={"retrain_minutes": 10}, outcome_window=25,
))
TOY_COVARIATE = parse_scenario(_toy(
    "toy_covariate_sudden", "covariate_shift", "data_drift",
    {"kind": "covariate_shift", "onset": 20, "shape": "sudden", "magnitude": 1.2, "feature": 0,
     "n_features": 2},
))
#: The scenarios of the per-config regret test: an outage where fallback is clearly best, and
#: a corruption where exploring retrain poisons the model (avoidable catastrophes).
TOYS = (TOY_DEPENDENCY, TOY_CORRUPTION)


# =========================================================================== regret >= 0
@pytest.mark.parametrize("path", CONTROLLER_CONFIGS, ids=lambda p: p.stem)
def test_regret_is_nonnegative_for_every_controller_config(path):
    """Every decision's regret is finite and >= 0; the oracle's is exactly 0."""
    total_decisions = 0
    for sc in TOYS:
        ctrl = instantiate(controller_config(path.stem), seed=0)
        plain = run_episode(ctrl, sc, seed=5)
        ctrl = instantiate(controller_config(path.stem), seed=0)
        recs: list[dict] = []
        row = run_episode(ctrl, sc, seed=5, regret=True, decisions=recs)
        # recording regret forks the simulation but never changes the episode
        for col in ("cost_usd", "n_actions_taken", "sla_compliance", "reward_paper"):
            assert row[col] == plain[col], col
        regrets = np.array([r["regret_usd"] for r in recs])
        assert np.all(np.isfinite(regrets)) and np.all(regrets >= 0.0)
        assert row["n_decisions"] == len(recs)
        assert row["regret_usd"] == pytest.approx(regrets.sum(), abs=1e-9)
        assert row["n_avoidable_catastrophes"] == sum(r["avoidable_catastrophe"] for r in recs)
        minutes = [r["minute"] for r in recs]
        assert minutes == sorted(set(minutes))  # at most one decision per minute
        for r in recs:
            assert r["regret_usd"] == pytest.approx(
                max(0.0, r["chosen_cost_usd"] - r["best_cost_usd"]), abs=1e-9)
            assert r["best_cost_usd"] <= r["chosen_cost_usd"] or r["chosen_catastrophic"]
        if path.stem == "oracle":
            assert np.all(regrets == 0.0)
            assert all(r["action"] == r["best_action"] for r in recs)
            assert row["n_avoidable_catastrophes"] == 0
        total_decisions += len(recs)
    assert total_decisions > 0


def test_noop_has_positive_regret_when_fallback_is_clearly_better():
    """Doing nothing through a dependency outage costs regret at every decision."""
    recs: list[dict] = []
    ctrl = instantiate(controller_config("noop"), seed=0)
    row = run_episode(ctrl, TOY_DEPENDENCY, seed=5, regret=True, decisions=recs)
    assert row["n_decisions"] >= 30 and row["regret_usd"] > 100.0
    assert {r["best_action"] for r in recs} >= {"fallback"}
    assert all(r["action"] == "no_op" for r in recs)


# =========================================================================== oracle
def _brute_force(sim, n_actions: int, window: int) -> tuple[int, list[float], list[bool]]:
    """Fork and step each action by hand; return (best, costs, catastrophes)."""
    costs, cats = [], []
    for a in range(n_actions):
        f = sim.fork()
        total, cat = 0.0, False
        for i in range(window):
            if f.t > f.horizon:
                break
            rec, _ = f.step(a if i == 0 else L.NO_OP)
            total += float(rec[L.R_COST_RATE])
            cat = cat or f.catastrophe != L.CAT_NONE
        costs.append(total)
        cats.append(cat)
    best = 0
    for a in range(1, n_actions):
        if (cats[a], costs[a]) < (cats[best], costs[best]):
            best = a
    return best, costs, cats


def test_oracle_choice_equals_brute_force_forks():
    """At every decision the oracle plays the argmin of hand-stepped forks; sim untouched."""
    checked, chosen = 0, set()
    for sc in (TOY_DEPENDENCY, TOY_COVARIATE, TOY_CORRUPTION):
        c, ch = _check_oracle_against_brute_force(sc)
        checked += c
        chosen |= ch
    assert checked >= 5
    assert L.FALLBACK in chosen


def _check_oracle_against_brute_force(sc) -> tuple[int, set[int]]:
    """Play ``sc`` with the oracle, checking every decision; return (decisions, actions)."""
    env = SelfHealEnv(sc, observation_mode="full")
    oracle = OracleController(seed=0)
    oracle.reset(3)
    obs, info = env.reset(seed=3)
    oracle.attach(env.sim)
    window = int(env.sim.p[L.P_OUTCOME_WINDOW])
    checked, chosen = 0, set()
    done = False
    while not done:
        decision = is_decision(oracle, obs, info)
        if decision:
            best, costs, cats = _brute_force(env.sim, env.n_actions, window)
            s_before, hist_before = env.sim.s.copy(), env.sim.hist.copy()
        a = oracle.act(obs, info)
        if decision:
            assert a == best, (info["minute"], costs, cats)
            np.testing.assert_allclose(oracle.last_values.cost_usd, costs, rtol=1e-12)
            assert list(oracle.last_values.catastrophic) == cats
            # forking never touches the live simulation
            np.testing.assert_array_equal(env.sim.s, s_before)
            np.testing.assert_array_equal(env.sim.hist, hist_before)
            checked += 1
            chosen.add(a)
        else:
            assert a == L.NO_OP
        obs, _, term, trunc, info = env.step(a)
        done = term or trunc
    return checked, chosen


def test_oracle_ties_go_to_the_lower_action_index():
    """Equal window costs pick the lower index; a catastrophe loses to any finite cost."""
    from controllers.oracle import ActionValues

    v = ActionValues(minute=1, cost_usd=np.array([5.0, 3.0, 3.0, 1.0]),
                     catastrophic=np.array([False, False, False, True]), minutes=10)
    assert v.best == 1
    assert v.value(3) == math.inf and v.value(2) == 3.0
    assert v.regret(0) == (2.0, False)
    assert v.regret(3) == (0.0, True)  # avoidable catastrophe: flagged, dollar gap clipped
    allcat = ActionValues(1, np.array([4.0, 2.0]), np.array([True, True]), 10)
    assert allcat.best == 1 and allcat.regret(0) == (2.0, False)


def test_oracle_refuses_without_or_with_a_stale_simulation():
    """No attached simulation, or one at another minute, is an error naming the fix."""
    env = SelfHealEnv(TOY_DEPENDENCY, observation_mode="full")
    obs, info = env.reset(seed=1)
    for _ in range(30):  # into the outage: alarms fire
        obs, _, _, _, info = env.step(L.NO_OP)
    oracle = OracleController(seed=0)
    oracle.reset(1)
    assert is_decision(oracle, obs, info)
    with pytest.raises(RuntimeError, match="attach"):
        oracle.act(obs, info)
    other = SelfHealEnv(TOY_DEPENDENCY, observation_mode="full")
    other.reset(seed=1)
    oracle.attach(other.sim)  # at minute 0, not 30
    with pytest.raises(RuntimeError, match="minute"):
        oracle.act(obs, info)
    oracle.attach(env.sim)
    assert oracle.act(obs, info) == evaluate_actions(env.sim).best


# =========================================================================== sublinear
@functools.cache
def _toy_truth(n_seeds: int = 12) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Success probability, mean window dollars and C(a) of no_op and fallback in the toy.

    Each seed's episode is played with no_op into the outage (minute 30) and both actions
    are assessed there by forks (the env's counterfactual assessment and the oracle's).
    """
    succ = np.zeros(2)
    cost = np.zeros(2)
    for seed in range(n_seeds):
        env = SelfHealEnv(TOY_DEPENDENCY, observation_mode="full")
        env.reset(seed=seed)
        for _ in range(30):
            env.step(L.NO_OP)
        v = evaluate_actions(env.sim, n_actions=2)
        cost += v.cost_usd
        for a in (L.NO_OP, L.FALLBACK):
            succ[a] += assess_action(env.sim, a)["success"]
    c_paper = env.sim.c_paper[:2].copy()
    return succ / n_seeds, cost / n_seeds, c_paper


def _tail_rate(cum: np.ndarray, last: int = 5000) -> float:
    """Regret added per decision over the ``last`` decisions (linear regret: a constant)."""
    return float(cum[-1] - cum[-last - 1]) / last


def _drive(controller, p_success, c_paper, n: int, seed: int = 0) -> np.ndarray:
    """Drive a learner through ``n`` decisions with synthetic feedback; return its actions.

    Each decision is one call of ``act`` at an alarming observation (error rate 0.4, the
    outage) with ``n_actions = 2`` in info (actions no_op and fallback); the outcome is a
    Bernoulli draw with the toy's true success probability of the chosen action, delivered
    as the env would deliver it (``feedback`` with decision_minute = minute + 1).
    """
    rng = np.random.default_rng(seed)
    obs = np.array([0.0, 0.0, 0.0, 100.0, 0.4, 0.5, 50.0, 1.0, 0.0, 0.0])
    step = controller.cooldown + 2
    actions = np.zeros(n, dtype=int)
    for k in range(n):
        minute = k * step
        info = {"minute": minute, "n_actions": 2, "ks_n": 300, "ks_m": 1000}
        a = controller.act(obs, info)
        fb = {"decision_minute": minute + 1, "action": L.ACTION_NAMES[a],
              "paper_cost": float(c_paper[a]), "success": bool(rng.random() < p_success[a])}
        controller.update(Transition(obs, a, 0.0, obs, False, False, {"feedback": [fb]}))
        actions[k] = a
    return actions


def _loglog_slope(cum: np.ndarray, lo: int, hi: int) -> float:
    """Least-squares slope of log R(T) against log T at 12 log-spaced T in [lo, hi]."""
    ts = np.unique(np.round(np.logspace(np.log10(lo), np.log10(hi), 12)).astype(int))
    return float(np.polyfit(np.log(ts), np.log(cum[ts - 1]), 1)[0])


def test_thompson_regret_grows_sublinearly_on_a_two_action_toy():
    """Bandit cumulative regret: log-log slope < 0.8 over 2+ decades; epsilon-greedy ~ 1.

    The toy's truth is measured from the simulator (fallback: cheaper window and more
    successes than no_op during the outage); the learner is then driven directly with
    synthetic feedback drawn from those success probabilities (cheap: 15000 decisions in a
    few seconds), and regret per decision is the toy's mean window-dollar gap of the chosen
    action to fallback (pseudo-regret). Thompson sampling's regret grows like log T (slope
    well below 1); epsilon-greedy with constant epsilon = 0.1 keeps exploring (regret per
    decision at the end stays near epsilon / 2 x the gap), which shows the test discriminates.
    """
    p_success, mean_cost, c_paper = _toy_truth()
    # the known optimum: fallback is best in dollars and in the paper's reward
    assert mean_cost[L.FALLBACK] < mean_cost[L.NO_OP] - 50.0
    assert p_success[L.FALLBACK] > p_success[L.NO_OP] + 0.5
    reward = -c_paper + 10.0 * p_success
    assert reward[L.FALLBACK] > reward[L.NO_OP]
    gap = mean_cost - mean_cost[L.FALLBACK]

    n, lo = 15000, 100
    bandit_cum = np.cumsum(gap[_drive(BanditController(seed=0), p_success, c_paper, n)])
    assert bandit_cum[lo - 1] > 0.0
    slope = _loglog_slope(bandit_cum, lo, n)
    assert slope < 0.8, slope
    assert np.log10(n / lo) >= 2.0

    rl_cum = np.cumsum(gap[_drive(RLController(seed=0), p_success, c_paper, n)])
    assert _tail_rate(rl_cum) > 0.5 * 0.05 * gap[L.NO_OP]  # linear: epsilon / 2 x the gap
    assert _tail_rate(bandit_cum) < 0.05 * _tail_rate(rl_cum)
    assert bandit_cum[-1] < rl_cum[-1]


# =========================================================================== convergence
def test_convergence_episode_golden():
    """Rolling mean (5) against 95% of the oracle's: hand-computed episodes."""
    oracle = [10.0] * 12
    learner = [0.0, 2.0, 4.0, 6.0, 8.0] + [10.0] * 7
    # rolling means from episode 5: 4.0, 6.0, 7.6, 8.8, 9.6 -> 9.6 >= 9.5 at episode 9
    assert convergence_episode(learner, oracle) == 9.0
    assert convergence_episode([9.0] * 12, oracle) == math.inf  # 9.0 < 9.5: never
    assert convergence_episode([9.5] * 12, oracle) == 5.0  # exactly 95%: converged
    assert convergence_episode([10.0] * 4, [10.0] * 4) == math.inf  # shorter than a window
    # negative rewards: 95% of optimal means within 5% of |oracle| below it
    assert convergence_episode([-10.4] * 6, [-10.0] * 6) == 5.0
    assert convergence_episode([-10.6] * 6, [-10.0] * 6) == math.inf
    # the oracle's rolling mean moves too
    assert convergence_episode([1, 1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 1, 0, 0], window=3) == 3.0
    # window 2, level 0.5: means 0, 0, 0.5 (episode 4) >= 0.5 * 1
    assert convergence_episode([0, 0, 0, 1, 1], [1, 1, 1, 1, 1], window=2, level=0.5) == 4.0
    with pytest.raises(ValueError, match="equal length"):
        convergence_episode([1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="NaN"):
        convergence_episode([1.0, math.nan], [1.0, 1.0])


def _learning_frame() -> pd.DataFrame:
    """Two runs (seeds) of six episodes for the oracle and rl, with hand-set numbers."""
    rows = []
    for seed in (0, 1):
        for k in range(6):
            rows.append({"controller": "oracle", "seed": seed, "episode": k,
                         "scenario": f"s{(k + seed) % 6}", "regret_usd": 0.0,
                         "n_decisions": 2.0, "n_avoidable_catastrophes": 0.0,
                         "reward_paper": 10.0, "cost_usd": 100.0})
            learner = [0.0, 10.0, 10.0, 10.0, 10.0, 10.0] if seed == 0 else [0.0] * 6
            cost = [200.0, 104.0, 104.0, 104.0, 104.0, 104.0] if seed == 0 else [106.0] * 6
            rows.append({"controller": "rl", "seed": seed, "episode": k,
                         "scenario": f"s{(k + seed) % 6}", "regret_usd": float(k + seed),
                         "n_decisions": 3.0, "n_avoidable_catastrophes": float(k == 2),
                         "reward_paper": learner[k], "cost_usd": cost[k]})
    return pd.DataFrame(rows).sample(frac=1.0, random_state=0)  # order must not matter


def test_cumulative_regret_and_learning_table_golden():
    """Final regret mean/std/variance, convergence and the paper's claims, by hand."""
    df = _learning_frame()
    cum = cumulative_regret(df)
    rl0 = cum[(cum.controller == "rl") & (cum.seed == 0)]
    assert list(rl0.cum_regret_usd) == [0.0, 1.0, 3.0, 6.0, 10.0, 15.0]
    tab = learning_results(df).set_index("controller")
    rl = tab.loc["rl"]
    # finals: seed 0 sum(0..5) = 15, seed 1 sum(1..6) = 21
    assert rl.final_regret_usd == pytest.approx(18.0)
    assert rl.final_regret_std_usd == pytest.approx(math.sqrt(18.0))
    assert rl.regret_variance_usd2 == pytest.approx(18.0)
    assert rl.regret_per_decision_usd == pytest.approx(36.0 / 36.0)
    assert rl.decisions_per_run == 18.0 and rl.avoidable_catastrophes == 2
    # seed 0: rolling mean at episode 5 is 8.0 < 9.5, at 6 it is 10 -> 6; seed 1: never
    assert rl.episodes_to_95 == 6.0 and rl.converged_runs == 1 and rl.compared_runs == 2
    # dollars: seed 0 rolling cost 123.2 then 104 <= 105 -> 6; seed 1 106 > 105: never
    assert rl.episodes_to_95_usd == 6.0 and rl.converged_runs_usd == 1
    assert rl.paper_final_regret == 0.65 and rl.paper_final_regret_std == 0.31
    assert rl.paper_episodes_to_95 == 42.7
    orc = tab.loc["oracle"]
    assert orc.final_regret_usd == 0.0 and orc.compared_runs == 0
    assert math.isnan(orc.episodes_to_95)
    md = learning_results_markdown(learning_results(df))
    assert "| rl | 2 | 18.0 +- 4.2 | 0.65 +- 0.31 | 18.0 |" in md
    assert "6.0 (1 / 2) | 42.7 | 6.0 (1) |" in md
    never = df[~((df.controller == "rl") & (df.seed == 0))]
    assert "never (0 / 1)" in learning_results_markdown(learning_results(never))
    with pytest.raises(ValueError, match="regret=true"):
        learning_results(df.drop(columns=["regret_usd"]))


# =========================================================================== reproduce
def test_reproduce_with_regret_records_decisions_and_runs_the_oracle(tmp_path):
    """regret=true: regret cells beside decision tables, the oracle added, a learning table."""
    sid = "dependency_feature_store_db"
    overrides = [f"raw_dir={tmp_path / 'raw'}", f"tables_dir={tmp_path / 'tables'}",
                 "n_seeds=1", "controllers=[rules]", f"select={sid}", "n_jobs=1",
                 "tables=[main,learning]", "figures_dir=null", "regret=true"]
    with initialize_config_dir(config_dir=str(CONFIGS), version_base="1.3"):
        cfg = compose("reproduce", overrides=overrides)
        plain_cfg = compose("reproduce", overrides=[*overrides[:-1], "regret=false"])
        default_cfg = compose("reproduce", overrides=overrides[:-1])
    assert default_cfg.regret is True  # on in both presets (quick and paper)
    df = xreproduce.reproduce(cfg)
    assert sorted(df.controller) == ["oracle", "rules"]
    base = tmp_path / "raw" / "paper43"

    def folder(name):  # a run with select keeps its cells in <name>_select<hash>
        (found,) = base.glob(f"{name}_select*")
        return found

    for name in ("rules", "oracle"):
        cell = pd.read_parquet(folder(name) / "seed0_regret.parquet")
        dec = pd.read_parquet(folder(name) / "seed0_decisions.parquet")
        assert cell.regret_usd.iloc[0] == pytest.approx(dec.regret_usd.sum())
        assert cell.n_decisions.iloc[0] == len(dec)
        assert (dec.regret_usd >= 0).all() and set(dec.scenario) <= {sid}
    oracle_dec = pd.read_parquet(folder("oracle") / "seed0_decisions.parquet")
    assert (oracle_dec.regret_usd == 0.0).all()
    # same episodes as without regret, under a different config hash
    plain = xreproduce.reproduce(plain_cfg)
    rules = df[df.controller == "rules"].iloc[0]
    assert plain.cost_usd.iloc[0] == rules.cost_usd
    assert plain.config_hash.iloc[0] != rules.config_hash
    # the app writes the learning table; the main table leaves the added oracle out
    xreproduce.main.__wrapped__(cfg)
    tables = tmp_path / "tables"
    suffix = xreproduce.table_suffix(cfg)  # the learning table, not its curves
    learn = pd.read_csv(tables / f"learning{suffix}.csv").set_index("controller")
    assert learn.loc["oracle", "final_regret_usd"] == 0.0
    assert learn.loc["rules", "final_regret_usd"] == pytest.approx(rules.regret_usd)
    main = pd.read_csv(next(tables.glob("main_results_*.csv")))
    assert list(main.controller) == ["rules"]


SUBLINEAR = ["bandit", "hybrid", "hybrid_no_shield", "hybrid_no_canary", "hybrid_no_sla_filter",
             "hybrid_no_error_budget", "linucb", "lin_ts", "conservative_ucb", "rl_decaying"]


@pytest.mark.parametrize("name", SUBLINEAR)
def test_every_learning_controller_has_sublinear_regret_on_the_toy(name):
    """Each learner's regret is sublinear: slope < 0.8 over 2 decades, or bounded (flat)."""
    p_success, mean_cost, c_paper = _toy_truth()
    gap = mean_cost - mean_cost[L.FALLBACK]
    n, lo = 15000, 100
    ctrl = instantiate(controller_config(name), seed=0)
    cum = np.cumsum(gap[_drive(ctrl, p_success, c_paper, n)])
    if cum[lo - 1] == cum[-1]:  # no regret after the first 100 decisions: bounded
        assert cum[-1] < 0.01 * gap[L.NO_OP] * n
    else:
        assert _loglog_slope(cum, lo, n) < 0.8


@pytest.mark.parametrize("name", ["rl", "hybrid_literal"])
def test_linear_regret_by_construction(name):
    """RL-only (constant epsilon 0.1) and hybrid_literal have linear regret.

    A finding, pinned. The paper's RL-only explores with probability 0.1 forever, so about
    5% of its decisions on the toy play the worse action however much it has learned
    (``rl_decaying`` is the same learner with a decaying schedule, and is sublinear).
    ``hybrid_literal`` implements Sec. 3.5 as written, which reduces to the deterministic
    envelope pi_det: its actions are a fixed function of the observation, nothing it learns
    changes them, so it is not a learning controller and repeats the same choice at every
    identical decision (on the toy: no_op every time, the worse action).
    """
    p_success, mean_cost, c_paper = _toy_truth()
    gap = mean_cost - mean_cost[L.FALLBACK]
    ctrl = instantiate(controller_config(name), seed=0)
    cum = np.cumsum(gap[_drive(ctrl, p_success, c_paper, 15000)])
    if name == "rl":  # the log-log slope also carries how long it first locks onto no_op
        assert _tail_rate(cum) > 0.5 * 0.05 * gap[L.NO_OP]
    else:
        assert _loglog_slope(cum, 100, 15000) > 0.9


def test_decaying_epsilon_greedy_regret_is_sublinear_where_constant_is_linear():
    """rl_decaying (Auer et al.'s epsilon_n-greedy): slope < 0.8 over 2+ decades, 5 seeds.

    Threshold: least-squares log-log slope of cumulative regret < 0.8 over decisions
    100..15000 (2.2 decades), on each of 5 seeds (each driven with its own seed and feedback
    stream); measured 0.54-0.76 (0.34-0.44 over 1000..15000, where the log phase dominates).
    The same learner with the paper's constant epsilon = 0.1 keeps adding about epsilon / 2
    times the gap per decision at the end (asserted > half that over the last 5000) and
    ends with more than 4x the regret. Exploration follows min(0.1, c K / (d^2 n)) and
    persists in the learned counts.
    """
    p_success, mean_cost, c_paper = _toy_truth()
    gap = mean_cost - mean_cost[L.FALLBACK]
    n, lo = 15000, 100
    assert np.log10(n / lo) >= 2.0
    cfg = controller_config("rl_decaying")
    for seed in range(5):
        ctrl = instantiate(cfg, seed=seed)
        cum = np.cumsum(gap[_drive(ctrl, p_success, c_paper, n, seed=seed)])
        slope = _loglog_slope(cum, lo, n)
        assert cum[lo - 1] > 0.0 and slope < 0.8, (seed, slope)
        const = RLController(seed=seed)
        const_cum = np.cumsum(gap[_drive(const, p_success, c_paper, n, seed=seed)])
        # constant epsilon: regret keeps growing linearly, about epsilon / 2 x the gap per
        # decision (the log-log slope also reflects how long it first locks onto no_op)
        assert _tail_rate(const_cum) > 0.5 * 0.05 * gap[L.NO_OP]
        assert cum[-1] < 0.25 * const_cum[-1]
        # the schedule: capped at epsilon early, c K / (d^2 n) once it falls below
        learner = ctrl.learner
        ctx = int(np.flatnonzero(learner.n.sum(axis=1))[0])
        n_ctx = 1.0 + learner.n[ctx].sum()
        assert n_ctx == n + 1.0  # every decision's feedback learned, in one context
        assert learner.epsilon_at(ctx, 2) == pytest.approx(
            cfg["epsilon_c"] * 2 / (cfg["epsilon_d"] ** 2 * n_ctx))
        assert const.learner.epsilon_at(ctx, 2) == 0.1
        # learning survives an episode reset, and the schedule with it
        before = learner.epsilon_at(ctx, 2)
        ctrl.reset(seed + 1)
        assert ctrl.learner.tab is learner.tab and learner.epsilon_at(ctx, 2) == before
    fresh = instantiate(cfg, seed=0).learner
    assert fresh.epsilon_at(0, 2) == fresh.epsilon == 0.1
    with pytest.raises(ValueError, match="epsilon_schedule"):
        RLController(epsilon_schedule="linear")
    with pytest.raises(ValueError, match="epsilon_d"):
        RLController(epsilon_schedule="inverse_time", epsilon_d=0.0)
