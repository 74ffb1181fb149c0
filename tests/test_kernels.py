"""Tests of the simulator's Numba kernels.

The modules: ``simulator.rng``, ``.stats``, ``.faults``, ``.model``, ``.sampling``,
``.deploy``, ``.step``, ``.state`` (the ``Sim`` record) and ``.outcomes``.

Layout: a completeness check (every njit function of these modules has a parity case),
bit-for-bit parity of each kernel with its ``.py_func`` (including a few dozen minutes of the
full ``step`` on a many-fault scenario, direct and canary), the KS statistic against SciPy
and the critical value against Smirnov's formula, statistical and keying properties of the
counter-based random streams, and golden values of fault shapes and outcome functions.
"""

from __future__ import annotations

import math

import numba
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy import stats

from simulator import deploy as DP
from simulator import faults as FT
from simulator import layout as L
from simulator import model as MD
from simulator import observed as OBSV
from simulator import outcomes as O
from simulator import playout as PO
from simulator import rng as R
from simulator import sampling as SA
from simulator import state as STATE
from simulator import stats as ST
from simulator import step as SP
from simulator.core import Simulation
from simulator.scenarios import SCENARIO_ROOT, compile_scenario, load_scenario, parse_scenario
from simulator.state import Sim

# --------------------------------------------------------------------------- fixtures
#: A scenario holding one fault of (almost) every kind and shape, with small monitoring
#: sizes so that the pure-Python step stays fast. Used to drive every branch of ``step``.
COMPOUND = {
    "id": "kernel_compound",
    "family": "extended",
    "subtype": "compound",
    "description": "Every fault kind at once, for kernel parity tests.",
    "source": "tests/test_kernels.py",
    "horizon": 120,
    "extended_actions": True,
    "annotations": {
        "optimal_action": "fallback",
        "business_impact": 5,
        "recovery_complexity": "hard",
        "historical_resolution_minutes": 60,
    },
    "faults": [
        {
            "kind": "covariate_shift",
            "onset": 5,
            "shape": "gradual",
            "ramp": 10,
            "magnitude": 1.0,
            "feature": 0,
            "n_features": 2,
            "scale": 1.3,
        },
        {"kind": "concept_drift", "onset": 8, "shape": "incremental", "ramp": 20, "magnitude": 0.2},
        {
            "kind": "feature_corruption",
            "variant": "missing_values",
            "onset": 3,
            "magnitude": 0.3,
            "feature": 2,
        },
        {
            "kind": "feature_corruption",
            "variant": "outliers",
            "onset": 4,
            "magnitude": 0.05,
            "feature": 1,
            "duration": 30,
        },
        {
            "kind": "feature_corruption",
            "variant": "unit_change",
            "onset": 6,
            "magnitude": 0.05,
            "feature": 0,
            "duration": 30,
        },
        {
            "kind": "feature_corruption",
            "variant": "schema_change",
            "onset": 25,
            "magnitude": 0.1,
            "feature": 3,
            "migrate": True,
        },
        {
            "kind": "feature_corruption",
            "variant": "skew",
            "onset": 10,
            "magnitude": 0.2,
            "feature": 1,
            "duration": 20,
        },
        {"kind": "accuracy_decay", "onset": 4, "shape": "gradual", "ramp": 10, "magnitude": 0.1},
        {"kind": "latency_increase", "onset": 6, "magnitude": 2.0},
        {"kind": "memory_leak", "onset": 2, "magnitude": 0.05},
        {
            "kind": "resource_exhaustion",
            "variant": "disk",
            "onset": 12,
            "magnitude": 0.2,
            "duration": 10,
        },
        {
            "kind": "resource_exhaustion",
            "variant": "cpu",
            "onset": 5,
            "shape": "recurring",
            "period": 10,
            "active_minutes": 3,
            "magnitude": 0.3,
        },
        {"kind": "network_latency", "onset": 30, "magnitude": 500, "duration": 10},
        {
            "kind": "dependency_failure",
            "variant": "cache",
            "onset": 15,
            "magnitude": 0.3,
            "duration": 15,
        },
        {"kind": "adversarial_inputs", "onset": 9, "magnitude": 0.1},
        {
            "kind": "outlier_cluster",
            "onset": 11,
            "magnitude": 0.1,
            "scale": 6.0,
            "feature": 1,
            "n_features": 1,
        },
        {
            "kind": "temporal_anomaly",
            "onset": 0,
            "shape": "recurring",
            "period": 20,
            "active_minutes": 5,
            "magnitude": 0.5,
            "scale": 1.5,
            "feature": 0,
            "n_features": 1,
        },
        {"kind": "traffic_surge", "onset": 20, "magnitude": 1.5, "duration": 10},
        {"kind": "cost_shock", "onset": 7, "magnitude": 2.0},
        {"kind": "bad_deploy", "onset": 14, "magnitude": 0.1},
    ],
    "monitoring": {
        "label_delay": 5,
        "label_window": 5,
        "samples_per_minute": 20,
        "ks_window": 2,
        "reference_size": 100,
    },
    "deployment": {
        "train_window": 20,
        "retrain_minutes": 5,
        "canary_minutes": 8,
        "fallback_ttl": 15,
        "quarantine_ttl": 10,
        "escalation_delay": 5,
        "restart_minutes": 2,
    },
}

#: Action schedule of the step-parity runs: minute -> action (no_op elsewhere).
SCHEDULE = {
    1: L.FALLBACK,
    3: L.RETRAIN,
    6: L.ROLLBACK,
    9: L.SCALE_OUT,
    12: L.RESTART,
    15: L.QUARANTINE_INPUTS,
    18: L.ESCALATE,
    19: L.ESCALATE,
    22: L.RETRAIN,
    24: L.RETRAIN,
    33: L.ROLLBACK,
    40: L.RETRAIN,
    50: L.FALLBACK,
    55: L.ROLLBACK,
}
STEP_MINUTES = 64
ARRAYS = ("fr", "s", "models", "refs", "hist", "live", "rs")


def _compiled(deploy_canary: bool = False):
    """Return the compiled compound scenario."""
    return compile_scenario(parse_scenario(COMPOUND), deploy_canary=deploy_canary)


def _sim_at(minutes: int, deploy_canary: bool = False, seed: int = 11) -> Simulation:
    """Return a compound-scenario simulation advanced ``minutes`` minutes on SCHEDULE."""
    sim = Simulation(_compiled(deploy_canary))
    sim.reset(seed)
    for _ in range(minutes):
        sim.step(SCHEDULE.get(sim.t, L.NO_OP))
    return sim


def _copies(sim: Simulation) -> tuple[Simulation, Simulation]:
    """Two independent copies (all arrays, parameters included) of ``sim``."""
    a, b = sim.fork(), sim.fork()
    for c in (a, b):
        c.p, c.fa, c.ac = c.p.copy(), c.fa.copy(), c.ac.copy()
        c.smp, c.smeta = c.smp.copy(), c.smeta.copy()  # forks share it; copies must not
        c.slab, c.tst = c.slab.copy(), c.tst.copy()
    return a, b


def _own(sim: Simulation, **arrays) -> Sim:
    """Return a record of copies of every array of ``sim``, some replaced by ``arrays``."""
    return _own_rec(sim.arrays, **arrays)


def _assert_same(x, y, what=""):
    """Assert two values are identical: same type class, dtype, shape and bits.

    Tuples (a :class:`Sim` record included) are compared field by field.
    """
    if isinstance(x, tuple):
        assert isinstance(y, tuple) and type(x) is type(y) and len(x) == len(y), what
        for i, (xi, yi) in enumerate(zip(x, y, strict=True)):
            name = x._fields[i] if hasattr(x, "_fields") else i
            _assert_same(xi, yi, f"{what}.{name}")
    elif isinstance(x, np.ndarray):
        assert isinstance(y, np.ndarray), what
        assert x.dtype == y.dtype and x.shape == y.shape, what
        assert np.array_equal(x, y, equal_nan=True), f"{what}: {np.argwhere(x != y)[:5]}"
    else:
        assert x == y or (x != x and y != y), f"{what}: {x!r} != {y!r}"


