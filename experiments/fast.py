"""The batched fast path: controllers with kernels, played episode by episode in Numba.

Any :class:`controllers.base.KernelController` whose Python methods are the base class's
(:func:`has_fast_path`) is played by :func:`experiments.fast_loop.play_episode`, one
compiled call per episode, with the controller's own state, parameters and generator:
the loop composes the same kernels the Python class calls, so the rows, the learned state
and the generator's state are those of the Gymnasium path, bit for bit
(``tests/test_fast_path.py``). A new controller gets a fast path by being a
``KernelController`` (its module and its config file); plain-Python controllers run on the
Gymnasium path (:func:`experiments.episode.run_controller`).

Rows are built by ``run_episode``'s own row builder,
:func:`experiments.episode.summarise_episode`. :func:`run_controller_fast` is
``run_controller`` on this path; :func:`run_controllers_fast` plays several controllers of
one run seed scenario by scenario, sharing each episode's samples.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from controllers.base import Controller, KernelController
from controllers.envelope import critical_value
from experiments.episode import episode_seed, scenario_order, summarise_episode
from experiments.fast_loop import (
    DECISION,
    OK,
    SUMMARY,
    Episode,
    ForkMemo,
    Outputs,
    new_fork_memo,
    play_episode,
)
from experiments.regret import episode_regret
from simulator import layout as L
from simulator.env import compile_for_env, env_episode_seed
from simulator.records import FEEDBACK, VERDICT, new_records, new_truth, verdict_dicts
from simulator.sampling import SAMPLE_CACHE_MIB, new_sample_cache
from simulator.scenarios import CompiledScenario, Scenario, draw_incident, paper_cost
from simulator.state import Sim, new_sim

#: Methods a fast-path controller must inherit unchanged from ``KernelController`` (an
#: override in Python would be invisible to the compiled loop).
KERNEL_METHODS = ("act", "update", "reset", "is_decision")


def has_fast_path(controller: Controller) -> bool:
    """Return True if the fast path plays ``controller`` exactly as the Gymnasium path would.

    That is a :class:`~controllers.base.KernelController` that does not override
    ``act``, ``update``, ``reset`` or ``is_decision`` in Python.
    """
    return isinstance(controller, KernelController) and all(
        getattr(type(controller), m) is getattr(KernelController, m) for m in KERNEL_METHODS)


def compile_for_fast(scenario: Scenario, action_set: str = "auto", deployment: str = "direct",
                     canary_judge: str = "delta_sla", seed: int | None = None
                     ) -> CompiledScenario:
    """Compile ``scenario`` as ``run_episode`` configures the env for a controller.

    :func:`simulator.env.compile_for_env`: ``deployment`` and ``canary_judge`` are the
    controller's, ``P_N_ACTIONS`` is set by ``action_set`` (``auto``: the scenario's).
    With ``seed`` (the episode seed passed to ``run_episode``), a randomised scenario is
    compiled as the incident that episode draws (``SelfHealEnv.reset``); without it, as
    its nominal incident.
    """
    if seed is not None:
        scenario = draw_incident(scenario, env_episode_seed(seed))
    return compile_for_env(scenario, action_set, deployment, canary_judge)


class SampleCaches:
    """Sample caches (:mod:`simulator.sampling`) shared by controllers playing one episode.

    A minute's feature samples, merged KS window, and KS statistics and anomaly counts
    against the initial references depend on the episode seed, the fault table, the
    sampling sizes and the anomaly threshold only, not on the controller or its
    deployments; this store hands every controller the same cache for the same (episode
    seed, faults, horizon, samples per minute, KS window, reference size, anomaly z). It
    also keeps each episode's regret-fork memo (:meth:`fork_memo`). Call :meth:`clear` to
    free memory between scenarios.
    """

    def __init__(self, mib: float = SAMPLE_CACHE_MIB):
        self.mib = float(mib)
        self._store: dict = {}

    def get(self, p: np.ndarray, fa: np.ndarray, ep_seed: int) -> tuple[np.ndarray, ...]:
        """Return the cache ``(smp, smeta, slab, tst)`` of the episode, creating it when new."""
        key = (int(ep_seed), np.ascontiguousarray(fa).tobytes(),
               *(int(p[k]) for k in (L.P_HORIZON, L.P_SAMPLES_PER_MIN, L.P_KS_WINDOW,
                                     L.P_REF_SIZE)),
               *(float(p[k]) for k in (L.P_ANOMALY_Z, L.P_LABEL_NOISE, L.P_CURVATURE,
                                       L.P_SUPPORT_Z, L.P_OUTLIER_Z, L.P_SCHEMA_SENTINEL)))
        if key not in self._store:
            self._store[key] = new_sample_cache(p, self.mib)
        return self._store[key]

    def fork_memo(self, p: np.ndarray, fa: np.ndarray, ac: np.ndarray,
                  ep_seed: int) -> ForkMemo:
        """Return the episode's regret-fork memo, creating it when new.

        The forks of the no_op-only trajectory depend on the whole compiled scenario
        (parameters, faults, action costs) and the episode seed, so all of them key it.
        """
        key = ("memo", int(ep_seed), *(np.ascontiguousarray(x).tobytes() for x in (p, fa, ac)))
        if key not in self._store:
            self._store[key] = new_fork_memo(int(p[L.P_HORIZON]) + 2)
        return self._store[key]

    def clear(self) -> None:
        """Drop every cache."""
        self._store.clear()

    def __len__(self) -> int:
        return len(self._store)


@dataclass
class FastBatch:
    """Raw per-episode outputs of :func:`play_fast` (episode ``i`` at index ``i``).

    Attributes
    ----------
    hists : list of ndarray, shape (horizon + 1, N_RECORD)
    states : list of ndarray, shape (N_STATE,)
    verdicts : list of ndarray of VERDICT, shape (n_verdicts_i,)
    counts : ndarray of int64, shape (n, N_EXTENDED_ACTIONS)
    first_alarm, onsets : ndarray of int64, shape (n,)
    paper_costs : ndarray, shape (n,)
    rec_mins : list of int
        Recovery minutes per episode (MTTR).
    decisions : list of ndarray of DECISION, shape (n_decisions_i,)
        Regret records per episode (empty unless played with ``regret``).
    """

    hists: list
    states: list
    verdicts: list
    counts: np.ndarray
    first_alarm: np.ndarray
    onsets: np.ndarray
    paper_costs: np.ndarray
    rec_mins: list
    decisions: list

    @property
    def steps(self) -> int:
        """Env steps played in the batch (reset minutes excluded)."""
        return int(sum(int(s[L.S_T]) - 1 for s in self.states))


def _check_compiled(controller: Controller, compiled: CompiledScenario) -> None:
    """Refuse a compiled scenario whose deployment or judge is not the controller's."""
    want = (float(controller.deployment == "canary"),
            float(("delta_sla", "mann_whitney").index(controller.canary_judge)))
    got = (float(compiled.params[L.P_DEPLOY_CANARY]), float(compiled.params[L.P_CANARY_JUDGE]))
    if got != want:
        raise ValueError(
            f"{controller.name}: the compiled scenarios' deployment and canary judge must be "
            f"the controller's ({controller.deployment}, {controller.canary_judge}): use "
            "compile_for_fast(..., deployment, canary_judge)")


