"""The linear-bandit kernels equal plain NumPy references and draw as NumPy does.

:mod:`controllers.linear_kernels` is the one implementation of LinUCB, linear Thompson
sampling and conservative UCB (the Python classes and compiled callers share it). Each
kernel is compared here with a plain NumPy statement of the same rule: the closed-form ridge
regression (``np.linalg.cholesky``, ``np.linalg.solve``), the feature map as
``controllers.learners.linear_features`` computed it before the kernels existed, NumPy's own
draws (``rng.standard_normal(n_arms)``, ``rng.choice``) on a generator seeded alike (same
choice, generator left in the same state), and the CLUCB condition of
:mod:`controllers.conservative`'s docstring evaluated directly. Interpreted kernels
(``.py_func``) give the same floats as compiled ones.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from helpers import record_cucb_round
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from controllers import linear_kernels as LinK
from controllers.base import Transition
from controllers.conservative import ConservativeUCBController
from controllers.envelope import Observation
from controllers.linear import (
    FEATURE_CAP,
    N_LINEAR_FEATURES,
    LinearThompson,
    LinUCB,
    RidgeArms,
    argmax_random_ties,
    linear_features,
)
from controllers.lints import LinTSController
from controllers.linucb import LinUCBController
from simulator import layout as L
from simulator.layout import NO_OP

D = N_LINEAR_FEATURES
EPS = np.finfo(np.float64).eps


# ============================================================== NumPy references
def _features_reference(v: np.ndarray) -> np.ndarray:
    """``controllers.learners.linear_features`` as it was in NumPy (on the obs vector)."""
    raw = np.array([
        1.0, v[0], v[1], v[2],
        np.log1p(max(v[3], 0.0) / 300.0),
        v[4],
        np.log1p(max(v[5], 0.0)),
        np.log1p(max(v[6], 0.0) / 100.0),
        np.log1p(max(v[7], 0.0)),
        v[8], v[9],
    ], dtype=np.float64)
    return np.clip(np.nan_to_num(raw, nan=0.0, posinf=FEATURE_CAP), 0.0, FEATURE_CAP)


def _argmax_reference(scores, allowed, rng) -> int:
    """Return the former Python ``argmax_random_ties``'s choice (``rng.choice`` on ties)."""
    idx = np.flatnonzero(allowed)
    v = scores[idx]
    best = idx[v == v.max()]
    return int(best[0]) if best.shape[0] == 1 else int(rng.choice(best))


def _closed_form(l2, xs, rs):
    """Return A = l2 I + X^T X and theta = A^-1 X^T r of one arm (NumPy)."""
    A = l2 * np.eye(D) + xs.T @ xs
    return A, np.linalg.solve(A, xs.T @ rs)


def _mean_width_reference(l2, xs, rs, q):
    """Return theta . q and sqrt(q^T A^-1 q) of one arm from its data (NumPy)."""
    A, theta = _closed_form(l2, xs, rs)
    return float(q @ theta), float(np.sqrt(q @ np.linalg.solve(A, q)))


def _tol(A) -> float:
    """1e-10, widened by the rounding a solve with A's condition number allows."""
    return 1e-10 + 100.0 * EPS * np.linalg.cond(A)


def _assert_mean_width(mean, width, l2, xs, rs, q):
    """Assert one arm's mean and width equal the closed form within :func:`_tol`."""
    A, theta = _closed_form(l2, xs, rs)
    tol = _tol(A)
    m_ref, w_ref = _mean_width_reference(l2, xs, rs, q)
    assert abs(mean - m_ref) <= tol * np.linalg.norm(q) * max(1.0, np.linalg.norm(theta))
    assert width**2 == pytest.approx(w_ref**2, rel=tol)


def _bound_tol(l2, arms, xs, rs, arm, x, ucb_alpha) -> float:
    """Tolerance of one LCB/UCB: :func:`_assert_mean_width`'s on mean and width."""
    if arm == NO_OP:
        return 0.0
    sel = arms == arm
    A, theta = _closed_form(l2, xs[sel], rs[sel])
    _, w = _mean_width_reference(l2, xs[sel], rs[sel], x)
    return _tol(A) * (np.linalg.norm(x) * max(1.0, np.linalg.norm(theta)) + ucb_alpha * w)


