"""The rest of the horizon after a catastrophic failure: an outage, a restore, then no_op.

A catastrophic failure (DESIGN 3.6) ends the controller's episode: the env terminates, and
nothing the controller could do next is modelled. Its cost, SLA and recovery must still
cover the whole horizon, or a controller that fails early would look cheaper than one that
survives (issue 11, item 4). :func:`play_out` charges the minutes after the catastrophe as
follows, on the episode's own random streams:

1. **Outage**, from the minute after the catastrophe for ``P_RESTORE_MIN`` minutes
   (``catastrophe.restore_minutes``, default the scenario's
   ``annotations.historical_resolution_minutes``): the service is taken down while
   ``P_OUTAGE_ENGINEERS`` engineers work on it (``catastrophe.outage_engineers``, default 1).
   Every request fails (availability 0): the minutes are out of SLO, failed requests lose
   revenue, the replicas are still paid, and the engineers' time is charged.
2. **Restore** at the end of the outage: a human reinstates the last version known good,
   the one serving when the episode began (adapted to the live schema, as at a schema
   migration), with every deployment, canary, retrain job, fallback and quarantine
   cancelled, the replicas back to the scenario's count and leaked memory freed.
3. **no_op** to the horizon: the faults go on as drawn; nobody acts.

The minutes are played open loop (``S_OPEN_LOOP``): nobody observes them, so no
measurement is drawn. The episode's catastrophe and its kind stay those of the first
catastrophe (``S_CAT_MINUTE`` is its minute); an episode with a catastrophe never counts as
recovered (:func:`experiments.episode.summarise_episode`).
"""

from __future__ import annotations

import numba as nb

from simulator import layout as L
from simulator.model import fit_slot
from simulator.step import step


@nb.njit(cache=True)
def restore_last_good(sim):
    """Reinstate the episode's initial serving version and cancel everything in flight.

    Parameters
    ----------
    sim : Sim
        Modified in place: ``models[M_SERVING]`` and the deployment fields of ``s``.
    """
    p, s, models = sim.p, sim.s, sim.models
    k = L.M_SERVING
    models[k, :] = 0.0
    models[k, L.MF_VALID] = 1.0
    models[k, L.MF_COST] = 1.0
    models[k, L.MF_VERSION] = 1.0
    models[k, L.MF_SCHEMA] = s[L.S_LIVE_SCHEMA]
    fit_slot(sim, k, s[L.S_INIT_STATS:L.S_INIT_STATS + L.N_TRAIN_STATS])  # v1 refit: itself
    models[L.M_CANDIDATE, L.MF_VALID] = 0.0
    for f in (L.S_FALLBACK_ACTIVE, L.S_FALLBACK_UNTIL, L.S_JOB_ACTIVE, L.S_CANARY_ACTIVE,
              L.S_LEAK, L.S_OOM_UNTIL, L.S_DEPLOY_UNTIL, L.S_RESTART_UNTIL,
              L.S_QUARANTINE_UNTIL):
        s[f] = 0.0
    s[L.S_ESCALATE_AT] = -1.0
    s[L.S_REPLICAS] = p[L.P_REPLICAS]


@nb.njit(cache=True)
def play_out(sim):
    """Play the minutes after a catastrophic failure to the horizon (module docstring).

    Call it right after the step whose minute had the catastrophe. Does nothing if the
    episode has no catastrophe or has reached its horizon.

    Parameters
    ----------
    sim : Sim
        Advanced in place to ``s[S_T] = horizon + 1``; ``hist`` receives the records.
    """
    p, s = sim.p, sim.s
    if s[L.S_CATASTROPHIC] == L.CAT_NONE:
        return
    restore_at = s[L.S_T] + p[L.P_RESTORE_MIN]
    s[L.S_OUTAGE_UNTIL] = restore_at
    s[L.S_OPEN_LOOP] = 1.0
    while s[L.S_T] <= p[L.P_HORIZON]:
        if s[L.S_T] == restore_at:
            restore_last_good(sim)
        eng = p[L.P_OUTAGE_ENGINEERS] if s[L.S_T] < restore_at else 0.0
        step(sim, L.NO_OP, eng)