def _parity(fn, args_fn):
    """Call ``fn`` and ``fn.py_func`` on two fresh copies of the arguments; compare all."""
    a1, a2 = args_fn(), args_fn()
    r1 = fn(*a1)
    with np.errstate(over="ignore"):
        r2 = fn.py_func(*a2)
    _assert_same(r1, r2, f"{fn.__name__} return")
    for i, (x, y) in enumerate(zip(a1, a2, strict=True)):
        if isinstance(x, np.ndarray | tuple):
            _assert_same(x, y, f"{fn.__name__} argument {i}")
    return r1


@pytest.fixture(autouse=True)
def _wrapping_uint64():
    """Silence NumPy's overflow warning: SplitMix64 relies on wrapping uint64 arithmetic."""
    with np.errstate(over="ignore"):
        yield


# =========================================================================== completeness
#: Every njit function of the kernel modules, by module; each has a parity test below.
COVERED = {
    "simulator.rng": {"mix64", "seed_stream", "uniform", "normal", "binomial", "poisson"},
    "simulator.stats": {"ks_statistic", "merge_sorted_blocks", "_merge2", "sort_block",
                        "mann_whitney_less"},
    "simulator.faults": {"fault_level", "_fault_onsets", "fault_effects"},
    "simulator.model": {"model_accuracy", "model_is_bad", "_slot_effects",
                        "migrated_features", "slot_predicts_one", "_predicts_one",
                        "artifact_multipliers", "_reads",
                        "fit_slot"},
    "simulator.sampling": {"draw_samples", "draw_reference", "sample_cache_rows",
                           "label_volume",
                           "new_sample_cache", "minute_rows", "_add_minute_stats",
                           "_anomalous_rows", "_ks_max", "measure"},
    "simulator.deploy": {"_promote", "_deploy", "_capture_training_window", "apply_action",
                         "_finish_retrain", "_judge_canary", "advance_deployments",
                         "paged_fix"},  # paged_fix: tests/test_escalation.py
    # simulator.observed: tests/test_information_boundary.py::test_observed_outcome_golden
    "simulator.observed": {"measured_sla", "measured_slo_ok", "pre_action_sla",
                           "observed_outcome"},
    "simulator.step": {"_initial_training_set", "init_state", "serve", "step"},
    "simulator.state": {"fork_sim", "copy_sim_into"},
    "simulator.outcomes": {"sla_score", "update_slos", "update_catastrophe", "accrue_costs",
                           "record_cause"},
    "simulator.playout": {"restore_last_good", "play_out"},
}


@pytest.mark.parametrize("module", [R, ST, FT, MD, SA, DP, SP, STATE, O, PO, OBSV],
                         ids=lambda m: m.__name__)
def test_every_njit_function_has_a_parity_case(module):
    """The njit functions defined in each kernel module are exactly those covered here."""
    found = {
        name
        for name, obj in vars(module).items()
        if isinstance(obj, numba.core.registry.CPUDispatcher)
        and obj.py_func.__module__ == module.__name__
    }
    assert found == COVERED[module.__name__]


# =========================================================================== rng parity
@settings(max_examples=200, deadline=None)
@given(st.integers(0, 2**64 - 1))
def test_mix64_matches_py_func(z):
    """mix64 equals its py_func on any 64-bit word."""
    with np.errstate(over="ignore"):
        assert R.mix64(np.uint64(z)) == R.mix64.py_func(np.uint64(z))


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 2**53 - 1), st.integers(0, 20160), st.integers(1, 4))
def test_seed_stream_uniform_binomial_match_py_func(seed, minute, stream):
    """The stream kernels seed_stream, uniform and binomial equal their py_funcs."""
    _parity(R.seed_stream, lambda: (np.zeros(1, dtype=np.uint64), seed, minute, stream))
    rs1 = np.zeros(1, dtype=np.uint64)
    R.seed_stream(rs1, seed, minute, stream)
    rs2 = rs1.copy()
    for _ in range(50):
        _assert_same(R.uniform(rs1), R.uniform.py_func(rs2), "uniform")
    for n, p in ((0, 0.5), (7, 0.0), (7, 1.0), (40, 0.3)):
        with np.errstate(over="ignore"):
            assert R.binomial(rs1, n, p) == R.binomial.py_func(rs2, n, p)
    _assert_same(rs1, rs2, "stream state")


def _normal_draws(fn, n=20000, seed=5):
    """Draw ``n`` normals with ``fn`` from the stream (seed, 0, STREAM_MINUTE)."""
    rs = np.zeros(1, dtype=np.uint64)
    R.seed_stream(rs, seed, 0, R.STREAM_MINUTE)
    return np.array([fn(rs) for _ in range(n)]), rs


def test_normal_matches_py_func_to_rounding():
    """The py_func of normal consumes the same uniforms and agrees to rounding (1e-14)."""
    a, rs_a = _normal_draws(R.normal)
    b, rs_b = _normal_draws(R.normal.py_func)
    _assert_same(rs_a, rs_b, "stream state")
    np.testing.assert_allclose(a, b, rtol=0.0, atol=1e-14)


def test_normal_matches_py_func_bit_for_bit():
    """The normal draws equal their py_func's bit for bit."""
    a, _ = _normal_draws(R.normal)
    b, _ = _normal_draws(R.normal.py_func)
    _assert_same(a, b, "normal draws")


def test_normal_equals_libm_box_muller():
    """The normal draw is Box-Muller on two uniforms with libm's log, cos and sqrt, bit for bit."""
    rs1 = np.zeros(1, dtype=np.uint64)
    R.seed_stream(rs1, 5, 0, R.STREAM_MINUTE)
    rs2 = rs1.copy()
    for _ in range(20000):
        u1, u2 = R.uniform(rs2), R.uniform(rs2)
        ref = math.sqrt(-2.0 * math.log(1.0 - u1)) * math.cos(2.0 * math.pi * u2)
        assert R.normal(rs1) == ref


# =========================================================================== rng properties
def _uniforms(seed, minute, stream, n):
    """``n`` uniform draws of the stream (seed, minute, stream)."""
    rs = np.zeros(1, dtype=np.uint64)
    R.seed_stream(rs, seed, minute, stream)
    return np.array([R.uniform(rs) for _ in range(n)])


def test_uniform_range_mean_and_variance():
    """100k uniforms lie in [0, 1) with mean 1/2 and variance 1/12 (5-sigma bounds)."""
    n = 100_000
    u = _uniforms(2024, 17, R.STREAM_MINUTE, n)
    assert u.min() >= 0.0 and u.max() < 1.0
    assert abs(u.mean() - 0.5) < 5 * math.sqrt(1 / 12 / n)
    var_sd = math.sqrt((1 / 80 - 1 / 144) / n)  # sd of the sample variance of U(0, 1)
    assert abs(u.var() - 1 / 12) < 5 * var_sd
    # and no gross non-uniformity: KS test against U(0, 1)
    assert stats.kstest(u, "uniform").pvalue > 1e-4


def test_normal_mean_and_variance():
    """50k normals have mean 0 and variance 1 (5-sigma bounds)."""
    z, _ = _normal_draws(R.normal, n=50_000, seed=77)
    assert abs(z.mean()) < 5 / math.sqrt(len(z))
    assert abs(z.var() - 1.0) < 5 * math.sqrt(2 / len(z))


