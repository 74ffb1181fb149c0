"""Counter-based random numbers for the kernels (SplitMix64; Steele, Lea & Flood, OOPSLA 2014).

Every simulated minute draws from its own stream, keyed by (episode seed, minute, stream id).
Two forks of one episode that take different actions therefore see the same random numbers
at every later minute (common random numbers), which the oracle and the counterfactual
action assessment rely on. The state of a stream is a one-element uint64 array.
``poisson`` draws exact Poisson counts (such as requests per minute) for any mean up to 2**62.
"""

import math
from decimal import Context, Decimal

import numba as nb
import numpy as np

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_TWO53 = 1.0 / 9007199254740992.0

STREAM_MINUTE = 1
STREAM_CANARY = 2
STREAM_RETRAIN = 3
STREAM_WARMUP = 4
STREAM_TRAFFIC = 6  # requests arriving in a minute (5 is reserved for measurements)
STREAM_ESCALATE = 7  # the paged engineer's choice of fix (simulator.deploy.paged_fix)
STREAM_INIT_TRAIN = 8  # the initial models' training rows (simulator.step.init_state)
STREAM_FLAP = 9  # + fault index: a flapping fault's state per block (simulator.faults.fault_level)

#: ``poisson``: multiplication of uniforms below this mean, Hörmann's PTRS at and above it.
_POISSON_PTRS_MIN = 10.0
#: ``poisson``: largest mean accepted (draws must fit an int64).
_POISSON_LAM_MAX = 2.0**62
#: log(k!) for k = 0..15, correctly rounded (Decimal ln at 40 digits).
_LOG_FACTORIAL = np.array(
    [float(Decimal(math.factorial(k)).ln(Context(prec=40))) for k in range(16)]
)
#: 0.5 log(2 pi), and the coefficients of Stirling's series for log(k!).
_HALF_LOG_2PI = 0.91893853320467274178
_S0 = 1.0 / 12.0
_S1 = 1.0 / 360.0
_S2 = 1.0 / 1260.0
_S3 = 1.0 / 1680.0
_S4 = 1.0 / 1188.0


@nb.njit(cache=True)
def mix64(z):
    """SplitMix64 finaliser: a bijective 64-bit hash of ``z`` (uint64)."""
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


@nb.njit(cache=True)
def seed_stream(rs, seed, minute, stream):
    """Set ``rs[0]`` to the start of the stream keyed by (seed, minute, stream); all >= 0."""
    k = mix64(np.uint64(seed) + _GOLDEN * np.uint64(stream + 1))
    rs[0] = mix64(k + np.uint64(minute) * _M2)


@nb.njit(cache=True)
def uniform(rs):
    """Next U[0, 1) draw (53-bit resolution) of the stream ``rs``."""
    rs[0] += _GOLDEN
    return float(mix64(rs[0]) >> np.uint64(11)) * _TWO53


@nb.njit(cache=True)
def normal(rs):
    """Next standard normal draw (Box-Muller, one of the pair; two uniforms per draw)."""
    u1 = uniform(rs)
    u2 = uniform(rs)
    # math (libm) rather than NumPy's vectorised ufuncs: identical compiled and interpreted
    return math.sqrt(-2.0 * math.log(1.0 - u1)) * math.cos(2.0 * math.pi * u2)


@nb.njit(cache=True)
def binomial(rs, n, p):
    """Binomial(n, p) draw as a sum of ``n`` Bernoulli trials (exact; ``n`` uniforms)."""
    k = 0
    for _ in range(n):
        if uniform(rs) < p:
            k += 1
    return k