# ============================================================== strategies
_ctx_scale = st.sampled_from([1e-3, 1.0, 10.0, 1e3])


@st.composite
def _ridge_data(draw, n_arms=None):
    """Draw (n_arms, l2, arms, xs, rs): up to 30 observations, some arms left empty."""
    n_arms = n_arms or draw(st.sampled_from([4, 8]))
    n = draw(st.integers(0, 30))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    l2 = draw(st.sampled_from([0.1, 1.0, 4.0]))
    xs = rng.uniform(-1.0, 1.0, (n, D)) * draw(_ctx_scale)
    if n and draw(st.booleans()):
        xs[:, 0] = 1.0  # a bias column, as linear_features has
    arms = rng.integers(0, n_arms - 1, n)  # the last arm never observed
    return n_arms, l2, arms, xs, rng.random(n)


def _fit(n_arms, l2, arms, xs, rs, cls=RidgeArms, **kw):
    model = cls(n_arms, D, l2_lambda=l2, **kw) if cls is RidgeArms else cls(n_arms, D, **kw)
    for a, x, r in zip(arms, xs, rs, strict=True):
        model.update(int(a), x, float(r))
    return model


_obs_entry = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -0.0, -5.0, 1e-300, 1e8, 1e300, math.inf, -math.inf, math.nan]),
    st.floats(0.0, 1.0), st.floats(0.0, 1e5),
)


# ============================================================== features
@settings(max_examples=400, deadline=None)
@given(arrays(np.float64, 10, elements=_obs_entry))
def test_linear_features_equal_the_numpy_definition(v):
    """Bias, shares, log1p scalings, NaN -> 0, +inf -> cap, clip: as the NumPy original.

    math.log1p (the kernel's) and np.log1p may differ in the last bit; compiled and
    interpreted kernels and the Observation wrapper agree exactly.
    """
    got = LinK.linear_features(v, np.empty(D))
    np.testing.assert_array_max_ulp(got, _features_reference(v), maxulp=1)
    assert np.array_equal(got, LinK.linear_features.py_func(v, np.empty(D)))
    assert got[0] == 1.0 and np.all((got >= 0.0) & (got <= FEATURE_CAP))
    x = Observation(*v, d_critical=0.05)
    assert np.array_equal(linear_features(x), got)


def test_linear_features_golden_extremes():
    """Every entry NaN, +inf, -inf, negative or 1e300: 0 / cap / 0 / 0 / cap (bias 1)."""
    cases = {math.nan: 0.0, math.inf: FEATURE_CAP, -math.inf: 0.0, -5.0: 0.0,
             1e300: FEATURE_CAP}
    for value, expected in cases.items():
        got = LinK.linear_features(np.full(10, value), np.empty(D))
        assert got[0] == 1.0 and np.all(got[1:] == expected), (value, got)
    got = LinK.linear_features(np.array([0.3, 0.1, 0.02, 300.0, 0.01, 1.0, 100.0,
                                         math.e - 1.0, 0.01, 0.05]), np.empty(D))
    np.testing.assert_allclose(got, [1.0, 0.3, 0.1, 0.02, math.log(2.0), 0.01, math.log(2.0),
                                     math.log(2.0), 1.0, 0.01, 0.05], rtol=1e-15)


