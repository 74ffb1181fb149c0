"""Tests of the Gymnasium environment ``simulator.env.SelfHealEnv``.

Layout: Gymnasium's ``check_env`` on every scenario file (paper and full observations,
warnings as errors), same-seed rollouts identical in every returned value, the reset-seed
contract, the registered ids, the error contract (invalid actions, stepping a finished
episode), the documented spaces and info keys, the catastrophe *mechanisms* of a feature
corruption incident (a retrain on corrupted data poisons the model; direct deployment serves
it to all traffic, a canary that can see labels aborts it, one that cannot promotes it), and
the effect of a scenario's fault magnitude on the dollar outcome.
"""

from __future__ import annotations

import copy
import math
import warnings

import gymnasium
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import simulator  # noqa: F401  (registers the Gymnasium ids)
from simulator import layout as L
from simulator.env import OBS_FULL, SelfHealEnv
from simulator.outcomes import episode_summary
from simulator.scenarios import compile_scenario, load_scenario, parse_scenario, scenario_files

SCENARIO_FILES = scenario_files("all")
SCENARIO_IDS = [p.stem for p in SCENARIO_FILES]

#: The public info keys documented in env.py's module docstring ("Info" section).
PUBLIC_INFO_KEYS = {
    "cost",
    "cost_usd",
    "catastrophic",
    "catastrophe_kind",
    "slo_violation",
    "action_applied",
    "minute",
    "fallback_active",
    "retrain_running",
    "canary_active",
    "previous_available",
    "previous_schema_compatible",
    "label_delay",
    "train_window",
    "ks_n",
    "ks_m",
    "n_actions",
    "slo_availability",
    "slo_p99_ms",
    "slo_accuracy",
    "timeout_ms",
    "feedback",
}
#: Keys of one matured feedback in ``info["feedback"]`` (env docstring): observables only.
FEEDBACK_KEYS = {
    "decision_minute",
    "action",
    "paper_cost",
    "success",
    "sla_degraded",
    "pre_sla",
    "minutes",
}
#: The counterfactual verdicts: evaluation only (``env.assessments``), never in ``info``.
VERDICT_ONLY_KEYS = {"harmful", "safety_violation", "contained", "delta_cost_usd"}


# --------------------------------------------------------------------------- helpers
def _equal(x, y) -> bool:
    """Recursive exact equality of observations, infos and their nested values."""
    if isinstance(x, dict):
        return isinstance(y, dict) and x.keys() == y.keys() and all(_equal(x[k], y[k]) for k in x)
    if isinstance(x, list | tuple):
        return type(x) is type(y) and len(x) == len(y) and all(map(_equal, x, y))
    if isinstance(x, np.ndarray):
        return isinstance(y, np.ndarray) and x.dtype == y.dtype and np.array_equal(x, y)
    if isinstance(x, float) and math.isnan(x):
        return isinstance(y, float) and math.isnan(y)
    return type(x) is type(y) and x == y


def _rollout(env, seed, actions):
    """Reset with ``seed`` and play ``actions``; return every value returned."""
    out = [env.reset(seed=seed)]
    for a in actions:
        step = env.step(int(a))
        out.append(step)
        if step[2] or step[3]:
            break
    return out


def _scenario_dict(kind: str) -> dict:
    """Return the nominal incident of the first paper43 scenario with one sudden ``kind`` fault.

    A mapping of numbers (every range of the file at its middle), so tests can do arithmetic
    on its fields and edit it.
    """
    for path in scenario_files("paper43"):
        data = load_scenario(path).model_dump(mode="json")
        faults = data["faults"]
        if len(faults) == 1 and faults[0]["kind"] == kind:
            if faults[0].get("shape", "sudden") != "sudden":
                continue
            if faults[0].get("variant") in ("schema_change", "skew"):
                continue  # keep to row corruption that validation can see
            return data
    raise AssertionError(f"no paper43 scenario with a single sudden {kind} fault")


def _with(data: dict, **sections) -> dict:
    """Copy of a scenario dict with ``section={key: value}`` settings merged in."""
    out = copy.deepcopy(data)
    for section, values in sections.items():
        out.setdefault(section, {}).update(values)
    return out


#: A retrain at this minute of _missing_feature_dict fits on minutes [15, 45): every row
#: of its window lacks the feature.
DEGENERATE_RETRAIN_AT = 65


