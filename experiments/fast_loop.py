"""The fast path's compiled episode loop: the simulator's step and a controller's kernels.

The composition of DESIGN 6.

:func:`play_episode` replays, in one Numba call, the protocol of
:func:`experiments.episode.run_episode` with ``SelfHealEnv``:

1. the episode starts (``init_state``, the reset minute with ``no_op``, its dollars not
   counted) and the controller's ``reset`` kernel runs (learning kept);
2. each minute ``t`` (1, 2, ...): the controller's ``epoch`` kernel says whether this is a
   decision epoch (regret is recorded there, forks of the state before the step); its
   ``forks`` kernel may ask for counterfactual forks (hidden-state controllers only: the
   oracle); its ``act`` kernel returns the action and engineer minutes; a non-``no_op``
   action is assessed on forks (:func:`simulator.assess_kernel.assess`); the step; the
   public ``info`` of the minute; the first alarm at or after the fault onset (at the
   controller's KS level); action counts and C(a); the ``update`` kernel with the feedback
   matured by now (all of it at the end);
3. stop on a catastrophe or after the horizon; after a catastrophe, play the rest of the
   horizon without the controller (:func:`simulator.playout.play_out`), as the env does.

The controller's kernels are reached through :mod:`controllers.protocol`, resolved by
Numba from the type of the controller's parameter record: this loop never switches on a
controller's kind. Rows are built in Python by :mod:`experiments.fast`.
"""

from __future__ import annotations

from typing import NamedTuple

import numba as nb
import numpy as np

from controllers.kernels import alarm
from controllers.protocol import ctl_act, ctl_epoch, ctl_forks, ctl_reset, ctl_update
from simulator import layout as L
from simulator.assess_kernel import (
    assess,
    best_action,
    evaluate,
    evaluate_range,
    fork_window,
    window_cost,
)
from simulator.env import FULL_HIGH, REC_OF_OBS
from simulator.observed import observed_outcome, pre_action_sla
from simulator.playout import play_out
from simulator.records import INFO, fill_info
from simulator.state import Sim, copy_sim_into
from simulator.step import init_state, step

#: One regret record per decision epoch (``experiments.regret.decision_record``'s fields).
DECISION = np.dtype([
    ("minute", np.int64),
    ("action", np.int64),
    ("best_action", np.int64),
    ("regret_usd", np.float64),
    ("avoidable_catastrophe", np.bool_),
    ("chosen_cost_usd", np.float64),
    ("best_cost_usd", np.float64),
    ("chosen_catastrophic", np.bool_),
    ("window_minutes", np.int64),
], align=True)

#: What an episode leaves besides its arrays.
SUMMARY = np.dtype([
    ("status", np.int64),  # OK, BAD_OBSERVATION or BAD_ACTION
    ("n_verdicts", np.int64),
    ("first_alarm", np.int64),  # minute of the first alarm at or after the onset, -1: none
    ("paper_cost", np.float64),  # sum of C(a) over the steps, no_op included, in order
    ("n_decisions", np.int64),
    ("n_rewards", np.int64),
    ("bad_value", np.float64),  # the offending action or engineer minutes (status != OK)
], align=True)

OK = 0
BAD_OBSERVATION = 1  # a non-finite observation: the Gymnasium path raises ValueError
BAD_ACTION = 2  # an action outside [0, n_actions) or invalid engineer minutes

_OBS_IDX = np.array(REC_OF_OBS, dtype=np.int64)
_OBS_HIGH = np.ascontiguousarray(FULL_HIGH, dtype=np.float64)


class Episode(NamedTuple):
    """Inputs of one episode besides the simulation.

    Attributes
    ----------
    c_paper : ndarray, shape (N_EXTENDED_ACTIONS,)
        The paper's C(a) of every action.
    seed : int
        The env's internal episode seed (``experiments.fast.env_episode_seed``).
    onset : int
        First fault onset (minute).
    alarm_d_crit : float
        KS critical value of the controller's alarms (first-alarm tracking, MTTD).
    hidden : bool
        Whether the controller reads hidden state (``uses_hidden_state``): only then does it
        get the annotated action and the forks its ``forks`` kernel asks for.
    regret : bool
        Record regret against the oracle at every decision epoch.
    """

    c_paper: np.ndarray
    seed: int
    onset: int
    alarm_d_crit: float
    hidden: bool
    regret: bool