# ============================================================== ridge models
@settings(max_examples=150, deadline=None)
@given(_ridge_data())
def test_ridge_kernels_equal_the_closed_form(data):
    """A, b exactly; chol, theta, mean and width as NumPy's cholesky/solve (1e-9)."""
    n_arms, l2, arms, xs, rs = data
    model = _fit(n_arms, l2, arms, xs, rs)
    q = np.random.default_rng(len(arms)).uniform(-1.0, 1.0, D)
    theta = model.theta()
    mean, width = model.predict(q)
    for a in range(n_arms):
        sel = arms == a
        A, th = _closed_form(l2, xs[sel], rs[sel])
        A_seq = l2 * np.eye(D)
        b_seq = np.zeros(D)
        for x, r in zip(xs[sel], rs[sel], strict=True):
            A_seq += np.outer(x, x)
            b_seq += r * x
        assert np.array_equal(model.A[a], A_seq) and np.array_equal(model.b[a], b_seq)
        np.testing.assert_allclose(model.A[a], A, rtol=1e-12, atol=1e-12 * np.abs(A).max())
        # Tolerances: 1e-10, widened by the rounding a solve with A's condition number allows.
        tol = _tol(A)
        scale = np.sqrt(np.abs(A).max())
        np.testing.assert_allclose(model.chol[a], np.linalg.cholesky(A), rtol=0,
                                   atol=(1e-10 + 100.0 * EPS * np.sqrt(np.linalg.cond(A)))
                                   * scale)
        assert np.all(np.triu(model.chol[a], 1) == 0.0)
        assert np.linalg.norm(theta[a] - th) <= tol * max(1.0, np.linalg.norm(th))
        _assert_mean_width(mean[a], width[a], l2, xs[sel], rs[sel], q)
        assert (mean[a], width[a]) == LinK.ridge_predict(model.chol, model.b, a, q)
    assert model.counts.tolist() == np.bincount(arms, minlength=n_arms).tolist()
    assert model.counts[-1] == 0


@settings(max_examples=60, deadline=None)
@given(_ridge_data(n_arms=4))
def test_compiled_and_interpreted_ridge_kernels_agree_bit_for_bit(data):
    """ridge_update / ridge_predict / ridge_theta: .py_func gives the same floats."""
    n_arms, l2, arms, xs, rs = data
    comp = [np.empty((n_arms, D, D)), np.empty((n_arms, D)), np.empty((n_arms, D, D)),
            np.empty(n_arms, dtype=np.int64)]
    interp = [a.copy() for a in comp]
    LinK.ridge_init(*comp, l2)
    LinK.ridge_init.py_func(*interp, l2)
    for a, x, r in zip(arms, xs, rs, strict=True):
        LinK.ridge_update(*comp, int(a), x, float(r))
        LinK.ridge_update.py_func(*interp, int(a), x, float(r))
    for u, w in zip(comp, interp, strict=True):
        assert np.array_equal(u, w)
    q = np.linspace(-1.0, 1.0, D)
    for a in range(n_arms):
        assert (LinK.ridge_predict(comp[2], comp[1], a, q)
                == LinK.ridge_predict.py_func(comp[2], comp[1], a, q))
        t1, t2 = np.empty(D), np.empty(D)
        LinK.ridge_theta(comp[2], comp[1], a, t1)
        LinK.ridge_theta.py_func(comp[2], comp[1], a, t2)
        assert np.array_equal(t1, t2)


def test_cholesky_update_keeps_x_and_solves_triangular_systems():
    """ridge_update leaves x alone; forward/back substitution invert L and L^T."""
    rng = np.random.default_rng(1)
    M = rng.standard_normal((D, D))
    A = M @ M.T + np.eye(D)
    chol = np.linalg.cholesky(A)
    rhs = rng.standard_normal(D)
    out = np.empty(D)
    LinK.forward_substitution(chol, rhs, out)
    np.testing.assert_allclose(out, np.linalg.solve(chol, rhs), rtol=1e-12)
    LinK.back_substitution(chol, rhs, out)
    np.testing.assert_allclose(out, np.linalg.solve(chol.T, rhs), rtol=1e-12)
    x = rng.standard_normal(D)
    x0 = x.copy()
    LinK.cholesky_rank_one_update(chol, x)
    np.testing.assert_allclose(chol @ chol.T, A + np.outer(x0, x0), rtol=1e-12, atol=1e-12)
    ridge = RidgeArms(2, D)
    x1 = x0.copy()
    ridge.update(1, x1, 0.5)
    assert np.array_equal(x1, x0) and ridge.counts.tolist() == [0, 1]
    np.testing.assert_allclose(ridge.chol[1] @ ridge.chol[1].T, np.eye(D) + np.outer(x0, x0),
                               rtol=1e-12, atol=1e-12)


# ============================================================== scores and draws
_allowed = st.integers(4, 8).flatmap(lambda n: arrays(np.bool_, n).filter(lambda m: m.any()))


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 8),
       arrays(np.float64, 8, elements=st.sampled_from([-1.0, 0.0, 0.5, 2.0])),
       arrays(np.bool_, 8))