def _missing_feature_dict(share: float = 1.0) -> dict:
    """Return the missing-values incident, ``share`` of one feature missing in [10, 130).

    Training windows of 30 minutes. At share 1 the feature arrives as the imputed 0.0 in
    every row, so a retrain whose window lies inside the incident sees a constant feature:
    LDA's covariance is singular and the fit falls back to the majority class (accuracy
    about one half), a degenerate model the fitted rows produce, not a flag.
    """
    data = copy.deepcopy(_scenario_dict("feature_corruption"))
    fault = data["faults"][0]
    assert fault["variant"] == "missing_values"
    fault.update(magnitude=share, onset=10, duration=120)
    data.setdefault("deployment", {})["train_window"] = 30
    return data


def _play_retrain(data: dict, deployment: str, retrain_at: int, seed: int = 0):
    """Play no_op, retrain at minute ``retrain_at``, then no_op to the end of the episode.

    Returns
    -------
    (env, last step tuple, share of corrupted rows in the retrain's training window)
    """
    env = SelfHealEnv(parse_scenario(data), deployment=deployment, assess_actions=False)
    env.reset(seed=seed)
    job_corrupt = None
    while True:
        a = L.RETRAIN if env.sim.t == retrain_at else L.NO_OP
        step = env.step(a)
        if a == L.RETRAIN:
            assert step[4]["action_applied"]
            job_corrupt = float(env.sim.s[L.S_JOB_CORRUPT])
        if step[2] or step[3]:
            return env, step, job_corrupt


def _noop_episode(data_or_id, seed: int = 0):
    """Play no_op through one episode; return (env, last step tuple, total dollars)."""
    sc = data_or_id if isinstance(data_or_id, str) else parse_scenario(data_or_id)
    env = SelfHealEnv(sc, assess_actions=False)
    env.reset(seed=seed)
    total = 0.0
    while True:
        step = env.step(L.NO_OP)
        total += env.sim.hist[step[4]["minute"], L.R_COST_RATE]  # all dollars (evaluation)
        if step[2] or step[3]:
            return env, step, total


# =========================================================================== check_env
def _check_env_params():
    """(scenario id, observation mode) pairs for every scenario."""
    out = []
    for sid in SCENARIO_IDS:
        out.append(pytest.param(sid, "paper", id=f"{sid}-paper"))
        out.append(pytest.param(sid, "full", id=f"{sid}-full"))
    return out


@pytest.mark.parametrize(("scenario_id", "mode"), _check_env_params())
def test_check_env_passes_with_warnings_as_errors(scenario_id, mode):
    """Gymnasium's env checker passes on every scenario without a single warning."""
    env = SelfHealEnv(scenario_id, observation_mode=mode)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_env(env.unwrapped, skip_render_check=True)


def test_scenario_library_is_not_empty():
    """The parametrised checks above run over a real library (no silent empty set)."""
    assert len(SCENARIO_IDS) >= 12
    assert len(set(SCENARIO_IDS)) == len(SCENARIO_IDS)


# =========================================================================== determinism
@pytest.mark.parametrize("scenario_id", SCENARIO_IDS)
def test_same_seed_rollouts_are_identical(scenario_id):
    """Two rollouts with one seed and one action sequence return identical values."""
    env = SelfHealEnv(scenario_id, observation_mode="full")
    g = np.random.default_rng(1)
    actions = np.where(g.random(200) < 0.08, g.integers(0, env.n_actions, 200), 0)
    first = _rollout(env, 123, actions)
    second = _rollout(SelfHealEnv(scenario_id, observation_mode="full"), 123, actions)
    assert len(first) == len(second) > 100
    for i, (x, y) in enumerate(zip(first, second, strict=True)):
        assert _equal(x, y), f"step {i} differs"
    # the rollout really exercised the feedback channel
    assert any(step[4]["feedback"] for step in first[1:])


def test_different_seeds_give_different_rollouts():
    """A different seed gives different measured observations (the noise is real)."""
    env = SelfHealEnv("cov_sudden_campaign", observation_mode="full")
    a = _rollout(env, 1, [0] * 30)
    b = _rollout(env, 2, [0] * 30)
    assert not all(np.array_equal(x[0], y[0]) for x, y in zip(a, b, strict=True))


