"""Numba kernels of the tabular learners (DESIGN 4, 6).

The discrete context, Beta-Bernoulli Thompson sampling, epsilon-greedy, and the decision and
feedback bookkeeping shared by the tabular learning controllers (``rl``, ``bandit``,
``hybrid_literal``, ``hybrid``): their state record :class:`TabularState`, the map from a
decision's minute to its context, :func:`begin_decision`, :func:`end_decision` and
:func:`tabular_update`.

The one implementation of the learners' arithmetic and random draws: the Python classes
of :mod:`controllers.learners` and the controllers call these kernels, and so does the
batched fast path (through :mod:`controllers.protocol`), so both paths choose identically.
Random numbers come from the controller's own ``numpy.random.Generator``, passed in: Numba
draws from the same bit generator with NumPy's algorithms, so a kernel draw advances the
generator exactly as the equivalent NumPy call (``rng.beta`` over an array draws element by
element; ``rng.choice(idx)`` draws ``rng.integers(0, idx.size)``); ``tests/
test_learner_kernels.py`` checks both against NumPy.

Learner table
-------------
One float64 array ``tab`` of shape (2, N_CONTEXTS, n_actions) per learner:

- Thompson sampling: ``tab[0]`` the Beta posteriors' alpha, ``tab[1]`` their beta
  (Beta(1, 1) priors).
- Epsilon-greedy: ``tab[0]`` the running-mean rewards, ``tab[1]`` the reward counts.
"""

from __future__ import annotations

from typing import NamedTuple

import numba as nb
import numpy as np

from controllers.kernels import (
    DEFAULT_ERR_LIMIT,
    DEFAULT_SLO_LATENCY_MS,
    NONE,
    OBS_ERR,
    OBS_P99,
    OBS_VALIDATION,
    alarm,
    pi_det,
    slo_limits,
)
from controllers.protocol import d_crit
from simulator.layout import NO_OP
from simulator.records import new_records

#: Discrete contexts: 4 envelope regions x 4 alarm kinds.
N_CONTEXTS = 16
#: Exploration schedules of epsilon-greedy (codes = positions).
EPSILON_SCHEDULES = ("constant", "inverse_time")


@nb.njit(cache=True)
def context_id(obs, d_crit, err_limit=DEFAULT_ERR_LIMIT, p99_limit=DEFAULT_SLO_LATENCY_MS):
    """Discrete context in [0, 16): envelope region x alarm kind.

    region: 0 empty envelope, 1 fallback, 2 rollback, 3 retrain (pi_det's action); kind: 1
    validation failures > 2%, else 2 p99 above its SLO (``p99_limit``, ms), else 3 error
    rate above 1 - the availability SLO (``err_limit``), else 0 (defaults: the default
    scenario's 300 ms and 1%; :func:`controllers.kernels.slo_limits`).
    """
    env = pi_det(obs, d_crit)
    region = env if env != NONE else 0
    if obs[OBS_VALIDATION] > 0.02:
        kind = 1
    elif obs[OBS_P99] > p99_limit:
        kind = 2
    elif obs[OBS_ERR] > err_limit:
        kind = 3
    else:
        kind = 0
    return region * 4 + kind


@nb.njit(cache=True)
def ts_choose(rng, alpha_row, beta_row, allowed):
    """Return the Thompson-sampling choice among the ``allowed`` actions.

    theta_a ~ Beta(alpha_a, beta_a) is drawn for every action, in index order; the first
    allowed action with the largest theta wins (Thompson 1933; Agrawal & Goyal 2012).

    Parameters
    ----------
    rng : numpy.random.Generator
    alpha_row, beta_row : ndarray, shape (n_actions,)
        Posterior parameters of the context (> 0).
    allowed : ndarray of bool, shape (n_actions,)
        At least one True.
    """
    best = -1
    best_theta = -np.inf
    for i in range(alpha_row.shape[0]):
        theta = rng.beta(alpha_row[i], beta_row[i])  # drawn for every action, allowed or not
        if allowed[i] and (best < 0 or theta > best_theta):
            best = i
            best_theta = theta
    return best


@nb.njit(cache=True)
def ts_update(rng, tab, ctx, action, r01):
    """Update (``ctx``, ``action``)'s posterior by the Bernoulli trick (Agrawal & Goyal 2012).

    With probability ``r01`` in [0, 1] a success (alpha += 1), else a failure (beta += 1).
    """
    if rng.random() < r01:
        tab[0, ctx, action] += 1.0
    else:
        tab[1, ctx, action] += 1.0


@nb.njit(cache=True)
def reward_to_unit(reward, lam):
    """Map the paper's r in [-1, lambda] to [0, 1] by (r + 1) / (lambda + 1), clipped."""
    return min(1.0, max(0.0, (reward + 1.0) / (lam + 1.0)))