class Outputs(NamedTuple):
    """Per-episode outputs (filled by :func:`play_episode`).

    Attributes
    ----------
    verdicts : ndarray of VERDICT, shape (horizon + 1,)
        The counterfactual assessment of every action (first ``n_verdicts``): evaluation.
    feedback : ndarray of FEEDBACK, shape (horizon + 1,)
        What monitoring measured after each action (first ``n_verdicts``, in the same
        order; completed when it matures): all the controller's ``update`` receives.
    counts : ndarray of int64, shape (N_EXTENDED_ACTIONS,)
        Actions taken, by index (no_op not counted).
    rewards : ndarray, shape (horizon + 1,)
        Rewards the controller learned, in order (first ``n_rewards``).
    decisions : ndarray of DECISION, shape (horizon + 1,) or (0,)
        Regret records (first ``n_decisions``), with regret on.
    summary : ndarray of SUMMARY, shape (1,)
    """

    verdicts: np.ndarray
    feedback: np.ndarray
    counts: np.ndarray
    rewards: np.ndarray
    decisions: np.ndarray
    summary: np.ndarray


#: The loop's scalars: the minute whose outcome-window forks ``Scratch.ev_cost`` and
#: ``ev_cat`` hold (-1: none) and their window, whether only ``no_op`` without engineer
#: minutes has been played so far, and the verdicts already delivered as feedback.
LOOP = np.dtype([("ev_t", np.int64), ("ev_k", np.int64), ("pristine", np.bool_),
                 ("delivered", np.int64)], align=True)


class Scratch(NamedTuple):
    """Working arrays of one episode's loop (:func:`new_scratch`).

    Attributes
    ----------
    obs : ndarray, shape (10,)
        The last full observation.
    info : ndarray of INFO, shape (1,)
        The last minute's public facts.
    ev_cost, ev_cat : ndarray, shape (N_EXTENDED_ACTIONS,)
        Window dollars and catastrophes of each action's fork (regret, the oracle).
    loop : ndarray of LOOP, shape (1,)
    sh : simulator.state.Sim
        The no_op shadow of the forks (:func:`evaluate_at`; no history rows when no fork is
        ever taken).
    sh_ok : ndarray of int64, shape (1,)
        1 while the shadow passes through the live state.
    """

    obs: np.ndarray
    info: np.ndarray
    ev_cost: np.ndarray
    ev_cat: np.ndarray
    loop: np.ndarray
    sh: Sim
    sh_ok: np.ndarray


class ForkMemo(NamedTuple):
    """Forks of an episode's no_op-only trajectory, one row per minute (shared).

    Attributes
    ----------
    valid : ndarray of bool, shape (rows,)
    minutes : ndarray of int64, shape (rows,)
        Window simulated.
    cost : ndarray, shape (rows, N_EXTENDED_ACTIONS)
        Each action's window dollars.
    cat : ndarray of bool, shape (rows, N_EXTENDED_ACTIONS)
        Whether the action's fork ended in a catastrophe.
    """

    valid: np.ndarray
    minutes: np.ndarray
    cost: np.ndarray
    cat: np.ndarray


def new_fork_memo(rows: int) -> ForkMemo:
    """Return an empty memo of ``rows`` minutes (0 rows: no memo)."""
    return ForkMemo(np.zeros(rows, dtype=np.bool_), np.zeros(rows, dtype=np.int64),
                    np.zeros((rows, L.N_EXTENDED_ACTIONS)),
                    np.zeros((rows, L.N_EXTENDED_ACTIONS), dtype=np.bool_))


@nb.njit(cache=True)
def observe(rec, out):
    """Write the env's full observation of record ``rec`` into ``out`` (SelfHealEnv._obs).

    Entries are clipped to [0, high] as ``np.clip`` does (NaN passes through). Returns False
    if the observation is one ``Observation.from_env`` rejects (non-finite d, a, rho or any
    NaN).
    """
    valid = True
    for i in range(_OBS_IDX.shape[0]):
        v = rec[_OBS_IDX[i]]
        if v < 0.0:
            v = 0.0
        elif v > _OBS_HIGH[i]:
            v = _OBS_HIGH[i]
        out[i] = v
        if np.isnan(v) or (i < 3 and not np.isfinite(v)):
            valid = False
    return valid


