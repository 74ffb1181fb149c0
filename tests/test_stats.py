"""Tests of the table statistics in ``experiments/stats.py`` (beyond Clopper-Pearson).

Layout: the two-stage cluster bootstrap (determinism, degenerate data, pairing of ratio
numerators and denominators, each stage alone against ``scipy.stats.bootstrap``, the
bootstrap variance against its closed form); the scenario-level upper bound on an event
rate; the paired Wilcoxon test (p-value and statistic against scipy, effect size by hand and
by brute force); Holm's adjustment (a worked example, properties and the step-down
procedure); the Kaplan-Meier median (a hand-computed censored example, the lower median
without censoring, ties, all-censored data, and an independent Kaplan-Meier/Greenwood
implementation). Every function's bad inputs raise ValueError.
"""

from __future__ import annotations

import math
import time
import warnings
from itertools import combinations_with_replacement

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from experiments.stats import (
    clopper_pearson,
    cluster_bootstrap,
    holm,
    km_median,
    paired_wilcoxon,
    scenario_upper_bound,
)

S, M = 43, 100


def _panel(seed: int = 1, s: int = S, m: int = M) -> np.ndarray:
    """Scenario effect (sd 1) plus episode noise (sd 2): a (s, m) matrix."""
    rng = np.random.default_rng(seed)
    return rng.normal(size=(s, 1)) + 2.0 * rng.normal(size=(s, m))


# ---------------------------------------------------------------------------------------
# cluster_bootstrap
# ---------------------------------------------------------------------------------------


def test_bootstrap_point_estimate_and_determinism():
    """The estimate is the full-data statistic; a seed fixes the interval bit for bit."""
    x = _panel()
    est, low, high = cluster_bootstrap(x, seed=7)
    assert est == x.mean()
    assert low < est < high
    assert cluster_bootstrap(x, seed=7) == (est, low, high)
    assert cluster_bootstrap(x, seed=8) != (est, low, high)


def test_bootstrap_ratio_point_estimate():
    """With ``den`` the statistic is ``num.sum() / den.sum()``."""
    x = _panel()
    minutes = np.random.default_rng(2).integers(1, 60, size=(S, M)).astype(float)
    est, low, high = cluster_bootstrap(x * minutes, minutes)
    assert est == pytest.approx((x * minutes).sum() / minutes.sum(), rel=1e-12)
    assert low < est < high


def test_bootstrap_zero_variance_is_degenerate():
    """Constant data: every resample gives the value, so the interval collapses on it."""
    assert cluster_bootstrap(np.full((S, M), 2.5)) == (2.5, 2.5, 2.5)
    # A ratio is degenerate when num / den is constant, however den varies: this only
    # holds if num and den are resampled with the same indices (paired).
    den = np.random.default_rng(3).uniform(1.0, 10.0, size=(S, M))
    est, low, high = cluster_bootstrap(0.25 * den, den)
    assert est == pytest.approx(0.25, rel=1e-12)
    assert low == pytest.approx(0.25, rel=1e-12)
    assert high == pytest.approx(0.25, rel=1e-12)


def test_bootstrap_ignores_resamples_whose_den_sums_to_zero():
    """Resamples missing the one non-zero ``den`` are NaN and dropped, the rest kept."""
    den = np.zeros((3, 1))
    den[1, 0] = 4.0
    num = 3.0 * den
    # P(a resample misses row 1) = (2/3)**3 ~ 0.30: many NaN resamples, no warning.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert cluster_bootstrap(num, den, n_resamples=200) == (3.0, 3.0, 3.0)


def test_bootstrap_m1_matches_scipy_percentile_bootstrap():
    """With m == 1 only scenarios are resampled, the one-level bootstrap of scipy."""
    vals = _panel(seed=4, m=1)
    est, low, high = cluster_bootstrap(vals, n_resamples=4000, seed=0)
    ref = stats.bootstrap((vals[:, 0],), np.mean, method="percentile", n_resamples=9999,
                          rng=np.random.default_rng(0)).confidence_interval
    spread = ref.high - ref.low
    assert est == pytest.approx(vals.mean())
    assert abs(low - ref.low) < 0.15 * spread
    assert abs(high - ref.high) < 0.15 * spread


