"""Tests of ``simulator.classifier``: LDA from sufficient statistics, labels, accuracy.

Layout: equality with scikit-learn's ``LinearDiscriminantAnalysis(solver="lsqr")`` on
hypothesis-generated rows (``pytest -k sklearn`` selects these), additivity of the statistics
and their prefix-sum windows, degenerate inputs (the majority-class model and its status),
bit-for-bit parity of every kernel with its ``.py_func``, the labelling function, and measured
accuracy against :func:`simulator.classifier.analytic_accuracy`.

Tolerance against sklearn: coefficients ``max_j |w_j - w_sk,j| <= tol * max_j |w_sk,j|`` and
intercept ``|b - b_sk| <= tol * (1 + |b_sk| + sum_j |w_sk,j| max_i |x_ij|)`` (the magnitude
of the score's terms), with ``tol = max(1e-8, 5e-14 * kappa * a)``: kappa is the condition
number of the pooled covariance as a correlation matrix and ``a = max_j E[x_j^2] / var_j``.
The statistics give the covariance as E[x x^T] - mu mu^T, whose rounding (about 1e-16 a),
amplified by kappa, is the difference; tol = 1e-8 applies unless kappa * a > 2e5 (small,
near-singular samples far from the origin).
"""

from __future__ import annotations

import math
import warnings

import numba
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.covariance import EmpiricalCovariance
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

from simulator import classifier as CL
from simulator import layout as L

D = L.N_FEATURES
BASE = np.array(L.BASE_LOC)


# --------------------------------------------------------------------------- helpers
def stats_of(X: np.ndarray, y: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """Return the statistics of rows ``X`` (shape (n, D), row-major) with labels ``y``."""
    n = X.shape[0]
    st_ = np.zeros(CL.N_STATS)
    mask = np.ones(n, dtype=bool) if mask is None else mask
    CL.stats_add_rows(st_, np.ascontiguousarray(X.T), np.asarray(y, dtype=np.int64), n, mask)
    return st_


def fit(stats: np.ndarray, ridge: float = 0.0) -> tuple[int, np.ndarray]:
    """Return the status and model of :func:`fit_lda` on ``stats``."""
    model = np.full(CL.N_MODEL, np.nan)
    return CL.fit_lda(stats, model, ridge), model


def make_rows(seed, n, p1, log_scale, corr, shift, spread, minority=None):
    """Labelled Gaussian rows, shape (n, D): correlated features, class-dependent means.

    Features are equicorrelated (``corr``), scaled by ``10**log_scale`` times per-feature
    factors in ``10**[-spread, spread]``, centred ``shift`` standard deviations away from 0 in
    a random direction; each class has its own mean. Both classes have at least one row;
    ``minority`` forces the count of class 1.
    """
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < p1).astype(np.int64)
    if minority is not None:
        y[:] = 0
        y[rng.choice(n, minority, replace=False)] = 1
    y[0], y[-1] = 0, 1
    a = np.linalg.cholesky((1.0 - corr) * np.eye(D) + corr)
    z = rng.standard_normal((n, D)) @ a.T + y[:, None] * rng.normal(size=D)
    factors = 10.0 ** (log_scale + rng.uniform(-spread, spread, D))
    return factors * (z + shift * rng.normal(size=D)), y


