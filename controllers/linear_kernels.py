"""Numba kernels of the linear contextual bandits (LinUCB, linear TS, conservative UCB).

The one implementation of the features, ridge models, scores, choices and the conservative
condition of :mod:`controllers.linear` (``RidgeArms``, ``LinUCB``, ``LinearThompson`` and
the linear controllers' shared kernels), :mod:`controllers.linucb`, :mod:`controllers.lints`
and :mod:`controllers.conservative`: the Python classes validate their inputs and call
these kernels, and so do the controllers' kernels that the fast path composes, so both
paths choose identically, bit for bit. Random numbers come from the controller's own
``numpy.random.Generator``, passed in: Numba draws from the same bit generator with NumPy's
algorithms, so ``rng.standard_normal()`` once per arm advances the generator exactly as
``rng.standard_normal(n_arms)``, and ``rng.integers(0, k)`` as ``rng.choice`` of k items
(``tests/test_linear_kernels.py`` checks both against NumPy).

Sums are sequential loops (no BLAS, no pairwise summation), so the interpreted kernels
(``.py_func``) give the same floats as the compiled ones.

Ridge state (one per controller; ``d = N_LINEAR_FEATURES``)
-----------------------------------------------------------
- ``A`` float64 (n_arms, d, d): l2_lambda I + sum x x^T per arm;
- ``b`` float64 (n_arms, d): sum r x per arm;
- ``chol`` float64 (n_arms, d, d): lower Cholesky factor of ``A`` per arm;
- ``counts`` int64 (n_arms,): observations per arm.

:func:`ridge_init` sets the prior; :func:`ridge_update` adds one observation. Predictions
read ``chol`` and ``b`` only.

Conservative-UCB rounds (one set per controller, kept over the whole run)
-------------------------------------------------------------------------
Preallocated arrays of a capacity ``cap`` (grown by :func:`cucb_grow`) and a count
``n_rounds`` of the rows in use:

- ``round_x`` float64 (cap, d): the round's context;
- ``round_played`` int64 (cap,): the action played;
- ``round_base`` int64 (cap,): the baseline's (the rules') action;
- ``round_reward`` float64 (cap,): the realised reward in [0, 1], NaN while unknown.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

from controllers.kernels import (
    OBS_A,
    OBS_CANARY,
    OBS_COST,
    OBS_D,
    OBS_ERR,
    OBS_P99,
    OBS_RHO,
    OBS_TRAFFIC,
    OBS_UTIL,
    OBS_VALIDATION,
)
from controllers.learner_kernels import reward_to_unit
from simulator.layout import NO_OP

#: Features of the linear bandits: a bias and the 10 full observations, each scaled to O(1).
N_LINEAR_FEATURES = 11
#: Every feature is clipped to [0, FEATURE_CAP] (only out-of-range inputs reach the cap).
FEATURE_CAP = 20.0


# ----------------------------------------------------------------------------- features
@nb.njit(cache=True)
def _nonneg(v):
    """``v`` if ``v > 0``, else 0 (NaN -> 0)."""
    return v if v > 0.0 else 0.0


@nb.njit(cache=True)
def linear_features(obs, out):
    """Fill ``out`` with the linear bandits' context of observation ``obs``; return ``out``.

    Bias; d, a, rho, error rate, canary share and validation failures as they are;
    log(1 + v / v0) of the heavy-tailed p99 (v0 = 300 ms, the latency SLO), utilisation
    (v0 = 1), traffic (v0 = 100 requests/s) and cost (v0 = 1 dollar/min), whose negative
    values count as 0. Every entry is then mapped NaN -> 0 and clipped to
    [0, ``FEATURE_CAP``] (+inf -> ``FEATURE_CAP``). The scaling is ours
    (``controllers.learners.LINEAR_FEATURES``), the bias term Li et al.'s (WWW 2010).

    Parameters
    ----------
    obs : ndarray of float64, shape (10,)
        The full observation (``controllers.envelope.Observation.vector`` order: d, a, rho,
        p99_ms, error_rate, utilisation, traffic_rps, cost_usd_per_min, canary_share,
        validation_fail).
    out : ndarray of float64, shape (N_LINEAR_FEATURES,)

    Returns
    -------
    ndarray of float64, shape (N_LINEAR_FEATURES,)
        ``out``.
    """
    out[0] = 1.0
    out[1] = obs[OBS_D]
    out[2] = obs[OBS_A]
    out[3] = obs[OBS_RHO]
    out[4] = math.log1p(_nonneg(obs[OBS_P99]) / 300.0)
    out[5] = obs[OBS_ERR]
    out[6] = math.log1p(_nonneg(obs[OBS_UTIL]))
    out[7] = math.log1p(_nonneg(obs[OBS_TRAFFIC]) / 100.0)
    out[8] = math.log1p(_nonneg(obs[OBS_COST]))
    out[9] = obs[OBS_CANARY]
    out[10] = obs[OBS_VALIDATION]
    for i in range(N_LINEAR_FEATURES):
        v = out[i]
        if math.isnan(v):
            out[i] = 0.0
        elif v > FEATURE_CAP:
            out[i] = FEATURE_CAP
        elif v < 0.0:
            out[i] = 0.0
    return out


# ----------------------------------------------------------------------- linear algebra
@nb.njit(cache=True)
def cholesky_rank_one_update(chol, x):
    """Replace the lower factor ``chol`` of A by that of A + x x^T, in place.

    Givens rotations of [chol | x], LINPACK's ``dchud`` (Dongarra, Bunch, Moler & Stewart,
    LINPACK Users' Guide, SIAM 1979, ch. 10; Golub & Van Loan, Matrix Computations, 4th ed.,
    Sec. 6.5): cosines and sines stay in [-1, 1], and each diagonal entry becomes
    hypot(old, x_k) >= old, so the factor stays nonsingular.

    Parameters
    ----------
    chol : ndarray of float64, shape (d, d)
        Lower-triangular with a positive diagonal; updated in place.
    x : ndarray of float64, shape (d,)
        Overwritten.
    """
    n = x.shape[0]
    for k in range(n):
        xk = x[k]
        if xk == 0.0:  # nothing to rotate into this column
            continue
        lkk = chol[k, k]
        r = np.hypot(lkk, xk)
        c = lkk / r
        s = xk / r
        chol[k, k] = r
        for i in range(k + 1, n):
            col = chol[i, k]
            chol[i, k] = c * col + s * x[i]
            x[i] = c * x[i] - s * col


@nb.njit(cache=True)
def forward_substitution(chol, rhs, out):
    """Solve ``chol @ out = rhs`` for lower-triangular ``chol`` (Golub & Van Loan, Sec. 3.1).

    Parameters
    ----------
    chol : ndarray of float64, shape (d, d)
    rhs, out : ndarray of float64, shape (d,)
    """
    for i in range(chol.shape[0]):
        s = 0.0
        for j in range(i):
            s += chol[i, j] * out[j]
        out[i] = (rhs[i] - s) / chol[i, i]


@nb.njit(cache=True)
def back_substitution(chol, rhs, out):
    """Solve ``chol.T @ out = rhs`` for lower-triangular ``chol`` (Golub & Van Loan, Sec. 3.1).

    Parameters
    ----------
    chol : ndarray of float64, shape (d, d)
    rhs, out : ndarray of float64, shape (d,)
    """
    d = chol.shape[0]
    for i in range(d - 1, -1, -1):
        s = 0.0
        for j in range(i + 1, d):
            s += chol[j, i] * out[j]
        out[i] = (rhs[i] - s) / chol[i, i]


# ------------------------------------------------------------------------- ridge models
@nb.njit(cache=True)
def ridge_init(A, b, chol, counts, l2_lambda):
    """Set every arm to the ridge prior: A = l2_lambda I, b = 0, chol = sqrt(l2_lambda) I.

    Parameters
    ----------
    A, chol : ndarray of float64, shape (n_arms, d, d)
    b : ndarray of float64, shape (n_arms, d)
    counts : ndarray of int64, shape (n_arms,)
    l2_lambda : float
        Ridge prior precision, > 0.
    """
    root = math.sqrt(l2_lambda)
    A[:] = 0.0
    b[:] = 0.0
    chol[:] = 0.0
    counts[:] = 0
    for k in range(A.shape[0]):
        for i in range(A.shape[1]):
            A[k, i, i] = l2_lambda
            chol[k, i, i] = root


@nb.njit(cache=True)
def ridge_update(A, b, chol, counts, arm, x, reward):
    """Add one observation to ``arm``'s ridge regression (Li et al., WWW 2010, Alg. 1).

    A_a += x x^T, b_a += r x, the Cholesky factor of A_a by a rank-one update
    (:func:`cholesky_rank_one_update`), counts_a += 1.

    Parameters
    ----------
    A, b, chol, counts : ndarray
        The ridge state (module docstring), updated in place.
    arm : int
        In [0, n_arms).
    x : ndarray of float64, shape (d,)
        Finite context; not modified.
    reward : float
        Finite.
    """
    d = x.shape[0]
    for i in range(d):
        for j in range(d):
            A[arm, i, j] += x[i] * x[j]
        b[arm, i] += reward * x[i]
    cholesky_rank_one_update(chol[arm], x.copy())
    counts[arm] += 1


@nb.njit(cache=True)
def ridge_theta(chol, b, arm, out):
    """Fill ``out`` (shape (d,)) with arm's ridge estimate theta_a = A_a^{-1} b_a.

    Two triangular solves with the Cholesky factor L_a (L_a L_a^T = A_a), no inverse.
    """
    d = b.shape[1]
    u = np.empty(d)
    forward_substitution(chol[arm], b[arm], u)
    back_substitution(chol[arm], u, out)


@nb.njit(cache=True)
def _mean_width(chol_a, u_a, x, w):
    """Return (theta_a . x, sqrt(x^T A_a^{-1} x)) given u_a = L_a^{-1} b_a.

    With w = L_a^{-1} x (written to the scratch ``w``): theta_a . x = w . u_a and
    x^T A_a^{-1} x = |w|^2, non-negative by construction.
    """
    forward_substitution(chol_a, x, w)
    mean = 0.0
    sq = 0.0
    for i in range(w.shape[0]):
        mean += u_a[i] * w[i]
        sq += w[i] * w[i]
    return mean, math.sqrt(sq)


@nb.njit(cache=True)
def ridge_predict(chol, b, arm, x):
    """Return (mean, width) = (theta_a . x, sqrt(x^T A_a^{-1} x)) of ``arm`` at context ``x``.

    The ridge estimate and the confidence width of LinUCB (Li et al., WWW 2010, Alg. 1).

    Parameters
    ----------
    chol : ndarray of float64, shape (n_arms, d, d)
    b : ndarray of float64, shape (n_arms, d)
    arm : int
    x : ndarray of float64, shape (d,)

    Returns
    -------
    mean, width : float
    """
    d = b.shape[1]
    u = np.empty(d)
    w = np.empty(d)
    forward_substitution(chol[arm], b[arm], u)
    return _mean_width(chol[arm], u, x, w)


@nb.njit(cache=True)
def ridge_predict_many(chol, b, arm, xs, mean, width):
    """Fill ``mean`` and ``width`` (shape (k,)) with :func:`ridge_predict` at each row of ``xs``.

    ``xs`` has shape (k, d); the results equal k calls of :func:`ridge_predict`.
    """
    d = b.shape[1]
    u = np.empty(d)
    w = np.empty(d)
    forward_substitution(chol[arm], b[arm], u)
    for k in range(xs.shape[0]):
        mean[k], width[k] = _mean_width(chol[arm], u, xs[k], w)


@nb.njit(cache=True)
def ridge_predict_all(chol, b, x, mean, width):
    """Fill ``mean`` and ``width`` (shape (n_arms,)) with :func:`ridge_predict` of every arm."""
    for a in range(b.shape[0]):
        mean[a], width[a] = ridge_predict(chol, b, a, x)


# ------------------------------------------------------------------------------ scores
@nb.njit(cache=True)
def linucb_scores(chol, b, x, ucb_alpha, out):
    """Fill ``out`` (shape (n_arms,)) with LinUCB's upper confidence bounds at ``x``.

    score_a = theta_a . x + ucb_alpha sqrt(x^T A_a^{-1} x) (Li, Chu, Langford & Schapire,
    WWW 2010, Alg. 1, disjoint arms). No draws.
    """
    for a in range(b.shape[0]):
        mean, width = ridge_predict(chol, b, a, x)
        out[a] = mean + ucb_alpha * width


@nb.njit(cache=True)
def lints_scores(rng, chol, b, x, v, out):
    """Fill ``out`` (shape (n_arms,)) with one linear-TS posterior sample per arm at ``x``.

    score_a = theta_a . x + v sqrt(x^T A_a^{-1} x) z_a, z_a ~ N(0, 1): for one context this
    is exactly theta~_a . x with theta~_a ~ N(theta_a, v^2 A_a^{-1}) (Agrawal & Goyal, ICML
    2013). One ``rng.standard_normal()`` per arm, in arm order (as
    ``rng.standard_normal(n_arms)``), for every arm including ``no_op``.
    """
    for a in range(b.shape[0]):
        mean, width = ridge_predict(chol, b, a, x)
        out[a] = mean + v * width * rng.standard_normal()


@nb.njit(cache=True)
def argmax_random_ties(scores, allowed, rng):
    """Return the index of the best allowed score; exact ties broken uniformly at random.

    Draws ``rng.integers(0, k)`` (what ``rng.choice`` of the k tied indices draws) only if
    k > 1 allowed scores tie for the maximum. NaN scores never win; if every allowed score
    is NaN the first allowed index is returned, and -1 if nothing is allowed (no draw).

    Parameters
    ----------
    scores : ndarray of float64, shape (n,)
    allowed : ndarray of bool, shape (n,)
    rng : numpy.random.Generator
    """
    n = scores.shape[0]
    first = -1
    found = False
    vmax = -np.inf
    for i in range(n):
        if allowed[i]:
            if first < 0:
                first = i
            s = scores[i]
            if not math.isnan(s) and (not found or s > vmax):
                vmax = s
                found = True
    if not found:
        return first
    best = np.empty(n, dtype=np.int64)
    k = 0
    for i in range(n):
        if allowed[i] and scores[i] == vmax:
            best[k] = i
            k += 1
    if k == 1:
        return best[0]
    return best[rng.integers(0, k)]


@nb.njit(cache=True)
def linucb_choose(rng, chol, b, x, ucb_alpha, no_op_value, allowed):
    """Return LinUCB's action at context ``x`` among the ``allowed`` ones.

    :func:`linucb_scores`, ``no_op``'s score replaced by its known value ``no_op_value``
    (:mod:`controllers.linear`), then :func:`argmax_random_ties`.
    """
    scores = np.empty(b.shape[0])
    linucb_scores(chol, b, x, ucb_alpha, scores)
    scores[NO_OP] = no_op_value
    return argmax_random_ties(scores, allowed, rng)


@nb.njit(cache=True)
def lints_choose(rng, chol, b, x, v, no_op_value, allowed):
    """Return linear TS's action at context ``x`` among the ``allowed`` ones.

    :func:`lints_scores` (n_arms normal draws), ``no_op``'s score replaced by
    ``no_op_value``, then :func:`argmax_random_ties` (a draw only on exact ties).
    """
    scores = np.empty(b.shape[0])
    lints_scores(rng, chol, b, x, v, scores)
    scores[NO_OP] = no_op_value
    return argmax_random_ties(scores, allowed, rng)


@nb.njit(cache=True)
def linear_learn(A, b, chol, counts, action, x, reward, lam):
    """Learn one feedback item by a ridge update of the action's model.

    Unless ``action`` is ``no_op`` (its value is known, never learned), (``x``,
    (r + 1) / (lambda + 1) clipped to [0, 1]) is added to the action's model
    (:func:`ridge_update`).

    ``reward`` is the paper's r = -C(a) + lambda 1[success] (Sec. 3.3), ``lam`` lambda.
    """
    if action != NO_OP:
        ridge_update(A, b, chol, counts, action, x, reward_to_unit(reward, lam))


# ------------------------------------------------------------------ conservative UCB
@nb.njit(cache=True)
def _arm_bounds(chol, u, arm, x, ucb_alpha, no_op_value, w):
    """(LCB, UCB) in [0, 1] of ``arm`` at ``x`` given u[a] = L_a^{-1} b_a for every arm."""
    if arm == NO_OP:
        return no_op_value, no_op_value
    mean, width = _mean_width(chol[arm], u[arm], x, w)
    lo = min(1.0, max(0.0, mean - ucb_alpha * width))
    hi = min(1.0, max(0.0, mean + ucb_alpha * width))
    return lo, hi


@nb.njit(cache=True)
def _all_u(chol, b):
    """u[a] = L_a^{-1} b_a for every arm, shape (n_arms, d)."""
    u = np.empty(b.shape)
    for a in range(b.shape[0]):
        forward_substitution(chol[a], b[a], u[a])
    return u


@nb.njit(cache=True)
def cucb_bounds(chol, b, arm, x, ucb_alpha, no_op_value):
    """Return (LCB, UCB) of ``arm`` at context ``x`` (Kazerouni et al., NeurIPS 2017).

    LCB = max(0, mean - ucb_alpha width), UCB = min(1, mean + ucb_alpha width) with
    :func:`ridge_predict`'s mean and width, both clipped to [0, 1]; ``no_op``'s are its
    known value ``no_op_value``.
    """
    u = np.empty(b.shape)
    if arm != NO_OP:
        forward_substitution(chol[arm], b[arm], u[arm])
    return _arm_bounds(chol, u, arm, x, ucb_alpha, no_op_value, np.empty(b.shape[1]))


@nb.njit(cache=True)
def cucb_margin(chol, b, ucb_alpha, no_op_value, alpha_c, round_x, round_played, round_base,
                round_reward, n_rounds, x, cand, base):
    """Return left minus right side of the conservative condition if ``cand`` is played now.

    CLUCB's condition (Kazerouni, Ghavamzadeh, Abbasi-Yadkori & Van Roy, NeurIPS 2017; Wu,
    Shariff, Lattimore & Szepesvari, ICML 2016), over the ``n_rounds`` recorded rounds plus
    this one (context ``x``, optimistic ``cand``, baseline ``base``, reward unknown)::

        margin = (R + sum_{s in U} LCB_{played_s}(x_s))
                 - (1 - alpha_c) (R + sum_{s in U} UCB_{base_s}(x_s))

    R sums the known rewards of the settled rounds (played == base, reward not NaN); U
    holds every other round (exploratory ones, baseline ones still awaiting their feedback,
    and this one). Bounds are :func:`cucb_bounds` with the current models. Sums run in
    round order: R, sum LCB and sum UCB each accumulated sequentially, then added.

    Parameters
    ----------
    chol, b : ndarray
        The LinUCB ridge state (module docstring).
    ucb_alpha, no_op_value, alpha_c : float
    round_x, round_played, round_base, round_reward : ndarray
        The rounds (module docstring); rows [0, n_rounds) are read.
    n_rounds : int
    x : ndarray of float64, shape (d,)
    cand, base : int
    """
    u = _all_u(chol, b)
    w = np.empty(b.shape[1])
    settled = 0.0
    lo_sum = 0.0
    hi_sum = 0.0
    for s in range(n_rounds):
        p = round_played[s]
        q = round_base[s]
        r = round_reward[s]
        if p == q and not math.isnan(r):
            settled += r
            continue
        lo, _ = _arm_bounds(chol, u, p, round_x[s], ucb_alpha, no_op_value, w)
        _, hi = _arm_bounds(chol, u, q, round_x[s], ucb_alpha, no_op_value, w)
        lo_sum += lo
        hi_sum += hi
    lo, _ = _arm_bounds(chol, u, cand, x, ucb_alpha, no_op_value, w)
    _, hi = _arm_bounds(chol, u, base, x, ucb_alpha, no_op_value, w)
    lo_sum += lo
    hi_sum += hi
    left = settled + lo_sum
    right = settled + hi_sum
    return left - (1.0 - alpha_c) * right


@nb.njit(cache=True)
def cucb_choose(rng, chol, b, x, base, allowed, ucb_alpha, no_op_value, alpha_c, round_x,
                round_played, round_base, round_reward, n_rounds):
    """Return (play, base, cand, margin) of conservative UCB at one decision round.

    ``base`` is the baseline's (the rules') action, replaced by ``no_op`` if not allowed;
    ``cand`` LinUCB's choice (:func:`linucb_choose`). If cand == base it is played (margin
    NaN: not evaluated); otherwise cand is played iff :func:`cucb_margin` >= 0, else base
    (Wu et al. 2016; Kazerouni et al. 2017). The rounds are only read.
    """
    if not allowed[base]:
        base = NO_OP
    cand = linucb_choose(rng, chol, b, x, ucb_alpha, no_op_value, allowed)
    if cand == base:
        return cand, base, cand, np.nan
    margin = cucb_margin(chol, b, ucb_alpha, no_op_value, alpha_c, round_x, round_played,
                         round_base, round_reward, n_rounds, x, cand, base)
    play = cand if margin >= 0.0 else base
    return play, base, cand, margin


@nb.njit(cache=True)
def cucb_record(round_x, round_played, round_base, round_reward, n_rounds, x, play, base,
                no_op_value):
    """Write round ``n_rounds``; return True if its reward awaits feedback.

    The row gets the context ``x`` (shape (d,)), ``play`` and ``base``.

    A round that played the baseline's ``no_op`` has the known reward ``no_op_value``;
    every other round's reward is NaN until :func:`cucb_learn` settles it. The caller
    ensures ``n_rounds < cap`` (:func:`cucb_grow`) and then counts the round.
    """
    round_x[n_rounds] = x
    round_played[n_rounds] = play
    round_base[n_rounds] = base
    if play == base and play == NO_OP:
        round_reward[n_rounds] = no_op_value
        return False
    round_reward[n_rounds] = np.nan
    return True


@nb.njit(cache=True)
def cucb_grow(round_x, round_played, round_base, round_reward, cap):
    """Return the round arrays with capacity ``cap`` (>= the old one), old rows copied.

    New rows: x = 0, played = base = -1, reward = NaN.
    """
    n = round_played.shape[0]
    nx = np.zeros((cap, round_x.shape[1]))
    npl = np.full(cap, -1, dtype=np.int64)
    nba = np.full(cap, -1, dtype=np.int64)
    nre = np.full(cap, np.nan)
    nx[:n] = round_x
    npl[:n] = round_played
    nba[:n] = round_base
    nre[:n] = round_reward
    return nx, npl, nba, nre


@nb.njit(cache=True)
def cucb_learn(A, b, chol, counts, action, x, reward, lam, round_reward, k):
    """Learn one feedback item (:func:`linear_learn`) and settle round ``k``'s reward.

    ``k`` is the round of the decision the feedback is about, or -1 if it has none; its
    reward becomes (r + 1) / (lambda + 1) clipped to [0, 1].
    """
    linear_learn(A, b, chol, counts, action, x, reward, lam)
    if k >= 0:
        round_reward[k] = reward_to_unit(reward, lam)