def episode_arguments(controller: KernelController, compiled: CompiledScenario, seed: int,
                      caches: SampleCaches | None = None, regret: bool = False
                      ) -> tuple[Sim, Episode, Outputs, ForkMemo]:
    """Return the arguments of :func:`experiments.fast_loop.play_episode` for one episode.

    (sim, ep, out, memo): a fresh simulation of ``compiled`` (with the shared sample cache
    of ``caches`` if given), the episode's inputs for ``controller``, zeroed outputs and
    the regret-fork memo (no rows without ``regret``).
    """
    p = compiled.params
    horizon = int(p[L.P_HORIZON])
    ep_seed = env_episode_seed(seed)
    sim = new_sim(compiled, SAMPLE_CACHE_MIB if caches is None else 0.0)
    memo = new_fork_memo(0)
    if caches is not None:
        smp, smeta, slab, tst = caches.get(sim.p, sim.fa, ep_seed)
        sim = sim._replace(smp=smp, smeta=smeta, slab=slab, tst=tst)
        if regret:
            memo = caches.fork_memo(sim.p, sim.fa, sim.ac, ep_seed)
    elif regret:
        memo = new_fork_memo(horizon + 2)
    c_paper = np.ascontiguousarray(paper_cost(compiled.action_costs, p), dtype=np.float64)
    ks_n = int(p[L.P_SAMPLES_PER_MIN] * p[L.P_KS_WINDOW])
    ep = Episode(c_paper, ep_seed, int(compiled.faults[:, L.F_ONSET].min()),
                 critical_value(controller.alpha, ks_n, int(p[L.P_REF_SIZE])),
                 bool(controller.uses_hidden_state), bool(regret))
    out = Outputs(new_records(VERDICT, horizon + 1), new_records(FEEDBACK, horizon + 1),
                  np.zeros(L.N_EXTENDED_ACTIONS, dtype=np.int64),
                  np.zeros(horizon + 1), new_records(DECISION, horizon + 1 if regret else 0),
                  new_records(SUMMARY))
    return sim, ep, out, memo


