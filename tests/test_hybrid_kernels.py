"""The shield and hybrid kernels equal the rules they implement, written out in NumPy.

The references below are the shield's and the hybrid's Python code before the kernels
(stated rule by rule in controllers/shield.py and controllers/hybrid.py). Hypothesis draws
observations, shield memories, public facts, posteriors and switches; choices, masks and
the generator's state must agree exactly, and each kernel equals its py_func.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from controllers import hybrid_kernels as HK
from controllers import learner_kernels as LK
from controllers.envelope import NONE, Observation, pi_det
from controllers.hybrid import HybridController, HybridParams
from controllers.rules import expert_rules
from simulator.layout import FALLBACK, NO_OP, RETRAIN, ROLLBACK, SCALE_OUT
from simulator.records import FEEDBACK, info_record, new_records

_obs = st.tuples(*[st.sampled_from([0.0, 0.04, 0.12, 0.2, 0.6])] * 3,
                 st.sampled_from([50.0, 350.0, 900.0]), st.sampled_from([0.0, 0.02, 0.08]),
                 st.sampled_from([0.3, 0.8, 0.95]), st.just(100.0), st.just(1.0),
                 st.just(0.0), st.sampled_from([0.0, 0.015, 0.05]))
_facts = st.tuples(st.integers(0, 500), st.sampled_from([HK.NO_ALARM, 0, 100, 480]),
                   st.booleans(), st.booleans(), st.booleans(), st.integers(0, 60),
                   st.integers(30, 240), st.booleans())


def _info(minute, busy, prev_ok, prev_compat, delay, window):
    """Return the public facts as the kernels take them (busy: a retrain is running)."""
    return info_record({"minute": minute, "retrain_running": busy,
                        "previous_available": prev_ok, "previous_schema_compatible": prev_compat,
                        "label_delay": delay, "train_window": window})


def _mask_reference(x, minute, last, busy, prev_ok, prev_compat, delay, window, tight, n):
    m = np.ones(n, dtype=bool)
    env = pi_det(x)
    if env != NONE and (x.a > 0.15 or x.error_rate > 0.05 or x.rho > 0.05):
        m[NO_OP] = False
    if not prev_ok or not prev_compat or busy:
        m[ROLLBACK] = False
    if busy or minute - last <= delay + window:
        m[RETRAIN] = False
    if tight and env != RETRAIN:
        m[RETRAIN] = False
    if n > SCALE_OUT and x.utilisation <= 0.7:
        m[SCALE_OUT] = False
    if not m.any():
        m[FALLBACK] = True
    return m


def _recommend_reference(x):
    env = pi_det(x)
    return env if env != NONE else expert_rules(x, 0)[0]


def _choose_reference(rng, tab, safe, ctx, allowed, x, facts, use_shield, use_sla, thr):
    minute, last, busy, prev_ok, prev_compat, delay, window, tight = facts
    mask = allowed.copy()
    if use_shield:
        mask &= _mask_reference(x, minute, last, busy, prev_ok, prev_compat, delay, window,
                                tight, allowed.size)
    rec = _recommend_reference(x)
    if tight and mask[rec]:
        return rec, mask
    shown = mask.copy()
    if use_sla:
        pred = safe[0, ctx] / (safe[0, ctx] + safe[1, ctx])
        keep = mask & (pred >= thr)
        if not keep.any():
            keep = np.zeros_like(mask)
            keep[rec if mask[rec] else int(np.flatnonzero(mask)[0])] = True
        mask = keep
    theta = rng.beta(tab[0, ctx], tab[1, ctx])
    return int(np.argmax(np.where(mask, theta, -np.inf))), shown


@settings(max_examples=400, deadline=None)
@given(obs=_obs, facts=_facts, n=st.sampled_from([4, 8]))
def test_shield_mask_and_recommendation_equal_the_rules(obs, facts, n):
    """Mask (every stated rule) and recommendation, kernel and py_func."""
    x = Observation(*obs, d_critical=0.1)
    minute, last, busy, prev_ok, prev_compat, delay, window, tight = facts
    info = _info(minute, busy, prev_ok, prev_compat, delay, window)
    for fn in (HK.shield_mask, HK.shield_mask.py_func):
        out = np.empty(n, dtype=np.bool_)
        fn(x.vector, 0.1, info, last, tight, out)
        np.testing.assert_array_equal(out, _mask_reference(x, *facts, n))
    assert HK.shield_recommend(x.vector, 0.1) == _recommend_reference(x)
    assert HK.shield_observe(x.vector, minute, last, 0.01, 0.03) == (
        minute if (x.validation_fail > 0.01 or x.rho > 0.03) else last)


@settings(max_examples=300, deadline=None)
@given(obs=_obs, facts=_facts, seed=st.integers(0, 2**32 - 1), use_shield=st.booleans(),
       use_sla=st.booleans(), thr=st.sampled_from([0.5, 0.9, 0.95, 1.0]), data=st.data())
def test_hybrid_choose_equals_reference(obs, facts, seed, use_shield, use_sla, thr, data):
    """The hybrid's choice, its pre-filter mask and the draws it makes, as the reference."""
    x = Observation(*obs, d_critical=0.1)
    n = 4
    tab = data.draw(arrays(np.float64, (2, 16, n), elements=st.floats(0.5, 50.0)))
    safe = data.draw(arrays(np.float64, (2, 16, n), elements=st.floats(0.5, 40.0)))
    allowed = np.ones(n, dtype=np.bool_)
    ctx = data.draw(st.integers(0, 15))
    minute, last, busy, prev_ok, prev_compat, delay, window, tight = facts
    r1, r2, r3 = (np.random.default_rng(seed) for _ in range(3))
    want, shown = _choose_reference(r2, tab, safe, ctx, allowed, x, facts, use_shield,
                                    use_sla, thr)
    info = _info(minute, busy, prev_ok, prev_compat, delay, window)
    params = HybridParams(0.05, 30, 10.0, thr, 0.99, 14.4, use_shield, use_sla, True, True, 0)
    for fn, rng in ((HK.hybrid_choose, r1), (HK.hybrid_choose.py_func, r3)):
        mask = np.empty(n, dtype=np.bool_)
        got = fn(rng, tab, safe, ctx, allowed, x.vector, 0.1, info, last, tight, params, mask)
        assert got == want
        np.testing.assert_array_equal(mask, shown)
        if use_shield:
            assert shown[got]  # never an action the shield forbids
    assert r1.random() == r2.random() == r3.random()