def sklearn_lda(X, y, **kw):
    """Fit sklearn's LSQR LDA (its small-class warnings silenced)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return LinearDiscriminantAnalysis(solver="lsqr", **kw).fit(X, y)


def correlation_condition(cov):
    """Condition number of a covariance matrix rescaled to a correlation matrix."""
    sd = np.sqrt(np.diag(cov))
    return float(np.linalg.cond(cov / sd[:, None] / sd[None, :]))


def cancellation(X, cov):
    """Return max_j mean(x_j^2) / cov_jj: how much E[x x^T] - mu mu^T amplifies rounding."""
    return float(np.max(np.mean(X * X, axis=0) / np.diag(cov)))


def assert_equals_sklearn(X, y, ridge=0.0, sk=None):
    """Check fit_lda on the statistics of (X, y) against sklearn (tolerance in the docstring)."""
    status, model = fit(stats_of(X, y), ridge)
    assert np.all(np.isfinite(model))
    sk = sklearn_lda(X, y) if sk is None else sk
    kappa = correlation_condition(sk.covariance_)
    if status != CL.FIT_OK:  # refused only if S has an eigenvalue <= PIVOT_RTOL trace(M)
        trace_m = np.mean(np.sum(X * X, axis=1)) + D * ridge
        eig_min = np.linalg.eigvalsh(sk.covariance_).min()
        assert status == CL.FIT_NOT_PD and eig_min <= 2 * CL.PIVOT_RTOL * trace_m
        return
    tol = max(1e-8, 5e-14 * kappa * cancellation(X, sk.covariance_))
    w_sk, b_sk = sk.coef_[0], sk.intercept_[0]
    err_w = np.max(np.abs(model[:D] - w_sk)) / np.max(np.abs(w_sk))
    scale_b = 1.0 + abs(b_sk) + np.sum(np.abs(w_sk) * np.abs(X).max(axis=0))
    err_b = abs(model[CL.MD_B] - b_sk) / scale_b
    assert err_w <= tol, (err_w, kappa)
    assert err_b <= tol, (err_b, kappa)
    assert model[CL.MD_OK] == 1.0
    n = X.shape[0]
    pred = np.zeros(n, dtype=bool)
    CL.predict_rows(model, np.ascontiguousarray(X.T), n, pred)
    score = sk.decision_function(X)
    near = np.abs(score) <= 1e-9 * (1.0 + abs(b_sk) + np.abs(X * w_sk).sum(axis=1))
    differ = pred != sk.predict(X).astype(bool)
    assert not np.any(differ & ~near)
    assert near.sum() <= 1 + n // 100


# =========================================================================== sklearn
@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(6, 3000), p1=st.floats(0.05, 0.95),
       log_scale=st.floats(-3.0, 3.0), corr=st.floats(0.0, 0.95), shift=st.floats(-20.0, 20.0))
def test_lda_fit_equals_sklearn_random_rows(seed, n, p1, log_scale, corr, shift):
    """Sizes, balances, correlations, scales 1e-3..1e3 and shifted means: equal to sklearn."""
    X, y = make_rows(seed, n, p1, log_scale, corr, shift, spread=0.0)
    assert_equals_sklearn(X, y)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(20, 500),
       log_scale=st.sampled_from([-3.0, -1.5, 0.0, 1.5, 3.0]), spread=st.floats(0.0, 1.5),
       corr=st.sampled_from([0.0, 0.5, 0.9, 0.99]))
def test_lda_fit_equals_sklearn_mixed_feature_scales(seed, n, log_scale, spread, corr):
    """Features on different scales (up to a factor 1e3 apart) and strong correlation."""
    X, y = make_rows(seed, n, 0.5, log_scale, corr, shift=3.0, spread=spread)
    assert_equals_sklearn(X, y)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(8, 2000), minority=st.integers(1, 3),
       shift=st.floats(-10.0, 10.0))
def test_lda_fit_equals_sklearn_unbalanced_classes(seed, n, minority, shift):
    """One to three rows in class 1 (a single-row class has zero covariance), as sklearn."""
    X, y = make_rows(seed, n, 0.0, 0.0, 0.3, shift, spread=0.5, minority=minority)
    assert_equals_sklearn(X, y)


class RidgeCovariance(EmpiricalCovariance):
    """The biased empirical covariance plus ``ridge`` times the identity."""

    def __init__(self, ridge=0.0):
        super().__init__()
        self.ridge = ridge

    def fit(self, X, y=None):
        """Fit the empirical covariance, then add the ridge."""
        super().fit(X)
        self.covariance_ = self.covariance_ + self.ridge * np.eye(X.shape[1])
        return self


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(10, 1000),
       ridge=st.sampled_from([1e-3, 0.1, 1.0, 10.0]), constant=st.booleans())
def test_lda_ridge_equals_sklearn_covariance_estimator(seed, n, ridge, constant):
    """Ridge > 0 equals sklearn with a covariance estimator returning cov + ridge I.

    A constant feature (singular covariance) becomes solvable with the ridge.
    """
    X, y = make_rows(seed, n, 0.4, 0.0, 0.5, shift=2.0, spread=0.0)
    if constant:
        X[:, 2] = 1.25
    sk = sklearn_lda(X, y, covariance_estimator=RidgeCovariance(ridge))
    status, _ = fit(stats_of(X, y), ridge)
    assert status == CL.FIT_OK
    assert_equals_sklearn(X, y, ridge=ridge, sk=sk)


def test_window_fit_equals_sklearn_on_window_rows():
    """A model fit on a prefix-sum window equals sklearn fit on that window's rows."""
    rng = np.random.default_rng(7)
    minutes, per_min = 50, 40
    X = BASE[:, None] + rng.standard_normal((D, minutes * per_min))
    y = np.zeros(minutes * per_min, dtype=np.int64)
    CL.label_rows(X, X.shape[1], 0.3, rng.random(X.shape[1]), 0.1, y)
    prefix = np.zeros((minutes + 1, CL.N_STATS))
    for t in range(minutes):
        prefix[t + 1] = prefix[t]
        sl = slice(t * per_min, (t + 1) * per_min)
        CL.stats_add_rows(prefix[t + 1], np.ascontiguousarray(X[:, sl]), y[sl], per_min,
                          np.ones(per_min, dtype=bool))
    win = np.zeros(CL.N_STATS)
    for lo, hi in [(0, minutes), (10, 25), (37, 50), (20, 22)]:
        CL.stats_window(prefix, lo, hi, win)
        model = np.zeros(CL.N_MODEL)
        assert CL.fit_lda(win, model) == CL.FIT_OK
        rows = slice(lo * per_min, hi * per_min)
        sk = sklearn_lda(X[:, rows].T, y[rows])
        np.testing.assert_allclose(model[:D], sk.coef_[0], rtol=0, atol=1e-8 * np.abs(
            sk.coef_).max())
        assert abs(model[CL.MD_B] - sk.intercept_[0]) <= 1e-8 * (1 + abs(sk.intercept_[0]))


