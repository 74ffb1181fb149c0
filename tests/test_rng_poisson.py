"""``simulator.rng.poisson``: exact Poisson counts from a counter-based stream.

Goodness of fit against ``scipy.stats.poisson`` on both algorithms (multiplication of
uniforms below lam = 10, Hörmann's PTRS at and above), bit-for-bit parity of the compiled
function with its ``.py_func`` (draws and stream states), the number of uniforms a draw
consumes, determinism, and bad input. No timing here: the cost per draw is not a test.
"""

import math

import numpy as np
import pytest
from scipy import stats

from simulator.rng import _GOLDEN, poisson, seed_stream

#: A stream id of the tests' own (the simulator's ids are small integers).
STREAM = 17
N = 20_000
#: Each draw comes from a stream of its own per "minute", as in the simulator, under a fixed
#: seed: every test below is deterministic, so it passes always or fails always. The
#: chi-square threshold 1e-4 is the chance, per mean, that a correct sampler fails on the
#: one sample fixed here (a false alarm would be permanent, so it is kept small); the mean
#: and variance checks catch small shifts that a many-bin chi-square is slow to see.
P_MIN = 1e-4
FIT_MEANS = [0.3, 3.0, 9.9, 10.0, 50.0, 1e4, 1e8]
#: Means across both algorithms, their switch at 10, the table / Stirling switch of log(k!)
#: at k = 16, and the largest accepted mean.
PARITY_MEANS = [0.0, 1e-9, 0.5, 1.0, 3.7, 9.999, 10.0, 10.5, 13.0, 17.25, 50.0, 333.3,
                1e4, 123456.7, 1e8, 1e12, 1e15, 2.0**62]


def _sample(lam: float, n: int = N, seed: int = 2024) -> np.ndarray:
    """Draw ``n`` counts, the i-th from the stream of minute ``i``."""
    rs = np.zeros(1, dtype=np.uint64)
    out = np.empty(n, dtype=np.int64)
    for i in range(n):
        seed_stream(rs, seed, i, STREAM)
        out[i] = poisson(rs, lam)
    return out


def _chisquare_p(draws: np.ndarray, lam: float, n_bins: int = 50) -> float:
    """Return the chi-square p-value of ``draws`` against Poisson(lam), binned at quantiles."""
    # Right-closed bins (e[i-1], e[i]] between the distinct j / n_bins quantiles, plus the two
    # tails; a discrete law merges equal quantiles, so small means get few, wide bins. Edges
    # only place the bins (the expected counts are exact Poisson), so where scipy's ppf gives
    # up (lam = 1e15) the normal quantiles serve.
    q = np.arange(1, n_bins) / n_bins
    if lam <= 1e9:
        edges = np.unique(stats.poisson.ppf(q, lam))
    else:
        edges = np.unique(np.floor(lam + math.sqrt(lam) * stats.norm.ppf(q)))
    cdf = stats.poisson.cdf(edges, lam)
    expected = draws.size * np.diff(np.concatenate([[0.0], cdf, [1.0]]))
    observed = np.bincount(np.searchsorted(edges, draws, side="left"), minlength=expected.size)
    assert expected.size >= 3 and expected.min() >= 5.0
    return float(stats.chisquare(observed, expected).pvalue)


def _uniforms_used(before: int, after: int) -> int:
    """Count the uniforms drawn between two states (each adds the golden gamma mod 2**64)."""
    return (after - before) * pow(int(_GOLDEN), -1, 2**64) % 2**64


@pytest.mark.parametrize("lam", FIT_MEANS)
def test_goodness_of_fit(lam):
    """Check the fit: chi-square p > 1e-4, mean and variance within 4 standard errors."""
    draws = _sample(lam)
    assert _chisquare_p(draws, lam) > P_MIN
    assert abs(draws.mean() - lam) < 4.0 * math.sqrt(lam / N)
    # Var of the sample variance of a Poisson sample: (lam + 2 lam**2) / N to first order.
    assert abs(draws.var(ddof=1) - lam) < 4.0 * math.sqrt((lam + 2.0 * lam**2) / N)


