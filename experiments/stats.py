"""Statistics for the result tables (scipy-based).

Project rule: use :mod:`scipy.stats` (and numpy) for anything they provide and hand-roll only
what they lack; each hand-rolled function says why in its docstring.

The experiments give, per controller, a matrix of per-episode values: rows are scenarios
(``S``, e.g. 43), columns are seeds (``m``, e.g. 100), every scenario run with the same
seeds. Episodes of one scenario are correlated, so the *scenario* is the unit of
replication: :func:`cluster_bootstrap` resamples scenarios first, :func:`scenario_upper_bound`
counts scenarios as the binomial trials and :func:`paired_wilcoxon` pairs per-scenario
values.

Contents
--------
clopper_pearson
    Exact binomial interval (``scipy.stats.binomtest``).
cluster_bootstrap
    Two-stage (scenario, then seed) percentile bootstrap of a mean or a ratio of sums.
scenario_upper_bound
    Exact upper bound on an event rate from the share of scenarios with an event.
paired_wilcoxon
    Wilcoxon signed-rank test (``scipy.stats.wilcoxon``) with a rank-biserial effect size.
holm
    Holm-Bonferroni step-down adjusted p-values.
km_median
    Kaplan-Meier median time with right censoring (``scipy.stats.ecdf``) and its interval.
"""

from __future__ import annotations

import math
import warnings
from numbers import Integral

import numpy as np
from scipy.stats import CensoredData, binomtest, ecdf, rankdata, wilcoxon