# =========================================================================== statistics
def integer_rows(rng, n):
    """Integer-valued rows (exact sums) and labels."""
    return rng.integers(-50, 50, size=(n, D)).astype(float), rng.integers(0, 2, n)


def test_stats_layout():
    """Counts, sums and row-major outer products sit where the module docstring says."""
    X = np.array([[1.0, 2.0, 3.0, 4.0], [0.5, -1.0, 0.0, 2.0], [2.0, 0.0, 1.0, 1.0]])
    y = np.array([1, 0, 1])
    s = stats_of(X, y)
    for k, rows in ((0, X[y == 0]), (1, X[y == 1])):
        blk = s[k * CL.STRIDE:(k + 1) * CL.STRIDE]
        assert blk[CL.ST_COUNT] == len(rows)
        np.testing.assert_array_equal(blk[CL.ST_SUM:CL.ST_SUM + D], rows.sum(axis=0))
        np.testing.assert_array_equal(blk[CL.ST_OUTER:].reshape(D, D), rows.T @ rows)
    assert CL.N_STATS == 2 * (1 + D + D * D) and CL.N_MODEL == D + 2
    for labels_as in (bool, np.int8, np.uint8):  # any 0/1 label dtype
        again = np.zeros(CL.N_STATS)
        CL.stats_add_rows(again, np.ascontiguousarray(X.T), y.astype(labels_as), 3,
                          np.ones(3, dtype=bool))
        np.testing.assert_array_equal(again, s)


@pytest.mark.parametrize("integer", [True, False])
def test_stats_are_additive(integer):
    """stats(A) + stats(B) == stats(A + B): exactly on integer data, to 1e-12 otherwise."""
    rng = np.random.default_rng(3)
    X, y = integer_rows(rng, 300) if integer else (rng.normal(size=(300, D)) * 7.0,
                                                   rng.integers(0, 2, 300))
    total = stats_of(X[:120], y[:120]) + stats_of(X[120:], y[120:])
    both = stats_of(X, y)
    if integer:
        np.testing.assert_array_equal(total, both)
    else:
        np.testing.assert_allclose(total, both, rtol=1e-12, atol=1e-12 * np.abs(both).max())
    mask = rng.random(300) < 0.4
    np.testing.assert_array_equal(stats_of(X, y, mask), stats_of(X[mask], y[mask]))