def play_fast(controller: Controller, compiled_scenarios: Sequence[CompiledScenario],
              seeds: Sequence[int], caches: SampleCaches | None = None,
              regret: bool = False) -> FastBatch:
    """Play episode ``i`` = (``compiled_scenarios[i]``, ``seeds[i]``) on the fast path.

    The episodes are played in order by ``controller``, its learning carried over, as
    ``run_controller`` plays a run; its state, generator and ``rewards`` are advanced in
    place exactly as the Gymnasium path would leave them.

    Parameters
    ----------
    controller : Controller
        A controller :func:`has_fast_path` accepts.
    compiled_scenarios : sequence of CompiledScenario
        As from :func:`compile_for_fast` with the controller's deployment and canary judge
        and the episode's seed (so that a randomised scenario is the incident that episode
        draws, as on the Gymnasium path); not modified.
    seeds : sequence of int
        Episode seeds, as passed to ``run_episode`` (``env.reset(seed=...)``).
    caches : SampleCaches, optional
        Sample caches to share with other controllers playing the same episodes (each
        episode's samples are then drawn once for all of them; results are unchanged).
        Default: a fresh cache per episode.
    regret : bool
        Record regret against the oracle at every decision epoch (``FastBatch.decisions``).

    Returns
    -------
    FastBatch

    Raises
    ------
    ValueError
        On a controller without a fast path, mismatched lengths or deployments, a
        non-finite observation (as the Gymnasium path), or an invalid action.
    """
    if not has_fast_path(controller):
        raise ValueError(f"the fast path cannot play {type(controller).__name__} "
                         f"{controller.name!r}: use experiments.episode.run_controller")
    if len(compiled_scenarios) != len(seeds):
        raise ValueError(f"{len(compiled_scenarios)} scenarios but {len(seeds)} seeds")
    for c in compiled_scenarios:
        _check_compiled(controller, c)
    controller.reserve(sum(int(c.params[L.P_HORIZON]) + 1 for c in compiled_scenarios))
    truth = new_truth()
    n_ep = len(seeds)
    batch = FastBatch([], [], [], np.zeros((n_ep, L.N_EXTENDED_ACTIONS), dtype=np.int64),
                      np.zeros(n_ep, dtype=np.int64), np.zeros(n_ep, dtype=np.int64),
                      np.zeros(n_ep), [], [])
    for i, (c, seed) in enumerate(zip(compiled_scenarios, seeds, strict=True)):
        sim, ep, out, memo = episode_arguments(controller, c, seed, caches, regret)
        out = out._replace(counts=batch.counts[i])
        play_episode(controller.state, controller.params, controller.rng, truth, sim, ep,
                     out, memo)
        o = out.summary[0]
        if o["status"] != OK:
            what = "non-finite observation" if o["status"] == 1 else (
                f"invalid action or engineer minutes ({float(o['bad_value'])!r})")
            raise ValueError(f"{controller.name}: {what} in episode {i} (seed {seeds[i]})")
        controller.rewards.extend(float(r) for r in out.rewards[: o["n_rewards"]])
        batch.hists.append(sim.hist)
        batch.states.append(sim.s)
        batch.verdicts.append(out.verdicts[: o["n_verdicts"]])
        batch.first_alarm[i] = o["first_alarm"]
        batch.onsets[i] = ep.onset
        batch.paper_costs[i] = o["paper_cost"]
        batch.rec_mins.append(int(c.params[L.P_RECOVERY_MIN]))
        batch.decisions.append(out.decisions[: o["n_decisions"]])
    return batch


def decision_dicts(decs: np.ndarray) -> list[dict]:
    """Rebuild ``experiments.regret.decision_record``'s dicts from ``DECISION`` records."""
    return [{
        "minute": int(d["minute"]),
        "action": L.ACTION_NAMES[int(d["action"])],
        "best_action": L.ACTION_NAMES[int(d["best_action"])],
        "regret_usd": float(d["regret_usd"]),
        "avoidable_catastrophe": bool(d["avoidable_catastrophe"]),
        "chosen_cost_usd": float(d["chosen_cost_usd"]),
        "best_cost_usd": float(d["best_cost_usd"]),
        "chosen_catastrophic": bool(d["chosen_catastrophic"]),
        "window_minutes": int(d["window_minutes"]),
    } for d in decs]