def test_argmax_random_ties_draws_as_numpy_choice(seed, n, scores, mask):
    """Same index and generator state as ``rng.choice`` among the tied best (often tied)."""
    scores, mask = scores[:n], mask[:n]
    mask[seed % n] = True
    r1, r2, r3 = (np.random.default_rng(seed) for _ in range(3))
    got = LinK.argmax_random_ties(scores, mask, r1)
    assert got == _argmax_reference(scores, mask, r2)
    assert got == LinK.argmax_random_ties.py_func(scores, mask, r3)
    assert mask[got] and scores[got] == scores[mask].max()
    assert r1.random() == r2.random() == r3.random()
    assert argmax_random_ties(scores, mask, np.random.default_rng(seed)) == got


def test_argmax_random_ties_edge_cases():
    """NaN never wins; all-NaN gives the first allowed index; nothing allowed gives -1."""
    rng = np.random.default_rng(0)
    state = rng.bit_generator.state
    s = np.array([np.nan, 1.0, np.nan, 0.5])
    assert LinK.argmax_random_ties(s, np.ones(4, dtype=np.bool_), rng) == 1
    assert LinK.argmax_random_ties(s, np.array([True, False, True, False]), rng) == 0
    assert LinK.argmax_random_ties(s, np.zeros(4, dtype=np.bool_), rng) == -1
    assert rng.bit_generator.state == state  # no draw without a tie
    with pytest.raises(ValueError, match="allowed must be a mask"):
        argmax_random_ties(s, np.zeros(4, dtype=bool), rng)


@settings(max_examples=150, deadline=None)
@given(_ridge_data(), st.integers(0, 2**32 - 1), st.sampled_from([0.0, 0.5, 2.0]),
       st.sampled_from([0.0, 1 / 11, 0.5]), st.data())
def test_linucb_choice_equals_numpy(data, seed, ucb_alpha, no_op_value, draw):
    """LinUCB scores = closed-form mean + alpha width; choice and draws as NumPy's.

    With ucb_alpha = 0 and empty arms many scores tie at 0 (= no_op's value 0), so the
    tie-break draw is exercised.
    """
    n_arms, l2, arms, xs, rs = data
    model = _fit(n_arms, l2, arms, xs, rs, LinUCB, ucb_alpha=ucb_alpha, l2_lambda=l2)
    allowed = draw.draw(arrays(np.bool_, n_arms).filter(lambda m: m.any()))
    q = np.abs(np.random.default_rng(seed).uniform(-1.0, 1.0, D))
    sc = model.scores(q)
    mean, width = model.predict(q)
    assert np.array_equal(sc, mean + ucb_alpha * width)
    for a in range(n_arms):
        sel = arms == a
        _assert_mean_width(mean[a], width[a], l2, xs[sel], rs[sel], q)
    ref = sc.copy()
    ref[NO_OP] = no_op_value
    r1, r2, r3 = (np.random.default_rng(seed) for _ in range(3))
    got = model.choose(q, allowed, no_op_value, r1)
    assert got == _argmax_reference(ref, allowed, r2)
    assert got == LinK.linucb_choose.py_func(r3, model.chol, model.b, q, ucb_alpha,
                                             no_op_value, allowed)
    assert r1.random() == r2.random() == r3.random()


@settings(max_examples=150, deadline=None)
@given(_ridge_data(), st.integers(0, 2**32 - 1), st.sampled_from([0.0, 0.25, 1.0]),
       st.data())