@nb.njit(cache=True)
def poisson(rs, lam):
    """Draw one Poisson(``lam``) count from the stream ``rs``.

    Exact: the draw follows the Poisson law up to double-precision rounding, with no normal
    approximation at any mean. Compiled and interpreted (``.py_func``) calls give the same draws
    and leave the stream in the same state.

    Parameters
    ----------
    rs : numpy.ndarray
        Stream state, shape (1,), dtype uint64 (see ``seed_stream``); advanced in place.
    lam : float
        Mean, in [0, 2**62]. ``lam = 0`` gives 0 and leaves ``rs`` as it is.

    Returns
    -------
    int
        The count, an int64 (a Python ``int`` when called from Python).

    Raises
    ------
    ValueError
        If ``lam`` is negative, NaN, infinite or above 2**62.

    Notes
    -----
    ``0 < lam < 10``: multiplication of uniforms (Knuth, TAOCP vol. 2, 3.4.1): multiply
    uniforms until the product falls to exp(-lam) or below; the draw is the number of uniforms
    multiplied before that last one. It consumes draw + 1 uniforms, lam + 1 on average.

    ``lam >= 10``: PTRS, transformed rejection with squeeze (Hörmann 1993; the sampler of
    NumPy's legacy and Generator ``poisson`` for lam >= 10). With
    b = 0.931 + 2.53 sqrt(lam), a = -0.059 + 0.02483 b, alpha = 1.1239 + 1.1328 / (b - 3.4)
    and v_r = 0.9277 - 3.6224 / (b - 2):

    1. Draw U = u1 - 0.5 and V = u2 (two uniforms); us = 0.5 - |U|;
       k = floor((2 a / us + b) U + lam + 0.43).
    2. If us >= 0.07 and V <= v_r, return k (the squeeze: it ends a round with probability
       0.86 v_r, 35 % at lam = 10, 61 % at 50, 80 % for large means).
    3. If k < 0, or us < 0.013 and V > us, reject: go to 1.
    4. If log(V alpha / (a / us**2 + b)) <= log f(k) = -lam + k log(lam) - log(k!), return k;
       otherwise go to 1.

    A round accepts with probability 1 / alpha, so a draw consumes 2 alpha uniforms on average:
    2.66 at lam = 10, 2.39 at 50, 2.26 at 1e4 and 2.25 for larger means.

    Two departures from the textbook arithmetic, neither of which changes the algorithm.
    First, k is formed as floor(lam) + floor((2 a / us + b) U + frac(lam) + 0.43), exact in
    floating point, whereas rounding lam + ... to a double (spacing lam 2**-52) would move
    probability between neighbouring counts (relative error 1e-8 at lam = 1e8, 1e-4 at 1e12).
    Second, log f(k) is not computed with ``math.lgamma``: interpreted, ``math.lgamma`` is
    CPython's own Lanczos approximation, not the libm ``lgamma`` that compiled code calls, and
    the two differ in the last bit for about half of the arguments, which would break the
    parity of compiled and interpreted draws. Instead log(k!) is a table of correctly rounded
    values for k < 16; above it, with Stirling's series for log(k!) (five terms, remainder
    below 2e-16), log f(k) = (k - lam) - k log1p((k - lam) / lam) - 0.5 log(2 pi k) - stirlerr(k).
    This uses only arithmetic and libm's ``log`` and ``log1p`` (the same in both modes) and
    does not cancel terms of size lam log(lam) as the textbook form does: its error within
    8 standard deviations of the mean is 1e-14 at lam = 10 and 1e-11 at 1e8 (textbook form
    with ``lgamma``: 2e-14 and 5e-7).

    The number of uniforms consumed varies with the draw (and with ``lam``). Callers that
    need a fixed stream position afterwards, for example further draws that must stay
    common to two forks whose means differ, should give Poisson draws a stream of their own.

    References
    ----------
    W. Hörmann, "The transformed rejection method for generating Poisson random variables",
    Insurance: Mathematics and Economics 12 (1993) 39-45.
    """
    mu = float(lam)
    if not (mu >= 0.0 and mu <= _POISSON_LAM_MAX):  # also catches NaN
        raise ValueError("poisson: lam must be a number in [0, 2**62]")
    if mu == 0.0:
        return 0
    if mu < _POISSON_PTRS_MIN:
        enlam = math.exp(-mu)
        x = 0
        prod = uniform(rs)
        while prod > enlam:
            x += 1
            prod *= uniform(rs)
        return x

    slam = math.sqrt(mu)
    loglam = math.log(mu)
    b = 0.931 + 2.53 * slam
    a = -0.059 + 0.02483 * b
    alpha = 1.1239 + 1.1328 / (b - 3.4)
    vr = 0.9277 - 3.6224 / (b - 2.0)
    lam_int = math.floor(mu)  # an int: mu <= 2**62
    frac = mu - lam_int  # exact
    while True:
        u = uniform(rs) - 0.5
        v = uniform(rs)
        us = 0.5 - abs(u)
        if us < 0.013 and (v > us or us == 0.0):
            continue  # step 3, second clause (taken first: it also keeps us > 0 below)
        # j = k - floor(lam), kept a float: far-off rejected candidates may exceed int64
        j = np.floor((2.0 * a / us + b) * u + (frac + 0.43))
        if us >= 0.07 and v <= vr:
            return lam_int + int(j)
        kf = lam_int + j
        if kf < 0.0:
            continue
        if kf < 16.0:
            logf = -mu + kf * loglam - _LOG_FACTORIAL[int(kf)]
        else:
            d = j - frac  # k - lam
            r = 1.0 / kf
            r2 = r * r
            stirlerr = r * (_S0 - r2 * (_S1 - r2 * (_S2 - r2 * (_S3 - r2 * _S4))))
            logf = d - kf * math.log1p(d / mu) - 0.5 * math.log(kf) - _HALF_LOG_2PI - stirlerr
        if v == 0.0 or math.log(v * alpha / (a / (us * us) + b)) <= logf:
            return lam_int + int(j)