def test_reset_seed_then_reset_repeats_on_a_fresh_env():
    """reset(seed=s) then reset() gives the same pair of observations on a fresh env."""

    def pair():
        env = SelfHealEnv("cov_sudden_campaign", observation_mode="full")
        o1, i1 = env.reset(seed=7)
        o2, i2 = env.reset()
        return o1, i1, o2, i2

    o1, i1, o2, i2 = pair()
    p1, j1, p2, j2 = pair()
    assert np.array_equal(o1, p1) and np.array_equal(o2, p2)
    assert _equal(i1, j1) and _equal(i2, j2)
    assert not np.array_equal(o1, o2)  # the second episode has its own seed


# =========================================================================== registration
def test_generic_id_is_registered():
    """gymnasium.make('SelfHeal-v0', scenario=id) builds the same env as the class."""
    env = gymnasium.make("SelfHeal-v0", scenario="cov_sudden_campaign")
    assert isinstance(env.unwrapped, SelfHealEnv)
    assert env.unwrapped.scenario.id == "cov_sudden_campaign"
    obs, _ = env.reset(seed=3)
    ref, _ = SelfHealEnv("cov_sudden_campaign").reset(seed=3)
    assert np.array_equal(obs, ref)


@pytest.mark.parametrize("scenario_id", SCENARIO_IDS)
def test_one_id_per_scenario_is_registered(scenario_id):
    """SelfHeal-<scenario id>-v0 makes that scenario's env."""
    env = gymnasium.make(f"SelfHeal-{scenario_id}-v0")
    assert env.unwrapped.scenario.id == scenario_id
    obs, info = env.reset(seed=0)
    assert env.observation_space.contains(obs)
    assert info["minute"] == 0


# =========================================================================== error contract
@pytest.mark.parametrize("action", [99, -1, 1.5, 4, "1", None, np.int64(4), True])
def test_invalid_action_raises_value_error(action):
    """An action outside Discrete(n) raises ValueError naming the allowed range."""
    env = SelfHealEnv("cov_sudden_campaign")
    env.reset(seed=0)
    with pytest.raises(ValueError, match=r"invalid action .*expected an integer in \[0, 4\)"):
        env.step(action)


def test_valid_numpy_action_is_accepted():
    """A NumPy integer inside the action space is a valid action."""
    env = SelfHealEnv("cov_sudden_campaign")
    env.reset(seed=0)
    assert env.step(np.int64(1))[4]["fallback_active"] is True


def test_step_before_reset_raises_runtime_error():
    """Stepping a never-reset env raises RuntimeError."""
    with pytest.raises(RuntimeError, match="call reset"):
        SelfHealEnv("cov_sudden_campaign").step(0)


def test_step_after_truncation_raises_runtime_error():
    """Stepping past the horizon raises RuntimeError; reset() starts again."""
    env, step, _ = _noop_episode("cov_sudden_campaign")
    assert step[3] and not step[2]
    assert step[4]["minute"] == env.sim.horizon
    with pytest.raises(RuntimeError, match="call reset"):
        env.step(0)
    env.reset(seed=1)
    assert env.step(0)[4]["minute"] == 1


def test_step_after_termination_raises_runtime_error():
    """Stepping after a catastrophe (terminated) raises RuntimeError."""
    env, step, _ = _play_retrain(_missing_feature_dict(), "direct", DEGENERATE_RETRAIN_AT)
    assert step[2] and not step[3]
    with pytest.raises(RuntimeError, match="call reset"):
        env.step(0)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"observation_mode": "tiny"}, "observation_mode must be 'paper' or 'full'"),
        ({"action_set": "all"}, "action_set must be auto, paper or extended"),
        ({"deployment": "blue_green"}, "deployment must be 'direct' or 'canary'"),
        ({"reward_scale": 0.0}, "reward_scale must be > 0"),
    ],
)
def test_bad_constructor_arguments_raise(kwargs, match):
    """Bad constructor arguments raise ValueError with the allowed values."""
    with pytest.raises(ValueError, match=match):
        SelfHealEnv("cov_sudden_campaign", **kwargs)