def test_bootstrap_s1_matches_scipy_percentile_bootstrap():
    """With S == 1 only the seeds of the one scenario are resampled."""
    vals = _panel(seed=5, s=1)
    _, low, high = cluster_bootstrap(vals, n_resamples=4000, seed=0)
    ref = stats.bootstrap((vals[0],), np.mean, method="percentile", n_resamples=9999,
                          rng=np.random.default_rng(0)).confidence_interval
    spread = ref.high - ref.low
    assert abs(low - ref.low) < 0.15 * spread
    assert abs(high - ref.high) < 0.15 * spread


def test_bootstrap_resamples_both_stages():
    """The interval's width matches the two-stage bootstrap variance of the mean.

    A resampled mean averages S i.i.d. draws, each the mean of m seeds of a random
    scenario, so its variance is ``(B + W / m) / S`` with ``B`` the (ddof 0) variance of
    the scenario means and ``W`` the mean (ddof 0) within-scenario variance. Here every
    scenario holds the same values in another order, so ``B = 0``: resampling scenarios
    alone would give a zero-width interval, the second stage alone gives all the width.
    """
    s, m = 30, 4
    base = np.array([-1.5, -0.5, 0.5, 1.5])
    x = np.random.default_rng(6).permuted(np.tile(base, (s, 1)), axis=1)
    assert np.ptp(x.mean(axis=1)) == 0.0
    sd = math.sqrt(base.var() / m / s)
    _, low, high = cluster_bootstrap(x, n_resamples=20000, confidence=0.6827, seed=1)
    assert (high - low) / 2.0 == pytest.approx(sd, rel=0.05)


def test_bootstrap_is_fast():
    """S=43, m=100, B=1000 is vectorised: well under a second (lenient bound for CI)."""
    x = _panel()
    minutes = np.ones((S, M))
    start = time.perf_counter()
    cluster_bootstrap(x, minutes, n_resamples=1000)
    assert time.perf_counter() - start < 2.0


@pytest.mark.parametrize(
    ("num", "den", "kwargs", "match"),
    [
        (np.full((3, 2), np.nan), None, {}, "NaN"),
        (np.full((3, 2), np.inf), None, {}, "NaN or infinite"),
        (np.ones(6), None, {}, "2 dimension"),
        (np.ones((0, 5)), None, {}, "empty"),
        (np.ones((3, 2)), np.ones((2, 3)), {}, "shape"),
        (np.ones((3, 2)), np.full((3, 2), np.nan), {}, "den holds NaN"),
        (np.ones((3, 2)), np.array([[1.0, -1.0]] * 3), {}, "sums to 0"),
        (np.ones((3, 2)), None, {"n_resamples": 0}, "n_resamples"),
        (np.ones((3, 2)), None, {"n_resamples": 10.0}, "n_resamples"),
        (np.ones((3, 2)), None, {"confidence": 1.0}, "confidence"),
        ([["a", "b"]], None, {}, "numeric"),
    ],
)
def test_bootstrap_bad_input(num, den, kwargs, match):
    """Bad inputs raise ValueError naming the problem."""
    with pytest.raises(ValueError, match=match):
        cluster_bootstrap(num, den, **kwargs)


# ---------------------------------------------------------------------------------------
# scenario_upper_bound
# ---------------------------------------------------------------------------------------


def test_upper_bound_zero_events():
    """0 of 43 scenarios: the exact 95% upper end is 1 - 0.025**(1/43) ~ 8.2%."""
    k, n, upper = scenario_upper_bound(np.zeros((S, M), dtype=bool))
    assert (k, n) == (0, S)
    assert upper == pytest.approx(1.0 - 0.025 ** (1.0 / S), rel=1e-9)
    assert upper == pytest.approx(0.0822, abs=5e-5)


def test_upper_bound_counts_scenarios_not_episodes():
    """Five events in one scenario and one in another count as 2 scenarios."""
    ev = np.zeros((S, M), dtype=int)
    ev[3, :5] = 1
    ev[10, 99] = 1
    k, n, upper = scenario_upper_bound(ev, confidence=0.9)
    assert (k, n) == (2, S)
    assert upper == clopper_pearson(2, S, 0.9)[1]
    assert scenario_upper_bound(ev.astype(bool), confidence=0.9) == (k, n, upper)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.lists(st.booleans(), min_size=3, max_size=3), min_size=1, max_size=12))
def test_upper_bound_properties(rows):
    """The count k is the number of rows with an event and the bound is at least k / S."""
    ev = np.array(rows)
    k, n, upper = scenario_upper_bound(ev)
    assert k == sum(any(r) for r in rows)
    assert n == len(rows)
    assert k / n <= upper <= 1.0