@nb.njit(cache=True)
def eg_epsilon(count_row, n_allowed, epsilon, schedule, eps_c, eps_d):
    """Return the exploration probability of the next decision (``learners.EpsilonGreedy``).

    ``schedule`` 0 (constant): ``epsilon``; 1 (inverse_time, Auer, Cesa-Bianchi & Fischer
    2002): min(epsilon, c K / (d^2 n)) with n = 1 + the context's reward count.
    """
    if schedule == 0:
        return epsilon
    n = 1.0
    for v in count_row:
        n += v
    return min(epsilon, eps_c * n_allowed / (eps_d ** 2 * n))


@nb.njit(cache=True)
def eg_choose(rng, tab, ctx, allowed, epsilon, schedule, eps_c, eps_d):
    """Return the epsilon-greedy choice among the ``allowed`` actions.

    A uniformly random allowed action with probability epsilon_n, else a uniformly random
    one among the allowed actions of largest mean reward. Draws one uniform, then one index
    (``rng.integers(0, k)``, as ``rng.choice`` of k items).
    """
    n_act = allowed.shape[0]
    idx = np.empty(n_act, dtype=np.int64)
    k = 0
    for i in range(n_act):
        if allowed[i]:
            idx[k] = i
            k += 1
    if rng.random() < eg_epsilon(tab[1, ctx], k, epsilon, schedule, eps_c, eps_d):
        return idx[rng.integers(0, k)]
    q_max = -np.inf
    for i in range(k):
        q = tab[0, ctx, idx[i]]
        if q > q_max:
            q_max = q
    best = np.empty(k, dtype=np.int64)
    nb_best = 0
    for i in range(k):
        if tab[0, ctx, idx[i]] == q_max:
            best[nb_best] = idx[i]
            nb_best += 1
    return best[rng.integers(0, nb_best)]


@nb.njit(cache=True)
def eg_update(tab, ctx, action, reward):
    """Incremental mean: n += 1, q += (r - q) / n."""
    tab[1, ctx, action] += 1.0
    tab[0, ctx, action] += (reward - tab[0, ctx, action]) / tab[1, ctx, action]


# ----------------------------------------------------------------------------------------
# Pending decisions and the tabular controllers' shared kernels
# ----------------------------------------------------------------------------------------
#: Slots of the pending-decision map: more than the longest outcome window (1,440 minutes)
#: plus one, so that a decision's slot is not reused before its feedback has arrived.
PENDING_SLOTS = 2048
#: Learning rules of :func:`tabular_update`.
RULE_THOMPSON = 0
RULE_EPSILON_GREEDY = 1
RULE_HYBRID = 2

#: Per-episode scalars of the tabular controllers: the cooldown clock.
VARS = np.dtype([("quiet_until", np.int64)], align=True)
#: Run statistics (never reset, never read by a decision): decisions where the bandit had
#: more than one action to choose from (``hybrid_literal``).
STATS = np.dtype([("bandit_choices", np.int64)], align=True)


class TabularState(NamedTuple):
    """State of a tabular learning controller.

    Attributes
    ----------
    tab : ndarray, shape (2, N_CONTEXTS, n_actions)
        Learned: the learner's table (Thompson sampling: Beta alphas and betas; epsilon-greedy:
        running means and counts).
    safe : ndarray, shape (2, N_CONTEXTS, n_actions) or (2, 1, 1)
        Learned: the hybrid's SLA-filter posteriors (``controllers.hybrid``); a
        placeholder for the others.
    vars, init : ndarray of VARS, shape (1,)
        Per episode: the cooldown clock; ``init`` its value at an episode's start.
    pend_key, pend_ctx : ndarray of int64, shape (PENDING_SLOTS,)
        Per episode: decision minute and context of each pending decision, in slot
        ``minute % PENDING_SLOTS`` (key -1: empty).
    stats : ndarray of STATS, shape (1,)
        Run statistics.
    """

    tab: np.ndarray
    safe: np.ndarray
    vars: np.ndarray
    init: np.ndarray
    pend_key: np.ndarray
    pend_ctx: np.ndarray
    stats: np.ndarray
    EPISODE = ("vars", "pend_key", "pend_ctx")
    RUN_STATS = ("stats",)


def new_tabular_state(tab: np.ndarray, safe: np.ndarray | None = None,
                      vars_dtype: np.dtype = VARS) -> TabularState:
    """Return a tabular state around the learned ``tab`` (and ``safe``), episode cleared.

    ``vars_dtype`` (with an int64 ``quiet_until``) holds the per-episode scalars; they start
    at 0 but for ``quiet_until`` = -1.
    """
    init = new_records(vars_dtype)
    init[0]["quiet_until"] = -1
    state = TabularState(tab, np.ones((2, 1, 1)) if safe is None else safe, init.copy(), init,
                         np.zeros(PENDING_SLOTS, dtype=np.int64),
                         np.zeros(PENDING_SLOTS, dtype=np.int64), new_records(STATS))
    state.pend_key[:] = -1
    return state