def test_binomial_edges_and_mean():
    """binomial(n, 0) = 0, binomial(n, 1) = n, and the mean of many draws is n p."""
    rs = np.zeros(1, dtype=np.uint64)
    R.seed_stream(rs, 3, 0, R.STREAM_CANARY)
    assert R.binomial(rs, 25, 0.0) == 0
    assert R.binomial(rs, 25, 1.0) == 25
    assert R.binomial(rs, 0, 0.7) == 0
    k = np.array([R.binomial(rs, 60, 0.9) for _ in range(5000)])
    assert abs(k.mean() - 54.0) < 5 * math.sqrt(60 * 0.9 * 0.1 / 5000)


def test_streams_are_keyed_by_seed_minute_and_stream():
    """Same (seed, minute, stream) repeats; changing any one of them changes the draws."""
    base = _uniforms(42, 100, R.STREAM_MINUTE, 64)
    np.testing.assert_array_equal(base, _uniforms(42, 100, R.STREAM_MINUTE, 64))
    for other in (
        _uniforms(42, 101, R.STREAM_MINUTE, 64),
        _uniforms(43, 100, R.STREAM_MINUTE, 64),
        _uniforms(42, 100, R.STREAM_CANARY, 64),
    ):
        assert not np.any(other == base)


def test_mix64_golden_value():
    """SplitMix64's finaliser on 0x9E3779B97F4A7C15 (its first output from seed 0)."""
    # First output of SplitMix64 seeded with 0 (Vigna's reference implementation).
    assert int(R.mix64(np.uint64(0x9E3779B97F4A7C15))) == 0xE220A8397B1DCDAF


# =========================================================================== KS statistic
_floats = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False, width=64)
_tied = st.sampled_from([-2.0, -0.5, 0.0, 0.25, 0.25, 1.0, 3.0])


@pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning")  # scipy's p-value, n=1
@settings(max_examples=300, deadline=None)
@given(st.lists(_floats, min_size=1, max_size=60), st.lists(_floats, min_size=1, max_size=60))
def test_ks_statistic_equals_scipy_random(a, b):
    """ks_statistic equals scipy's ks_2samp statistic on random samples (and its py_func)."""
    a, b = np.sort(np.array(a)), np.sort(np.array(b))
    d = ST.ks_statistic(a, b)
    assert d == stats.ks_2samp(a, b, method="asymp").statistic
    assert d == ST.ks_statistic.py_func(a, b)


@pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning")  # scipy's p-value, n=1
@settings(max_examples=300, deadline=None)
@given(st.lists(_tied, min_size=1, max_size=40), st.lists(_tied, min_size=1, max_size=40))
def test_ks_statistic_equals_scipy_with_ties(a, b):
    """ks_statistic equals scipy's ks_2samp statistic on heavily tied samples."""
    a, b = np.sort(np.array(a)), np.sort(np.array(b))
    d = ST.ks_statistic(a, b)
    assert d == stats.ks_2samp(a, b, method="asymp").statistic
    assert d == ST.ks_statistic.py_func(a, b)


def _ks_full_walk(a, b):
    """Return sup |F_a - F_b| evaluated after every distinct value of the merged samples."""
    n, m, i, j, d = a.size, b.size, 0, 0, 0.0
    while i < n and j < m:
        x = min(a[i], b[j])
        while i < n and a[i] <= x:
            i += 1
        while j < m and b[j] <= x:
            j += 1
        d = max(d, abs(i / n - j / m))
    return d


@pytest.mark.parametrize("seed", range(20))
def test_ks_statistic_equals_full_merge_walk_at_step_sizes(seed):
    """The candidate-point KS equals the full merge walk bit for bit at the step's sizes.

    300 window points (with corrupted ties) against 1000 reference points.
    """
    g = np.random.default_rng(seed)
    a = g.normal(0.3 * (seed % 4), 1.0 + 0.2 * (seed % 3), 300)
    a[: 10 * (seed % 5)] = -999.0
    a[a.size - 5 * (seed % 3):] = 0.0
    a.sort()
    b = np.sort(g.normal(size=1000))
    assert ST.ks_statistic(a, b) == _ks_full_walk(a, b)
    assert ST.ks_statistic(b, a) == _ks_full_walk(b, a)


def test_ks_statistic_golden_and_empty():
    """Disjoint samples give 1, identical samples 0, and an empty sample NaN."""
    x = np.arange(5.0)
    assert ST.ks_statistic(x, x + 10.0) == 1.0
    assert ST.ks_statistic(x, x.copy()) == 0.0
    assert math.isnan(ST.ks_statistic(x, np.empty(0)))
    assert math.isnan(ST.ks_statistic(np.empty(0), x))
    assert ST.ks_statistic(np.array([1.0, 2.0]), np.array([2.0, 3.0])) == 0.5


@pytest.mark.parametrize(
    ("alpha", "n", "m"), [(0.05, 300, 1000), (0.0125, 300, 1000), (0.01, 50, 50), (0.5, 1, 1)]
)
def test_ks_critical_value_formula(alpha, n, m):
    """D_alpha(n, m) = sqrt(-ln(alpha / 2) / 2) * sqrt((n + m) / (n m))."""
    expected = math.sqrt(-math.log(alpha / 2) / 2) * math.sqrt((n + m) / (n * m))
    assert ST.ks_critical_value(alpha, n, m) == pytest.approx(expected, rel=1e-14)


def test_ks_critical_value_classic_constant():
    """c(0.05) = 1.358 (Smirnov's table) at n = m = 1 scaled by sqrt(2)."""
    assert ST.ks_critical_value(0.05, 1, 1) / math.sqrt(2) == pytest.approx(1.3581, abs=1e-4)


@pytest.mark.parametrize("alpha", [0.0, 1.0, -0.1, 1.5, float("nan")])
def test_ks_critical_value_rejects_alpha(alpha):
    """Alpha outside (0, 1) raises ValueError naming the allowed range."""
    with pytest.raises(ValueError, match=r"alpha must be in \(0, 1\)"):
        ST.ks_critical_value(alpha, 100, 100)


@pytest.mark.parametrize(("n", "m"), [(0, 10), (10, 0)])
def test_ks_critical_value_rejects_sizes(n, m):
    """Sample sizes below 1 raise ValueError."""
    with pytest.raises(ValueError, match="sample sizes must be >= 1"):
        ST.ks_critical_value(0.05, n, m)


# =========================================================================== Mann-Whitney
_counts = st.integers(0, 60).flatmap(lambda n: st.tuples(st.just(n), st.integers(0, n)))


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # scipy on all-tied samples
@settings(max_examples=300, deadline=None)
@given(_counts, _counts)
def test_mann_whitney_less_matches_py_func_and_scipy(c, b):
    """U equals scipy's exactly and p to 1e-12 relative; the py_func agrees bit for bit.

    Empty or all-tied samples give z = -inf and p = 1 (no evidence).
    """
    (n_c, k_c), (n_b, k_b) = c, b
    out = ST.mann_whitney_less(n_c, k_c, n_b, k_b)
    ref = ST.mann_whitney_less.py_func(n_c, k_c, n_b, k_b)
    for x, y in zip(out, ref, strict=True):
        _assert_same(x, y, "mann_whitney_less")
    u_c, z, pval = out
    assert isinstance(u_c, float) and isinstance(z, float) and isinstance(pval, float)
    if n_c == 0 or n_b == 0:
        assert z == -math.inf and pval == 1.0
        return
    cand = np.r_[np.ones(k_c), np.zeros(n_c - k_c)]
    base = np.r_[np.ones(k_b), np.zeros(n_b - k_b)]
    sc = stats.mannwhitneyu(cand, base, alternative="less", method="asymptotic",
                            use_continuity=True)
    assert u_c == sc.statistic
    if z == -math.inf:  # all tied: sigma = 0
        assert k_c + k_b in (0, n_c + n_b) and pval == 1.0
    else:
        assert pval == pytest.approx(sc.pvalue, rel=1e-12, abs=1e-300)