def clopper_pearson(k: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Exact (Clopper-Pearson) two-sided interval of a binomial proportion.

    Parameters
    ----------
    k, n : int
        Events and trials, 0 <= k <= n.
    confidence : float

    Returns
    -------
    (low, high) : tuple of float
        In [0, 1]; (nan, nan) when n == 0.

    Raises
    ------
    ValueError
        If k < 0, k > n or n < 0.
    """
    if n < 0 or k < 0 or k > n:
        raise ValueError(f"need 0 <= k <= n, got k={k}, n={n}")
    if n == 0:
        return (math.nan, math.nan)
    ci = binomtest(k, n).proportion_ci(confidence_level=confidence, method="exact")
    return (float(ci.low), float(ci.high))


# ---------------------------------------------------------------------------------------
# Input checks shared by the functions below.
# ---------------------------------------------------------------------------------------

#: Rounding slack when comparing a Kaplan-Meier product with 0.5: ``scipy.stats.ecdf``
#: multiplies factors ``1 - d/n``, so an exact 0.5 can come out as 0.5000000000000001
#: (e.g. 24 episodes, 1..24 minutes, the last censored). A true survival value in
#: (0.5, 0.5 + 1e-10] is treated as 0.5; that moves the median by one event time at most.
_HALF_TOL = 1e-10


def _float_array(x, name: str, ndim: int) -> np.ndarray:
    """Return ``x`` as a finite, non-empty float array with ``ndim`` dimensions.

    Raises
    ------
    ValueError
        If ``x`` is not numeric, has another number of dimensions, is empty or holds a NaN
        or an infinity.
    """
    try:
        a = np.asarray(x, dtype=float)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name} must be numeric: {err}") from err
    if a.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimension(s), got shape {a.shape}")
    if a.size == 0:
        raise ValueError(f"{name} is empty (shape {a.shape})")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} holds NaN or infinite values")
    return a


def _binary_array(x, name: str) -> np.ndarray:
    """Return ``x`` (bool, or numbers all 0 or 1) as a bool array of the same shape.

    Raises
    ------
    ValueError
        If ``x`` is empty or holds a value other than 0/1 (NaN included).
    """
    a = np.asarray(x)
    if a.size == 0:
        raise ValueError(f"{name} is empty (shape {a.shape})")
    if a.dtype == bool:
        return a
    try:
        f = a.astype(float)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name} must be bool or 0/1: {err}") from err
    if not np.all((f == 0.0) | (f == 1.0)):
        raise ValueError(f"{name} must hold only 0/1 (or bool) values")
    return f == 1.0


def _check_confidence(confidence: float) -> float:
    """Return ``confidence`` as a float in (0, 1), else raise ValueError."""
    c = float(confidence)
    if not 0.0 < c < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
    return c


# ---------------------------------------------------------------------------------------
# Two-stage cluster bootstrap.
# ---------------------------------------------------------------------------------------


def cluster_bootstrap(num, den=None, n_resamples: int = 1000, confidence: float = 0.95,
                      seed: int = 0) -> tuple[float, float, float]:
    """Two-stage percentile bootstrap of a mean or a ratio of sums over scenarios x seeds.

    Each resample draws ``S`` scenarios (rows) with replacement, then, independently within
    every drawn scenario, ``m`` seeds (columns) with replacement (Davison & Hinkley 1997,
    sec. 3.8, "strategy 2": resample at both stages), and recomputes the statistic. The
    interval is the percentile interval of the resampled statistics (Efron & Tibshirani
    1993, ch. 13). ``scipy.stats.bootstrap`` resamples observations at one level only (its
    ``paired`` option pairs samples, it does not nest them), so the two-stage scheme is
    hand-rolled here; the gathers are vectorised (one ``(B, S, m)`` fancy index), with no
    Python loop over resamples.

    Parameters
    ----------
    num : array_like of float, shape (S, m)
        Per-episode values: rows are scenarios, columns are seeds (the same seeds in every
        scenario). Any unit; the result is in the unit of ``num`` (``den`` is None) or of
        ``num / den``.
    den : array_like of float, shape (S, m), optional
        Per-episode denominators (e.g. minutes). The same resample indices are applied to
        ``num`` and ``den`` (paired).
    n_resamples : int, default 1000
        Number of bootstrap resamples ``B`` >= 1. Memory: about ``3 * B * S * m * 8`` bytes
        (indices and gathered values), e.g. 100 MB at B=1000, S=43, m=100.
    confidence : float, default 0.95
        Two-sided confidence level in (0, 1).
    seed : int, default 0
        Seed of ``numpy.random.default_rng``; the same seed gives the same interval.

    Returns
    -------
    (estimate, low, high) : tuple of float
        ``estimate`` is the statistic on the full data: ``num.mean()`` if ``den`` is None,
        else ``num.sum() / den.sum()`` (a ratio estimator; e.g. a minute-weighted SLA is
        ``sum(sla * minutes) / sum(minutes)``, and a cost saving ``1 - ratio`` is computed by
        the caller from the returned ratio and its swapped bounds). ``low`` and ``high``
        are the ``(1 - confidence) / 2`` and ``(1 + confidence) / 2`` percentiles
        (``numpy.nanpercentile``, linear interpolation) of the resampled statistics.
        A resample whose ``den`` sums to 0 has statistic NaN and is ignored; if all are,
        ``low`` and ``high`` are NaN.

    Raises
    ------
    ValueError
        If ``num`` is not 2-D, is empty or holds NaN/inf; if ``den`` has another shape or
        holds NaN/inf; if ``den.sum()`` over the full data is 0; if ``n_resamples`` is not
        an integer >= 1 or ``confidence`` is not in (0, 1).

    Notes
    -----
    With ``S == 1`` only the second stage varies (seeds of the one scenario); with
    ``m == 1`` only the first (scenarios), which is then the ordinary one-level bootstrap of
    the ``S`` values. With zero variance the interval is degenerate at the value.

    Resampling at both stages is mildly conservative (Davison & Hinkley 1997, sec. 3.8):
    for the mean of a balanced design the bootstrap variance is about the sampling
    variance plus ``sigma_w**2 / (S * m)`` (the within-scenario part counted about twice),
    which is small when scenarios differ more than seeds do.
    """
    x = _float_array(num, "num", 2)
    y = None
    if den is not None:
        y = _float_array(den, "den", 2)
        if y.shape != x.shape:
            raise ValueError(f"den must have the shape of num {x.shape}, got {y.shape}")
    if isinstance(n_resamples, bool) or not isinstance(n_resamples, Integral) \
            or n_resamples < 1:
        raise ValueError(f"n_resamples must be an integer >= 1, got {n_resamples!r}")
    conf = _check_confidence(confidence)

    if y is None:
        estimate = float(x.mean())
    else:
        total = float(y.sum())
        if total == 0.0:
            raise ValueError("den sums to 0 over the full data: the ratio is undefined")
        estimate = float(x.sum()) / total

    n_scen, n_seed = x.shape
    rng = np.random.default_rng(seed)
    rows = rng.integers(0, n_scen, size=(n_resamples, n_scen))
    cols = rng.integers(0, n_seed, size=(n_resamples, n_scen, n_seed))
    rows = rows[:, :, None]  # broadcast against cols: (B, S, 1) with (B, S, m)
    if y is None:
        stat = x[rows, cols].mean(axis=(1, 2))
    else:
        num_b = x[rows, cols].sum(axis=(1, 2))
        den_b = y[rows, cols].sum(axis=(1, 2))
        stat = np.full(n_resamples, np.nan)
        ok = den_b != 0.0
        stat[ok] = num_b[ok] / den_b[ok]
    if np.all(np.isnan(stat)):
        return (estimate, math.nan, math.nan)
    alpha = (1.0 - conf) / 2.0
    low, high = np.nanpercentile(stat, [100.0 * alpha, 100.0 * (1.0 - alpha)])
    return (estimate, float(low), float(high))


# ---------------------------------------------------------------------------------------
# Upper bound on an event rate, scenarios as the trials.
# ---------------------------------------------------------------------------------------


def scenario_upper_bound(events, confidence: float = 0.95) -> tuple[int, int, float]:
    """Exact upper bound on the scenario-mean event rate, counting scenarios with an event.

    Let ``p_s`` be the per-episode event probability of scenario ``s``. Over its ``m``
    episodes, P(at least one event) = ``1 - (1 - p_s)**m >= p_s``, so the share of
    scenarios with at least one event estimates ``mean_s(1 - (1 - p_s)**m)``, a quantity
    >= the scenario-mean event rate ``mean_s(p_s)``; an upper confidence bound on that
    share is therefore an upper bound on the mean rate too. The scenarios, not the
    correlated episodes, are the independent trials, so a zero-event result is bounded
    honestly: 0 of 43 scenarios gives an upper end of about 8.2% (not the ~0.09% that 0 of
    4,300 "independent" episodes would claim). The bound is the upper end of the two-sided
    exact Clopper-Pearson interval (Clopper & Pearson 1934) from :func:`clopper_pearson`
    (``scipy.stats.binomtest``); it is conservative, since it bounds a quantity >= the rate.

    Parameters
    ----------
    events : array_like of bool or {0, 1}, shape (S, m)
        Whether an event (e.g. an SLA breach, an unsafe action) occurred in each episode;
        rows are scenarios, columns are seeds.
    confidence : float, default 0.95
        Two-sided confidence level of the Clopper-Pearson interval, in (0, 1).

    Returns
    -------
    (k, S, upper) : tuple of (int, int, float)
        ``k`` scenarios with at least one event out of ``S``, and the upper end (a fraction
        in [0, 1]) of the exact interval of ``k / S``.

    Raises
    ------
    ValueError
        If ``events`` is not 2-D, is empty, or holds a value other than 0/1 (NaN included),
        or ``confidence`` is not in (0, 1).
    """
    e = _binary_array(events, "events")
    if e.ndim != 2:
        raise ValueError(f"events must have 2 dimensions (S, m), got shape {e.shape}")
    conf = _check_confidence(confidence)
    n_scen = int(e.shape[0])
    k = int(np.count_nonzero(e.any(axis=1)))
    return (k, n_scen, clopper_pearson(k, n_scen, conf)[1])


# ---------------------------------------------------------------------------------------
# Paired comparison of two controllers on the same scenarios.
# ---------------------------------------------------------------------------------------


def paired_wilcoxon(x, y) -> dict:
    """Wilcoxon signed-rank test of paired per-scenario values, with its effect size.

    The test is ``scipy.stats.wilcoxon(x - y, zero_method="wilcox")`` (two-sided, default
    ``method``: exact for small samples without ties, else the normal approximation;
    Wilcoxon 1945). Zero differences are dropped (``"wilcox"``). The effect size is the
    matched-pairs rank-biserial correlation (Kerby 2014), which scipy does not provide:
    rank the non-zero ``|x - y|`` with ``scipy.stats.rankdata`` (average ranks for ties),
    sum the ranks of the positive differences (``R+``) and of the negative ones (``R-``),
    and take ``r = (R+ - R-) / (R+ + R-)``.

    Parameters
    ----------
    x, y : array_like of float, shape (S,)
        Per-scenario values (any unit, the same for both) of a controller and of the
        reference, on the same scenarios in the same order.

    Returns
    -------
    dict
        ``"n"`` (int): number of non-zero differences. ``"median_diff"`` (float, unit of
        ``x``): median of ``x - y`` over all pairs, zeros included. ``"statistic"``
        (float): scipy's ``W``, ``min(R+, R-)``. ``"p_value"`` (float): two-sided p-value.
        ``"effect_size"`` (float): ``r`` in [-1, 1], positive when ``x`` tends to exceed
        ``y`` (+1: every non-zero difference positive). If every difference is zero:
        ``n`` = 0, ``statistic`` NaN, ``p_value`` 1.0, ``effect_size`` 0.0 (no exception).

    Raises
    ------
    ValueError
        If ``x`` or ``y`` is not 1-D, is empty or holds NaN/inf, or their shapes differ.

    Notes
    -----
    Differences are taken exactly (``x - y``); values that differ only by rounding count as
    non-zero differences.
    """
    a = _float_array(x, "x", 1)
    b = _float_array(y, "y", 1)
    if a.shape != b.shape:
        raise ValueError(f"x and y must have the same shape, got {a.shape} and {b.shape}")
    d = a - b
    median_diff = float(np.median(d))
    nz = d[d != 0.0]
    n = int(nz.size)
    if n == 0:
        return {"n": 0, "median_diff": median_diff, "statistic": math.nan,
                "p_value": 1.0, "effect_size": 0.0}
    res = wilcoxon(d, zero_method="wilcox", alternative="two-sided")
    ranks = rankdata(np.abs(nz))
    r_plus = float(ranks[nz > 0].sum())
    r_minus = float(ranks[nz < 0].sum())
    return {"n": n, "median_diff": median_diff, "statistic": float(res.statistic),
            "p_value": float(res.pvalue),
            "effect_size": (r_plus - r_minus) / (r_plus + r_minus)}


# ---------------------------------------------------------------------------------------
# Multiple comparisons.
# ---------------------------------------------------------------------------------------


def holm(p_values) -> np.ndarray:
    """Holm-Bonferroni step-down adjusted p-values (Holm 1979).

    With the ``n`` p-values sorted ascending, ``p_(1) <= ... <= p_(n)``, the adjusted value
    of ``p_(i)`` is ``min(1, max_{j <= i} (n - j + 1) * p_(j))``; rejecting the hypotheses
    whose adjusted p-value is <= alpha controls the family-wise error rate at alpha under
    any dependence. scipy offers only false-discovery-rate control
    (``scipy.stats.false_discovery_control``: Benjamini-Hochberg / -Yekutieli), not
    family-wise Holm, hence hand-rolled.

    Parameters
    ----------
    p_values : array_like of float, shape (n,)
        Raw p-values in [0, 1], any order.

    Returns
    -------
    numpy.ndarray of float, shape (n,)
        Adjusted p-values, in the order of the input: each >= its raw value, <= 1, and
        ordered as the raw ones (equal raw values get equal adjusted values).

    Raises
    ------
    ValueError
        If ``p_values`` is not 1-D, is empty, or holds NaN/inf or a value outside [0, 1].
    """
    p = _float_array(p_values, "p_values", 1)
    if np.any((p < 0.0) | (p > 1.0)):
        raise ValueError("p_values must lie in [0, 1]")
    n = p.size
    order = np.argsort(p, kind="stable")
    scaled = (n - np.arange(n)) * p[order]
    adjusted = np.minimum(np.maximum.accumulate(scaled), 1.0)
    out = np.empty(n)
    out[order] = adjusted
    return out


# ---------------------------------------------------------------------------------------
# Kaplan-Meier median time to an event.
# ---------------------------------------------------------------------------------------


def _first_time_at_or_below_half(times: np.ndarray, curve: np.ndarray) -> float:
    """Smallest ``times[i]`` with ``curve[i] <= 0.5`` (NaN never qualifies), else inf."""
    hit = np.flatnonzero(curve <= 0.5 + _HALF_TOL)  # NaN compares False
    return float(times[hit[0]]) if hit.size else math.inf


def km_median(durations, observed, confidence: float = 0.95) -> tuple[float, float, float]:
    """Kaplan-Meier median time with right censoring, and its confidence interval.

    The survival function is the Kaplan-Meier estimate (Kaplan & Meier 1958) of
    ``scipy.stats.ecdf(scipy.stats.CensoredData(uncensored=..., right=...))`` with its
    pointwise band ``res.sf.confidence_interval(confidence, method="log-log")``
    (Greenwood variance on the log(-log S) scale). The median is the smallest observed time
    ``t`` with ``S(t) <= 0.5``. Its interval is read off the band as in Brookmeyer & Crowley
    (1982): the median's confidence set is ``{t : the band at t contains 0.5}``, and since
    both band curves are non-increasing, ``low`` = smallest observed ``t`` where the band's
    *lower* curve is <= 0.5 and ``high`` = smallest observed ``t`` where its *upper* curve
    is <= 0.5 (the rule of R's ``print.survfit`` for the median's interval). scipy's
    ``ecdf`` gives the curves but not their quantiles with an interval, hence this reading.

    Parameters
    ----------
    durations : array_like of float, any shape (e.g. (S, m))
        Time to the event in minutes, finite and >= 0 (for a censored episode: the time
        observed without the event).
    observed : array_like of bool or {0, 1}, same shape as ``durations``
        True if the event (recovery) was observed at ``durations``, False if censored.
    confidence : float, default 0.95
        Pointwise confidence level of the band, in (0, 1).

    Returns
    -------
    (median, low, high) : tuple of float
        In minutes; ``low <= median <= high``, each one of the observed event times or
        ``math.inf``. ``median`` is inf when ``S`` never reaches 0.5 (more than half of
        the episodes censored before the event), ``high`` is inf when the band's upper
        curve never reaches 0.5. With every episode censored the result is
        ``(inf, inf, inf)``: ``S(t) = 1`` at every observed time and no observed time is
        a candidate for the median (the median lies beyond the follow-up, not estimable).

    Raises
    ------
    ValueError
        If ``durations`` is empty or holds NaN/inf or negative values, if ``observed`` is
        not bool/0-1 or its shape differs, or ``confidence`` is not in (0, 1).

    Notes
    -----
    * Ties: at a time with both events and censorings, the censored episodes count as at
      risk at that time (events before censorings, the usual convention of scipy and R).
      Equal event times form one step of ``S``.
    * ``S(t) <= 0.5`` is tested with a 1e-10 slack for rounding in scipy's product, so that
      without censoring the median is exactly the lower empirical median
      (``numpy.quantile(d, 0.5, method="inverted_cdf")``). R's ``survfit`` instead takes
      the midpoint when ``S`` sits exactly at 0.5 over an interval.
    * The log-log band is undefined (NaN, with a scipy warning, silenced here) where
      ``S = 1`` or ``S = 0``. Where ``S = 0`` the lower curve is taken as 0 (so that
      ``low <= median``); the upper curve is left undefined there, so it never counts as
      reaching 0.5 and ``high`` may be inf on small samples (R reports NA there).
    * The band treats episodes as independent; episodes of one scenario are correlated,
      so with many seeds per scenario the interval is too narrow. For a scenario-level
      interval, bootstrap the median over scenarios instead.
    """
    d = _float_array(durations, "durations", np.ndim(durations))
    obs = _binary_array(observed, "observed")
    if obs.shape != d.shape:
        raise ValueError(f"observed must have the shape of durations {d.shape}, "
                         f"got {obs.shape}")
    if np.any(d < 0.0):
        raise ValueError("durations must be >= 0")
    conf = _check_confidence(confidence)
    d, obs = d.ravel(), obs.ravel()

    res = ecdf(CensoredData(uncensored=d[obs], right=d[~obs]))
    times = np.asarray(res.sf.quantiles, dtype=float)
    surv = np.asarray(res.sf.probabilities, dtype=float)
    with warnings.catch_warnings():
        # "The confidence interval is undefined at some observations" (S = 0 or 1).
        warnings.filterwarnings("ignore", message="The confidence interval is undefined",
                                category=RuntimeWarning)
        band = res.sf.confidence_interval(confidence_level=conf, method="log-log")
    lower = np.asarray(band.low.probabilities, dtype=float).copy()
    upper = np.asarray(band.high.probabilities, dtype=float)
    lower[surv <= 0.0] = 0.0

    return (_first_time_at_or_below_half(times, surv),
            _first_time_at_or_below_half(times, lower),
            _first_time_at_or_below_half(times, upper))