@pytest.mark.parametrize("integer", [True, False])
def test_stats_window_equals_window_rows(integer):
    """A window of the prefix table equals the statistics of its rows (exact on integers)."""
    rng = np.random.default_rng(11)
    minutes, per_min = 30, 25
    X, y = integer_rows(rng, minutes * per_min)
    if not integer:
        X = X * 0.37 + rng.normal(size=X.shape)
    prefix = np.zeros((minutes + 1, CL.N_STATS))
    for t in range(minutes):
        prefix[t + 1] = prefix[t] + stats_of(X[t * per_min:(t + 1) * per_min],
                                            y[t * per_min:(t + 1) * per_min])
    out = np.zeros(CL.N_STATS)
    for lo, hi in [(0, 0), (0, 30), (5, 6), (7, 23), (29, 30)]:
        CL.stats_window(prefix, lo, hi, out)
        direct = stats_of(X[lo * per_min:hi * per_min], y[lo * per_min:hi * per_min])
        if integer:
            np.testing.assert_array_equal(out, direct)
        else:
            bound = 1e-12 * (np.abs(prefix[hi]) + np.abs(prefix[lo]))
            assert np.all(np.abs(out - direct) <= bound)
    for lo, hi in [(-1, 3), (4, 3), (0, 31)]:
        with pytest.raises(ValueError):
            CL.stats_window(prefix, lo, hi, out)


# =========================================================================== degenerate
def assert_majority(status, model, n0, n1, expected_status):
    """Check the documented majority-class model and the expected status."""
    assert status == expected_status
    assert np.all(np.isfinite(model))
    np.testing.assert_array_equal(model[:D], 0.0)
    assert model[CL.MD_B] == math.log((n1 + 0.5) / (n0 + 0.5))
    assert model[CL.MD_OK] == 0.0


@pytest.mark.parametrize(("rows", "labels", "expected"), [
    (0, [], CL.FIT_EMPTY_CLASS),
    (1, [1], CL.FIT_EMPTY_CLASS),
    (2, [0, 0], CL.FIT_EMPTY_CLASS),
    (2, [0, 1], CL.FIT_TOO_FEW_ROWS),
    (4, [0, 1, 1, 0], CL.FIT_TOO_FEW_ROWS),
    (5, [0, 1, 1, 0, 1], CL.FIT_NOT_PD),  # within-class scatter of rank <= 3
    (50, [1] * 50, CL.FIT_EMPTY_CLASS),
])
def test_too_few_rows_or_one_class_give_majority_model(rows, labels, expected):
    """Empty classes and too few rows give the majority-class model, never NaN."""
    rng = np.random.default_rng(rows)
    X, y = rng.normal(size=(rows, D)), np.array(labels, dtype=np.int64)
    status, model = fit(stats_of(X, y))
    assert_majority(status, model, np.sum(y == 0), np.sum(y == 1), expected)
    pred = np.zeros(rows, dtype=bool)
    CL.predict_rows(model, np.ascontiguousarray(X.T), rows, pred)
    assert np.all(pred == (np.sum(y == 1) > np.sum(y == 0)))


@pytest.mark.parametrize("case", ["duplicates", "constant_0.1", "constant_1e3", "collinear"])
def test_singular_covariance_gives_majority_model(case):
    """Duplicate rows, a constant feature or collinear features: not positive definite."""
    rng = np.random.default_rng(5)
    X, y = rng.normal(size=(60, D)) + BASE, (rng.random(60) < 0.3).astype(np.int64)
    if case == "duplicates":
        X[y == 0], X[y == 1] = X[0], X[-1]
    elif case.startswith("constant"):
        X[:, 1] = float(case.split("_")[1])
    else:
        X[:, 3] = 0.3 * X[:, 0] - 2.0 * X[:, 2]
    status, model = fit(stats_of(X, y))
    assert_majority(status, model, np.sum(y == 0), np.sum(y == 1), CL.FIT_NOT_PD)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_inputs_give_majority_model(bad):
    """A selected non-finite value gives FIT_NON_FINITE; masked out, it is ignored."""
    rng = np.random.default_rng(2)
    X, y = rng.normal(size=(40, D)), np.arange(40) % 2
    X[7, 2] = bad
    status, model = fit(stats_of(X, y))
    assert_majority(status, model, 20, 20, CL.FIT_NON_FINITE)
    mask = np.arange(40) != 7
    assert fit(stats_of(X, y, mask))[0] == CL.FIT_OK
    stats = stats_of(X, y, mask)
    stats[CL.STRIDE + CL.ST_COUNT] = np.nan  # a corrupted count: b = 0
    status, model = fit(stats)
    assert status == CL.FIT_NON_FINITE and np.all(model[:CL.MD_OK] == 0.0)
    pred = np.ones(40, dtype=bool)
    CL.predict_rows(np.array([0.0, 0, 1, 0, 0, 1]), np.ascontiguousarray(X.T), 40, pred)
    assert pred[7] == (bad == np.inf)  # a NaN score predicts class 0


