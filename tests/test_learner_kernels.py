"""The learner kernels draw and decide exactly as the NumPy reference they replace.

Each kernel is compared with a plain NumPy implementation of the same rule (the learners'
code before the kernels existed) on the same seeded ``numpy.random.Generator``: same
choices and the generator left in the same state (its next draw is equal). Hypothesis
generates posteriors, mean rewards, counts, masks and observations.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from controllers import learner_kernels as LK
from controllers.envelope import NONE, Observation, pi_det

N_ACT = st.sampled_from([4, 8])


def _masks(n):
    return arrays(np.bool_, n).filter(lambda m: m.any())


def _ts_reference(rng, a, b, allowed):
    theta = rng.beta(a, b)
    return int(np.argmax(np.where(allowed, theta, -np.inf)))


def _eg_reference(rng, q, n, allowed, eps, schedule, c, d):
    idx = np.flatnonzero(allowed)
    e = eps if schedule == 0 else min(eps, c * idx.size / (d ** 2 * (1.0 + float(n.sum()))))
    if rng.random() < e:
        return int(rng.choice(idx))
    qq = q[idx]
    return int(rng.choice(idx[qq == qq.max()]))


@settings(max_examples=200, deadline=None)
@given(n=N_ACT, seed=st.integers(0, 2**32 - 1), data=st.data())
def test_ts_choose_equals_numpy(n, seed, data):
    """Beta draws over every action, first allowed argmax; generator state in step."""
    pos = st.floats(0.05, 500.0)
    a = data.draw(arrays(np.float64, n, elements=pos))
    b = data.draw(arrays(np.float64, n, elements=pos))
    allowed = data.draw(_masks(n))
    r1, r2 = np.random.default_rng(seed), np.random.default_rng(seed)
    assert LK.ts_choose(r1, a, b, allowed) == _ts_reference(r2, a, b, allowed)
    assert r1.random() == r2.random()


@settings(max_examples=300, deadline=None)
@given(n=N_ACT, seed=st.integers(0, 2**32 - 1), schedule=st.sampled_from([0, 1]),
       eps=st.sampled_from([0.0, 0.1, 0.5, 1.0]), data=st.data())
def test_eg_choose_equals_numpy(n, seed, schedule, eps, data):
    """Epsilon-greedy with ties (rounded means) and both schedules, as NumPy's choice."""
    q = data.draw(arrays(np.float64, n, elements=st.sampled_from([-1.0, 0.0, 2.5, 10.0])))
    cnt = data.draw(arrays(np.float64, n, elements=st.integers(0, 50).map(float)))
    allowed = data.draw(_masks(n))
    tab = np.zeros((2, 3, n))
    tab[0, 1], tab[1, 1] = q, cnt
    r1, r2 = np.random.default_rng(seed), np.random.default_rng(seed)
    got = LK.eg_choose(r1, tab, 1, allowed, eps, schedule, 6.0, 0.5)
    assert got == _eg_reference(r2, q, cnt, allowed, eps, schedule, 6.0, 0.5)
    assert allowed[got]
    assert r1.random() == r2.random()


def test_updates_golden():
    """Incremental mean and Bernoulli-trick counts on fixed inputs."""
    tab = np.zeros((2, 2, 4))
    for r in (3.0, -1.0, 4.0):
        LK.eg_update(tab, 1, 2, r)
    assert tab[1, 1, 2] == 3.0 and tab[0, 1, 2] == 2.0 and tab[:, 0].sum() == 0.0
    ts = np.ones((2, 2, 4))
    rng = np.random.default_rng(0)
    LK.ts_update(rng, ts, 0, 3, 1.0)  # r01 = 1: always a success
    LK.ts_update(rng, ts, 0, 3, 0.0)  # r01 = 0: always a failure
    assert ts[0, 0, 3] == 2.0 and ts[1, 0, 3] == 2.0 and ts.sum() == 16.0 + 2.0
    assert LK.reward_to_unit(-1.0, 10.0) == 0.0 and LK.reward_to_unit(10.0, 10.0) == 1.0
    assert LK.reward_to_unit(-5.0, 10.0) == 0.0 and LK.reward_to_unit(4.5, 10.0) == 0.5
    assert LK.eg_epsilon(np.array([10.0, 5.0, 0.0, 4.0]), 4, 0.1, 1, 6.0, 0.5) == 0.1
    assert LK.eg_epsilon(np.array([4000.0, 0.0, 0.0, 0.0]), 4, 0.1, 1, 6.0, 0.5) == (
        6.0 * 4 / (0.25 * 4001.0))
    assert LK.eg_epsilon(np.array([400.0, 0.0, 0.0, 0.0]), 4, 0.1, 0, 6.0, 0.5) == 0.1


_obs = st.tuples(*[st.floats(0.0, 1.0)] * 3, st.floats(0.0, 2000.0), st.floats(0.0, 1.0),
                 st.floats(0.0, 3.0), st.floats(0.0, 1e4), st.floats(0.0, 100.0),
                 st.floats(0.0, 1.0), st.sampled_from([0.0, 0.01, 0.03, 0.5]))


@settings(max_examples=300, deadline=None)
@given(obs=_obs, d_crit=st.sampled_from([0.02, 0.05, 0.2]))
def test_context_id_equals_its_definition(obs, d_crit):
    """Region (pi_det's action, 0 if none) x 4 + alarm kind, as the learners define it."""
    x = Observation(*obs, d_critical=d_crit)
    env = pi_det(x)
    region = 0 if env == NONE else env
    if x.validation_fail > 0.02:
        kind = 1
    elif x.p99_ms > 300.0:
        kind = 2
    elif x.error_rate > 0.01:
        kind = 3
    else:
        kind = 0
    got = LK.context_id(x.vector, d_crit)
    assert got == region * 4 + kind and 0 <= got < LK.N_CONTEXTS
    assert got == LK.context_id.py_func(x.vector, d_crit)


@pytest.mark.parametrize("name", ["ts_choose", "eg_choose"])
def test_py_func_parity(name):
    """Interpreted kernels draw the same as compiled ones."""
    n = 4
    allowed = np.array([True, False, True, True])
    tab = np.ones((2, 2, n))
    tab[0, 1] = [0.5, 3.0, 3.0, 1.0]
    for seed in range(50):
        r1, r2 = np.random.default_rng(seed), np.random.default_rng(seed)
        fn = getattr(LK, name)
        if name == "ts_choose":
            args = (tab[0, 1], tab[1, 1], allowed)
        else:
            args = (tab, 1, allowed, 0.3, 0, 6.0, 0.5)
        assert fn(r1, *args) == fn.py_func(r2, *args)
        assert r1.random() == r2.random()