@nb.njit(cache=True)
def shadow_of(sim, rows):
    """Return a copy of ``sim`` with ``rows`` zeroed history rows (a no_op shadow)."""
    return Sim(sim.p, sim.fa, sim.ac, sim.fr.copy(), sim.s.copy(), sim.models.copy(),
               sim.refs.copy(), np.zeros((rows, sim.hist.shape[1])), sim.live.copy(),
               sim.rs.copy(), sim.smp, sim.smeta, sim.slab, sim.tst)


@nb.njit(cache=True)
def evaluate_at(sim, n_env, cost, cat, memo, pristine, sh, sh_ok):
    """:func:`simulator.assess_kernel.evaluate` at the current minute with the outcome window.

    Two shortcuts leave the values those of the forks themselves:

    - a trajectory on which only ``no_op`` has been played without engineer minutes
      (``pristine``) is in the same state, array for array, for every controller playing
      the episode in the same compiled scenario: its forks are computed once and kept in
      ``memo`` (no rows: no memo);
    - the ``no_op`` fork is a *shadow* simulation ``sh`` that keeps playing ``no_op`` open
      loop: while the live episode has played only ``no_op`` without engineer minutes since
      the shadow was started from it (``sh_ok[0] == 1``), the shadow passes through the live
      state, so the no_op fork of a later decision is the shadow extended to the end of that
      decision's window, not a new fork. The caller clears ``sh_ok[0]`` when the live
      episode plays anything else.

    Returns
    -------
    int
        Window length simulated (the shortest fork).
    """
    t = int(sim.s[L.S_T])
    use = pristine and memo.valid.shape[0] > t
    if use and memo.valid[t]:
        for a in range(n_env):
            cost[a] = memo.cost[t, a]
            cat[a] = memo.cat[t, a]
        return memo.minutes[t]
    if sh_ok[0] == 0:  # start the shadow from the live state
        copy_sim_into(sh, sim)
        sh.s[L.S_OPEN_LOOP] = 1.0
        sh_ok[0] = 1
    w = fork_window(sim.p, t, -1)
    while sh.s[L.S_T] < t + w:  # extend it to the window's last minute
        step(sh, L.NO_OP, 0.0)
    cost[L.NO_OP] = window_cost(sh.hist, t, w)
    cat[L.NO_OP] = sh.s[L.S_CATASTROPHIC] != L.CAT_NONE
    k = evaluate_range(sim, L.NO_OP + 1, n_env, -1, cost, cat)
    k = min(k, w)
    if use:
        for a in range(n_env):
            memo.cost[t, a] = cost[a]
            memo.cat[t, a] = cat[a]
        memo.minutes[t] = k
        memo.valid[t] = True
    return k


@nb.njit(cache=True)
def record_regret(rec, t, a, cost, cat, k, n_env):
    """Fill the regret record ``rec`` of action ``a`` at minute ``t`` from the forks."""
    b = best_action(cost, cat, n_env)
    avoidable = cat[a] and not cat[b]
    gap = cost[a] - cost[b]
    rec.minute = t
    rec.action = a
    rec.best_action = b
    rec.regret_usd = max(0.0, gap) if avoidable else gap
    rec.avoidable_catastrophe = avoidable
    rec.chosen_cost_usd = cost[a]
    rec.best_cost_usd = cost[b]
    rec.chosen_catastrophic = cat[a]
    rec.window_minutes = k


@nb.njit(cache=True)
def record_verdict(sim, rec, t, a, c_paper):
    """Assess action ``a`` at minute ``t`` against ``no_op`` (forks) into ``rec`` (VERDICT)."""
    harmful, violation, contained, success, delta, k = assess(sim, a, -1)
    rec.decision_minute = t
    rec.action = a
    rec.paper_cost = c_paper
    rec.success = success
    rec.harmful = harmful
    rec.safety_violation = violation
    rec.contained = contained
    rec.delta_cost_usd = delta
    rec.minutes = k


