"""Linear classifiers of the served models, fit from additive sufficient statistics.

Every served model (primary, retrained candidate, rollback target, fallback) is a binary
linear classifier over the ``d = N_FEATURES`` monitored features, predicting class 1 when
``w . x + b > 0``, fit by linear discriminant analysis (:func:`fit_lda`) from additive
statistics: those of a window of minutes are a difference of prefix sums
(:func:`stats_window`), and a fit costs O(d^3) whatever the number of rows.

Sufficient statistics, ``stats`` (float64, length ``N_STATS = 2 * (1 + d + d*d)`` = 42),
one block of ``STRIDE = 1 + d + d*d`` entries per class ``k`` in {0, 1}, starting at
``k * STRIDE``:

===========================  =========  ====================================
offset in the class block    length     content
===========================  =========  ====================================
``ST_COUNT`` = 0             1          n_k, rows of class k
``ST_SUM`` = 1               d          sum of x_j over the rows of class k
``ST_OUTER`` = 1 + d         d * d      sum of x_j x_l, row-major (j * d + l)
===========================  =========  ====================================

Model vector, ``model`` (float64, length ``N_MODEL = d + 2`` = 6): ``model[0:d]`` = w,
``model[MD_B]`` = b, ``model[MD_OK]`` = 1.0 when the fit succeeded, 0.0 for the
majority-class model that a failed fit writes (see :func:`fit_lda` for the status codes).

Rows are feature-major, as the simulator's samples: ``X[j, i]`` is feature j of row i, shape
``(N_FEATURES, >= n_rows)``. Labels: :func:`label_rows` (a rotating concept, linear within
its support and curving beyond it, with label noise; :func:`clean_score`); expected
accuracy under Gaussian inputs and a linear concept: :func:`analytic_accuracy`. Every sum
is a sequential loop, so compiled and interpreted kernels agree bit for bit.

Differences from sklearn (tolerance: ``tests/test_classifier.py``): the class covariance is
E[x x^T] - mu mu^T, not computed from centred rows, so its rounding grows as (|mu_j| / sd_j)^2;
a singular covariance gives the majority-class model (``FIT_NOT_PD``), not sklearn's
minimum-norm least-squares solution.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

from simulator import layout as L

D = L.N_FEATURES
STRIDE = 1 + D + D * D
N_STATS = L.N_TRAIN_STATS
assert N_STATS == 2 * STRIDE
ST_COUNT, ST_SUM, ST_OUTER = 0, 1, 1 + D
N_MODEL = D + 2
MD_B, MD_OK = D, D + 1

#: Status codes of :func:`fit_lda`.
FIT_OK = 0
FIT_NON_FINITE = 1  # non-finite statistics, or a non-finite fitted model (overflow)
FIT_EMPTY_CLASS = 2  # a class has fewer than one row
FIT_TOO_FEW_ROWS = 3  # fewer than d + 1 rows in total
FIT_NOT_PD = 4  # pooled covariance not positive definite (a Cholesky pivot <= tolerance)
FIT_STATUS_NAMES = ("ok", "non_finite", "empty_class", "too_few_rows", "not_positive_definite")

#: A Cholesky pivot (Schur complement, in squared feature units) must exceed
#: ``PIVOT_RTOL * trace(M)``, M = sum_k prior_k * (sum of x x^T)_k / n_k + ridge * I, the pooled
#: raw second moment from which the covariance is obtained by subtraction: a smaller pivot is
#: within the rounding error of that subtraction (a constant feature, duplicated rows).
PIVOT_RTOL = 1e-10

#: The labelling directions (orthonormal, every feature involved): w(c) = cos c W_A + sin c W_B.
W_A = (0.5, 0.5, 0.5, 0.5)
W_B = (0.5, -0.5, 0.5, -0.5)
_W_A, _W_B, _BASE_LOC = np.array(W_A), np.array(W_B), np.array(L.BASE_LOC)


@nb.njit(cache=True)
def stats_add_rows(stats, X, y, n_rows, mask):
    """Add the masked rows ``0 .. n_rows - 1`` of ``(X, y)`` to the statistics ``stats``.

    Parameters
    ----------
    stats : ndarray of float64, shape (N_STATS,)
        Statistics to update in place (layout in the module docstring).
    X : ndarray of float64, shape (N_FEATURES, >= n_rows)
        Rows, feature-major: ``X[j, i]`` is feature j of row i (feature units).
    y : ndarray of int or bool, shape (>= n_rows,)
        Labels, 0 or 1.
    n_rows : int
        Rows to consider.
    mask : ndarray of bool, shape (>= n_rows,)
        Rows to add (e.g. those that passed validation); the others, labels and values, are
        skipped (a masked-out NaN row leaves ``stats`` finite).

    Raises
    ------
    ValueError
        On a shape mismatch or a selected label other than 0 or 1.
    """
    if stats.shape[0] != N_STATS or X.shape[0] != D or not 0 <= n_rows <= X.shape[1]:
        raise ValueError("stats needs N_STATS entries, X N_FEATURES rows and n_rows columns")
    if y.shape[0] < n_rows or mask.shape[0] < n_rows:
        raise ValueError("y and mask must hold n_rows rows")
    for i in range(n_rows):
        if not mask[i]:
            continue
        if y[i] == 0:
            base = 0
        elif y[i] == 1:
            base = STRIDE
        else:
            raise ValueError("labels must be 0 or 1")
        stats[base + ST_COUNT] += 1.0
        for j in range(D):
            xj = X[j, i]
            stats[base + ST_SUM + j] += xj
            for m in range(D):
                stats[base + ST_OUTER + j * D + m] += xj * X[m, i]


@nb.njit(cache=True)
def stats_window(prefix, lo, hi, out):
    """Write the statistics of minutes ``lo .. hi - 1`` into ``out``: prefix[hi] - prefix[lo].

    Parameters
    ----------
    prefix : ndarray of float64, shape (minutes + 1, N_STATS)
        Prefix sums: ``prefix[t]`` holds the statistics of minutes ``0 .. t - 1``.
    lo, hi : int
        Window bounds in minutes, ``0 <= lo <= hi <= minutes``.
    out : ndarray of float64, shape (N_STATS,)
        Output. Exact for integer-valued data below 2**53; otherwise the difference carries
        the rounding of the prefix sums (relative to their magnitude, not the window's).

    Raises
    ------
    ValueError
        On bad bounds or shapes.
    """
    if prefix.shape[1] != N_STATS or out.shape[0] != N_STATS:
        raise ValueError("prefix rows and out must have N_STATS entries")
    if lo < 0 or hi < lo or hi >= prefix.shape[0]:
        raise ValueError("need 0 <= lo <= hi <= minutes")
    for q in range(N_STATS):
        out[q] = prefix[hi, q] - prefix[lo, q]


@nb.njit(cache=True)
def majority_model(stats, out):
    """Write the majority-class model w = 0, b = log((n_1 + 0.5) / (n_0 + 0.5)), ok = 0.

    Parameters
    ----------
    stats : ndarray of float64, shape (N_STATS,)
    out : ndarray of float64, shape (N_MODEL,)
        Output. b = 0 (predicts class 0) when a count is negative or not finite.

    Raises
    ------
    ValueError
        On bad shapes.
    """
    if stats.shape[0] != N_STATS or out.shape[0] != N_MODEL:
        raise ValueError("stats must have N_STATS entries and out N_MODEL")
    n0, n1 = stats[ST_COUNT], stats[STRIDE + ST_COUNT]
    out[:] = 0.0
    if n0 >= 0.0 and n1 >= 0.0 and n0 < np.inf and n1 < np.inf:
        out[MD_B] = math.log((n1 + 0.5) / (n0 + 0.5))


@nb.njit(cache=True)
def fit_lda(stats, out, ridge=0.0):
    """Fit linear discriminant analysis from ``stats``; write the model into ``out``.

    Equals ``sklearn.discriminant_analysis.LinearDiscriminantAnalysis(solver="lsqr")`` (no
    shrinkage, priors = class frequencies) on the rows behind ``stats``: class means mu_k,
    priors p_k = n_k / n, pooled covariance S = sum_k p_k C_k (+ ridge I) with C_k the biased
    (1 / n_k) class covariance, per-class coefficients a_k = S^{-1} mu_k (Cholesky solve),
    intercepts c_k = -0.5 mu_k . a_k + log p_k, and the binary reduction w = a_1 - a_0,
    b = c_1 - c_0 (sklearn's ``_solve_lstsq``, ``_class_cov`` and ``fit``).

    Parameters
    ----------
    stats : ndarray of float64, shape (N_STATS,)
        Sufficient statistics (module docstring).
    out : ndarray of float64, shape (N_MODEL,)
        Output model (w, b, ok).
    ridge : float, default 0.0
        Added to the pooled covariance's diagonal, squared feature units, >= 0. ridge = 0
        reproduces sklearn; ridge > 0 equals sklearn with a ``covariance_estimator`` whose
        ``covariance_`` is the biased class covariance + ridge I (as the priors sum to 1).

    Returns
    -------
    int
        ``FIT_OK``; otherwise ``FIT_NON_FINITE``, ``FIT_EMPTY_CLASS``, ``FIT_TOO_FEW_ROWS`` or
        ``FIT_NOT_PD`` (checked in this order), with the majority-class model written
        (:func:`majority_model`): never NaN.

    Raises
    ------
    ValueError
        On bad shapes or a negative or non-finite ridge.
    """
    if stats.shape[0] != N_STATS or out.shape[0] != N_MODEL:
        raise ValueError("stats must have N_STATS entries and out N_MODEL")
    if not (ridge >= 0.0 and ridge < np.inf):
        raise ValueError("ridge must be finite and >= 0")
    status = FIT_OK
    for q in range(N_STATS):
        if not np.isfinite(stats[q]):
            status = FIT_NON_FINITE
    n0, n1 = stats[ST_COUNT], stats[STRIDE + ST_COUNT]
    if status == FIT_OK and (n0 < 1.0 or n1 < 1.0):
        status = FIT_EMPTY_CLASS
    elif status == FIT_OK and n0 + n1 < D + 1:
        status = FIT_TOO_FEW_ROWS
    if status == FIT_OK:
        status = _lda_solve(stats, out, ridge)
    if status != FIT_OK:
        majority_model(stats, out)
    return status


@nb.njit(cache=True)
def _lda_solve(stats, out, ridge):
    """Solve LDA for two non-empty classes with finite statistics; return the status."""
    n = stats[ST_COUNT] + stats[STRIDE + ST_COUNT]
    prior = np.empty(2)
    mu = np.empty((2, D))
    cov = np.zeros((D, D))
    trace_m = D * ridge
    for k in range(2):
        base = k * STRIDE
        nk = stats[base + ST_COUNT]
        prior[k] = nk / n
        for j in range(D):
            mu[k, j] = stats[base + ST_SUM + j] / nk
        for j in range(D):
            trace_m += prior[k] * (stats[base + ST_OUTER + j * D + j] / nk)
            for m in range(D):
                ckjm = stats[base + ST_OUTER + j * D + m] / nk - mu[k, j] * mu[k, m]
                cov[j, m] += prior[k] * ckjm
    for j in range(D):
        cov[j, j] += ridge
    # Cholesky factor, lower triangle: cov = F F^T.
    tol = PIVOT_RTOL * trace_m
    f = np.zeros((D, D))
    for j in range(D):
        s = cov[j, j]
        for m in range(j):
            s -= f[j, m] * f[j, m]
        if not s > tol:
            return FIT_NOT_PD
        f[j, j] = math.sqrt(s)
        for i in range(j + 1, D):
            s = cov[i, j]
            for m in range(j):
                s -= f[i, m] * f[j, m]
            f[i, j] = s / f[j, j]
    a = np.empty((2, D))
    c = np.empty(2)
    for k in range(2):
        for i in range(D):  # F z = mu_k, z stored in a[k]
            s = mu[k, i]
            for m in range(i):
                s -= f[i, m] * a[k, m]
            a[k, i] = s / f[i, i]
        for i in range(D - 1, -1, -1):  # F^T a_k = z, in place
            s = a[k, i]
            for m in range(i + 1, D):
                s -= f[m, i] * a[k, m]
            a[k, i] = s / f[i, i]
        dot = 0.0
        for j in range(D):
            dot += mu[k, j] * a[k, j]
        c[k] = -0.5 * dot + math.log(prior[k])
    for j in range(D):
        out[j] = a[1, j] - a[0, j]
    out[MD_B] = c[1] - c[0]
    out[MD_OK] = 1.0
    for q in range(N_MODEL):
        if not np.isfinite(out[q]):
            return FIT_NON_FINITE
    return FIT_OK


@nb.njit(cache=True)
def model_score(model, X, i):
    """Return the score ``sum_j w_j X[j, i] + b`` of row ``i`` (sequential sum, then + b)."""
    s = 0.0
    for j in range(D):
        s += model[j] * X[j, i]
    return s + model[MD_B]


@nb.njit(cache=True)
def predict_rows(model, X, n_rows, out_bool):
    """Predict the classes of rows ``0 .. n_rows - 1``: class 1 iff the score is > 0.

    As sklearn's binary ``LinearClassifierMixin.predict`` (``scores > 0``): a score of exactly
    0 and a NaN score (non-finite inputs) give class 0.

    Parameters
    ----------
    model : ndarray of float64, shape (N_MODEL,)
    X : ndarray of float64, shape (N_FEATURES, >= n_rows)
        Rows, feature-major (feature units).
    n_rows : int
    out_bool : ndarray of bool, shape (>= n_rows,)
        Output: True for class 1.

    Raises
    ------
    ValueError
        On a shape mismatch.
    """
    if model.shape[0] != N_MODEL or X.shape[0] != D or not 0 <= n_rows <= X.shape[1]:
        raise ValueError("model needs N_MODEL entries, X N_FEATURES rows and n_rows columns")
    if out_bool.shape[0] < n_rows:
        raise ValueError("out_bool must hold n_rows rows")
    for i in range(n_rows):
        out_bool[i] = model_score(model, X, i) > 0.0


@nb.njit(cache=True)
def count_correct(model, X, y, n_rows, mask):
    """Return how many masked rows of ``0 .. n_rows - 1`` the model classifies as ``y``.

    Parameters
    ----------
    model, X, n_rows
        As in :func:`predict_rows`.
    y : ndarray of int or bool, shape (>= n_rows,)
        Labels, 0 or 1.
    mask : ndarray of bool, shape (>= n_rows,)
        Rows to score.

    Returns
    -------
    int
        Correct predictions (:func:`predict_rows`' rule) among the masked rows.

    Raises
    ------
    ValueError
        On a shape mismatch.
    """
    if model.shape[0] != N_MODEL or X.shape[0] != D or not 0 <= n_rows <= X.shape[1]:
        raise ValueError("model needs N_MODEL entries, X N_FEATURES rows and n_rows columns")
    if y.shape[0] < n_rows or mask.shape[0] < n_rows:
        raise ValueError("y and mask must hold n_rows rows")
    correct = 0
    for i in range(n_rows):
        if mask[i] and (model_score(model, X, i) > 0.0) == (y[i] != 0):
            correct += 1
    return correct


@nb.njit(cache=True)
def concept_direction(concept, out):
    """Write the labelling direction w(c) = cos(pi c) W_A + sin(pi c) W_B (unit norm) into ``out``.

    Parameters
    ----------
    concept : float
        Concept c, in shares of flipped labels: rotating the direction by the angle pi c
        flips the clean label of a share c of rows drawn isotropically around the boundary
        (two half-spaces through the centre at angle theta disagree on theta / pi of the
        mass). Concept drift changes c (a fault's ``magnitude``).
    out : ndarray of float64, shape (N_FEATURES,)
    """
    th = math.pi * concept
    cc, sc = math.cos(th), math.sin(th)
    for j in range(D):
        out[j] = cc * _W_A[j] + sc * _W_B[j]


@nb.njit(cache=True)
def clean_score(x, i, w, curvature, support_z):
    """Return the concept's clean score of row ``i`` of ``x`` (class 1 iff it is > 0).

    v(x) = w(c) . z - kappa sum_j max(0, |z_j| - z0)^2 with z = x - BASE_LOC: linear within
    z0 standard deviations of the baseline mean, curving towards class 0 beyond (a support-
    limited concept: a model fit on baseline rows extrapolates a relation that no longer
    holds where it never saw data, so covariate shift hurts it, and a model refit on rows of
    the new region learns the local relation). Sequential sums.

    Parameters
    ----------
    x : ndarray of float64, shape (N_FEATURES, >= i + 1)
        True (uncorrupted) feature values, feature-major.
    i : int
        Row.
    w : ndarray of float64, shape (N_FEATURES,)
        Labelling direction (:func:`concept_direction`).
    curvature : float
        kappa >= 0 (scenario ``modelling.covariate_sensitivity``); 0 gives a linear concept.
    support_z : float
        z0 >= 0, in feature standard deviations (``modelling.support_z``).
    """
    s = 0.0
    bend = 0.0
    for j in range(D):
        z = x[j, i] - _BASE_LOC[j]
        s += w[j] * z
        e = abs(z) - support_z
        if e > 0.0:
            bend += e * e
    return s - curvature * bend


@nb.njit(cache=True)
def label_rows(X_true, n_rows, concept, noise_u, flip_prob, out_y, curvature=0.0,
               support_z=0.0):
    """Label rows by the scenario's concept, with label noise (:func:`clean_score`).

    The clean label is 1 iff the clean score is > 0 (a score of exactly 0 gives 0); it is
    flipped where ``noise_u[i] < flip_prob``.

    Parameters
    ----------
    X_true : ndarray of float64, shape (N_FEATURES, >= n_rows)
        The rows' true (uncorrupted) feature values, feature-major.
    n_rows : int
    concept : float
        Concept c, shares of flipped labels (:func:`concept_direction`).
    noise_u : ndarray of float64, shape (>= n_rows,)
        Uniform draws in [0, 1), drawn by the caller.
    flip_prob : float
        Label-noise probability eta in [0, 1].
    out_y : ndarray of int, shape (>= n_rows,)
        Output labels, 0 or 1.
    curvature, support_z : float, default 0.0
        kappa and z0 of :func:`clean_score` (0: a linear concept).

    Raises
    ------
    ValueError
        On a shape mismatch or a flip probability outside [0, 1].
    """
    if X_true.shape[0] != D or not 0 <= n_rows <= X_true.shape[1]:
        raise ValueError("X_true needs N_FEATURES rows and n_rows columns")
    if noise_u.shape[0] < n_rows or out_y.shape[0] < n_rows:
        raise ValueError("noise_u and out_y must hold n_rows rows")
    if not (flip_prob >= 0.0 and flip_prob <= 1.0):
        raise ValueError("flip_prob must be in [0, 1]")
    w = np.empty(D)
    concept_direction(concept, w)
    for i in range(n_rows):
        clean = clean_score(X_true, i, w, curvature, support_z) > 0.0
        out_y[i] = 1 if clean != (noise_u[i] < flip_prob) else 0


def analytic_accuracy(w, b, concept, flip_prob, mean, std):
    """Return the probability that the linear model (w, b) predicts a row's label.

    Inputs x_j ~ N(mean_j, std_j^2), independent, labelled by :func:`label_rows` (concept c,
    flip probability eta). The score u = w . x + b and the clean score v = w(c) . (x -
    BASE_LOC) are bivariate normal: means (w . mean + b, w(c) . (mean - BASE_LOC)),
    covariance sum_j std_j^2 [[w_j^2, w_j w_j(c)], [w_j w_j(c), w_j(c)^2]]. The prediction
    agrees with the clean label with P(agree) = P(u > 0, v > 0) + P(u <= 0, v <= 0), two
    bivariate normal orthant probabilities (``scipy.stats.multivariate_normal.cdf``, Genz &
    Bretz 2009; Sheppard's 1899 closed form 1/2 + arcsin(r) / pi for zero means, r the
    correlation of u and v); accuracy = (1 - eta) P(agree) + eta (1 - P(agree)). With w = 0
    the model predicts a constant class: P(agree) = P(v > 0) if b > 0 else P(v <= 0).

    Parameters
    ----------
    w : array_like, shape (N_FEATURES,)
    b : float
    concept : float
        Concept c, shares of flipped labels (:func:`concept_direction`); the concept is
        the linear one (curvature 0).
    flip_prob : float
        Label-noise probability eta in [0, 1].
    mean, std : array_like, shape (N_FEATURES,)
        Input mean and standard deviation per feature (feature units, std > 0).

    Returns
    -------
    float
        Expected accuracy in [0, 1].
    """
    from scipy.special import ndtr
    from scipy.stats import multivariate_normal

    w = np.asarray(w, dtype=float)
    mean = np.asarray(mean, dtype=float)
    var = np.asarray(std, dtype=float) ** 2
    if w.shape != (D,) or mean.shape != (D,) or var.shape != (D,) or not np.all(var > 0):
        raise ValueError("w, mean, std must have N_FEATURES entries, std > 0")
    wc = np.empty(D)
    concept_direction(float(concept), wc)
    m = np.array([w @ mean + b, wc @ (mean - _BASE_LOC)])
    cov = np.array([[w * w @ var, w * wc @ var], [w * wc @ var, wc * wc @ var]])
    if cov[0, 0] == 0.0:
        p_pos = float(ndtr(m[1] / math.sqrt(cov[1, 1])))
        agree = p_pos if b > 0 else 1.0 - p_pos
    else:
        kw = {"cov": cov, "allow_singular": True, "abseps": 1e-10, "releps": 1e-10}
        agree = float(multivariate_normal.cdf(np.zeros(2), mean=m, **kw)
                      + multivariate_normal.cdf(np.zeros(2), mean=-m, **kw))
    return (1.0 - flip_prob) * agree + flip_prob * (1.0 - agree)