# =========================================================================== spaces and info
@pytest.mark.parametrize("scenario_id", SCENARIO_IDS)
def test_paper_observation_in_unit_cube_and_info_keys(scenario_id):
    """Paper observations stay in [0, 1]^3; info has exactly the documented keys."""
    env = SelfHealEnv(scenario_id, assess_actions=True)
    assert env.observation_space.shape == (3,)
    obs, info = env.reset(seed=5)
    g = np.random.default_rng(0)
    observations, infos = [obs], [info]
    for _ in range(env.sim.horizon):
        a = int(g.integers(1, env.n_actions)) if g.random() < 0.02 else 0
        obs, reward, term, trunc, info = env.step(a)
        observations.append(obs)
        infos.append(info)
        rec = env.sim.hist[info["minute"]]
        # info shows the billed dollars; the reward is every dollar (the objective)
        billed = rec[L.R_USD_COMPUTE] + rec[L.R_USD_RETRAIN] + rec[L.R_USD_ENGINEER]
        assert info["cost_usd"] == pytest.approx(billed)
        assert billed <= rec[L.R_COST_RATE] + 1e-9
        if term:  # the terminal step also carries the rest of the horizon's dollars
            rest = env.sim.hist[info["minute"] + 1:, L.R_COST_RATE].sum()
            assert reward == pytest.approx(-(rec[L.R_COST_RATE] + rest) / env.reward_scale)
        else:
            assert reward == pytest.approx(-rec[L.R_COST_RATE] / env.reward_scale)
        if term or trunc:
            break
    o = np.array(observations)
    assert o.dtype == np.float64 and np.all((o >= 0.0) & (o <= 1.0))
    assert o[:, 0].max() > 0.0  # the KS statistic is measured, not a constant 0
    for info in infos:
        assert set(info) == PUBLIC_INFO_KEYS  # the hidden truth is env.truth, not info
        assert info["n_actions"] == env.n_actions
        assert isinstance(info["catastrophic"], bool) and isinstance(info["minute"], int)
        assert {"accuracy", "availability", "optimal_action"} <= set(env.truth)
        for fb in info["feedback"]:
            assert FEEDBACK_KEYS <= set(fb)
    assert [i["minute"] for i in infos] == list(range(len(infos)))


def test_full_observation_matches_documented_table():
    """Full mode has the 10 documented entries, measured from the minute's record."""
    data = _scenario_dict("latency_increase")
    env = SelfHealEnv(parse_scenario(data), observation_mode="full")
    assert env.observation_space.shape == (len(OBS_FULL),) == (10,)
    env.reset(seed=0)
    for _ in range(data["faults"][0]["onset"] + 10):
        obs, *_ = env.step(0)
    rec = env.sim.hist[env.sim.t - 1]
    expected = [L.R_D, L.R_A, L.R_RHO, L.R_P99_OBS, L.R_ERR_OBS, L.R_UTIL, L.R_TRAFFIC]
    expected += [L.R_COST_BILLED, L.R_CANARY_SHARE, L.R_VALIDATION_FAIL]
    assert np.array_equal(obs, np.clip(rec[expected], 0, None))
    assert obs[3] > 300.0  # the latency regression is visible in the measured p99


# =========================================================================== mechanisms
def test_retrain_on_a_window_without_the_feature_direct_deploy_is_catastrophic():
    """A retrain whose rows all lack a feature fits a degenerate model: catastrophe.

    Not by definition: the majority-class model it fits serves accuracy below the floor on
    all traffic for ``accuracy_minutes`` consecutive minutes (DESIGN 3.6).
    """
    data = _missing_feature_dict()
    p = compile_scenario(parse_scenario(data)).params
    env, step, job_corrupt = _play_retrain(data, "direct", DEGENERATE_RETRAIN_AT)
    assert job_corrupt == pytest.approx(1.0)  # every row of the window was corrupted
    obs, reward, terminated, truncated, info = step
    assert terminated and not truncated
    assert info["catastrophe_kind"] == "accuracy_floor" and info["catastrophic"]
    promoted = DEGENERATE_RETRAIN_AT + int(p[L.P_RETRAIN_MIN])
    assert info["minute"] >= promoted + int(p[L.P_CAT_ACC_MIN]) - 1
    serving = env.sim.models[L.M_SERVING]
    assert serving[L.MF_FIT_STATUS] == 4  # classifier.FIT_NOT_PD: the majority class
    assert not serving[L.MF_W:L.MF_W + L.N_FEATURES].any()
    acc = env.sim.hist[info["minute"] - int(p[L.P_CAT_ACC_MIN]) + 1: info["minute"] + 1,
                       L.R_ACC_PRIMARY]
    assert (acc < p[L.P_ACC_FLOOR]).all()
    assert env.sim.s[L.S_N_PROMOTIONS] == 1