def test_mann_whitney_less_golden():
    """Hand-computed values: equal samples give p > 1/2; a worse candidate a small p."""
    u_c, z, pval = ST.mann_whitney_less(10, 5, 10, 5)
    assert u_c == 50.0 and pval > 0.5
    u_c, z, pval = ST.mann_whitney_less(20, 2, 100, 90)
    assert u_c == 2 * 10 + 0.5 * (2 * 90 + 18 * 10)
    assert pval < 1e-6


# =========================================================================== fault_level
def _fault(shape, onset=10, end=50, ramp=0, period=0, active=0):
    """Return a fault row with the given shape fields."""
    f = np.zeros(L.N_FAULT_FIELDS)
    f[L.F_SHAPE], f[L.F_ONSET], f[L.F_END] = shape, onset, end
    f[L.F_RAMP], f[L.F_PERIOD], f[L.F_ACTIVE] = ramp, period, active
    return f


FAULT_GOLDEN = [
    ("sudden", _fault(L.SH_SUDDEN), {0: 0.0, 9: 0.0, 10: 1.0, 30: 1.0, 49: 1.0, 50: 0.0}),
    (
        "gradual",
        _fault(L.SH_GRADUAL, ramp=10),
        {9: 0.0, 10: 0.1, 14: 0.5, 18: 0.9, 19: 1.0, 40: 1.0, 50: 0.0},
    ),
    ("incremental", _fault(L.SH_INCREMENTAL, ramp=4), {10: 0.25, 11: 0.5, 13: 1.0, 20: 1.0}),
    (
        "recurring",
        _fault(L.SH_RECURRING, period=20, active=5),
        {9: 0.0, 10: 1.0, 14: 1.0, 15: 0.0, 29: 0.0, 30: 1.0, 34: 1.0, 35: 0.0, 49: 0.0},
    ),
]


@pytest.mark.parametrize(("name", "row", "golden"), FAULT_GOLDEN, ids=[g[0] for g in FAULT_GOLDEN])
def test_fault_level_golden(name, row, golden):
    """fault_level gives the documented level of each shape at chosen minutes."""
    for t, level in golden.items():
        assert FT.fault_level(row, float(t), 5, 0) == pytest.approx(level, abs=1e-15), (name, t)
        assert (FT.fault_level(row, float(t), 5, 0)
                == FT.fault_level.py_func(row, float(t), 5, 0))


# =========================================================================== outcomes
@settings(max_examples=200, deadline=None)
@given(st.floats(0, 1), st.floats(0, 1), st.floats(1, 5000))
def test_sla_score_matches_py_func_and_bounds(avail, acc, p99):
    """sla_score equals its py_func and lies in [0, 1]."""
    p = _compiled().params
    v = O.sla_score(avail, acc, p99, p)
    assert v == O.sla_score.py_func(avail, acc, p99, p)
    assert 0.0 <= v <= 1.0


def test_sla_score_golden():
    """Full service scores 1; half of each component scores 0.5 (weights 0.4/0.4/0.2)."""
    p = _compiled().params
    base, slo = p[L.P_BASE_ACC], p[L.P_SLO_LATENCY_MS]
    assert O.sla_score(1.0, base, slo, p) == pytest.approx(1.0)
    assert O.sla_score(0.5, base / 2, 2 * slo, p) == pytest.approx(0.5)
    assert O.sla_score(0.0, 0.0, 2 * slo, p) == pytest.approx(0.1)


def _random_rec(g):
    """Return a plausible per-minute record drawn from generator ``g``."""
    rec = np.zeros(L.N_RECORD)
    rec[L.R_TRAFFIC] = g.uniform(1, 200)
    rec[L.R_AVAILABILITY] = g.uniform(0.3, 1.0)
    rec[L.R_ERROR_RATE] = 1.0 - rec[L.R_AVAILABILITY]
    rec[L.R_P99_MS] = g.uniform(20, 900)
    rec[L.R_ACC_SERVED] = g.uniform(0.4, 0.95)
    rec[L.R_ACC_PRIMARY] = g.uniform(0.4, 0.95)
    rec[L.R_BAD_MODEL_SHARE] = g.choice([0.0, 0.01, 0.99, 1.0])
    rec[L.R_SLO_ALL_OK] = g.choice([0.0, 1.0])
    return rec


@pytest.mark.parametrize("seed", range(8))
def test_outcome_kernels_match_py_func(seed):
    """update_slos, update_catastrophe, accrue_costs and record_cause equal their py_funcs."""
    g = np.random.default_rng(seed)
    sim = _sim_at(20)
    p = sim.p
    rec = _random_rec(g)
    s = sim.s.copy()
    s[L.S_LOW_AVAIL_RUN] = g.integers(0, 6)
    s[L.S_LOW_ACC_RUN] = g.integers(0, 16)
    s[L.S_CATASTROPHIC] = g.choice([0, 0, 2])
    _parity(O.update_slos, lambda: (rec.copy(), s.copy(), p))
    share = float(g.choice([0.99, 1.0, 0.3]))
    _parity(O.update_catastrophe, lambda: (rec.copy(), s.copy(), p, share))
    flags = tuple(bool(v) for v in g.integers(0, 2, 3))
    price = float(g.uniform(1.0, 3.0))
    _parity(O.accrue_costs, lambda: (rec.copy(), s.copy(), p, price, *flags, 12.5, 7.0))
    models = sim.models.copy()
    models[L.M_SERVING, L.MF_VERSION] = float(g.choice([0.0, 1.0, 3.0]))
    models[L.M_SERVING, L.MF_TRAINED_AT] = 17.0
    models[L.M_SERVING, L.MF_CORRUPT] = g.uniform()
    for slot in (L.M_SERVING, L.M_FALLBACK):
        _parity(O.record_cause, lambda slot=slot: (s.copy(), models.copy(), slot))


def test_update_catastrophe_golden():
    """Only outcomes are catastrophic: a bad model's share alone never is (DESIGN 3.6).

    Accuracy below the floor on >= 50% of traffic for 15 consecutive minutes (the 15th
    triggers); on 30% of traffic it never is; availability below 50% for 5 minutes.
    """
    p = _compiled().params
    rec, s = np.zeros(L.N_RECORD), np.zeros(L.N_STATE)
    rec[L.R_AVAILABILITY], rec[L.R_ACC_PRIMARY], rec[L.R_BAD_MODEL_SHARE] = 1.0, 0.9, 1.0
    O.update_catastrophe(rec, s, p, 1.0)
    assert s[L.S_CATASTROPHIC] == L.CAT_NONE  # a poisoned model at 90% accuracy: no harm
    rec[L.R_ACC_PRIMARY] = p[L.P_ACC_FLOOR] - 0.01
    minutes = int(p[L.P_CAT_ACC_MIN])
    assert minutes == 15
    low_share = np.zeros(L.N_STATE)
    for minute in range(minutes):
        assert s[L.S_CATASTROPHIC] == L.CAT_NONE, minute
        O.update_catastrophe(rec, s, p, 0.5)
        O.update_catastrophe(rec, low_share, p, 0.3)
    assert s[L.S_CATASTROPHIC] == L.CAT_ACCURACY
    assert low_share[L.S_CATASTROPHIC] == L.CAT_NONE and low_share[L.S_LOW_ACC_RUN] == 0
    # availability below 50% for 5 consecutive minutes (the 5th minute triggers)
    s2 = np.zeros(L.N_STATE)
    rec[L.R_ACC_PRIMARY], rec[L.R_AVAILABILITY] = 0.9, 0.4
    for minute in range(5):
        assert s2[L.S_CATASTROPHIC] == L.CAT_NONE, minute
        O.update_catastrophe(rec, s2, p, 1.0)
    assert s2[L.S_CATASTROPHIC] == L.CAT_AVAILABILITY