@nb.njit(cache=True)
def tabular_reset(state, params):
    """Start an episode: the per-episode scalars' initial values, no pending decision."""
    state.vars[:] = state.init
    state.pend_key[:] = -1
    state.pend_ctx[:] = 0


@nb.njit(cache=True)
def pending_pop(keys, values, minute):
    """Return the value stored for ``minute`` and free its slot; -1 if there is none."""
    k = minute % keys.shape[0]
    if keys[k] != minute:
        return -1
    keys[k] = -1
    return values[k]


@nb.njit(cache=True)
def allowed_actions(n_actions, info):
    """Mask of shape (n_actions,): the first min(n_actions, info's n_actions) actions."""
    allowed = np.zeros(n_actions, dtype=np.bool_)
    allowed[:min(n_actions, info[0].n_actions)] = True
    return allowed


@nb.njit(cache=True)
def begin_decision(state, params, obs, info, alarmed=-1):
    """Return (context, d_crit, allowed) at a decision epoch; context -1 outside one.

    A decision epoch is a minute out of cooldown with an alarm (``Controller.act``): the
    envelope's (:func:`controllers.kernels.alarm`) unless ``alarmed`` (0 or 1) gives it
    (a detector layer, :mod:`controllers.detector_layer`); ``allowed`` is
    :func:`allowed_actions` of the learner's table.
    """
    dc = d_crit(params, info)
    allowed = allowed_actions(state.tab.shape[2], info)
    err_limit, p99_limit, _ = slo_limits(info)
    if alarmed < 0:
        alarmed = 1 if alarm(obs, dc, err_limit, p99_limit) else 0
    if info[0].minute < state.vars[0].quiet_until or alarmed == 0:
        return -1, dc, allowed
    return context_id(obs, dc, err_limit, p99_limit), dc, allowed


@nb.njit(cache=True)
def end_decision(state, params, info, ctx, action):
    """Remember the decision's context for its feedback; start a cooldown after an action.

    Feedback names the decision by ``minute + 1`` (the step that plays it). Returns the
    ``act`` kernel's result: (action, no engineer minutes).
    """
    minute = info[0].minute
    k = (minute + 1) % state.pend_key.shape[0]
    state.pend_key[k] = minute + 1
    state.pend_ctx[k] = ctx
    start_cooldown(state, params, info, action)
    return action, 0.0


@nb.njit(cache=True)
def start_cooldown(state, params, info, action):
    """After a non-``no_op`` action, play ``no_op`` for ``params.cooldown`` minutes."""
    if action != NO_OP:
        state.vars[0].quiet_until = info[0].minute + 1 + params.cooldown


@nb.njit(cache=True)
def feedback_reward(params, fb):
    """Return the paper's reward of a feedback record: -C(a) + lambda * 1[success] (Sec. 3.3)."""
    return -fb.paper_cost + params.lam * (1.0 if fb.success else 0.0)


@nb.njit(cache=True)
def tabular_update(state, params, feedback, rng, rewards, rule):
    """Learn every feedback record of a decision of this episode, in order.

    ``rule``: ``RULE_THOMPSON`` (Bernoulli-trick update of the Beta posteriors),
    ``RULE_EPSILON_GREEDY`` (running means) or ``RULE_HYBRID`` (Thompson sampling and the
    SLA filter's "no safety violation" posterior, ``controllers.hybrid``). The
    rewards learned go to ``rewards``; returns their number.
    """
    n = 0
    for j in range(feedback.shape[0]):
        fb = feedback[j]
        ctx = pending_pop(state.pend_key, state.pend_ctx, fb.decision_minute)
        if ctx < 0:
            continue
        r = feedback_reward(params, fb)
        rewards[n] = r
        n += 1
        if rule == RULE_EPSILON_GREEDY:
            eg_update(state.tab, ctx, fb.action, r)
        elif rule == RULE_HYBRID:
            ts_update(rng, state.tab, ctx, fb.action, reward_to_unit(r, params.lam))
            if fb.sla_degraded:  # measured: the SLA score fell after the action
                state.safe[1, ctx, fb.action] += 1.0
            else:
                state.safe[0, ctx, fb.action] += 1.0
        else:
            ts_update(rng, state.tab, ctx, fb.action, reward_to_unit(r, params.lam))
    return n


@nb.njit(cache=True)
def update_thompson(state, params, feedback, rng, rewards):
    """``update`` kernel of a Thompson-sampling learner (:func:`tabular_update`)."""
    return tabular_update(state, params, feedback, rng, rewards, RULE_THOMPSON)


@nb.njit(cache=True)
def update_epsilon_greedy(state, params, feedback, rng, rewards):
    """``update`` kernel of an epsilon-greedy learner (:func:`tabular_update`)."""
    return tabular_update(state, params, feedback, rng, rewards, RULE_EPSILON_GREEDY)


@nb.njit(cache=True)
def update_hybrid(state, params, feedback, rng, rewards):
    """``update`` kernel of the hybrid (:func:`tabular_update`)."""
    return tabular_update(state, params, feedback, rng, rewards, RULE_HYBRID)