def test_retrain_before_the_incident_reaches_its_window_is_harmless():
    """The same retrain earlier, on a window of intact rows, is no catastrophe."""
    data = _missing_feature_dict()
    env, step, _ = _play_retrain(data, "direct", 25)  # window [-25, 5): before the onset
    assert step[3] and not step[2]
    assert step[4]["catastrophe_kind"] == "none"
    assert env.sim.s[L.S_N_PROMOTIONS] == 1
    assert env.sim.models[L.M_SERVING, L.MF_FIT_STATUS] == 0


def test_no_op_throughout_has_no_catastrophe():
    """Doing nothing during the corruption incident is costly but not catastrophic."""
    data = _scenario_dict("feature_corruption")
    for variant in (data, _with(data, deployment={"canary_minutes": 60})):
        env, step, _ = _noop_episode(variant)
        assert step[3] and not step[2]
        assert step[4]["catastrophe_kind"] == "none"
        assert env.sim.hist[: env.sim.t, L.R_BAD_MODEL_SHARE].max() == 0.0  # one schema


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_canary_that_sees_labels_aborts_the_degenerate_model(seed):
    """With labels arriving inside the canary, the judge aborts the degenerate candidate."""
    data = _missing_feature_dict()
    data["deployment"]["canary_minutes"] = 60
    p = compile_scenario(parse_scenario(data)).params
    assert p[L.P_LABEL_DELAY] < p[L.P_CANARY_MIN]  # the judge gets candidate labels
    env, step, _ = _play_retrain(data, "canary", DEGENERATE_RETRAIN_AT, seed=seed)
    assert step[3] and not step[2]  # ran to the horizon
    assert step[4]["catastrophe_kind"] == "none"
    s = env.sim.s
    assert s[L.S_N_CANARY_ABORTS] >= 1 and s[L.S_N_PROMOTIONS] == 0
    # the harm stayed inside canary traffic
    share = env.sim.hist[: env.sim.t, L.R_CANARY_SHARE]
    assert share.max() == pytest.approx(p[L.P_CANARY_SHARE])
    assert np.count_nonzero(share) == int(p[L.P_CANARY_MIN])


def test_canary_blind_to_labels_promotes_the_degenerate_model():
    """With label delay > canary duration the judge cannot see accuracy and promotes it."""
    data = _missing_feature_dict()
    canary_min = compile_scenario(parse_scenario(data)).params[L.P_CANARY_MIN]
    data["monitoring"] = {"label_delay": int(canary_min) + 10}
    retrain_at = DEGENERATE_RETRAIN_AT + int(canary_min) + 10 - 20  # the same window
    p = compile_scenario(parse_scenario(data)).params
    assert p[L.P_LABEL_DELAY] > p[L.P_CANARY_MIN]
    env, step, job_corrupt = _play_retrain(data, "canary", retrain_at)
    assert job_corrupt == pytest.approx(1.0)
    assert step[2] and step[4]["catastrophe_kind"] == "accuracy_floor"
    promoted = retrain_at + int(p[L.P_RETRAIN_MIN] + p[L.P_CANARY_MIN])
    assert step[4]["minute"] >= promoted + int(p[L.P_CAT_ACC_MIN]) - 1
    assert env.sim.s[L.S_N_CANARY_ABORTS] == 0 and env.sim.s[L.S_N_PROMOTIONS] == 1


def test_state_money_spent_equals_the_episode_cost():
    """The state's money-spent counter equals the episode cost the results report."""
    env, _, total = _noop_episode("cov_sudden_campaign")
    summary = episode_summary(env.sim.hist, env.sim.s, env.sim.t - 1)
    assert env.sim.s[L.S_USD_TOTAL] == pytest.approx(summary["cost_usd"], rel=1e-12)


@pytest.mark.parametrize(
    ("kind", "small", "large"),
    [("feature_corruption", 0.1, 0.3), ("covariate_shift", 0.6, 2.0)],
)
def test_fault_magnitude_changes_the_dollar_outcome(kind, small, large):
    """A larger fault magnitude costs more dollars under no_op, everything else equal."""
    base = _scenario_dict(kind)
    costs = []
    for mag in (small, large):
        data = copy.deepcopy(base)
        data["faults"][0]["magnitude"] = mag
        env, _, total = _noop_episode(data, seed=4)
        summary = episode_summary(env.sim.hist, env.sim.s, env.sim.t - 1)
        assert total == pytest.approx(summary["cost_usd"], rel=1e-12)
        costs.append(total)
    assert costs[1] > costs[0] * 1.05