def test_invalid_arguments_raise():
    """Bad labels, shapes and ridge raise ValueError."""
    X, y, mask = np.zeros((D, 3)), np.array([0, 2, 1]), np.ones(3, dtype=bool)
    with pytest.raises(ValueError):
        CL.stats_add_rows(np.zeros(CL.N_STATS), X, y, 3, mask)
    with pytest.raises(ValueError):
        CL.stats_add_rows(np.zeros(CL.N_STATS), X, np.zeros(3, dtype=np.int64), 4, mask)
    with pytest.raises(ValueError):
        CL.stats_add_rows(np.zeros(CL.N_STATS), np.zeros((3, 3)), y, 3, mask)
    stats = stats_of(np.random.default_rng(0).normal(size=(30, D)), np.arange(30) % 2)
    for ridge in (-1.0, np.nan, np.inf):
        with pytest.raises(ValueError):
            CL.fit_lda(stats, np.zeros(CL.N_MODEL), ridge)
    with pytest.raises(ValueError):
        CL.label_rows(X, 3, 0.0, np.zeros(3), 1.5, np.zeros(3, dtype=np.int64))


# =========================================================================== parity
def _same(a, b):
    """Bit-for-bit equality of returns or arguments (NaN equal to NaN)."""
    if isinstance(a, np.ndarray):
        return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()
    return a == b or (a != a and b != b)


def _parity(fn, make_args):
    """Call the kernel and its py_func on fresh copies of the arguments; compare all."""
    a1, a2 = make_args(), make_args()
    r1, r2 = fn(*a1), fn.py_func(*a2)
    assert _same(r1, r2), fn.__name__
    for x1, x2 in zip(a1, a2, strict=True):
        assert _same(x1, x2), fn.__name__


def _parity_cases():
    rng = np.random.default_rng(19)
    n = 500
    X = BASE[:, None] + rng.normal(size=(D, n)) * rng.uniform(0.5, 3.0, (D, 1))
    u = rng.random(n)
    y = np.zeros(n, dtype=np.int64)
    CL.label_rows(X, n, 0.4, u, 0.1, y)
    mask = rng.random(n) < 0.8
    good = stats_of(X.T, y, mask)
    single = stats_of(X.T[:3], np.array([0, 1, 1]))
    flat = stats_of(np.ones((20, D)), np.arange(20) % 2)
    prefix = np.cumsum(np.vstack([np.zeros(CL.N_STATS)] + [
        stats_of(X.T[t * 50:(t + 1) * 50], y[t * 50:(t + 1) * 50]) for t in range(10)]), axis=0)
    model = np.zeros(CL.N_MODEL)
    CL.fit_lda(good, model)
    return {
        "stats_add_rows": [lambda: (good.copy(), X.copy(), y.copy(), n, mask.copy())],
        "stats_window": [lambda: (prefix.copy(), 2, 9, np.zeros(CL.N_STATS))],
        "majority_model": [lambda: (single.copy(), np.zeros(CL.N_MODEL))],
        "fit_lda": [lambda s=s, r=r: (s.copy(), np.zeros(CL.N_MODEL), r)
                    for s in (good, single, flat, prefix[9] - prefix[3]) for r in (0.0, 0.25)],
        "_lda_solve": [lambda: (good.copy(), np.zeros(CL.N_MODEL), 0.0)],
        "model_score": [lambda i=i: (model.copy(), X.copy(), i) for i in (0, 17, n - 1)],
        "predict_rows": [lambda: (model.copy(), X.copy(), n, np.zeros(n, dtype=bool))],
        "count_correct": [lambda: (model.copy(), X.copy(), y.copy(), n, mask.copy())],
        "concept_direction": [lambda c=c: (c, np.zeros(D)) for c in (0.0, 0.3, -2.0, 7.5)],
        "label_rows": [lambda c=c, k=k: (X.copy(), n, c, u.copy(), 0.2,
                                         np.zeros(n, dtype=np.int64), k, 1.5)
                       for c in (0.0, 0.35, 1.0) for k in (0.0, 0.5)],
        "clean_score": [lambda i=i, k=k: (X.copy(), i, np.array(CL.W_B), k, 1.0)
                        for i in (0, 3, n - 1) for k in (0.0, 2.0)],
    }