def episode_row(batch: FastBatch, i: int) -> dict:
    """Build the result row of episode ``i`` exactly as ``run_episode`` builds it."""
    s = batch.states[i]
    return summarise_episode(batch.hists[i], s, int(s[L.S_T]) - 1,
                             verdict_dicts(batch.verdicts[i]), batch.counts[i],
                             float(batch.paper_costs[i]), int(batch.first_alarm[i]),
                             int(batch.onsets[i]), batch.rec_mins[i])


def run_episodes_fast(controller: Controller, compiled_scenarios: Sequence[CompiledScenario],
                      seeds: Sequence[int], caches: SampleCaches | None = None,
                      regret: bool = False, decisions: list | None = None) -> list[dict]:
    """Play the batch on the fast path; return ``run_episode``'s row for each episode.

    See :func:`play_fast` for the arguments. Row ``i`` equals
    ``run_episode(controller, scenario_i, seeds[i], regret=regret)`` for every column, the
    controller having played episodes 0..i-1 before. With ``regret`` and a ``decisions``
    list, each episode's list of decision records is appended to it.
    """
    batch = play_fast(controller, compiled_scenarios, seeds, caches, regret)
    rows = [episode_row(batch, i) for i in range(len(seeds))]
    if regret:
        for row, decs in zip(rows, batch.decisions, strict=True):
            records = decision_dicts(decs)
            row.update(episode_regret(records))
            if decisions is not None:
                decisions.append(records)
    return rows


def run_controller_fast(controller: Controller, scenarios: Sequence[Scenario], run_seed: int,
                        action_set: str = "auto", regret: bool = False,
                        decisions: list[dict] | None = None) -> list[dict]:
    """:func:`experiments.episode.run_controller` on the fast path (same rows, same order).

    Raises
    ------
    ValueError
        If ``controller`` has no fast path (:func:`has_fast_path`).
    """
    decs = None if decisions is None else [decisions]
    return run_controllers_fast([controller], scenarios, run_seed, action_set, regret,
                                decs)[0]


def run_controllers_fast(controllers: Sequence[Controller], scenarios: Sequence[Scenario],
                         run_seed: int, action_set: str = "auto", regret: bool = False,
                         decisions: list[list[dict]] | None = None) -> list[list[dict]]:
    """Play the runs of several controllers with one run seed, sharing sample caches.

    Equals ``[run_controller(c, scenarios, run_seed, action_set) for c in controllers]``,
    row for row. The controllers meet the same episodes (seeded scenario order, episode
    seeds: common random numbers), so they are played scenario by scenario, every
    controller's episode drawing on one :class:`SampleCaches` entry, freed before the next
    scenario. Each controller's learning carries over its own episodes as in its own run.
    With ``regret``, rows carry the regret fields and ``decisions[j]`` (one list per
    controller) receives controller j's decision records, labelled with ``scenario``,
    ``episode`` and ``seed`` as ``run_controller`` labels them.

    Raises
    ------
    ValueError
        If one of the controllers has no fast path.
    """
    if decisions is not None and len(decisions) != len(controllers):
        raise ValueError(f"decisions needs one list per controller ({len(controllers)})")
    for c in controllers:
        if not has_fast_path(c):
            raise ValueError(f"the fast path cannot play {type(c).__name__} {c.name!r}: "
                             "use experiments.episode.run_controller")
    order = scenario_order(run_seed, scenarios)
    caches = SampleCaches()
    runs: list[list[dict]] = [[] for _ in controllers]
    for k, sc in enumerate(order):
        caches.clear()
        seed = episode_seed(run_seed, sc.id)
        incident = draw_incident(sc, env_episode_seed(seed))  # as SelfHealEnv.reset draws it
        compiled: dict = {}  # one per (deployment, canary judge)
        for j, (c, rows) in enumerate(zip(controllers, runs, strict=True)):
            mode = (c.deployment, c.canary_judge)
            if mode not in compiled:
                compiled[mode] = compile_for_fast(incident, action_set, *mode)
            recs: list = []
            row = run_episodes_fast(c, [compiled[mode]], [seed], caches, regret, recs)[0]
            if regret and decisions is not None:
                decisions[j].extend({**r, "scenario": sc.id, "episode": k, "seed": int(run_seed)}
                                    for r in recs[0])
            row.update(scenario=sc.id, family=sc.family, subtype=sc.subtype, episode=k,
                       seed=int(run_seed), optimal_action=sc.annotations.optimal_action)
            rows.append(row)
    return runs