@pytest.mark.parametrize(
    ("events", "match"),
    [
        (np.array([[0, 2]]), "0/1"),
        (np.array([[0.0, np.nan]]), "0/1"),
        (np.zeros(5), "2 dimensions"),
        (np.zeros((0, 3)), "empty"),
    ],
)
def test_upper_bound_bad_input(events, match):
    """Non-binary, NaN, 1-D and empty inputs raise ValueError."""
    with pytest.raises(ValueError, match=match):
        scenario_upper_bound(events)


# ---------------------------------------------------------------------------------------
# paired_wilcoxon
# ---------------------------------------------------------------------------------------


def test_wilcoxon_matches_scipy():
    """p-value and statistic are scipy's on the differences (zeros included, dropped)."""
    rng = np.random.default_rng(7)
    x = rng.normal(10.0, 1.0, size=S)
    y = x - rng.normal(0.3, 1.0, size=S)
    y[:4] = x[:4]  # four zero differences
    res = paired_wilcoxon(x, y)
    ref = stats.wilcoxon(x - y, zero_method="wilcox")
    assert res["n"] == S - 4
    assert res["p_value"] == pytest.approx(ref.pvalue, rel=1e-12)
    assert res["statistic"] == ref.statistic
    assert res["median_diff"] == np.median(x - y)


def test_wilcoxon_effect_size_by_hand():
    """Differences [1, -2, 2, 3, 0]: |d| ranks 1, 2.5, 2.5, 4; R+ = 7.5, R- = 2.5, r = 0.5."""
    x = np.array([3.0, 1.0, 5.0, 4.0, 2.0])
    y = np.array([2.0, 3.0, 3.0, 1.0, 2.0])
    res = paired_wilcoxon(x, y)
    assert res["n"] == 4
    assert res["median_diff"] == 1.0
    assert res["effect_size"] == pytest.approx(0.5)
    assert res["statistic"] == 2.5  # min(R+, R-)
    swapped = paired_wilcoxon(y, x)
    assert swapped["effect_size"] == pytest.approx(-0.5)
    assert swapped["p_value"] == pytest.approx(res["p_value"])


def test_wilcoxon_effect_size_brute_force():
    """Without ties, R+ is the number of positive Walsh averages (d_i + d_j) / 2, i <= j."""
    rng = np.random.default_rng(8)
    x, y = rng.normal(size=9), rng.normal(size=9)
    d = x - y
    total = len(d) * (len(d) + 1) // 2
    r_plus = sum(d[i] + d[j] > 0 for i, j in combinations_with_replacement(range(len(d)), 2))
    assert paired_wilcoxon(x, y)["effect_size"] == pytest.approx((2 * r_plus - total) / total)


def test_wilcoxon_extremes():
    """If x is always above y, r = +1; every difference zero: the documented no-test result."""
    x = np.arange(1.0, 8.0)
    assert paired_wilcoxon(x, x - 0.5)["effect_size"] == 1.0
    res = paired_wilcoxon(x, x.copy())
    assert res["n"] == 0
    assert res["median_diff"] == 0.0
    assert math.isnan(res["statistic"])
    assert res["p_value"] == 1.0
    assert res["effect_size"] == 0.0


@pytest.mark.parametrize(
    ("x", "y", "match"),
    [
        (np.ones(3), np.ones(4), "same shape"),
        (np.ones((3, 1)), np.ones((3, 1)), "1 dimension"),
        (np.array([1.0, np.nan]), np.ones(2), "NaN"),
        (np.ones(0), np.ones(0), "empty"),
    ],
)
def test_wilcoxon_bad_input(x, y, match):
    """Mismatched, 2-D, NaN and empty inputs raise ValueError."""
    with pytest.raises(ValueError, match=match):
        paired_wilcoxon(x, y)


# ---------------------------------------------------------------------------------------
# holm
# ---------------------------------------------------------------------------------------