def test_every_njit_function_equals_its_py_func():
    """Each njit function of the module has parity cases, and each case matches bit for bit."""
    cases = _parity_cases()
    found = {name for name, obj in vars(CL).items()
             if isinstance(obj, numba.core.registry.CPUDispatcher)
             and obj.py_func.__module__ == CL.__name__}
    assert found == set(cases)
    for name, makers in cases.items():
        for make_args in makers:
            _parity(getattr(CL, name), make_args)


# =========================================================================== labels
def gaussian_rows(rng, n, mean=BASE, std=None):
    """Return feature-major rows x ~ N(mean, diag(std^2)), std = 1 by default."""
    std = np.ones(D) if std is None else np.asarray(std)
    return np.asarray(mean)[:, None] + std[:, None] * rng.standard_normal((D, n))


def labels(X, concept, u, eta):
    """Return the labels of :func:`label_rows`."""
    y = np.zeros(X.shape[1], dtype=np.int64)
    CL.label_rows(X, X.shape[1], concept, u, eta, y)
    return y


def test_label_noise_share():
    """The share of flipped labels over 1e5 rows is flip_prob within 4 standard errors."""
    rng = np.random.default_rng(23)
    n, eta = 100_000, 0.08
    X, u = gaussian_rows(rng, n), rng.random(n)
    flipped = labels(X, 0.7, u, eta) != labels(X, 0.7, u, 0.0)
    assert abs(flipped.mean() - eta) <= 4 * math.sqrt(eta * (1 - eta) / n)
    np.testing.assert_array_equal(flipped, u < eta)


def test_concept_rotates_the_labelling_direction():
    """Label by W_A at c = 0, W_B at c = 1/2, -W_A at c = 1; a zero score gives class 0."""
    wa, wb = np.array(CL.W_A), np.array(CL.W_B)
    assert wa @ wb == 0.0 and wa @ wa == 1.0 and wb @ wb == 1.0 and np.all(wa * wb != 0)
    rng = np.random.default_rng(29)
    n = 20_000
    X, u = gaussian_rows(rng, n), np.ones(n)
    for c, w in ((0.0, wa), (0.5, wb), (1.0, -wa)):
        score = w @ (X - BASE[:, None])
        clear = np.abs(score) > 1e-12
        np.testing.assert_array_equal(labels(X, c, u, 0.0)[clear], (score > 0)[clear])
    on_b = BASE[:, None] + wb[:, None] * np.array([[1.0, -1.0]])
    np.testing.assert_array_equal(labels(on_b, 0.0, np.ones(2), 0.0), [0, 0])
    np.testing.assert_array_equal(labels(on_b, 0.5, np.ones(2), 0.0), [1, 0])


def test_concept_is_the_share_of_flipped_clean_labels():
    """A concept change c flips the clean label of a share c of isotropic rows (c <= 1)."""
    rng = np.random.default_rng(41)
    n = 200_000
    X, u = gaussian_rows(rng, n), np.ones(n)
    for c in (0.05, 0.2, 0.4):
        flipped = (labels(X, c, u, 0.0) != labels(X, 0.0, u, 0.0)).mean()
        assert abs(flipped - c) <= 4 * math.sqrt(c * (1 - c) / n)