@nb.njit(cache=True)
def start_episode(sim, ep, out, truth):
    """Reset the simulation and the outputs; return the loop's :class:`Scratch`.

    ``init_state`` and the reset minute (``no_op``; its dollars and engineer time not
    counted), the public facts and observation of minute 0, the hidden state a
    hidden-state controller may read. A non-finite first observation sets
    ``BAD_OBSERVATION``.
    """
    p, s, hist = sim.p, sim.s, sim.hist
    o = out.summary[0]
    o.status = OK
    o.n_verdicts = 0
    o.first_alarm = -1
    o.paper_cost = 0.0
    o.n_decisions = 0
    o.n_rewards = 0
    hist[:] = 0.0
    out.counts[:] = 0
    init_state(sim, ep.seed)
    step(sim, L.NO_OP, 0.0)
    s[L.S_USD_TOTAL] = 0.0
    s[L.S_ENGINEER_MIN] = 0.0
    truth.rec[0].optimal_action = int(p[L.P_OPTIMAL_ACTION]) if ep.hidden else -1
    truth.rec[0].fork_minutes = 0
    truth.fork_cost[:] = np.nan
    truth.fork_cat[:] = False
    rows = hist.shape[0] if ep.regret or ep.hidden else 0
    sc = Scratch(np.empty(_OBS_IDX.shape[0]), np.zeros(1, dtype=INFO),
                 np.zeros(L.N_EXTENDED_ACTIONS), np.zeros(L.N_EXTENDED_ACTIONS, dtype=np.bool_),
                 np.zeros(1, dtype=LOOP), shadow_of(sim, rows), np.zeros(1, dtype=np.int64))
    sc.loop[0]["ev_t"] = -1
    sc.loop[0]["pristine"] = True
    fill_info(p, s, sim.models, hist[0], ep.c_paper[L.NO_OP], 1, sc.info)
    if not observe(hist[0], sc.obs):
        o.status = BAD_OBSERVATION
    return sc


@nb.njit(cache=True)
def outcome_forks(sim, sc, memo):
    """Fork the state before this minute's step for the outcome window (shared, memoised).

    Reuses the forks already taken this minute; returns the window simulated.
    """
    lp = sc.loop[0]
    t = int(sim.s[L.S_T])
    if lp["ev_t"] != t:
        lp["ev_k"] = evaluate_at(sim, int(sim.p[L.P_N_ACTIONS]), sc.ev_cost, sc.ev_cat,
                                 memo, lp["pristine"], sc.sh, sc.sh_ok)
        lp["ev_t"] = t
    return lp["ev_k"]


@nb.njit(cache=True)
def fill_truth(sim, sc, memo, truth, window):
    """Hand the controller the forks its ``forks`` kernel asked for (``window`` 0: none).

    ``window`` -1 or the outcome window: the shared forks (:func:`outcome_forks`); another
    window: forks of their own.
    """
    truth.rec[0].fork_minutes = 0
    if window == 0:
        return
    if window < 0 or window == int(sim.p[L.P_OUTCOME_WINDOW]):
        k = outcome_forks(sim, sc, memo)
    else:
        k = evaluate(sim, int(sim.p[L.P_N_ACTIONS]), window, sc.ev_cost, sc.ev_cat)
        sc.loop[0]["ev_t"] = -1  # not the outcome window's forks
    truth.rec[0].fork_minutes = k
    truth.fork_cost[:] = sc.ev_cost
    truth.fork_cat[:] = sc.ev_cat


