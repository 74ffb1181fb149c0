"""Fault levels and fault onsets (DESIGN 3.4), Numba-compiled.

``fault_level`` gives the level in [0, 1] of one fault row at a minute from its shape;
``_fault_onsets`` attaches version-bound faults to the model serving at their onset and
applies bad deploys and schema migrations.
"""

from __future__ import annotations

import numba as nb

from simulator import layout as L


@nb.njit(cache=True)
def fault_level(f, t):
    """Level in [0, 1] of fault row ``f`` at minute ``t`` (shape of DESIGN 3.4)."""
    onset = f[L.F_ONSET]
    if t < onset or t >= f[L.F_END]:
        return 0.0
    shape = int(f[L.F_SHAPE])
    if shape == L.SH_SUDDEN:
        return 1.0
    if shape == L.SH_RECURRING:
        phase = (t - onset) % f[L.F_PERIOD]
        return 1.0 if phase < f[L.F_ACTIVE] else 0.0
    return min(1.0, (t - onset + 1.0) / f[L.F_RAMP])


@nb.njit(cache=True)
def _fault_onsets(sim, t):
    """Attach version-bound faults to the model serving at onset; apply bad deploys.

    At minute ``t``, every fault whose onset has come and that has not started yet starts
    (``fr[i, FR_STARTED]``) and is bound to the serving model's version; a bad deploy moves
    the serving model to previous and gives it a new version, a migrating schema change
    bumps the live schema (and the serving and fallback models' schemas with it).
    """
    fa, fr, s, models, refs = sim.fa, sim.fr, sim.s, sim.models, sim.refs
    for i in range(fa.shape[0]):
        if fr[i, L.FR_STARTED] > 0.5 or t < fa[i, L.F_ONSET]:
            continue
        fr[i, L.FR_STARTED] = 1.0
        kind = int(fa[i, L.F_KIND])
        if kind == L.K_BAD_DEPLOY:
            models[L.M_PREVIOUS] = models[L.M_SERVING]
            refs[L.M_PREVIOUS] = refs[L.M_SERVING]
            models[L.M_SERVING, L.MF_VERSION] = s[L.S_NEXT_VERSION]
            s[L.S_NEXT_VERSION] += 1.0
        if kind == L.K_CORRUPTION and int(fa[i, L.F_SUBKIND]) == L.C_SCHEMA:
            if fa[i, L.F_MIGRATE] > 0.5:
                s[L.S_LIVE_SCHEMA] += 1.0
                models[L.M_SERVING, L.MF_SCHEMA] = s[L.S_LIVE_SCHEMA]
                models[L.M_FALLBACK, L.MF_SCHEMA] = s[L.S_LIVE_SCHEMA]
        fr[i, L.FR_VERSION] = models[L.M_SERVING, L.MF_VERSION]