def test_holm_worked_example():
    """Sorted 0.005, 0.01, 0.03, 0.04 times 4, 3, 2, 1: 0.02, 0.03, 0.06, max(0.04, 0.06)."""
    adj = holm([0.01, 0.04, 0.03, 0.005])
    np.testing.assert_allclose(adj, [0.03, 0.06, 0.06, 0.02], rtol=1e-12)
    np.testing.assert_array_equal(holm([0.5, 0.6]), [1.0, 1.0])  # clipped at 1
    np.testing.assert_array_equal(holm([0.2]), [0.2])
    np.testing.assert_array_equal(holm([0.01, 0.01, 0.5]), [0.03, 0.03, 0.5])


def _step_down_rejects(p: np.ndarray, alpha: float) -> np.ndarray:
    """Holm's procedure itself: walk up the sorted p-values, reject while p_(i)*(n-i) <= a."""
    n = len(p)
    rejected = np.zeros(n, dtype=bool)
    for i, j in enumerate(np.argsort(p, kind="stable")):
        if (n - i) * p[j] > alpha:
            break
        rejected[j] = True
    return rejected


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0.0, 1.0), min_size=1, max_size=20),
       st.sampled_from([0.01, 0.05, 0.1]))
def test_holm_properties(raw, alpha):
    """Adjusted >= raw, <= 1, ordered as raw; adjusted <= alpha is Holm's rejection set."""
    p = np.array(raw)
    adj = holm(p)
    assert adj.shape == p.shape
    assert np.all(adj >= p)
    assert np.all(adj <= 1.0)
    for i in range(len(p)):
        for j in range(len(p)):
            if p[i] < p[j]:
                assert adj[i] <= adj[j]
            elif p[i] == p[j]:
                assert adj[i] == adj[j]
    np.testing.assert_array_equal(adj <= alpha, _step_down_rejects(p, alpha))


@pytest.mark.parametrize(
    ("p", "match"),
    [
        ([0.1, np.nan], "NaN"),
        ([0.1, 1.5], r"\[0, 1\]"),
        ([-0.1], r"\[0, 1\]"),
        ([], "empty"),
        ([[0.1, 0.2]], "1 dimension"),
    ],
)
def test_holm_bad_input(p, match):
    """NaN, out-of-range, empty and 2-D p-values raise ValueError."""
    with pytest.raises(ValueError, match=match):
        holm(p)


# ---------------------------------------------------------------------------------------
# km_median
# ---------------------------------------------------------------------------------------


def test_km_median_hand_example():
    """Durations 1..6, censored at 3 and 5.

    t=1: 6 at risk, 1 event: S = 5/6.    t=2: 5 at risk, 1 event: S = 5/6 * 4/5 = 2/3.
    t=3: censored (S stays 2/3).          t=4: 3 at risk, 1 event: S = 2/3 * 2/3 = 4/9.
    t=5: censored.                        t=6: 1 at risk, 1 event: S = 0.
    First S <= 0.5 at t=4: the median is 4. Log-log band (Greenwood sums 1/30, 1/30+1/20,
    ...): its lower curve at t=1 is (5/6)**exp(1.96 * sqrt(1/30) / log(6/5)) ~ 0.27 <= 0.5,
    so low = 1; its upper curve is 0.97, 0.90, 0.90, 0.78, 0.78 and undefined at S = 0, so
    it never reaches 0.5: high = inf.
    """
    d = np.array([1, 2, 3, 4, 5, 6])
    obs = np.array([1, 1, 0, 1, 0, 1], dtype=bool)
    res = stats.ecdf(stats.CensoredData(uncensored=d[obs], right=d[~obs]))
    np.testing.assert_allclose(res.sf.probabilities, [5 / 6, 2 / 3, 2 / 3, 4 / 9, 4 / 9, 0])
    assert km_median(d, obs) == (4.0, 1.0, math.inf)
    assert km_median(d, obs.astype(int)) == (4.0, 1.0, math.inf)


@settings(max_examples=60, deadline=None)
@given(st.one_of(st.lists(st.integers(0, 20), min_size=1, max_size=40),
                 st.lists(st.floats(0.0, 1e4), min_size=1, max_size=40)))
def test_km_median_without_censoring_is_lower_median(values):
    """No censoring: the median is the lower empirical median, ties included."""
    d = np.array(values, dtype=float)
    median, low, high = km_median(d, np.ones(d.shape, dtype=bool))
    assert median == np.quantile(d, 0.5, method="inverted_cdf")
    assert low <= median <= high