def test_fit_far_beyond_the_needed_range():
    """Check the fit at a mean far beyond the simulator's 1e8 (chi-square, mean)."""
    lam = 1e15
    draws = _sample(lam, n=5_000)
    assert _chisquare_p(draws, lam) > P_MIN
    assert abs(draws.mean() - lam) < 4.0 * math.sqrt(lam / draws.size)


@pytest.mark.parametrize("lam", PARITY_MEANS)
def test_py_func_parity(lam):
    """Check that compiled and interpreted draws, and the states after each, are identical."""
    r1 = np.zeros(1, dtype=np.uint64)
    r2 = np.zeros(1, dtype=np.uint64)
    seed_stream(r1, 7, 3, STREAM)
    seed_stream(r2, 7, 3, STREAM)
    for _ in range(1_500):  # one stream drawn on: PTRS step 4 runs a few hundred times
        assert poisson(r1, lam) == poisson.py_func(r2, lam)
        assert r1[0] == r2[0]
    for minute in range(300):  # fresh streams per minute, as the simulator draws
        seed_stream(r1, 11, minute, STREAM)
        seed_stream(r2, 11, minute, STREAM)
        assert poisson(r1, lam) == poisson.py_func(r2, lam)
        assert r1[0] == r2[0]


def test_integer_mean_is_the_float_mean():
    """Check that an int ``lam`` draws as the same float does (compiled and interpreted)."""
    for lam in (4, 40):
        runs = []
        for fn, arg in ((poisson, float(lam)), (poisson, lam), (poisson.py_func, lam)):
            rs = np.zeros(1, dtype=np.uint64)
            seed_stream(rs, 1, 0, STREAM)
            runs.append([fn(rs, arg) for _ in range(50)])
        assert runs[0] == runs[1] == runs[2]


def test_uniforms_consumed():
    """Check the uniforms used: draw + 1 by multiplication; by PTRS even, 2 alpha on average."""
    rs = np.zeros(1, dtype=np.uint64)
    seed_stream(rs, 3, 0, STREAM)
    before = int(rs[0])
    assert poisson(rs, 0.0) == 0 and int(rs[0]) == before  # lam = 0: the stream stays put
    for lam in (0.5, 3.0, 9.9):
        for minute in range(500):
            seed_stream(rs, 3, minute, STREAM)
            before = int(rs[0])
            x = poisson(rs, lam)
            assert _uniforms_used(before, int(rs[0])) == x + 1
    for lam in (10.0, 50.0, 1e8):
        b = 0.931 + 2.53 * math.sqrt(lam)
        alpha = 1.1239 + 1.1328 / (b - 3.4)
        used = []
        for minute in range(5_000):
            seed_stream(rs, 3, minute, STREAM)
            before = int(rs[0])
            poisson(rs, lam)
            used.append(_uniforms_used(before, int(rs[0])))
        used = np.array(used)
        assert np.all(used % 2 == 0) and used.min() == 2
        # rounds are geometric with success 1 / alpha: sd of the mean = 2 sqrt(alpha(alpha-1)/n)
        se = 2.0 * math.sqrt(alpha * (alpha - 1.0) / used.size)
        assert abs(used.mean() - 2.0 * alpha) < 4.0 * se


def test_determinism():
    """Check that a stream repeats its draws and that other minutes and seeds give others."""
    for lam in (2.5, 1e4):
        a = _sample(lam, n=300, seed=5)
        assert np.array_equal(a, _sample(lam, n=300, seed=5))
        assert not np.array_equal(a, _sample(lam, n=300, seed=6))
        # the minutes' streams differ: their draws spread over the law, not one value
        assert np.unique(a).size >= (6 if lam < 10 else 100)
        assert abs(a.mean() - lam) < 4.0 * math.sqrt(lam / a.size)


@pytest.mark.parametrize("lam", [-1.0, -1e-300, -math.inf, math.nan, math.inf, 2.0**63])
@pytest.mark.parametrize("compiled", [True, False], ids=["njit", "py_func"])
def test_bad_mean_raises(lam, compiled):
    """Check that a negative, NaN, infinite or too large mean raises ValueError."""
    fn = poisson if compiled else poisson.py_func
    rs = np.zeros(1, dtype=np.uint64)
    with pytest.raises(ValueError, match="lam"):
        fn(rs, lam)
