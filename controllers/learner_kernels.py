"""Numba kernels of the tabular learners (DESIGN 4, 6).

The discrete context, Beta-Bernoulli Thompson sampling and epsilon-greedy.

The one implementation of the learners' arithmetic and random draws: the Python classes
of :mod:`controllers.learners` and :mod:`controllers.envelope` call these kernels, and so
does the batched fast path (:mod:`experiments.fast`), so both paths choose identically.
Random numbers come from the controller's own ``numpy.random.Generator``, passed in: Numba
draws from the same bit generator with NumPy's algorithms, so a kernel draw advances the
generator exactly as the equivalent NumPy call (``rng.beta`` over an array draws element by
element; ``rng.choice(idx)`` draws ``rng.integers(0, idx.size)``); ``tests/
test_learner_kernels.py`` checks both against NumPy.

Learner state
-------------
One float64 array ``tab`` of shape (2, N_CONTEXTS, n_actions) per learner:

- Thompson sampling: ``tab[0]`` the Beta posteriors' alpha, ``tab[1]`` their beta
  (Beta(1, 1) priors).
- Epsilon-greedy: ``tab[0]`` the running-mean rewards, ``tab[1]`` the reward counts.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from controllers.kernels import NONE, OBS_ERR, OBS_P99, OBS_VALIDATION, pi_det

#: Discrete contexts: 4 envelope regions x 4 alarm kinds.
N_CONTEXTS = 16
#: Exploration schedules of epsilon-greedy (codes = positions).
EPSILON_SCHEDULES = ("constant", "inverse_time")


@nb.njit(cache=True)
def context_id(obs, d_crit):
    """Discrete context in [0, 16): envelope region x alarm kind.

    region: 0 empty envelope, 1 fallback, 2 rollback, 3 retrain (pi_det's action); kind: 1
    validation failures > 2%, else 2 p99 > 300 ms, else 3 error rate > 1%, else 0.
    """
    env = pi_det(obs, d_crit)
    region = env if env != NONE else 0
    if obs[OBS_VALIDATION] > 0.02:
        kind = 1
    elif obs[OBS_P99] > 300.0:
        kind = 2
    elif obs[OBS_ERR] > 0.01:
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