def test_lints_draws_equal_numpy(data, seed, v, draw):
    """Linear TS: mean + v width z with z = rng.standard_normal(n_arms); same choice/state."""
    n_arms, l2, arms, xs, rs = data
    model = _fit(n_arms, l2, arms, xs, rs, LinearThompson, v=v, l2_lambda=l2,
                 rng=np.random.default_rng(seed))
    allowed = draw.draw(arrays(np.bool_, n_arms).filter(lambda m: m.any()))
    q = np.abs(np.random.default_rng(seed + 1).uniform(-1.0, 1.0, D))
    mean, width = model.predict(q)
    r2 = np.random.default_rng(seed)
    expected = mean + v * width * r2.standard_normal(n_arms)
    assert np.array_equal(model.scores(q), expected)  # model.rng was seeded alike
    assert model.rng.random() == r2.random()
    for a in range(n_arms):
        sel = arms == a
        _assert_mean_width(mean[a], width[a], l2, xs[sel], rs[sel], q)
    r1, r2, r3 = (np.random.default_rng(seed) for _ in range(3))
    ref = mean + v * width * r2.standard_normal(n_arms)
    ref[NO_OP] = 0.0
    got = model.choose(q, allowed, 0.0, r1)
    assert got == _argmax_reference(ref, allowed, r2)
    assert got == LinK.lints_choose.py_func(r3, model.chol, model.b, q, v, 0.0, allowed)
    assert r1.random() == r2.random() == r3.random()


@pytest.mark.parametrize("cls", [LinUCBController, LinTSController])
def test_controllers_decide_with_the_kernels(cls):
    """At a decision epoch ``act`` plays the kernel's choice on the observation's features."""
    ctrl = cls(seed=4, n_actions=8, cooldown=0)
    ctrl.reset(0)
    data = np.random.default_rng(2)
    for _ in range(40):
        a = int(data.integers(1, 8))
        ctrl.learner.update(a, np.abs(data.uniform(0.0, 1.0, D)), float(data.random()))
    for minute in range(20):  # cooldown 0: every minute is a decision epoch
        info = {"minute": 3 * minute, "n_actions": 8, "ks_n": 300, "ks_m": 1000}
        obs = np.abs(data.uniform(0.0, 1.0, 10))
        obs[0] = 0.5  # the KS test rejects: an alarm, a decision epoch
        x = linear_features(Observation.from_env(obs, info))
        twin = np.random.default_rng()
        twin.bit_generator.state = ctrl.rng.bit_generator.state
        got = ctrl.act(obs, info)
        L_ = ctrl.learner
        allowed = np.ones(8, dtype=bool)
        value = ctrl.params.no_op_value
        if cls is LinUCBController:
            exp = LinK.linucb_choose(twin, L_.chol, L_.b, x, ctrl.ucb_alpha, value, allowed)
        else:
            exp = LinK.lints_choose(twin, L_.chol, L_.b, x, ctrl.v, value, allowed)
        assert got == exp
        assert ctrl.rng.random() == twin.random()


# ============================================================== conservative UCB
def _bound_reference(l2, arms, xs, rs, arm, x, ucb_alpha, no_op_value, sign):
    """LCB (sign -1) or UCB (+1) of ``arm`` at ``x`` from its data (NumPy closed form)."""
    if arm == NO_OP:
        return no_op_value
    sel = arms == arm
    m, w = _mean_width_reference(l2, xs[sel], rs[sel], x)
    return float(np.clip(m + sign * ucb_alpha * w, 0.0, 1.0))


@st.composite
def _rounds(draw):
    """Draw recorded rounds: (played, base, reward or NaN), settled and unsettled mixed."""
    n = draw(st.integers(0, 25))
    arm = st.integers(0, 3)
    rows = []
    for _ in range(n):
        p = draw(arm)
        b = p if draw(st.booleans()) else draw(arm)
        r = draw(st.one_of(st.just(math.nan), st.floats(0.0, 1.0)))
        rows.append((p, b, r))
    return rows


@settings(max_examples=200, deadline=None)
@given(_ridge_data(n_arms=4), _rounds(), st.integers(0, 2**32 - 1),
       st.sampled_from([0.0, 0.1, 0.5, 1.0]), st.sampled_from([0.0, 0.5, 1.0]),
       st.integers(0, 3), st.integers(0, 3))