# =========================================================================== kernel parity
def _rows(rec: Sim, t: float | None = None):
    """Return minute ``t``'s rows of a copy of ``rec``: (raw, lab, n_invalid, stream)."""
    work = _own_rec(rec)
    t = float(work.s[L.S_T]) if t is None else t
    eff = FT.fault_effects(work, t)
    raw, lab, n_invalid, stream = SA.minute_rows(work, int(t), eff)
    return raw.copy(), lab.copy(), n_invalid, stream


@settings(max_examples=60, deadline=None)
@given(
    st.floats(-3, 3),
    st.integers(0, L.N_FEATURES - 1),
    st.booleans(),
    st.floats(0, 0.5),
    st.integers(0, L.N_MODEL_SLOTS - 1),
    st.booleans(),
)
def test_model_accuracy_and_is_bad_match_py_func(shift, feature, quarantine, decay, k, old):
    """model_accuracy, slot_predicts_one and model_is_bad equal their py_funcs on any slot."""
    sim = _sim_at(30, deploy_canary=True)
    raw, lab, _, _ = _rows(sim.arrays)
    raw[feature] += shift
    rec = _own(sim)
    if old:  # an older schema: the slot reads the migrated columns' sentinel
        rec.models[k, L.MF_SCHEMA] = rec.s[L.S_LIVE_SCHEMA] - 1.0
    args = (rec, k, raw, lab, quarantine, decay)
    assert MD.model_accuracy(*args) == MD.model_accuracy.py_func(*args)
    mig = MD.migrated_features(rec)
    for i in range(0, raw.shape[1], 7):
        assert MD.slot_predicts_one(rec, k, raw, i, mig) == MD.slot_predicts_one.py_func(
            rec, k, raw, i, mig)
    assert MD.model_is_bad(rec, k) == MD.model_is_bad.py_func(rec, k)
    if old:
        assert MD.model_is_bad(rec, k) == (rec.models[k, L.MF_VALID] > 0.5)


def test_artifact_multipliers_and_reads_match_py_func():
    """artifact_multipliers and _reads equal their py_funcs, in bad and good blocks."""
    path = SCENARIO_ROOT / "extended" / "bad_artifact_feature_file.yaml"
    sim = Simulation(compile_scenario(load_scenario(path)))
    sim.reset(4)
    seen = set()
    while sim.t < 200:
        sim.step(L.NO_OP)
        if sim.t > 125:
            mult = _parity(MD.artifact_multipliers, lambda: (_own(sim),))
            seen.add(bool((mult != 1.0).any()))
            for k in (L.M_SERVING, L.M_PREVIOUS):
                _parity(MD._reads, lambda k=k: (_own(sim), sim.models[k].copy()))
    assert seen == {True, False}  # a flapping artefact: bad blocks and good ones
    assert sim.models[L.M_SERVING, L.MF_ARTIFACT] == 1.0


@pytest.mark.parametrize("minutes", [1, 30])
def test_migrated_features_and_fit_slot_match_py_func(minutes):
    """migrated_features and fit_slot equal their py_funcs."""
    sim = _sim_at(minutes)
    _parity(MD.migrated_features, lambda: (_own(sim),))
    stats = sim.s[L.S_INIT_STATS:L.S_INIT_STATS + L.N_TRAIN_STATS].copy()
    _parity(MD.fit_slot, lambda: (_own(sim), L.M_CANDIDATE, stats.copy()))


def _effects(sim: Simulation, **fields) -> FT.FaultEffects:
    """Return the fault effects of ``sim``'s current minute with some fields replaced."""
    return FT.fault_effects(sim.arrays, float(sim.t))._replace(**fields)


def test_init_state_matches_py_func():
    """init_state equals its py_func on every array it fills."""
    sim = _sim_at(12)
    _parity(SP.init_state, lambda: (_own(sim), 987654321))


def _draw_reference_args(sim, k, seed):
    """Arguments of draw_reference for slot ``k`` with a fresh stream."""
    rs = np.zeros(1, dtype=np.uint64)
    R.seed_stream(rs, seed, 0, R.STREAM_RETRAIN)
    models = sim.models.copy()
    models[k, L.MF_LOC] += 0.7
    models[k, L.MF_SCALE + 1] = 1.9
    return (_own(sim, models=models, rs=rs), k)


def test_draw_reference_matches_py_func_sample():
    """draw_reference's py_func draws the same sorted reference sample (mean/std to 1e-12)."""
    sim = _sim_at(12)
    for k, seed in ((L.M_SERVING, 1), (L.M_CANDIDATE, 2), (L.M_FALLBACK, 3)):
        a1, a2 = _draw_reference_args(sim, k, seed), _draw_reference_args(sim, k, seed)
        SA.draw_reference(*a1)
        SA.draw_reference.py_func(*a2)
        _assert_same(a1[0].refs, a2[0].refs, "refs")
        _assert_same(a1[0].rs, a2[0].rs, "stream state")
        np.testing.assert_allclose(a1[0].models, a2[0].models, rtol=1e-12, atol=1e-12)


def test_draw_reference_mean_std_are_sequential_sums():
    """The compiled reference mean/std equal plain sequential-sum formulas bit for bit."""
    sim = _sim_at(12)
    args = _draw_reference_args(sim, L.M_CANDIDATE, 2)
    SA.draw_reference(*args)
    (rec, k), p = args, args[0].p
    models, refs = rec.models, rec.refs
    m = int(p[L.P_REF_SIZE])
    for j in range(L.N_FEATURES):
        x = refs[k, j, :m]
        total = 0.0
        for v in x:
            total += float(v)
        mean = total / m
        ssd = 0.0
        for v in x:
            ssd += (float(v) - mean) ** 2
        assert models[k, L.MF_RMEAN + j] == mean
        assert models[k, L.MF_RSTD + j] == max(math.sqrt(ssd / m), 1e-9)


def test_draw_reference_matches_py_func_bit_for_bit():
    """draw_reference equals its py_func bit for bit, reference mean and std included."""
    sim = _sim_at(12)
    for k, seed in ((L.M_SERVING, 1), (L.M_CANDIDATE, 2), (L.M_FALLBACK, 3)):
        _parity(SA.draw_reference, lambda k=k, seed=seed: _draw_reference_args(sim, k, seed))


@pytest.mark.parametrize("canary", [False, True], ids=["direct", "canary"])
@pytest.mark.parametrize("minutes", [2, 5, 11, 26])
def test_apply_action_matches_py_func(canary, minutes):
    """apply_action equals its py_func for every action, idle and busy states alike."""
    sim = _sim_at(minutes, deploy_canary=canary)
    for a in range(L.N_EXTENDED_ACTIONS):
        _parity(DP.apply_action, lambda a=a: (_own(sim), a, float(sim.t)))


@pytest.mark.parametrize("canary", [False, True], ids=["direct", "canary"])
def test_deploy_promote_finish_match_py_func(canary):
    """_promote, _deploy and _finish_retrain equal their py_funcs."""
    sim = _sim_at(4, deploy_canary=canary)  # a retrain job is running (started at 3)
    assert sim.s[L.S_JOB_ACTIVE] == 1.0
    t = float(sim.t)
    for src in (L.M_PREVIOUS, L.M_CANDIDATE):
        _parity(DP._promote, lambda src=src: (_own(sim), src))
        _parity(DP._deploy, lambda src=src: (_own(sim), src, t))
    _parity(DP._finish_retrain, lambda: (_own(sim), t + 5.0))