def test_km_median_exact_half_despite_rounding():
    """1..24 with 24 censored: scipy's product gives S(12) = 0.5000000000000001, not 0.5."""
    d = np.arange(1.0, 25.0)
    obs = d < 24
    res = stats.ecdf(stats.CensoredData(uncensored=d[obs], right=d[~obs]))
    assert res.sf.probabilities[11] != 0.5  # the rounding this guards against
    assert km_median(d, obs)[0] == 12.0


def test_km_median_ties_censored_at_risk():
    """At t=2 two events and one censoring: the censored episode is at risk at t=2.

    S(2) = 1 - 2/5 = 0.6, S(3) = 0.6 * (1 - 1/2) = 0.3: median 3 (censoring first would
    give S(2) = 1 - 2/4 = 0.5 and median 2).
    """
    assert km_median([2, 2, 2, 3, 4], [1, 1, 0, 1, 0])[0] == 3.0


def test_km_median_censoring_and_shapes():
    """All censored: (inf, inf, inf), no warning; over half censored: infinite median."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert km_median([1.0, 2.0, 3.0], [False] * 3) == (math.inf, math.inf, math.inf)
        median, low, high = km_median([1.0, 2.0, 3.0, 4.0, 5.0], [1, 0, 0, 0, 0])
    assert median == math.inf
    assert high == math.inf
    assert low <= median
    # An (S, m) matrix is used as its flattened episodes.
    rng = np.random.default_rng(9)
    d = rng.exponential(30.0, size=(5, 8)).round()
    obs = rng.random((5, 8)) < 0.8
    assert km_median(d, obs) == km_median(d.ravel(), obs.ravel())


def _km_reference(d: np.ndarray, obs: np.ndarray, z: float) -> tuple[float, float, float]:
    """Independent Kaplan-Meier + Greenwood log-log band, read with the documented rule."""
    times, surv, lo, hi = [], [], [], []
    s, gw = 1.0, 0.0
    for t in np.unique(d[obs]):
        n = np.sum(d >= t)
        e = np.sum((d == t) & obs)
        s *= 1.0 - e / n
        gw = gw + e / (n * (n - e)) if n > e else math.inf
        if s <= 0.0:
            low_t, high_t = 0.0, math.nan  # log-log undefined at S = 0
        else:
            w = z * math.sqrt(gw) / abs(math.log(s))
            low_t, high_t = s ** math.exp(w), s ** math.exp(-w)
        times.append(t)
        surv.append(s)
        lo.append(low_t)
        hi.append(high_t)

    def first(curve):
        return next((t for t, c in zip(times, curve, strict=True) if c <= 0.5 + 1e-10),
                    math.inf)

    return first(surv), first(lo), first(hi)


@pytest.mark.parametrize("seed", range(6))
def test_km_median_matches_reference_implementation(seed):
    """scipy-based result equals a hand-written KM/Greenwood on random censored data."""
    rng = np.random.default_rng(seed)
    n = 25 + 15 * seed
    d = rng.integers(1, 40, size=n).astype(float)  # integer minutes: many ties
    obs = rng.random(n) < 0.7
    median, low, high = km_median(d, obs)
    ref = _km_reference(d, obs, stats.norm.ppf(0.975))
    assert (median, low, high) == ref
    assert low <= median <= high


def test_km_median_interval_finite_on_large_sample():
    """1..40 uncensored: median 20, and the band crosses 0.5 on both sides of it."""
    median, low, high = km_median(np.arange(1.0, 41.0), np.ones(40, dtype=bool))
    assert median == 20.0
    assert low < median < high < math.inf
    assert (low, high) == _km_reference(np.arange(1.0, 41.0), np.ones(40, dtype=bool),
                                        stats.norm.ppf(0.975))[1:]
    narrow = km_median(np.arange(1.0, 41.0), np.ones(40, dtype=bool), confidence=0.5)
    assert low <= narrow[1] <= narrow[2] <= high


@pytest.mark.parametrize(
    ("d", "obs", "match"),
    [
        ([], [], "empty"),
        ([1.0, -1.0], [True, True], ">= 0"),
        ([1.0, np.nan], [True, True], "NaN"),
        ([1.0, np.inf], [True, False], "NaN or infinite"),
        ([1.0, 2.0], [True], "shape"),
        ([1.0, 2.0], [1, 2], "0/1"),
    ],
)
def test_km_median_bad_input(d, obs, match):
    """Empty, negative, NaN/inf durations and bad ``observed`` raise ValueError."""
    with pytest.raises(ValueError, match=match):
        km_median(d, obs)