def test_conservative_margin_is_the_clucb_condition(data, rounds, seed, alpha_c, ucb_alpha,
                                                    cand, base):
    """The margin is sum_B r + sum_S LCB - (1 - alpha_c)(sum_B r + sum_S UCB) (NumPy).

    B: rounds with played == base and a known reward; S: every other round and this one
    (LCB of the played action, UCB of the baseline's), bounds clipped to [0, 1] with the
    current closed-form ridge models; no_op's bounds are its known value.
    """
    n_arms, l2, arms, xs, rs = data
    no_op_value = 1.0 / 11.0
    ctrl = ConservativeUCBController(seed=0, alpha_c=alpha_c, ucb_alpha=ucb_alpha,
                                     l2_lambda=l2)
    for a, x, r in zip(arms, xs, rs, strict=True):
        ctrl.learner.update(int(a), x, float(r))
    rng = np.random.default_rng(seed)
    rxs = np.abs(rng.uniform(0.0, 2.0, (len(rounds) + 1, D)))
    for x, (p, b, r) in zip(rxs, rounds, strict=False):  # rxs[-1]: this round
        k = record_cucb_round(ctrl, x, p, b)
        ctrl.round_reward[k] = r
    ctx = rxs[-1]
    settled = sum(r for p, b, r in rounds if p == b and not math.isnan(r))
    rest = [(p, b, x) for (p, b, r), x in zip(rounds, rxs, strict=False)
            if not (p == b and not math.isnan(r))] + [(cand, base, ctx)]
    lo = sum(_bound_reference(l2, arms, xs, rs, p, x, ucb_alpha, no_op_value, -1.0)
             for p, _, x in rest)
    hi = sum(_bound_reference(l2, arms, xs, rs, b, x, ucb_alpha, no_op_value, 1.0)
             for _, b, x in rest)
    expected = (settled + lo) - (1.0 - alpha_c) * (settled + hi)
    got = ctrl.margin(ctx, cand, base)
    tol = 1e-12 * (1 + len(rounds)) + sum(
        _bound_tol(l2, arms, xs, rs, p, x, ucb_alpha)
        + _bound_tol(l2, arms, xs, rs, b, x, ucb_alpha) for p, b, x in rest)
    assert abs(got - expected) <= tol
    L_ = ctrl.learner
    st_ = ctrl.state
    args = (L_.chol, L_.b, ucb_alpha, no_op_value, alpha_c, st_.rx, st_.rplayed,
            st_.rbase, st_.rreward, ctrl.n_rounds, ctx, cand, base)
    assert got == LinK.cucb_margin.py_func(*args)
    lo_b, hi_b = ctrl.bounds(np.array([ctx, ctx]), np.array([cand, base]))
    assert abs(lo_b[0] - _bound_reference(l2, arms, xs, rs, cand, ctx, ucb_alpha, no_op_value,
                                          -1.0)) <= 1e-12 + _bound_tol(l2, arms, xs, rs,
                                                                       cand, ctx, ucb_alpha)
    assert abs(hi_b[1] - _bound_reference(l2, arms, xs, rs, base, ctx, ucb_alpha, no_op_value,
                                          1.0)) <= 1e-12 + _bound_tol(l2, arms, xs, rs,
                                                                      base, ctx, ucb_alpha)


@settings(max_examples=150, deadline=None)
@given(_ridge_data(n_arms=4), _rounds(), st.integers(0, 2**32 - 1),
       st.sampled_from([0.0, 0.1, 1.0]), st.integers(0, 3), st.data())
def test_conservative_choice_follows_the_margin(data, rounds, seed, alpha_c, base, draw):
    """cucb_choose plays LinUCB's choice if it is the baseline's or the margin is >= 0.

    Else the baseline (no_op if the baseline is not allowed); draws as linucb_choose.
    """
    n_arms, l2, arms, xs, rs = data
    ctrl = ConservativeUCBController(seed=0, alpha_c=alpha_c, ucb_alpha=0.5, l2_lambda=l2)
    for a, x, r in zip(arms, xs, rs, strict=True):
        ctrl.learner.update(int(a), x, float(r))
    rng = np.random.default_rng(seed)
    for (p, b, r) in rounds:
        k = record_cucb_round(ctrl, np.abs(rng.uniform(0.0, 1.0, D)), p, b)
        ctrl.round_reward[k] = r
    allowed = draw.draw(arrays(np.bool_, 4).filter(lambda m: m.any()))
    ctx = np.abs(rng.uniform(0.0, 1.0, D))
    L_ = ctrl.learner
    r1, r2, r3 = (np.random.default_rng(seed) for _ in range(3))
    st_ = ctrl.state
    args = (L_.chol, L_.b, ctx, base, allowed, 0.5, ctrl.no_op_value, alpha_c, st_.rx,
            st_.rplayed, st_.rbase, st_.rreward, ctrl.n_rounds)
    play, b_eff, cand, margin = LinK.cucb_choose(r1, *args)
    assert (play, b_eff, cand) == LinK.cucb_choose.py_func(r3, *args)[:3]
    assert cand == LinK.linucb_choose(r2, L_.chol, L_.b, ctx, 0.5, ctrl.no_op_value, allowed)
    assert r1.random() == r2.random() == r3.random()
    assert b_eff == (base if allowed[base] else NO_OP)
    if cand == b_eff:
        assert play == cand and math.isnan(margin)
    else:
        assert margin == ctrl.margin(ctx, cand, b_eff)
        assert play == (cand if margin >= 0.0 else b_eff)


