"""Run a controller through episodes and turn each episode into a tidy result row.

A *run* (DESIGN 3.1) is one controller living through a seeded random order of scenarios,
its learning carried over between episodes. Episode seeds derive from (run seed, scenario
id) only, so every controller meets the same random numbers in the same scenario (common
random numbers across controllers: paired comparisons).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence

import numpy as np

from controllers.base import Controller, Transition
from controllers.envelope import Observation, alarm
from controllers.learners import paper_reward
from experiments.regret import decision_record, episode_regret, is_decision
from simulator import layout as L
from simulator.env import SelfHealEnv
from simulator.outcomes import episode_summary
from simulator.scenarios import Scenario


def episode_seed(run_seed: int, scenario_id: str) -> int:
    """Seed of the episode of ``scenario_id`` in run ``run_seed`` (stable across processes)."""
    h = hashlib.sha256(f"{int(run_seed)}:{scenario_id}".encode()).digest()
    return int.from_bytes(h[:6], "little")


def scenario_order(run_seed: int, scenarios: Sequence[Scenario]) -> list[Scenario]:
    """Return the run's seeded random order of the scenarios."""
    rng = np.random.default_rng([int(run_seed), 7919])
    idx = rng.permutation(len(scenarios))
    return [scenarios[i] for i in idx]


def _public(info: dict, controller: Controller, env: SelfHealEnv) -> dict:
    """Return the info a controller receives: public, plus ``env.truth`` if hidden-state."""
    if controller.uses_hidden_state:
        return {**info, "truth": env.truth}
    return info


def _check_finite_action(a, n_actions: int, name: str) -> int:
    if isinstance(a, float) and not math.isfinite(a):
        raise ValueError(f"controller {name!r} returned a non-finite action {a!r}")
    ai = int(a)
    if not 0 <= ai < n_actions:
        raise ValueError(f"controller {name!r} returned action {a!r}, outside [0, {n_actions})")
    return ai


def run_episode(controller: Controller, scenario: Scenario, seed: int,
                action_set: str = "auto", regret: bool = False,
                decisions: list[dict] | None = None) -> dict:
    """Play one episode and return its result row.

    Parameters
    ----------
    controller : Controller
        Its ``reset`` is called first; its learning is not cleared.
    scenario : Scenario
    seed : int
        Episode seed (``env.reset(seed=...)``).
    action_set : str
        ``auto`` (the scenario's), ``paper`` or ``extended``.
    regret : bool
        Record regret at every decision epoch (:mod:`experiments.regret`): one forked
        simulation per action per decision, so much slower. Does not change the episode.
    decisions : list, optional
        With ``regret``, the per-decision records are appended here.

    Returns
    -------
    dict
        Episode metrics (see :func:`simulator.outcomes.episode_summary`) plus
        ``safety_violation``, ``n_actions_taken``, ``n_harmful``, ``n_contained``,
        ``mttd_min``, ``first_alarm_min`` (minute of the first alarm at or after onset, NaN
        if none: MTTR's origin), ``mttr_min``, ``recovered``, ``paper_cost``,
        ``reward_paper`` (sum of the paper's -C(a) + 10 * success over the episode's
        assessed actions) and ``actions_<name>`` counts; with ``regret`` also
        ``regret_usd``, ``n_decisions`` and ``n_avoidable_catastrophes``
        (:func:`experiments.regret.episode_regret`).
    """
    env = SelfHealEnv(scenario, observation_mode="full", action_set=action_set,
                      deployment=getattr(controller, "deployment", "direct"),
                      canary_judge=getattr(controller, "canary_judge", "delta_sla"))
    controller.reset(seed)
    obs, info = env.reset(seed=seed)
    if getattr(controller, "uses_simulation", False):
        controller.attach(env.sim)
    counts = np.zeros(len(L.ACTION_NAMES), dtype=int)
    first_alarm = -1
    onset = min(f.onset for f in env.incident.faults)  # this episode's drawn incident
    paper_cost = 0.0
    records: list[dict] = []
    done = False
    while not done:
        public = _public(info, controller, env)
        decision = regret and is_decision(controller, obs, public)
        a = _check_finite_action(controller.act(obs, public), env.n_actions, controller.name)
        if decision:  # forks of the state before this minute's step (act does not step)
            records.append(decision_record(env.sim, a, env.n_actions))
        env.charge_engineer_time(controller.take_engineer_minutes())
        nobs, reward, term, trunc, ninfo = env.step(a)
        minute = ninfo["minute"]
        if first_alarm < 0 and minute >= onset:
            if alarm(Observation.from_env(nobs, ninfo, controller.alpha)):
                first_alarm = minute
        if a != L.NO_OP:
            counts[a] += 1
        paper_cost += ninfo["cost"]
        controller.update(Transition(obs, a, reward, nobs, term, trunc,
                                     _public(ninfo, controller, env)))
        obs, info = nobs, ninfo
        done = term or trunc
    sim = env.sim
    row = summarise_episode(sim.hist, sim.s, sim.t - 1, env.assessments, counts, paper_cost,
                            first_alarm, onset, int(sim.p[L.P_RECOVERY_MIN]))
    if regret:
        row.update(episode_regret(records))
        if decisions is not None:
            decisions.extend(records)
    return row