@nb.njit(cache=True)
def play_minute(sim, ep, out, sc, memo, a, eng, decision):
    """Everything of minute ``t`` after the controller acted; return (done, lo, hi).

    The action's validity, the regret record (at a decision epoch), the action's
    assessment, the step, the public facts and observation, the first alarm, the counts;
    (lo, hi) are the verdicts maturing into feedback now (all at the end).
    """
    p, s = sim.p, sim.s
    o = out.summary[0]
    lp = sc.loop[0]
    t = int(s[L.S_T])
    n_env = int(p[L.P_N_ACTIONS])
    if a < 0 or a >= n_env or not (eng >= 0.0 and eng < np.inf):
        o.status = BAD_ACTION
        o.bad_value = a if a < 0 or a >= n_env else eng
        return True, 0, 0
    if decision:  # forks of the state before the step
        k = outcome_forks(sim, sc, memo)
        record_regret(out.decisions[o.n_decisions], t, a, sc.ev_cost, sc.ev_cat, k, n_env)
        o.n_decisions += 1
    if a != L.NO_OP:
        record_verdict(sim, out.verdicts[o.n_verdicts], t, a, ep.c_paper[a])
        fb = out.feedback[o.n_verdicts]
        fb.decision_minute = t
        fb.action = a
        fb.paper_cost = ep.c_paper[a]
        fb.pre_sla = pre_action_sla(sim.hist, p, t)
        o.n_verdicts += 1
    applied = step(sim, a, eng)
    if a != L.NO_OP or eng != 0.0:
        lp["pristine"] = False
        sc.sh_ok[0] = 0  # the live episode leaves the no_op shadow's path
    fill_info(p, s, sim.models, sim.hist[t], ep.c_paper[a], applied, sc.info)
    if not observe(sim.hist[t], sc.obs):
        o.status = BAD_OBSERVATION
        return True, 0, 0
    if o.first_alarm < 0 and t >= ep.onset and alarm(
            sc.obs, ep.alarm_d_crit, 1.0 - p[L.P_SLO_AVAIL], p[L.P_SLO_LATENCY_MS]):
        o.first_alarm = t
    if a != L.NO_OP:
        out.counts[a] += 1
    o.paper_cost += ep.c_paper[a]
    done = s[L.S_CATASTROPHIC] != L.CAT_NONE or s[L.S_T] > p[L.P_HORIZON]
    now = int(s[L.S_T]) - 1
    window = int(p[L.P_OUTCOME_WINDOW])
    lo = lp["delivered"]
    hi = lo
    while hi < o.n_verdicts and (out.verdicts[hi].decision_minute + window <= now or done):
        fb = out.feedback[hi]  # measured over the window's minutes played so far
        success, degraded, minutes = observed_outcome(
            sim.hist, p, fb.decision_minute, min(fb.decision_minute + window - 1, now),
            fb.pre_sla)
        fb.success = success
        fb.sla_degraded = degraded
        fb.minutes = minutes
        hi += 1
    lp["delivered"] = hi
    return done, lo, hi


@nb.njit(cache=True)
def play_episode(cstate, cparams, rng, truth, sim, ep, out, memo):
    """Play one episode of the controller (``cstate``, ``cparams``, ``rng``) on ``sim``.

    The controller's kernels (``controllers.protocol``) composed with the simulation's
    minute (:func:`start_episode`, :func:`fill_truth`, :func:`play_minute`, compiled once
    for every controller).

    Parameters
    ----------
    cstate, cparams : NamedTuple
        The controller's state (updated in place) and kernel parameters.
    rng : numpy.random.Generator
        The controller's generator (advanced as its own draws advance it).
    truth : simulator.records.Truth
        Scratch for the hidden state handed to ``act`` (withheld unless ``ep.hidden``).
    sim : simulator.state.Sim
        The episode's simulation (its ``hist`` and ``s`` are outputs; its sample cache may
        be shared with other controllers playing the same episode).
    ep : Episode
    out : Outputs
    memo : ForkMemo
        Regret forks of the episode's no_op-only trajectory, shared by the controllers
        playing it (:func:`evaluate_at`); no rows: not kept.

    Returns nothing: ``out.summary[0]`` holds the status and counts.
    """
    sc = start_episode(sim, ep, out, truth)
    ctl_reset(cstate, cparams)
    o = out.summary[0]
    if o.status != OK:
        return
    done = False
    while not done:
        decision = ep.regret and ctl_epoch(cstate, cparams, sc.obs, sc.info)
        window = ctl_forks(cstate, cparams, sc.obs, sc.info) if ep.hidden else 0
        fill_truth(sim, sc, memo, truth, window)
        a, eng = ctl_act(cstate, cparams, sc.obs, sc.info, truth, rng)
        done, lo, hi = play_minute(sim, ep, out, sc, memo, a, eng, decision)
        if o.status != OK:
            return
        o.n_rewards += ctl_update(cstate, cparams, out.feedback[lo:hi], rng,
                                  out.rewards[o.n_rewards:])
    play_out(sim)  # after a catastrophe: outage, restore, no_op to the horizon