def test_hybrid_learn_golden():
    """Bandit success/failure and the SLA posterior's violation count, through ``update``."""
    ctrl = HybridController(seed=0)
    state = ctrl.state
    for minute in (6, 9):  # two decisions in context 3
        state.pend_key[minute] = minute
        state.pend_ctx[minute] = 3
    fb = new_records(FEEDBACK, 3)
    fb["decision_minute"] = (6, 9, 12)  # the third has no pending decision: dropped
    fb["action"] = 2
    fb["paper_cost"] = (-10.0, 1.0, 0.5)  # r = 10 (r01 = 1: a success), -1 (r01 = 0)
    fb["sla_degraded"] = (False, True, False)
    rewards = np.empty(3)
    n = LK.update_hybrid(state, ctrl.params, fb, np.random.default_rng(0), rewards)
    assert n == 2 and rewards[:2].tolist() == [10.0, -1.0]
    tab, safe = state.tab, state.safe
    assert tab[0, 3, 2] == 2.0 and tab[1, 3, 2] == 2.0
    assert safe[0, 3, 2] == 20.0 and safe[1, 3, 2] == 2.0
    assert tab.sum() == 2 * 64 + 2 and safe.sum() == 19 * 64 + 64 + 2
    assert state.pend_key[6] == state.pend_key[9] == -1  # each decision learned once
