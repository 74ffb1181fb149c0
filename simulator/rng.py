"""Counter-based random numbers for the kernels (SplitMix64; Steele, Lea & Flood, OOPSLA 2014).

Every simulated minute draws from its own stream, keyed by (episode seed, minute, stream id).
Two forks of one episode that take different actions therefore see the same random numbers
at every later minute (common random numbers), which the oracle and the counterfactual
action assessment rely on. The state of a stream is a one-element uint64 array.
"""

import math

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