def summarise_episode(hist: np.ndarray, state: np.ndarray, n_steps: int,
                      verdicts: list[dict], counts: np.ndarray, paper_cost: float,
                      first_alarm: int, onset: int, rec_min: int) -> dict:
    """Build an episode's result row (without regret) from what the episode left.

    Shared by :func:`run_episode` and the batched fast path (:mod:`experiments.fast`).

    Parameters
    ----------
    hist, state : ndarray
        The simulation's per-minute records and final state.
    n_steps : int
        Steps taken.
    verdicts : list of dict
        The env's action assessments (``SelfHealEnv.assessments``).
    counts : ndarray, shape (len(ACTION_NAMES),)
        Actions taken by index (no_op not counted).
    paper_cost : float
        Sum of the steps' C(a).
    first_alarm : int
        Minute of the first alarm at or after ``onset``, -1 if none.
    onset : int
        First fault onset.
    rec_min : int
        The scenario's recovery minutes.
    """
    row = episode_summary(hist, state, n_steps)
    row["safety_violation"] = float(any(v["safety_violation"] for v in verdicts))
    row["n_actions_taken"] = float(counts.sum())
    row["n_harmful"] = float(sum(v["harmful"] for v in verdicts))
    row["n_contained"] = float(sum(v["contained"] for v in verdicts))
    row["n_violating_actions"] = float(sum(v["safety_violation"] for v in verdicts))
    row["paper_cost"] = paper_cost
    row["reward_paper"] = float(sum(paper_reward(v["paper_cost"], v["success"])
                                    for v in verdicts))
    row["mttd_min"] = float(first_alarm - onset) if first_alarm >= 0 else math.nan
    row["first_alarm_min"] = float(first_alarm) if first_alarm >= 0 else math.nan
    if row["catastrophic"]:  # recovering and then failing is not recovering
        row["mttr_min"], row["recovered"] = math.nan, 0.0
    else:
        row["mttr_min"], row["recovered"] = _mttr(hist, n_steps, first_alarm, rec_min)
    for i, name in enumerate(L.ACTION_NAMES):
        row[f"actions_{name}"] = float(counts[i])
    return row


def _mttr(hist: np.ndarray, n_steps: int, first_alarm: int, rec_min: int) -> tuple[float, float]:
    """Return (MTTR minutes, recovered) after the first alarm (DESIGN 3.6).

    MTTR runs to the start of the first ``rec_min`` minutes with all SLOs met; (nan, 0)
    if there was no alarm or no recovery.
    """
    if first_alarm < 0:
        return math.nan, 0.0
    ok = hist[first_alarm : n_steps + 1, L.R_SLO_ALL_OK] > 0.5
    run = 0
    for i, v in enumerate(ok):
        run = run + 1 if v else 0
        if run >= rec_min:
            return float(i - rec_min + 1), 1.0
    return math.nan, 0.0


def run_controller(controller: Controller, scenarios: Sequence[Scenario], run_seed: int,
                   action_set: str = "auto", regret: bool = False,
                   decisions: list[dict] | None = None) -> list[dict]:
    """One run: the controller through the seeded order of ``scenarios``, learning kept.

    With ``regret``, rows carry the regret fields and, if ``decisions`` is a list, the
    per-decision records (with ``scenario``, ``episode`` and ``seed``) are appended to it.

    Returns
    -------
    list of dict
        One row per episode with ``scenario``, ``family``, ``subtype``, ``episode``
        (position in the run) and ``seed`` added.
    """
    rows = []
    for k, sc in enumerate(scenario_order(run_seed, scenarios)):
        recs: list[dict] = []
        row = run_episode(controller, sc, episode_seed(run_seed, sc.id), action_set,
                          regret=regret, decisions=recs)
        if decisions is not None:
            decisions.extend({**r, "scenario": sc.id, "episode": k, "seed": int(run_seed)}
                             for r in recs)
        row.update(scenario=sc.id, family=sc.family, subtype=sc.subtype, episode=k,
                   seed=int(run_seed), optimal_action=sc.annotations.optimal_action)
        rows.append(row)
    return rows