def test_curvature_bends_the_concept_beyond_its_support_only():
    """clean_score = w . z - kappa sum max(0, |z| - z0)^2: golden values, and no bend inside."""
    w = np.array(CL.W_A)
    x = (BASE + np.array([0.5, -1.0, 1.2, 0.0]))[:, None]
    assert CL.clean_score(x, 0, w, 3.0, 1.5) == pytest.approx(0.5 * 0.7)  # all inside z0
    far = (BASE + np.array([3.0, 0.0, -2.5, 0.0]))[:, None]
    assert CL.clean_score(far, 0, w, 0.0, 1.5) == pytest.approx(0.25)
    assert CL.clean_score(far, 0, w, 0.4, 1.5) == pytest.approx(0.25 - 0.4 * (1.5**2 + 1.0**2))
    rng = np.random.default_rng(43)
    n = 50_000
    X, u = gaussian_rows(rng, n), np.ones(n)
    y = np.zeros(n, dtype=np.int64)
    CL.label_rows(X, n, 0.0, u, 0.0, y, 0.5, 1.5)
    inside = (np.abs(X - BASE[:, None]) <= 1.5).all(axis=0)
    np.testing.assert_array_equal(y[inside], labels(X, 0.0, u, 0.0)[inside])
    assert (y[~inside] != labels(X, 0.0, u, 0.0)[~inside]).mean() > 0.03


# =========================================================================== accuracy
def rotate(w, angle):
    """Rotate ``w`` by ``angle`` in the plane of W_A, W_B (identity on its complement)."""
    a, b = np.array(CL.W_A), np.array(CL.W_B)
    rot = (np.eye(D) + (math.cos(angle) - 1.0) * (np.outer(a, a) + np.outer(b, b))
           + math.sin(angle) * (np.outer(b, a) - np.outer(a, b)))
    return rot @ w


@pytest.fixture(scope="module")
def fitted():
    """Fit a model on 2e4 rows from N(BASE_LOC, I) with c = 0.3 and eta = 0.08."""
    rng = np.random.default_rng(31)
    n = 20_000
    X = gaussian_rows(rng, n)
    y = labels(X, 0.3, rng.random(n), 0.08)
    stats = np.zeros(CL.N_STATS)
    CL.stats_add_rows(stats, X, y, n, np.ones(n, dtype=bool))
    status, model = fit(stats)
    assert status == CL.FIT_OK
    return model


@pytest.mark.parametrize("case", ["fitted", "rotated", "shifted_inputs", "majority"])
def test_measured_accuracy_matches_analytic(fitted, case):
    """Accuracy on 2e5 fresh rows is the analytic expectation within 4 standard errors."""
    model = fitted.copy()
    mean, std = BASE.copy(), np.ones(D)
    if case == "rotated":
        model[:D] = rotate(model[:D], 0.5)
    elif case == "shifted_inputs":
        mean += np.array([0.8, -0.5, 0.6, 0.0])
        std = np.array([1.0, 1.5, 0.7, 1.2])
    elif case == "majority":
        model[:] = [0.0, 0.0, 0.0, 0.0, 0.3, 0.0]
    rng = np.random.default_rng(37)
    n = 200_000
    X = gaussian_rows(rng, n, mean, std)
    y = labels(X, 0.3, rng.random(n), 0.08)
    measured = CL.count_correct(model, X, y, n, np.ones(n, dtype=bool)) / n
    expected = CL.analytic_accuracy(model[:D], model[CL.MD_B], 0.3, 0.08, mean, std)
    assert abs(measured - expected) <= 4 * math.sqrt(expected * (1 - expected) / n)
    if case == "fitted":
        assert expected > 0.9


def test_analytic_accuracy_closed_forms():
    """Zero-mean scores: Sheppard's 1/2 + arcsin(r)/pi; w = 0: the constant class."""
    eta = 0.1
    for angle in (0.0, 0.5, 1.3, math.pi / 2, 2.5):
        w = 3.0 * rotate(np.array(CL.W_A), math.pi * 0.2 + angle)  # concept 0.2, then `angle`
        b = -w @ BASE
        agree = 0.5 + math.asin(math.cos(angle)) / math.pi
        expected = (1 - eta) * agree + eta * (1 - agree)
        got = CL.analytic_accuracy(w, b, 0.2, eta, BASE, np.ones(D))
        assert abs(got - expected) <= 1e-9
    assert abs(CL.analytic_accuracy(np.zeros(D), 1.0, 0.2, 0.0, BASE, np.ones(D)) - 0.5) < 1e-12