@pytest.mark.parametrize("n", [0, 1, 2, 100, 256, 257, 600])
def test_sort_block_equals_np_sort_and_py_func(n):
    """sort_block (insertion sort up to 256 entries, NumPy's above) sorts like np.sort."""
    g = np.random.default_rng(n)
    x = np.round(g.normal(size=n), 1)  # rounding makes ties
    x[: n // 10] = -999.0  # a corrupted share, as the step kernel draws
    out = _parity(ST.sort_block, lambda: (x.copy(),))
    np.testing.assert_array_equal(out, np.sort(x))


@given(
    x=arrays(np.float64, st.integers(0, 40), elements=st.floats(-5, 5, width=16)),
    y=arrays(np.float64, st.integers(0, 40), elements=st.floats(-5, 5, width=16)),
)
@settings(max_examples=200, deadline=None)
def test_merge2_equals_sort_of_concatenation(x, y):
    """_merge2 of two sorted arrays is np.sort of their concatenation (ties included)."""
    x.sort()
    y.sort()
    out = np.empty(x.size + y.size)
    ST._merge2(x, x.size, y, y.size, out)
    np.testing.assert_array_equal(out, np.sort(np.concatenate([x, y])))
    out2 = np.empty_like(out)
    ST._merge2.py_func(x, x.size, y, y.size, out2)
    np.testing.assert_array_equal(out2, out)


@pytest.mark.parametrize("w", [1, 2, 3, 5])
def test_merge_sorted_blocks_equals_sort_and_py_func(w):
    """Merging sorted blocks equals np.sort of their concatenation, and its py_func."""
    g = np.random.default_rng(w)
    live = np.round(g.normal(size=(w, 2, 50)), 1)  # rounding makes ties
    live.sort(axis=2)
    out = _parity(ST.merge_sorted_blocks, lambda: (live.copy(), 1, 50, np.empty(w * 50)))
    assert out is None
    buf = np.empty(w * 50)
    ST.merge_sorted_blocks(live, 1, 50, buf)
    np.testing.assert_array_equal(buf, np.sort(live[:, 1, :].ravel()))


@pytest.mark.parametrize("minutes", [3, 40, 90])
def test_slot_effects_match_py_func(minutes):
    """_slot_effects equals its py_func: per-slot decay, latency, accuracy and leak rate."""
    sim = _sim_at(minutes)
    eff = _effects(sim, loc=np.array(L.BASE_LOC) + 0.5, scale=np.ones(L.N_FEATURES),
                   concept=0.1, corrupt=0.05, adv=0.02, outl=0.01)
    raw, lab, _, _ = _rows(sim.arrays)

    def args():
        return (_own(sim), eff, raw.copy(), lab.copy(), np.zeros(L.N_MODEL_SLOTS),
                np.ones(L.N_MODEL_SLOTS), np.zeros(L.N_MODEL_SLOTS))

    _parity(MD._slot_effects, args)


@pytest.mark.parametrize("t", [0, 7, 30, 60])
def test_capture_training_window_matches_py_func(t):
    """_capture_training_window equals its py_func, with and without pre-episode minutes."""
    sim = _sim_at(60)
    _parity(DP._capture_training_window, lambda: (_own(sim), float(t)))


@pytest.mark.parametrize("kind", [L.RETRAIN, L.ROLLBACK])
@pytest.mark.parametrize("acc_cand", [0.2, 0.9])
def test_judge_canary_matches_py_func(kind, acc_cand):
    """_judge_canary equals its py_func when it aborts and when it promotes."""
    sim = _sim_at(10, deploy_canary=True)
    s = sim.s.copy()
    s[L.S_CANARY_ACTIVE], s[L.S_CANARY_KIND] = 1.0, kind
    models = sim.models.copy()
    models[L.M_CANDIDATE] = models[L.M_SERVING]
    out = _parity(
        DP._judge_canary,
        lambda: (_own(sim, s=s.copy(), models=models.copy()), 10.0, 0.9, acc_cand, 0.01),
    )
    assert out == (1 if acc_cand == 0.9 else 0)


@pytest.mark.parametrize("t", [0, 14, 25, 40])
def test_fault_onsets_matches_py_func(t):
    """_fault_onsets equals its py_func (bad deploy and schema migration included)."""
    sim = _sim_at(1)
    _parity(FT._fault_onsets, lambda: (_own(sim, fr=np.zeros_like(sim.fr)), float(t)))


@pytest.mark.parametrize("minutes", [0, 3, 12, 20, 33])
def test_fault_effects_match_py_func(minutes):
    """fault_effects equals its py_func field by field, under quarantine and without."""
    sim = _sim_at(minutes)
    out = _parity(FT.fault_effects, lambda: (_own(sim), float(sim.t)))
    assert isinstance(out, FT.FaultEffects)
    assert out.quarantine == (minutes == 20)  # quarantine_inputs at 15, ttl 10
    assert out.levels.shape == (sim.fa.shape[0],)
    if minutes == 20:
        assert out.outl == 0.0
    if minutes == 33:
        assert out.outl > 0.0 and out.concept > 0.0 and out.price_mult > 1.0


@pytest.mark.parametrize("canary", [False, True], ids=["direct", "canary"])
def test_advance_deployments_and_serve_match_py_func(canary):
    """advance_deployments and serve equal their py_funcs at every minute of the schedule.

    The minutes cover retrains finishing, canaries judged, fallbacks ending and the
    deployment and restart capacity cuts.
    """
    sim = _sim_at(0, deploy_canary=canary)
    events = 0
    for _ in range(STEP_MINUTES):
        t = float(sim.t)
        eff = _effects(sim)
        raw, lab, _, _ = _rows(sim.arrays)
        before = sim.s.copy()
        out = _parity(DP.advance_deployments,
                      lambda t=t, eff=eff, raw=raw, lab=lab: (_own(sim), t, eff, raw.copy(),
                                                               lab.copy()))
        latmult, acc, leak_rate = out
        work = _own(sim)
        DP.advance_deployments(work, t, eff, raw.copy(), lab.copy())
        fb = bool(work.s[L.S_FALLBACK_ACTIVE] > 0.5)
        canary_on = bool(work.s[L.S_CANARY_ACTIVE] > 0.5)
        share = _parity(
            SP.serve,
            lambda t=t, eff=eff, w=work, fb=fb, c=canary_on, lm=latmult, ac=acc, lr=leak_rate: (
                _own_rec(w), t, eff, fb, c, lm.copy(), ac.copy(), lr),
        )
        assert share == (1.0 - sim.p[L.P_CANARY_SHARE] if canary_on else 1.0)
        changed = work.s != before
        events += int(changed[[L.S_N_PROMOTIONS, L.S_N_CANARY_ABORTS, L.S_FALLBACK_ACTIVE,
                               L.S_JOB_ACTIVE]].any())
        sim.step(SCHEDULE.get(sim.t, L.NO_OP), 1.5 if sim.t % 7 == 0 else 0.0)
    assert events >= 3


def _measured_minute(sim: Simulation) -> tuple[Sim, FT.FaultEffects]:
    """Return a copy of ``sim`` with its current minute's ground truth served, unmeasured.

    The minute's rows are not drawn into the copy (its sample cache is ``sim``'s as it was).
    """
    work = _own(sim)
    t = float(sim.t)
    eff = FT.fault_effects(work, t)
    raw, lab, _, _ = _rows(work, t)
    latmult, acc, leak_rate = DP.advance_deployments(work, t, eff, raw, lab)
    fb = bool(work.s[L.S_FALLBACK_ACTIVE] > 0.5)
    canary = bool(work.s[L.S_CANARY_ACTIVE] > 0.5)
    SP.serve(work, t, eff, fb, canary, latmult, acc, leak_rate)
    return work, eff


@pytest.mark.parametrize("canary", [False, True], ids=["direct", "canary"])
@pytest.mark.parametrize("minutes", [10, 30, 50])
def test_measure_and_its_parts_match_py_func(canary, minutes):
    """measure, _minute_samples, _anomalous_rows and _ks_max equal their py_funcs.

    On the three paths of the sample cache (minute not cached yet, cached, no cache), each
    against the serving model's and the fallback's reference (a retrained serving model's
    reference is not cached); all three paths measure the same values.
    """
    sim = _sim_at(minutes, deploy_canary=canary)
    base, eff = _measured_minute(sim)
    ti = sim.t
    filled = _own_rec(base)
    raw, _, n_inv, stream = SA.minute_rows(filled, ti, eff)
    SA.measure(filled, ti, L.M_SERVING, raw, n_inv, stream)
    assert filled.smeta[ti, SA.SC_FLAGS] & SA.SC_SAMPLES
    none_smp, none_smeta, none_slab, _ = SA.new_sample_cache(base.p, 0.0)
    paths = {
        "draw": lambda: _own_rec(base),
        "cached": lambda: _own_rec(base, smp=filled.smp.copy(), smeta=filled.smeta.copy(),
                                   slab=filled.slab.copy(), tst=filled.tst.copy()),
        "uncached": lambda: _own_rec(base, smp=none_smp.copy(), smeta=none_smeta.copy(),
                                     slab=none_slab.copy()),
    }
    results = {}
    for name, make in paths.items():
        for main in (L.M_SERVING, L.M_FALLBACK):
            out = _parity(SA.minute_rows, lambda make=make: (make(), ti, eff))
            raw, lab, n_inv, stream = out
            assert raw.shape == (L.N_FEATURES, int(base.p[L.P_SAMPLES_PER_MIN]))
            assert lab.shape == (SA.N_LAB, raw.shape[1])
            drawn = make()
            SA.minute_rows(drawn, ti, eff)
            _parity(SA._anomalous_rows,
                    lambda drawn=drawn, main=main, raw=raw: (_own_rec(drawn), ti, main,
                                                             raw.copy()))
            _parity(SA._ks_max, lambda drawn=drawn, main=main: (_own_rec(drawn), ti, main))
            _parity(SA.measure, lambda drawn=drawn, main=main, raw=raw, n=n_inv, s=stream: (
                _own_rec(drawn), ti, main, raw.copy(), n, s))
            done = _own_rec(drawn)
            SA.measure(done, ti, main, raw.copy(), n_inv, stream)
            results[name, main] = (done.hist[ti].copy(), done.live.copy(), done.rs.copy(),
                                   lab.copy(), done.tst[ti + 1].copy())
    for main in (L.M_SERVING, L.M_FALLBACK):
        for name in ("cached", "uncached"):
            for x, y in zip(results[name, main], results["draw", main], strict=True):
                _assert_same(x, y, f"{name} vs draw, slot {main}")


def _own_rec(rec: Sim, **arrays) -> Sim:
    """Return a record of copies of every array of ``rec``, some replaced by ``arrays``."""
    return Sim(*(a.copy() for a in rec))._replace(**arrays)


@pytest.mark.parametrize("canary", [False, True], ids=["direct", "canary"])
def test_step_matches_py_func_over_an_episode(canary):
    """The compiled step and step.py_func give identical arrays minute after minute."""
    origin = Simulation(_compiled(canary))
    origin.reset(2718)
    a, b = _copies(origin)
    for minute in range(STEP_MINUTES):
        act = SCHEDULE.get(minute, L.NO_OP)
        ra = SP.step(a.arrays, act, 1.5 if minute % 7 == 0 else 0.0)
        rb = SP.step.py_func(b.arrays, act, 1.5 if minute % 7 == 0 else 0.0)
        assert ra == rb, minute
        for name in ARRAYS + ("p", "smp", "smeta", "slab", "tst"):
            _assert_same(getattr(a, name), getattr(b, name), f"{name} at minute {minute}")
    # the schedule exercised the mechanisms the parity is meant to cover
    s = a.s
    assert s[L.S_N_PROMOTIONS] + s[L.S_N_CANARY_ABORTS] >= 1 and s[L.S_N_CONFLICTS] >= 1
    assert a.hist[:STEP_MINUTES, L.R_VALIDATION_FAIL].max() > 0
    assert a.hist[:STEP_MINUTES, L.R_USD_ENGINEER].sum() > 0
    if canary:
        assert a.hist[:STEP_MINUTES, L.R_CANARY_SHARE].max() > 0


# =========================================================================== the Sim record
MUTABLE = ("fr", "s", "models", "refs", "hist", "live", "rs")
SHARED = ("p", "fa", "ac", "smp", "smeta", "slab", "tst")


def test_sim_fields_and_new_sim():
    """Sim holds the fourteen arrays; new_sim allocates zeroed state of the scenario's shapes."""
    assert Sim._fields == SHARED[:3] + MUTABLE + SHARED[3:]
    compiled = _compiled()
    rec = STATE.new_sim(compiled)
    assert rec.p is compiled.params and rec.fa is compiled.faults
    assert rec.ac is compiled.action_costs
    p = compiled.params
    m, n, w = int(p[L.P_REF_SIZE]), int(p[L.P_SAMPLES_PER_MIN]), int(p[L.P_KS_WINDOW])
    rows = int(p[L.P_HORIZON]) + 1
    shapes = {"fr": (compiled.faults.shape[0], L.N_FAULT_RT), "s": (L.N_STATE,),
              "models": (L.N_MODEL_SLOTS, L.N_MODEL_FIELDS),
              "refs": (L.N_MODEL_SLOTS, L.N_FEATURES, m), "hist": (rows, L.N_RECORD),
              "live": (w, L.N_FEATURES, n), "rs": (1,),
              "smp": (rows, L.N_FEATURES, (w + 2) * n), "smeta": (rows, SA.N_SC),
              "slab": (rows, SA.N_LAB, n), "tst": (rows + 1, 2 * L.N_TRAIN_STATS)}
    for name, shape in shapes.items():
        x = getattr(rec, name)
        assert x.shape == shape, name
        assert x.flags.c_contiguous and x.flags.writeable, name
    for name in MUTABLE:
        assert not getattr(rec, name).any(), name
    assert rec.rs.dtype == np.uint64 and rec.smeta.dtype == np.uint64
    assert not rec.smeta.any() and not rec.tst.any()
    assert STATE.new_sim(compiled, sample_cache_mib=0.0).smp.shape[0] == 0
    assert STATE.new_sim(compiled, sample_cache_mib=0.0).tst.shape == (rows + 1,
                                                                       2 * L.N_TRAIN_STATS)


def test_fork_sim_matches_py_func_copies_state_and_shares_the_rest():
    """fork_sim equals its py_func; state arrays are copies, scenario and cache shared."""
    sim = _sim_at(20)
    fork = _parity(STATE.fork_sim, lambda: (_own(sim),))
    assert isinstance(fork, Sim)
    rec = sim.arrays
    fork = STATE.fork_sim(rec)
    for name in SHARED:
        assert getattr(fork, name) is getattr(rec, name), name
    for name in MUTABLE:
        x, y = getattr(fork, name), getattr(rec, name)
        assert not np.shares_memory(x, y), name
        _assert_same(x, y, name)


def test_copy_sim_into_matches_py_func_and_copies_the_state_only():
    """copy_sim_into writes src's state arrays into dst's, in place; nothing else changes."""
    src = _sim_at(20)
    dst = _sim_at(7, deploy_canary=True, seed=3)
    _parity(STATE.copy_sim_into, lambda: (_own(dst), _own(src)))
    a, b = _own(dst), _own(src)
    before = {name: getattr(a, name) for name in Sim._fields}
    STATE.copy_sim_into(a, b)
    for name in Sim._fields:
        assert getattr(a, name) is before[name], name  # the same arrays, written in place
    for name in MUTABLE:
        _assert_same(getattr(a, name), getattr(b, name), name)
    for name in SHARED:
        _assert_same(getattr(a, name), getattr(dst, name), name)


# =========================================================================== sample cache
def test_draw_samples_matches_py_func():
    """draw_samples equals its py_func (rows, invalid count and the advanced stream)."""
    sim = _sim_at(30)
    levels = np.array([FT.fault_level(sim.fa[i], 30.0, 5, i) for i in range(sim.fa.shape[0])])
    assert (levels > 0).any()
    n = int(sim.p[L.P_SAMPLES_PER_MIN])
    rs = np.zeros(1, dtype=np.uint64)
    R.seed_stream(rs, 5, 30, R.STREAM_MINUTE)
    scale = np.full(L.N_FEATURES, 1.3)
    out = _parity(SA.draw_samples,
                  lambda: (sim.fa, levels, scale, np.zeros((L.N_FEATURES, n)),
                           np.zeros((SA.N_LAB, n)), rs.copy(), n, sim.p, 0.1, 0.05, 0.3))
    assert 0 <= out <= n


def test_label_volume_follows_traffic_only_when_asked():
    """60 labels a minute; with labels_follow_traffic, round(60 x traffic / base_rps)."""
    p = _compiled().params.copy()
    base = p[L.P_BASE_RPS]
    assert [SA.label_volume(p, x) for x in (0.0, base / 4, base * 3)] == [60, 60, 60]
    p[L.P_LABELS_FOLLOW_TRAFFIC] = 1.0
    got = [SA.label_volume(p, x) for x in (0.0, base / 4, base * 3, base * 0.0125)]
    assert got == [0, 15, 180, 1]  # 0.75 rounds half up
    for x in (0.0, 1.234, base, 77.7):
        assert _parity(SA.label_volume, lambda x=x: (p, x)) == SA.label_volume(p, x)


def test_sample_cache_rows_budget():
    """One row per minute within the budget, none above it; the arrays' shapes."""
    p = _compiled().params
    rows = int(p[L.P_HORIZON]) + 1
    n, w = int(p[L.P_SAMPLES_PER_MIN]), int(p[L.P_KS_WINDOW])
    nbytes = rows * (L.N_FEATURES * (w + 2) * n + SA.N_LAB * n) * 8
    assert SA.sample_cache_rows(p, nbytes / 2**20) == rows
    assert SA.sample_cache_rows(p, nbytes / 2**20 * 0.999) == 0
    assert SA.sample_cache_rows.py_func(p, 64.0) == rows
    for fn in (SA.new_sample_cache, SA.new_sample_cache.py_func):
        smp, smeta, slab, tst = fn(p, 64.0)
        assert smp.shape == (rows, L.N_FEATURES, (w + 2) * n)
        assert slab.shape == (rows, SA.N_LAB, n) and tst.shape == (rows + 1, 2 * L.N_TRAIN_STATS)
        assert smeta.shape == (rows, SA.N_SC) and smeta.dtype == np.uint64 and not smeta.any()
        assert fn(p, 0.0)[0].shape[0] == 0


@pytest.mark.parametrize("canary", [False, True], ids=["direct", "canary"])
def test_sample_cache_changes_no_result(canary):
    """A cached episode ends bit for bit as the same episode without a cache.

    Its forks ran ahead and filled the shared cache; the episode then read those minutes.
    """
    from simulator.assessment import assess_action

    cached = Simulation(_compiled(canary))
    plain = Simulation(_compiled(canary), sample_cache_mib=0.0)
    assert plain.smeta.shape[0] == 0 and cached.smeta.shape[0] == cached.horizon + 1
    verdicts = []
    for sim in (cached, plain):
        sim.reset(4242)
        vs = []
        for minute in range(STEP_MINUTES):
            act = SCHEDULE.get(minute, L.NO_OP)
            if act != L.NO_OP:
                vs.append(assess_action(sim, act, window=12))  # two forks, 12 minutes ahead
            sim.step(act, 1.5 if minute % 7 == 0 else 0.0)
        verdicts.append(vs)
    assert verdicts[0] == verdicts[1]
    for name in ARRAYS:
        _assert_same(getattr(cached, name), getattr(plain, name), name)
    # the forks play open loop: they draw their minutes' rows (the models' accuracy needs
    # them) up to 12 minutes ahead, but measure nothing (no merged KS window)
    flags = cached.smeta[:, SA.SC_FLAGS]
    filled = (flags & SA.SC_SAMPLES) > 0
    assert filled[: STEP_MINUTES + 1].all() and filled.sum() > STEP_MINUTES + 1
    assert not filled[STEP_MINUTES + 12:].any()
    assert ((flags & SA.SC_MERGED) > 0).sum() == STEP_MINUTES + 1
    # KS statistics cached against the initial serving reference and, once the episode
    # falls back, against the fallback's; never against a retrained reference
    assert ((flags & SA.SC_D0) > 0).sum() >= 2 and ((flags & (SA.SC_D0 << 2)) > 0).sum() > 5
    # anomaly counts likewise, against the same references as the KS statistics
    for k in range(SA.N_CACHED_REFS):
        np.testing.assert_array_equal((flags & (SA.SC_A0 << k)) > 0, (flags & (SA.SC_D0 << k)) > 0)
    fresh = Simulation(cached.compiled)
    fresh.reset(4242)  # the initial references' moments
    n = int(cached.p[L.P_SAMPLES_PER_MIN])
    for k, slot in ((0, L.M_SERVING), (2, L.M_FALLBACK)):
        mean = fresh.models[slot, L.MF_RMEAN:L.MF_RMEAN + L.N_FEATURES]
        std = fresh.models[slot, L.MF_RSTD:L.MF_RSTD + L.N_FEATURES]
        rows = np.flatnonzero((flags & (SA.SC_A0 << k)) > 0)
        assert rows.size >= 2
        for t in rows:
            raw = cached.smp[t, :, n:2 * n]  # (N_FEATURES, n)
            z = np.abs(raw - mean[:, None]) / std[:, None]
            want = int((z > cached.p[L.P_ANOMALY_Z]).any(axis=0).sum())
            assert int(cached.smeta[t, SA.SC_ANOM + k]) == want


def test_reset_gives_a_fresh_sample_cache_and_forks_keep_theirs():
    """Reset allocates a new cache: a fork of the previous episode keeps its own samples."""
    sim = Simulation(_compiled())
    sim.reset(1)
    for _ in range(10):
        sim.step(L.NO_OP)
    fork = sim.fork()
    assert fork.smp is sim.smp
    sim.reset(2)
    assert fork.smp is not sim.smp
    assert ((sim.smeta[:, SA.SC_FLAGS] & SA.SC_SAMPLES) > 0).sum() == 1  # minute 0 only
    ref = Simulation(_compiled(), sample_cache_mib=0.0)
    ref.reset(1)
    for _ in range(10):
        ref.step(L.NO_OP)
    for _ in range(5):
        fork.step(L.NO_OP)
        ref.step(L.NO_OP)
    for name in ARRAYS:
        _assert_same(getattr(fork, name), getattr(ref, name), name)


# =========================================================================== play-out parity
def test_play_out_matches_py_func():
    """After a forced catastrophe, play_out and restore_last_good equal their py_funcs."""
    def failed():
        sim = _sim_at(40)
        sim.s[L.S_CATASTROPHIC] = L.CAT_ACCURACY  # as if this minute had failed
        sim.s[L.S_CAT_MINUTE] = sim.t - 1
        return sim

    a, b = failed(), failed()
    t0 = a.t  # the first minute after the catastrophe
    PO.play_out(a.arrays)
    PO.play_out.py_func(b.arrays)
    for name in ("hist", "s", "models"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), strict=True)
    assert a.t == a.horizon + 1
    r = int(a.p[L.P_RESTORE_MIN])
    assert (a.hist[t0:t0 + r, L.R_AVAILABILITY] == 0.0).all()
    assert (a.hist[t0 + r:, L.R_AVAILABILITY] > 0.0).all()
    c, d = failed(), failed()
    PO.restore_last_good(c.arrays)
    PO.restore_last_good.py_func(d.arrays)
    np.testing.assert_array_equal(c.models, d.models, strict=True)
    np.testing.assert_array_equal(c.s, d.s, strict=True)
