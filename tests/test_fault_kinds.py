"""Mechanisms of the fault kinds and the shape added for incidents the schema could not say.

Each kind is pinned against a *twin*: the same scenario and episode seed without the fault
(or with its other setting), so that common random numbers leave only the fault's effect.
Each test checks that the kind moves the observation it should, and that the observations it
should not touch are unchanged, bit for bit where the random streams allow it:

- ``label_shift`` moves the class balance (the clean score's intercept): the rows, the KS
  statistic, the anomaly rate, traffic and latency are identical; only the delayed-label
  accuracy drop ``a`` shows it.
- ``traffic_drop`` scales traffic by 1 - magnitude; with ``labels_follow_traffic`` the
  labels per minute follow it; the rows and the served accuracy are identical.
- ``runaway_usage`` adds magnitude x the replica price to compute dollars (billed, hence
  observable) and nothing else, until a ``restart`` kills it.
- ``flapping`` (a shape): whole blocks of ``period`` minutes, each bad with probability
  ``active_minutes / period``, from the episode seed; the same in every fork.
- ``bad_deploy`` with ``previous_magnitude``: the rollback target is a bad version too,
  ``previous_magnitude`` points below the good one.
- ``stale_features``: rows pass validation, the KS statistic stays at its fault-free level,
  and every model version (serving, previous, fallback) loses accuracy: rollback cannot fix it.
- ``bad_artifact``: the rows are untouched; the serving release and every build made while
  it lasts read the affected features through the bad artefact, the versions built before
  it do not: a rollback fixes it, a retrain bakes it in.

The library scenario of each kind and its checked annotation are in ``scenarios/extended``
(``tests/test_extended_scenarios.py`` runs their annotation check).
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
from scipy.stats import norm

from simulator import faults as FT
from simulator import layout as L
from simulator import model as MD
from simulator.core import Simulation
from simulator.sampling import LAB_CLEAN
from simulator.scenarios import (
    SCENARIO_ROOT,
    ScenarioError,
    compile_scenario,
    load_scenario,
    parse_scenario,
)
from simulator.scenarios.loader import draw_incident

SEED = 3
ONSET = 60
#: Minutes compared with a twin: all but the horizon's last (the twin's blip, ``_without``).
CMP = slice(0, 299)

#: Observations a controller reads (full observation mode, before scaling).
OBSERVED = (L.R_D, L.R_A, L.R_RHO, L.R_P99_OBS, L.R_ERR_OBS, L.R_UTIL, L.R_TRAFFIC,
            L.R_COST_BILLED, L.R_VALIDATION_FAIL)


def _data(faults: list[dict], subtype: str, horizon: int = 300, **sections) -> dict:
    """Return a minimal extended scenario mapping with ``faults``."""
    data = {
        "id": f"twin_{subtype}",
        "family": "extended",
        "subtype": subtype,
        "description": "A twin for a mechanism test.",
        "source": "tests/test_fault_kinds.py",
        "horizon": horizon,
        "extended_actions": True,
        "annotations": {"optimal_action": "no_op", "business_impact": 1,
                        "recovery_complexity": "easy", "historical_resolution_minutes": 10},
        "faults": faults,
    }
    data.update(sections)
    return data


def _sim(data: dict, actions: dict[int, int] | None = None, until: int | None = None,
         seed: int = SEED) -> Simulation:
    """Reset a simulation of ``data`` and play ``actions[minute]`` (else no_op) to ``until``."""
    sim = Simulation(compile_scenario(parse_scenario(data)))
    sim.reset(seed)
    until = sim.horizon + 1 if until is None else until
    actions = actions or {}
    while sim.t < until:
        sim.step(actions.get(sim.t, L.NO_OP))
    return sim


def _without(data: dict, index: int = 0) -> dict:
    """Return ``data`` with its fault ``index`` replaced by a harmless blip at the end.

    The twin keeps a fault table of the same length, with a minimal fault (0.001 ms of
    network latency in the horizon's last minute, which comparisons leave out: ``CMP``),
    so that its draws equal the original's up to the removed fault's own effect.
    """
    twin = copy.deepcopy(data)
    twin["faults"][index] = {"kind": "network_latency", "onset": data["horizon"] - 1,
                             "magnitude": 0.001}
    return twin


# ----------------------------------------------------------------------------- label shift
def test_label_shift_moves_only_the_labels():
    """A +1 std intercept: rows, KS, rho, traffic, p99 identical; class 1 ~ Phi(1); a rises."""
    data = _data([{"kind": "label_shift", "onset": ONSET, "magnitude": 1.0}], "label_shift")
    sim, twin = _sim(data), _sim(_without(data))
    n = int(sim.p[L.P_SAMPLES_PER_MIN])
    assert np.array_equal(sim.smp[:, :, :2 * n], twin.smp[:, :, :2 * n])  # the same rows
    for col in (L.R_D, L.R_RHO, L.R_VALIDATION_FAIL, L.R_TRAFFIC, L.R_UTIL, L.R_P99_MS):
        assert np.array_equal(sim.hist[CMP, col], twin.hist[CMP, col]), col
    assert np.array_equal(sim.hist[:ONSET], twin.hist[:ONSET])
    # class balance: about 1/2 before (the concept's curvature tilts it a little), Phi(1) after
    before = sim.slab[1:ONSET, LAB_CLEAN, :n].mean()
    after = sim.slab[ONSET:301, LAB_CLEAN, :n].mean()
    assert 0.40 < before < 0.52
    assert after == pytest.approx(norm.cdf(1.0), abs=0.05)
    assert twin.slab[ONSET:301, LAB_CLEAN, :n].mean() == pytest.approx(before, abs=0.03)
    # only the delayed labels show it: a, from label_delay (20) minutes after onset
    delay = int(sim.p[L.P_LABEL_DELAY])
    window = slice(ONSET + delay + 10, 301)
    assert sim.hist[window, L.R_A].mean() > twin.hist[window, L.R_A].mean() + 0.15
    assert sim.hist[window, L.R_ACC_SERVED].mean() < twin.hist[window, L.R_ACC_SERVED].mean() - 0.15


def test_a_retrain_on_shifted_labels_learns_the_new_intercept():
    """After 200 minutes of shift, a retrain (120-minute window) recovers most accuracy."""
    data = _data([{"kind": "label_shift", "onset": ONSET, "magnitude": 1.0}], "label_shift",
                 horizon=420)
    kept = _sim(data)
    refit = _sim(data, {260: L.RETRAIN})
    done = 260 + int(refit.p[L.P_RETRAIN_MIN]) + 5
    late = slice(done, 421)
    assert (refit.hist[late, L.R_ACC_SERVED].mean()
            > kept.hist[late, L.R_ACC_SERVED].mean() + 0.1)


def test_timing_fields_a_fault_would_ignore_are_refused():
    """Refused: period without a periodic shape, ramp without a ramped one, a timed deploy."""
    cases = [
        ({"kind": "traffic_drop", "onset": ONSET, "magnitude": 0.5, "period": 10,
          "active_minutes": 3}, "period and active_minutes apply to shapes 'recurring' and "
         "'flapping' only \\(shape is 'sudden'\\)"),
        ({"kind": "traffic_drop", "onset": ONSET, "magnitude": 0.5, "shape": "flapping",
          "period": 10, "active_minutes": 3, "ramp": 5}, "ramp applies to shapes 'gradual' "
         "and 'incremental' only \\(shape is 'flapping'\\)"),
        ({"kind": "bad_deploy", "onset": ONSET, "magnitude": 0.1, "duration": 10},
         "bad_deploy is one push: shape 'sudden' and no duration"),
        ({"kind": "dependency_failure", "variant": "cache", "onset": ONSET, "magnitude": 0.5,
          "shape": "flapping", "period": 10, "active_minutes": 10},
         "shape 'flapping' needs period >= 2 and 1 <= active_minutes < period \\(got period "
         "10, active_minutes 10\\)"),
    ]
    for fault, message in cases:
        with pytest.raises(ValueError, match=message):
            parse_scenario(_data([fault], fault["kind"]))


def test_a_drawn_incident_that_fails_names_its_episode_seed():
    """A rule the corners of the ranges miss fails at the draw, naming seed and values."""
    sc = load_scenario(SCENARIO_ROOT / "extended" / "label_shift_outbreak.yaml")
    sc._template["faults"][0]["magnitude"] = {"uniform": [5.0, 6.0]}  # past the schema's 3
    with pytest.raises(ScenarioError, match=r"field 'faults\.0\.magnitude'.*"
                       r"\(incident drawn for episode seed 7: .*faults\.0\.magnitude=5\."):
        draw_incident(sc, 7)


# ----------------------------------------------------------------------------- traffic drop
def test_traffic_drop_scales_traffic_and_labels_follow_it():
    """Traffic x 0.25 for 100 minutes; labels = round(60 x traffic / base); rows unchanged."""
    fault = {"kind": "traffic_drop", "onset": ONSET, "duration": 100, "magnitude": 0.75}
    data = _data([fault], "traffic_drop", monitoring={"labels_follow_traffic": True})
    sim, twin = _sim(data), _sim(_without(data))
    drop = slice(ONSET, ONSET + 100)
    ratio = sim.hist[drop, L.R_TRAFFIC].sum() / twin.hist[drop, L.R_TRAFFIC].sum()
    assert ratio == pytest.approx(0.25, abs=0.01)
    outside = np.r_[0:ONSET, ONSET + 100:299]
    assert np.array_equal(sim.hist[outside, L.R_TRAFFIC], twin.hist[outside, L.R_TRAFFIC])
    base = sim.p[L.P_BASE_RPS]
    want = np.floor(60 * sim.hist[1:, L.R_TRAFFIC] / base + 0.5)
    assert np.array_equal(sim.hist[1:, L.R_LABELS_DRAWN], want)
    assert sim.hist[drop, L.R_LABELS_DRAWN].mean() < 0.3 * 60
    for col in (L.R_D, L.R_RHO, L.R_VALIDATION_FAIL, L.R_ACC_SERVED):
        assert np.array_equal(sim.hist[CMP, col], twin.hist[CMP, col]), col
    fixed = _sim(_data([fault], "traffic_drop"))  # the default: a fixed label volume
    assert np.all(fixed.hist[1:, L.R_LABELS_DRAWN] == 60)


# ----------------------------------------------------------------------------- runaway usage
def test_runaway_usage_bills_compute_until_a_restart():
    """20 replica-minutes a minute: +$1.00/min of billed compute, nothing else; restart ends it."""
    data = _data([{"kind": "runaway_usage", "onset": ONSET, "magnitude": 20.0}],
                 "runaway_usage")
    plan = {120: L.RESTART}
    sim, twin = _sim(data, plan), _sim(_without(data), plan)
    price = sim.p[L.P_USD_REPLICA_MIN]
    extra = sim.hist[CMP, L.R_USD_COMPUTE] - twin.hist[CMP, L.R_USD_COMPUTE]
    assert extra[1:ONSET].tolist() == [0.0] * (ONSET - 1)
    assert extra[ONSET:120] == pytest.approx([20 * price] * (120 - ONSET), abs=1e-12)
    assert extra[120:].tolist() == [0.0] * (299 - 120)
    billed = sim.hist[CMP, L.R_COST_BILLED] - twin.hist[CMP, L.R_COST_BILLED]
    assert np.allclose(billed, extra, atol=1e-12)  # an operator sees it on the bill
    for col in (L.R_D, L.R_A, L.R_RHO, L.R_P99_OBS, L.R_ERR_OBS, L.R_UTIL, L.R_TRAFFIC,
                L.R_ACC_SERVED, L.R_AVAILABILITY):
        assert np.array_equal(sim.hist[CMP, col], twin.hist[CMP, col]), col
    # no other action stops it
    scaled = _sim(data, {120: L.SCALE_OUT})
    assert scaled.fr[0, L.FR_STOPPED] == 0.0 and sim.fr[0, L.FR_STOPPED] == 1.0


# ----------------------------------------------------------------------------- flapping
def _flap_row(period: float, active: float) -> np.ndarray:
    f = np.zeros(L.N_FAULT_FIELDS)
    f[L.F_KIND], f[L.F_SHAPE] = L.K_DEPENDENCY, L.SH_FLAPPING
    f[L.F_ONSET], f[L.F_END], f[L.F_PERIOD], f[L.F_ACTIVE] = 50.0, 1e6, period, active
    return f


def test_flapping_level_is_constant_per_block_with_the_stated_bad_share():
    """Blocks of 10 minutes, bad with p = 4/10: 4,000 blocks give a share within 0.025."""
    f = _flap_row(10.0, 4.0)
    assert FT.fault_level(f, 49.0, 7, 0) == 0.0
    levels = np.array([FT.fault_level(f, 50.0 + m, 7, 0) for m in range(40000)])
    blocks = levels.reshape(4000, 10)
    assert np.all(blocks == blocks[:, :1])  # one state per block
    assert set(np.unique(levels)) == {0.0, 1.0}
    assert blocks[:, 0].mean() == pytest.approx(0.4, abs=0.025)
    # the state sequence is not periodic: both states follow each state
    seq = blocks[:, 0]
    assert {(a, b) for a, b in zip(seq[:-1], seq[1:], strict=True)} == {
        (0.0, 0.0), (0.0, 1.0), (1.0, 0.0), (1.0, 1.0)}
    same = [FT.fault_level(f, 50.0 + m, 7, 0) for m in range(0, 2000, 10)]
    other_seed = [FT.fault_level(f, 50.0 + m, 8, 0) for m in range(0, 2000, 10)]
    other_fault = [FT.fault_level(f, 50.0 + m, 7, 1) for m in range(0, 2000, 10)]
    assert same == blocks[:200, 0].tolist()
    assert same != other_seed and same != other_fault
    assert FT.fault_level(f, 50.0, 7, 0) == FT.fault_level.py_func(f, 50.0, 7, 0)


def test_flapping_dependency_fails_exactly_in_bad_blocks_in_every_fork():
    """Errors (truth) come and go with the drawn blocks; a fork at minute 100 replays them."""
    fault = {"kind": "dependency_failure", "variant": "database", "onset": ONSET,
             "shape": "flapping", "period": 10, "active_minutes": 5, "magnitude": 0.6}
    data = _data([fault], "dependency_failure")
    sim = _sim(data, until=100)
    fork = sim.fork()
    for s in (sim, fork):
        while s.t <= s.horizon:
            s.step(L.NO_OP)
    want = [FT.fault_level(sim.fa[0], float(t), SEED, 0) for t in range(ONSET, 301)]
    failing = (sim.hist[ONSET:301, L.R_ERROR_RATE] >= 0.3 - 1e-12).astype(float).tolist()
    assert failing == want
    assert 0.2 < np.mean(want) < 0.8
    assert np.array_equal(sim.hist, fork.hist)


# ----------------------------------------------------------------------------- bad previous
def test_bad_deploy_over_a_bad_version_makes_the_first_rollback_worse():
    """previous_magnitude 0.25: a rollback serves 0.25 below the good version, 0.15 below no_op."""
    fault = {"kind": "bad_deploy", "onset": ONSET, "magnitude": 0.1}
    good = _data([fault], "bad_deploy")
    bad = copy.deepcopy(good)
    bad["faults"][0]["previous_magnitude"] = 0.25
    plan = {70: L.ROLLBACK}
    sim, twin = _sim(bad, plan), _sim(good, plan)
    assert sim.s[L.S_NEXT_VERSION] == twin.s[L.S_NEXT_VERSION] + 1  # renumbered previous
    settled = slice(80, 301)
    gap = twin.hist[settled, L.R_ACC_SERVED] - sim.hist[settled, L.R_ACC_SERVED]
    assert gap == pytest.approx(np.full(gap.shape, 0.25), abs=1e-12)
    kept = _sim(bad)  # no_op: the bad deploy's 0.1 only
    assert np.array_equal(kept.hist[:, L.R_ACC_SERVED], _sim(good).hist[:, L.R_ACC_SERVED])
    assert (sim.hist[settled, L.R_ACC_SERVED]
            == pytest.approx(kept.hist[settled, L.R_ACC_SERVED] - 0.15, abs=1e-12))


# ----------------------------------------------------------------------------- stale features
def test_stale_features_hurt_every_version_and_hide_from_validation_and_ks():
    """80% of rows stale in features 0-1: no validation failure, KS as before, every slot worse."""
    fault = {"kind": "stale_features", "feature": 0, "n_features": 2, "onset": ONSET,
             "magnitude": 0.8}
    data = _data([fault], "stale_features")
    sim, twin = _sim(data), _sim(_without(data))
    assert sim.hist[:, L.R_VALIDATION_FAIL].max() == 0.0
    late = slice(ONSET + 40, 301)  # the KS window (30 minutes) is all stale
    assert sim.hist[late, L.R_D].mean() == pytest.approx(twin.hist[late, L.R_D].mean(), abs=0.02)
    assert sim.hist[late, L.R_RHO].mean() == pytest.approx(twin.hist[late, L.R_RHO].mean(),
                                                           abs=0.01)
    n = int(sim.p[L.P_SAMPLES_PER_MIN])
    for k in (L.M_SERVING, L.M_PREVIOUS, L.M_FALLBACK):
        drops = []
        for t in range(ONSET, 301, 10):
            acc = MD.model_accuracy(sim.arrays, k, sim.smp[t, :, n:2 * n], sim.slab[t], False,
                                    0.0)
            ref = MD.model_accuracy(twin.arrays, k, twin.smp[t, :, n:2 * n], twin.slab[t],
                                    False, 0.0)
            drops.append(ref - acc)
        assert np.mean(drops) > 0.1, (k, np.mean(drops))
    rolled = _sim(data, {ONSET + 30: L.ROLLBACK})
    after = slice(ONSET + 40, 301)
    assert (rolled.hist[after, L.R_ACC_SERVED].mean()
            < twin.hist[after, L.R_ACC_SERVED].mean() - 0.1)


# ----------------------------------------------------------------------------- bad artefact
def test_bad_artifact_hurts_what_loads_it_and_a_retrain_bakes_it_in():
    """A x10 artefact on features 1-2: only what loads it is wrong; a retrain bakes it in.

    The rows are unchanged, the serving release is wrong, previous and fallback answer as
    without the fault; a retrain is as wrong, a rollback is not.
    """
    fault = {"kind": "bad_artifact", "feature": 1, "n_features": 2, "onset": ONSET,
             "magnitude": 10.0}
    data = _data([fault], "bad_artifact")
    sim, twin = _sim(data), _sim(_without(data))
    for col in (L.R_D, L.R_RHO, L.R_VALIDATION_FAIL, L.R_TRAFFIC):
        assert np.array_equal(sim.hist[CMP, col], twin.hist[CMP, col]), col
    assert sim.models[L.M_SERVING, L.MF_ARTIFACT] == 1.0
    assert sim.models[L.M_PREVIOUS, L.MF_ARTIFACT] == 0.0
    late = slice(ONSET + 1, 299)
    assert sim.hist[late, L.R_ACC_SERVED].mean() < twin.hist[late, L.R_ACC_SERVED].mean() - 0.1
    n = int(sim.p[L.P_SAMPLES_PER_MIN])
    for k in (L.M_PREVIOUS, L.M_FALLBACK):  # loaded before onset: the same answers
        for t in range(ONSET, 299, 20):
            assert (MD.model_accuracy(sim.arrays, k, sim.smp[t, :, n:2 * n], sim.slab[t],
                                      False, 0.0)
                    == MD.model_accuracy(twin.arrays, k, twin.smp[t, :, n:2 * n],
                                         twin.slab[t], False, 0.0))
    rolled, rolled_twin = _sim(data, {80: L.ROLLBACK}), _sim(_without(data), {80: L.ROLLBACK})
    after = slice(85, 299)
    assert np.array_equal(rolled.hist[after, L.R_ACC_SERVED],
                          rolled_twin.hist[after, L.R_ACC_SERVED])
    refit, refit_twin = _sim(data, {80: L.RETRAIN}), _sim(_without(data), {80: L.RETRAIN})
    assert refit.models[L.M_SERVING, L.MF_ARTIFACT] == 1.0  # the new build bundles it
    built = slice(80 + int(refit.p[L.P_RETRAIN_MIN]) + 5, 299)
    assert (refit.hist[built, L.R_ACC_SERVED].mean()
            < refit_twin.hist[built, L.R_ACC_SERVED].mean() - 0.1)


def test_bad_artifact_ends_with_its_duration():
    """After the pipeline writes good files again, the loaded release reads right again."""
    fault = {"kind": "bad_artifact", "feature": 1, "n_features": 2, "onset": ONSET,
             "duration": 60, "magnitude": 10.0}
    data = _data([fault], "bad_artifact")
    sim, twin = _sim(data), _sim(_without(data))
    during, after = slice(ONSET, ONSET + 60), slice(ONSET + 60, 299)
    assert sim.hist[during, L.R_ACC_SERVED].mean() < twin.hist[during, L.R_ACC_SERVED].mean()
    assert np.array_equal(sim.hist[after, L.R_ACC_SERVED], twin.hist[after, L.R_ACC_SERVED])


def test_a_ramped_bad_artifact_scales_with_its_level():
    """Incremental over 100 minutes: the factor is 1 + (10 - 1) x level, 10 at full level."""
    fault = {"kind": "bad_artifact", "feature": 1, "n_features": 2, "onset": ONSET,
             "shape": "incremental", "ramp": 100, "magnitude": 10.0}
    sim = _sim(_data([fault], "bad_artifact"), until=ONSET + 50)
    sim.s[L.S_T] = ONSET + 49.0  # level 50 / 100
    assert MD.artifact_multipliers(sim.arrays).tolist() == [1.0, 5.5, 5.5, 1.0]
    sim.s[L.S_T] = ONSET + 120.0
    assert MD.artifact_multipliers(sim.arrays).tolist() == [1.0, 10.0, 10.0, 1.0]