def test_conservative_rounds_grow_record_and_settle():
    """Rounds survive growth; no_op/no_op rounds are settled at once.

    Feedback settles the others and updates the played action's model (not no_op's).
    """
    ctrl = ConservativeUCBController(seed=0)
    rng = np.random.default_rng(0)
    rows = [(int(rng.integers(0, 4)), int(rng.integers(0, 4))) for _ in range(150)]
    rows[3] = (NO_OP, NO_OP)
    xs = rng.random((150, D))
    idx = [record_cucb_round(ctrl, x, p, b) for x, (p, b) in zip(xs, rows, strict=True)]
    assert idx == list(range(150))
    assert ctrl.n_rounds == 150 and ctrl.state.rx.shape == (256, D)  # 64, doubled twice
    pending = [bool(np.isnan(r)) for r in ctrl.round_reward]
    assert np.array_equal(ctrl.round_x, xs)
    assert ctrl.round_played.tolist() == [p for p, _ in rows]
    assert ctrl.round_base.tolist() == [b for _, b in rows]
    assert pending == [not (p == b == NO_OP) for p, b in rows]
    assert pending[3] is False
    assert np.all(ctrl.round_reward[~np.array(pending)] == ctrl.params.no_op_value)
    assert ctrl.n_explored == sum(p != b for p, b in rows)
    # feedback through the controller's update settles the round of its decision
    ctrl.reset(0)
    obs = np.array([0.3, 0, 0, 100.0, 0, 0.5, 50.0, 1.0, 0, 0])  # an alarm: rules fall back
    info = {"minute": 5, "ks_n": 300, "ks_m": 1000, "n_actions": 4}
    ctx = linear_features(Observation.from_env(obs, info))
    a = ctrl.act(obs, info)
    ctrl.update(Transition(obs, a, 0.0, obs, False, False, {}))  # records round 150
    assert ctrl.n_rounds == 151 and np.isnan(ctrl.round_reward[150])
    fb = {"decision_minute": 6, "action": L.ACTION_NAMES[a], "paper_cost": 0.5,
          "success": True}
    ctrl.update(Transition(obs, 0, 0.0, obs, False, False, {"feedback": [fb]}))
    assert ctrl.round_reward[150] == (9.5 + 1.0) / 11.0
    assert ctrl.learner.counts.sum() == (a != NO_OP)
    if a != NO_OP:
        np.testing.assert_array_equal(ctrl.learner.b[a], (9.5 + 1.0) / 11.0 * ctx)


def test_bad_kernel_inputs_raise_value_errors():
    """Arms out of range and malformed contexts are refused in Python, not by the kernels."""
    ridge = LinUCB(4, D)
    with pytest.raises(ValueError, match="arm must be an integer"):
        ridge.update(4, np.ones(D), 1.0)
    with pytest.raises(ValueError, match="arm must be an integer"):
        ridge.predict_arm(-1, np.ones(D))
    with pytest.raises(ValueError, match="contexts must be finite"):
        ridge.update(1, np.ones((2, D)), 1.0)
    with pytest.raises(ValueError, match="allowed must be a mask"):
        ridge.choose(np.ones(D), np.ones(3, dtype=bool), 0.0, np.random.default_rng())
    ctrl = ConservativeUCBController()
    with pytest.raises(ValueError, match="one arm per context"):
        ctrl.bounds(np.ones((2, D)), [1])
