"""Batched Numba fast path for the built-in controllers without a Python-only part (DESIGN 6).

One compiled loop plays a batch of episodes (compiled scenario, episode seed) without
returning to Python between minutes: the simulator's step kernel
(:func:`simulator.step.step`), the controller's decision (noop; rules through
:func:`controllers.kernels.rules_act`; the human model; rl, bandit and hybrid_literal through
:mod:`controllers.learner_kernels`; hybrid and its ablations through
:mod:`controllers.hybrid_kernels`; LinUCB, linear TS and conservative UCB through
:mod:`controllers.linear_kernels`), the counterfactual assessment of every non-no_op action
(:func:`simulator.assess_kernel.assess`), the delayed feedback the learners learn from, and
the first-alarm tracking of :func:`experiments.episode.run_episode`. The kernels are the
ones the Gymnasium path calls, and the learners draw from the controller's own NumPy
Generator, so the result rows, the learned tables and the generator's state are identical
to the Gymnasium path's, bit for bit (``tests/test_fast_path.py``).

The protocol replayed per episode (as ``run_episode`` with ``SelfHealEnv``):

1. the env's episode seed is drawn from Gymnasium's seeding of the episode seed
   (:func:`env_episode_seed`); ``init_state`` and the reset minute (no_op, its dollars
   not counted); the controller's per-episode state is reset (cooldown, pending decisions,
   the human's open page), its learning kept;
2. each minute ``t`` (1, 2, ...): the controller acts on the last observation (the
   record's 10 full-observation entries clipped to the env's Box) with ``minute = t - 1``;
   a non-no_op action is assessed on forks; the step (with the human's engineer minutes);
   a first alarm is recorded at the first minute >= the first fault onset whose new
   observation raises :func:`controllers.kernels.alarm`; action counts and C(a) summed;
   verdicts whose outcome window has passed (all, at the end) are learned from, in order;
3. stop on a catastrophe or after the horizon.

Rows are built in Python from the returned arrays by ``run_episode``'s own row builder,
:func:`experiments.episode.summarise_episode`. :func:`run_controller_fast` is
``run_controller`` on this path, for the controllers :func:`fast_path_params` accepts.
LinUCB, linear Thompson sampling and conservative UCB learn through
:mod:`controllers.linear_kernels`. User controllers run on the Gymnasium path.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numba as nb
import numpy as np
from gymnasium.utils import seeding
from numba.typed import List

from controllers import hybrid_kernels as HK
from controllers import kernels as CK
from controllers import learner_kernels as LK
from controllers import linear_kernels as LinK
from controllers.base import Controller
from controllers.envelope import critical_value
from experiments.episode import episode_seed, scenario_order, summarise_episode
from experiments.regret import episode_regret
from simulator import layout as L
from simulator.assess_kernel import (
    assess,
    best_action,
    evaluate,
    evaluate_range,
    fork_window,
    window_cost,
)
from simulator.env import _FULL_HIGH, _REC_OF_OBS, compile_for_env
from simulator.sampling import SAMPLE_CACHE_MIB, new_sample_cache
from simulator.scenarios import CompiledScenario, Scenario, paper_cost
from simulator.state import Sim, copy_sim_into
from simulator.step import init_state, step

#: Controllers the fast path plays, by configuration name, and their kernel codes.
FAST_CONTROLLERS = {"noop": 0, "rules": 1, "human": 2, "rl": 3, "bandit": 4,
                    "hybrid_literal": 5, "hybrid": 6, "oracle": 7, "linucb": 8, "lin_ts": 9,
                    "conservative_ucb": 10}
_NOOP = 0
_RULES = 1
_HUMAN = 2
_RL = 3  # codes >= _RL are the learning controllers
_BANDIT = 4
_HYBRID_LITERAL = 5
_HYBRID = 6
_ORACLE = 7
_LINUCB = 8
_LINTS = 9
_CUCB = 10

# Controller parameters (``lpar``).
LP_LAM = 0
LP_EPSILON = 1
LP_SCHEDULE = 2
LP_EPS_C = 3
LP_EPS_D = 4
LP_RESPONSE_MIN = 5
LP_ACCURACY = 6
LP_HANDLING_MIN = 7
LP_SLA_THRESHOLD = 8
LP_SLO_TARGET = 9
LP_BUDGET_WINDOW = 10
LP_BURN_LIMIT = 11
LP_USE_SHIELD = 12
LP_USE_SLA_FILTER = 13
LP_USE_ERROR_BUDGET = 14
LP_WINDOW = 15  # the oracle's fork window (minutes; -1: the scenario's outcome window)
LP_RANDOM_DELAY = 16  # 1: the human's delay is exponential with mean LP_RESPONSE_MIN
LP_UCB_ALPHA = 17  # LinUCB's width multiplier
LP_V = 18  # linear Thompson sampling's posterior scale
LP_NO_OP_VALUE = 19  # the linear bandits' known no_op value, in [0, 1]
LP_ALPHA_C = 20  # conservative UCB's tolerated shortfall against the rules baseline
N_LPAR = 21
# Conservative UCB's run totals (``lin[8]``).
CU_N_ROUNDS = 0
CU_N_EXPLORED = 1
CU_LAST_MARGIN = 2
# Columns of the per-episode regret records (one row per decision epoch, regret on).
D_MINUTE = 0
D_ACTION = 1
D_BEST = 2
D_REGRET = 3
D_AVOIDABLE = 4
D_CHOSEN_COST = 5
D_BEST_COST = 6
D_CHOSEN_CAT = 7
D_WINDOW = 8
N_DEC_FIELDS = 9
# Columns of the regret-fork memo (one row per minute; ``SampleCaches.fork_memo``).
FM_VALID = 0
FM_WINDOW = 1
FM_COST = 2  # N_EXTENDED_ACTIONS columns: each action's window dollars
FM_CAT = FM_COST + L.N_EXTENDED_ACTIONS  # N_EXTENDED_ACTIONS columns: 1.0 if catastrophic
N_FM_FIELDS = FM_CAT + L.N_EXTENDED_ACTIONS
# Per-episode learner outputs (``lstats``).
LS_N_REWARDS = 0
LS_BANDIT_CHOICES = 1
N_LSTATS = 2

# Columns of the per-episode verdict arrays (one row per assessed action).
V_MINUTE = 0
V_ACTION = 1
V_HARMFUL = 2
V_VIOLATION = 3
V_CONTAINED = 4
V_SUCCESS = 5
V_DELTA_USD = 6
V_MINUTES = 7
N_VERDICT_FIELDS = 8

# Episode status codes.
OK = 0
BAD_OBSERVATION = 1  # a non-finite observation: the Gymnasium path raises ValueError

_OBS_IDX = np.array(_REC_OF_OBS, dtype=np.int64)
_OBS_HIGH = np.ascontiguousarray(_FULL_HIGH, dtype=np.float64)


# ----------------------------------------------------------------------------------------
# Compiled loop
# ----------------------------------------------------------------------------------------
@nb.njit(cache=True)
def observe(rec, obs_idx, obs_high, out):
    """Write the env's full observation of record ``rec`` into ``out`` (SelfHealEnv._obs).

    Entries are clipped to [0, ``obs_high``] as ``np.clip`` does (NaN passes through).
    Returns False if the observation is one ``Observation.from_env`` rejects (non-finite
    d, a, rho or any NaN).
    """
    valid = True
    for i in range(obs_idx.shape[0]):
        v = rec[obs_idx[i]]
        if v < 0.0:
            v = 0.0
        elif v > obs_high[i]:
            v = obs_high[i]
        out[i] = v
        if np.isnan(v) or (i < 3 and not np.isfinite(v)):
            valid = False
    return valid


@nb.njit(cache=True)
def _deliver_feedback(controller, verdicts, n_verdicts, delivered, ctx_of, now, done, window,
                      c_paper, tab, safe, lpar, rng, rewards, n_rewards, lin, lin_x,
                      round_of):
    """Learn from every verdict matured by minute ``now`` (all when ``done``), in order.

    ``SelfHealEnv.step``'s feedback and ``LearningController.update``: a verdict of decision
    minute t matures at t + outcome_window; its reward is -C(a) + lambda * success; a
    decision of an earlier episode (no context) is dropped. The linear bandits learn the
    decision's feature vector ``lin_x[t]`` into their ridge models ``lin`` = (A, b, chol,
    counts) (:mod:`controllers.linear_kernels`); conservative UCB also settles the round
    ``round_of[t]``. Returns (delivered, n_rewards).
    """
    lam = lpar[LP_LAM]
    while delivered < n_verdicts:
        v = verdicts[delivered]
        if not (v[V_MINUTE] + window <= now or done):
            break
        delivered += 1
        dm = int(v[V_MINUTE])
        ctx = ctx_of[dm]
        ctx_of[dm] = -1
        if ctx < 0:
            continue
        act = int(v[V_ACTION])
        r = -c_paper[act] + lam * (1.0 if v[V_SUCCESS] > 0.5 else 0.0)
        rewards[n_rewards] = r
        n_rewards += 1
        if controller == _RL:
            LK.eg_update(tab, ctx, act, r)
        elif controller == _LINUCB or controller == _LINTS:
            LinK.linear_learn(lin[0], lin[1], lin[2], lin[3], act, lin_x[dm], r, lam)
        elif controller == _CUCB:  # settles the decision's round, if it awaits a reward
            k = round_of[dm]
            round_of[dm] = -1
            LinK.cucb_learn(lin[0], lin[1], lin[2], lin[3], act, lin_x[dm], r, lam, lin[7], k)
        elif controller == _HYBRID:
            HK.hybrid_learn(rng, tab, safe, ctx, act, r, lam, v[V_VIOLATION] > 0.5)
        else:
            LK.ts_update(rng, tab, ctx, act, LK.reward_to_unit(r, lam))
    return delivered, n_rewards


@nb.njit(cache=True)
def _learner_choose(controller, obs, d_crit, ctx, n_allowed, tab, lpar, rng, lstats):
    """Return the choice of rl, bandit or hybrid_literal at a decision epoch (``choose``)."""
    n_ctrl = tab.shape[2]
    allowed = np.zeros(n_ctrl, dtype=np.bool_)
    allowed[:n_allowed] = True
    if controller == _RL:
        return LK.eg_choose(rng, tab, ctx, allowed, lpar[LP_EPSILON],
                            int(lpar[LP_SCHEDULE]), lpar[LP_EPS_C], lpar[LP_EPS_D])
    if controller == _HYBRID_LITERAL:  # Sec. 3.5 verbatim (controllers.hybrid_literal)
        env = CK.pi_det(obs, d_crit)
        if env != CK.NONE and CK.risk_high(obs, d_crit):
            return env
        allowed[:] = False
        allowed[L.NO_OP] = True
        if env != CK.NONE:
            allowed[env] = True
            lstats[LS_BANDIT_CHOICES] += 1
    return LK.ts_choose(rng, tab[0, ctx], tab[1, ctx], allowed)


@nb.njit(cache=True)
def _evaluate_at(sim, n_env, cost, cat, memo, pristine, sh, sh_ok):
    """:func:`simulator.assess_kernel.evaluate` at the current minute with the outcome window.

    Two shortcuts leave the values those of the forks themselves:

    - a trajectory on which only ``no_op`` has been played without engineer minutes
      (``pristine``) is in the same state, array for array, for every controller playing
      the episode in the same compiled scenario: its forks are computed once and kept in
      ``memo[t]`` (shape (horizon + 2, N_FM_FIELDS); no rows: no memo);
    - the ``no_op`` fork is a *shadow* simulation ``sh`` (a :class:`simulator.state.Sim`
      sharing ``sim``'s scenario arrays and sample cache) that keeps playing ``no_op`` open
      loop: while the live episode has played only ``no_op`` without engineer minutes since
      the shadow was started from it (``sh_ok[0] == 1``), the shadow passes through the
      live state, so the no_op fork of a later decision is the shadow extended to the end of
      that decision's window, not a new fork. The caller clears ``sh_ok[0]`` when the live
      episode plays anything else.

    Returns
    -------
    int
        Window length simulated (the shortest fork).
    """
    t = int(sim.s[L.S_T])
    use = pristine and memo.shape[0] > t
    if use and memo[t, FM_VALID] > 0.5:
        for a in range(n_env):
            cost[a] = memo[t, FM_COST + a]
            cat[a] = memo[t, FM_CAT + a] > 0.5
        return int(memo[t, FM_WINDOW])
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
            memo[t, FM_COST + a] = cost[a]
            memo[t, FM_CAT + a] = 1.0 if cat[a] else 0.0
        memo[t, FM_WINDOW] = k
        memo[t, FM_VALID] = 1.0
    return k


@nb.njit(cache=True)
def play_episode(controller, p, fa, ac, c_paper, seed, d_crit, cooldown, onset, obs_idx,
                 obs_high, hist, s, verdicts, counts, tab, safe, lpar, rng, rewards, lstats,
                 smp_in, smeta_in, regret, decs, memo, lin):
    """Play one episode of ``controller`` (``FAST_CONTROLLERS``); fill the output arrays.

    Parameters
    ----------
    controller : int
        ``FAST_CONTROLLERS`` code.
    p, fa, ac : ndarray
        The compiled scenario (parameters as the env sets them).
    c_paper : ndarray, shape (n_actions,)
        The paper's C(a) of every action.
    seed : int
        The env's internal episode seed (:func:`env_episode_seed`).
    d_crit : float
        The controller's KS critical value for this scenario.
    cooldown : int
        The controller's cooldown.
    onset : int
        First fault onset (minute).
    obs_idx, obs_high : ndarray
        Record columns of the full observation and its upper bounds.
    hist : ndarray, shape (horizon + 1, N_RECORD)
        Output: per-minute records.
    s : ndarray, shape (N_STATE,)
        Output: final state.
    verdicts : ndarray, shape (horizon + 1, N_VERDICT_FIELDS)
        Output: one row per assessed action (``V_*`` columns).
    counts : ndarray of int64, shape (N_EXTENDED_ACTIONS,)
        Output: actions taken, by index (no_op not counted).
    tab : ndarray, shape (2, N_CONTEXTS, n_actions)
        The learner's state (:mod:`controllers.learner_kernels`), updated in place; unused
        by noop, rules and human.
    safe : ndarray, shape (2, N_CONTEXTS, n_actions)
        The hybrid's SLA-filter posteriors (:mod:`controllers.hybrid_kernels`), updated in
        place; unused by the other controllers.
    lpar : ndarray, shape (N_LPAR,)
        Controller parameters (``LP_*``).
    rng : numpy.random.Generator
        The controller's generator (advanced as the controller's own draws advance it).
    rewards : ndarray, shape (horizon + 1,)
        Output: the rewards learned, in order (``LearningController.rewards``).
    lstats : ndarray of int64, shape (N_LSTATS,)
        Output, accumulated: ``LS_N_REWARDS`` of this episode, ``LS_BANDIT_CHOICES``.
    smp_in, smeta_in : ndarray
        The episode's sample cache (:mod:`simulator.sampling`), to share it between
        controllers playing the same episode (:class:`SampleCaches`); with
        ``smeta_in.shape[1] == 0`` a fresh one is used (Simulation's default budget).
    regret : bool
        Record regret against the oracle at every decision epoch (``experiments.regret``:
        not in cooldown and an alarm, checked before the controller acts).
    decs : ndarray, shape (horizon + 1, N_DEC_FIELDS)
        Output with ``regret``: one row per decision (``D_*`` columns).
    memo : ndarray, shape (horizon + 2, N_FM_FIELDS)
        Regret forks of the episode's no_op-only trajectory, shared by the controllers
        playing the episode (:func:`_evaluate_at`); no rows: not kept.
    lin : tuple of ndarray
        The linear bandits' ridge models (A, b, chol, counts) of
        :class:`controllers.learners.RidgeArms`, then conservative UCB's rounds (x, played,
        base, reward; capacity for every decision of the batch) and run totals (``CU_*``),
        updated in place; unused by the others.

    Returns
    -------
    status : int
        ``OK`` or ``BAD_OBSERVATION``.
    n_verdicts : int
    first_alarm : int
        Minute of the first alarm at or after the onset, -1 if none.
    paper_cost : float
        Sum of C(a) over the episode's steps (no_op included), in step order.
    n_decisions : int
        Rows of ``decs`` written.
    """
    m = int(p[L.P_REF_SIZE])
    n = int(p[L.P_SAMPLES_PER_MIN])
    fr = np.zeros((fa.shape[0], L.N_FAULT_RT))
    models = np.zeros((L.N_MODEL_SLOTS, L.N_MODEL_FIELDS))
    refs = np.zeros((L.N_MODEL_SLOTS, L.N_FEATURES, m))
    live = np.zeros((int(p[L.P_KS_WINDOW]), L.N_FEATURES, n))
    rs = np.zeros(1, dtype=np.uint64)
    if smeta_in.shape[1] == 0:
        smp, smeta = new_sample_cache(p, SAMPLE_CACHE_MIB)  # as Simulation's default
    else:
        smp, smeta = smp_in, smeta_in
    sim = Sim(p, fa, ac, fr, s, models, refs, hist, live, rs, smp, smeta)
    hist[:] = 0.0
    counts[:] = 0
    init_state(sim, seed)
    step(sim, L.NO_OP, 0.0)
    s[L.S_USD_TOTAL] = 0.0
    s[L.S_ENGINEER_MIN] = 0.0
    horizon = p[L.P_HORIZON]
    n_env = int(p[L.P_N_ACTIONS])
    window = int(p[L.P_OUTCOME_WINDOW])
    obs = np.empty(obs_idx.shape[0])
    cstate = np.full(CK.RULES_STATE_SIZE, -1, dtype=np.int64)
    quiet_until = -1  # Controller._quiet_until after reset
    respond_at = -1  # the human model's open page
    paged_at = 0
    ctx_of = np.full(int(horizon) + 2, -1, dtype=np.int64)  # decision minute -> context
    lin_x = np.zeros((int(horizon) + 2 if controller >= _LINUCB else 0,
                      LinK.N_LINEAR_FEATURES))  # decision minute -> linear features
    round_of = np.full(int(horizon) + 2, -1, dtype=np.int64)  # decision minute -> round
    fb_since = -1  # conservative UCB's fallback clock (the rules' rule 0)
    last_alarm = HK.NO_ALARM  # the hybrid's shield memory
    budget = max(1, int(lpar[LP_BUDGET_WINDOW]))  # the hybrid's error-budget window
    slo_ring = np.zeros(budget, dtype=np.bool_)
    slo_head = 0
    slo_len = 0
    slo_count = 0
    mask = np.empty(tab.shape[2], dtype=np.bool_)
    delivered = 0
    n_rewards = 0
    n_verdicts = 0
    first_alarm = -1
    total_c = 0.0
    n_decs = 0
    ev_cost = np.zeros(L.N_EXTENDED_ACTIONS)
    ev_cat = np.zeros(L.N_EXTENDED_ACTIONS, dtype=np.bool_)
    ev_t = -1  # minute whose forks (outcome window) ev_cost, ev_cat and ev_k hold
    ev_k = 0
    oracle_window = int(lpar[LP_WINDOW])
    pristine = True  # only no_op, without engineer minutes, played so far
    # the no_op shadow of the regret and oracle forks (_evaluate_at); no history rows when
    # nothing forks through it
    sh_rows = hist.shape[0] if regret or controller == _ORACLE else 0
    sh = Sim(p, fa, ac, fr.copy(), s.copy(), models.copy(), refs.copy(),
             np.zeros((sh_rows, hist.shape[1])), live.copy(), rs.copy(), smp, smeta)
    sh_ok = np.zeros(1, dtype=np.int64)
    if not observe(hist[0], obs_idx, obs_high, obs):
        return BAD_OBSERVATION, n_verdicts, first_alarm, total_c, n_decs
    while True:
        t = int(s[L.S_T])
        minute = t - 1
        a = L.NO_OP
        eng = 0.0
        decision = False
        if regret:  # experiments.regret.is_decision, before the controller acts
            quiet = cstate[CK.RS_QUIET_UNTIL] if controller == _RULES else quiet_until
            decision = minute >= quiet and CK.alarm(obs, d_crit)
        if controller == _CUCB:  # ConservativeUCBController.act: every minute
            if s[L.S_FALLBACK_ACTIVE] > 0.5:
                if fb_since < 0:
                    fb_since = minute
            else:
                fb_since = -1
        if controller == _RULES:
            a = CK.rules_act(cstate, obs, minute, s[L.S_FALLBACK_ACTIVE] > 0.5, d_crit,
                             cooldown)
        elif controller == _HUMAN:  # controllers.human.HumanController.act
            if respond_at < 0:
                if minute >= quiet_until and CK.alarm(obs, d_crit):
                    delay = int(lpar[LP_RESPONSE_MIN])
                    if lpar[LP_RANDOM_DELAY] > 0.5:  # the same draw from the same generator
                        delay = int(round(rng.exponential(lpar[LP_RESPONSE_MIN])))
                    respond_at = minute + delay
                    paged_at = minute
            elif minute >= respond_at:
                respond_at = -1
                quiet_until = minute + 1 + cooldown
                eng = (minute - paged_at) + lpar[LP_HANDLING_MIN]
                right = int(p[L.P_OPTIMAL_ACTION])
                if rng.random() < lpar[LP_ACCURACY]:
                    a = right
                elif right < n_env:  # uniformly among the others, as rng.choice(others)
                    k = rng.integers(0, n_env - 1)
                    a = k if k < right else k + 1
                else:
                    a = rng.integers(0, n_env)
        elif controller == _HYBRID:  # HybridController.act: shield memory, error budget
            last_alarm = HK.shield_observe(obs, minute, last_alarm, HK.QUALITY_VALIDATION,
                                           HK.QUALITY_RHO)
            violated = hist[t - 1, L.R_SLO_ALL_OK] < 0.5  # info["slo_violation"]
            if slo_len < budget:  # deque(maxlen=budget).append, as a circular buffer
                slo_ring[(slo_head + slo_len) % budget] = violated
                slo_len += 1
            else:  # full: the oldest entry drops out
                slo_count -= 1 if slo_ring[slo_head] else 0
                slo_ring[slo_head] = violated
                slo_head = (slo_head + 1) % budget
            slo_count += 1 if violated else 0
            if minute >= quiet_until and CK.alarm(obs, d_crit):
                burn = (slo_count / slo_len) / (1.0 - lpar[LP_SLO_TARGET])
                tight = lpar[LP_USE_ERROR_BUDGET] > 0.5 and burn > lpar[LP_BURN_LIMIT]
                ctx = LK.context_id(obs, d_crit)
                allowed = np.zeros(tab.shape[2], dtype=np.bool_)
                allowed[:min(tab.shape[2], n_env)] = True
                busy = s[L.S_JOB_ACTIVE] > 0.5 or s[L.S_CANARY_ACTIVE] > 0.5
                a = HK.hybrid_choose(
                    rng, tab, safe, ctx, allowed, obs, d_crit, minute, last_alarm, busy,
                    models[L.M_PREVIOUS, L.MF_VALID] > 0.5,
                    models[L.M_PREVIOUS, L.MF_SCHEMA] == s[L.S_LIVE_SCHEMA],
                    int(p[L.P_LABEL_DELAY]), int(p[L.P_TRAIN_WINDOW]), tight,
                    lpar[LP_USE_SHIELD] > 0.5, lpar[LP_USE_SLA_FILTER] > 0.5,
                    lpar[LP_SLA_THRESHOLD], mask)
                ctx_of[t] = ctx
                if a != L.NO_OP:
                    quiet_until = minute + 1 + cooldown
        elif controller == _ORACLE:  # OracleController.decide: the cheapest fork
            if minute >= quiet_until and CK.alarm(obs, d_crit):
                if oracle_window < 0 or oracle_window == window:  # the regret forks' window
                    ev_k = _evaluate_at(sim, n_env, ev_cost, ev_cat, memo, pristine, sh,
                                        sh_ok)
                    ev_t = t
                else:
                    evaluate(sim, n_env, oracle_window, ev_cost, ev_cat)
                a = best_action(ev_cost, ev_cat, n_env)
                if a != L.NO_OP:
                    quiet_until = minute + 1 + cooldown
        elif controller >= _LINUCB:  # LinearBanditController.decide at a decision epoch
            if minute >= quiet_until and CK.alarm(obs, d_crit):
                x = LinK.linear_features(obs, lin_x[t])
                allowed = np.zeros(lin[1].shape[0], dtype=np.bool_)
                allowed[:min(lin[1].shape[0], n_env)] = True
                if controller == _LINUCB:
                    a = LinK.linucb_choose(rng, lin[2], lin[1], x, lpar[LP_UCB_ALPHA],
                                           lpar[LP_NO_OP_VALUE], allowed)
                elif controller == _CUCB:  # the rules' action unless exploring is safe
                    fb_min = minute - fb_since if fb_since >= 0 else 0
                    base, _ = CK.expert_rules(obs, d_crit, fb_min, CK.DEFAULT_TIMEOUT_MS,
                                              CK.DEFAULT_SLO_LATENCY_MS)
                    cst = lin[8]
                    nr = int(cst[CU_N_ROUNDS])
                    a, base, cand, margin = LinK.cucb_choose(
                        rng, lin[2], lin[1], x, base, allowed, lpar[LP_UCB_ALPHA],
                        lpar[LP_NO_OP_VALUE], lpar[LP_ALPHA_C], lin[4], lin[5], lin[6],
                        lin[7], nr)
                    if cand != base:
                        cst[CU_LAST_MARGIN] = margin
                    # the round, as ConservativeUCBController.update records it
                    if LinK.cucb_record(lin[4], lin[5], lin[6], lin[7], nr, x, a, base,
                                        lpar[LP_NO_OP_VALUE]):
                        round_of[t] = nr
                    cst[CU_N_ROUNDS] = nr + 1
                    cst[CU_N_EXPLORED] += 1.0 if a != base else 0.0
                else:
                    a = LinK.lints_choose(rng, lin[2], lin[1], x, lpar[LP_V],
                                          lpar[LP_NO_OP_VALUE], allowed)
                ctx_of[t] = 0  # a decision of this episode: its context is lin_x[t]
                if a != L.NO_OP:
                    quiet_until = minute + 1 + cooldown
        elif controller >= _RL:  # LearningController.decide at a decision epoch
            if minute >= quiet_until and CK.alarm(obs, d_crit):
                ctx = LK.context_id(obs, d_crit)
                a = _learner_choose(controller, obs, d_crit, ctx, min(tab.shape[2], n_env),
                                    tab, lpar, rng, lstats)
                ctx_of[t] = ctx
                if a != L.NO_OP:
                    quiet_until = minute + 1 + cooldown
        if decision:  # experiments.regret.decision_record: forks of the state before the step
            if ev_t == t:  # the oracle has just forked this very state
                k = ev_k
            else:
                k = _evaluate_at(sim, n_env, ev_cost, ev_cat, memo, pristine, sh, sh_ok)
            b = best_action(ev_cost, ev_cat, n_env)
            avoidable = ev_cat[a] and not ev_cat[b]
            gap = ev_cost[a] - ev_cost[b]
            d = decs[n_decs]
            d[D_MINUTE] = t
            d[D_ACTION] = a
            d[D_BEST] = b
            d[D_REGRET] = max(0.0, gap) if avoidable else gap
            d[D_AVOIDABLE] = 1.0 if avoidable else 0.0
            d[D_CHOSEN_COST] = ev_cost[a]
            d[D_BEST_COST] = ev_cost[b]
            d[D_CHOSEN_CAT] = 1.0 if ev_cat[a] else 0.0
            d[D_WINDOW] = k
            n_decs += 1
        if a != L.NO_OP:
            harmful, violation, contained, success, delta, k = assess(sim, a, -1)
            v = verdicts[n_verdicts]
            v[V_MINUTE] = t
            v[V_ACTION] = a
            v[V_HARMFUL] = 1.0 if harmful else 0.0
            v[V_VIOLATION] = 1.0 if violation else 0.0
            v[V_CONTAINED] = 1.0 if contained else 0.0
            v[V_SUCCESS] = 1.0 if success else 0.0
            v[V_DELTA_USD] = delta
            v[V_MINUTES] = k
            n_verdicts += 1
        step(sim, a, eng)
        if a != L.NO_OP or eng != 0.0:
            pristine = False
            sh_ok[0] = 0  # the live episode leaves the no_op shadow's path
        if not observe(hist[t], obs_idx, obs_high, obs):
            return BAD_OBSERVATION, n_verdicts, first_alarm, total_c, n_decs
        if first_alarm < 0 and t >= onset and CK.alarm(obs, d_crit):
            first_alarm = t
        if a != L.NO_OP:
            counts[a] += 1
        total_c += c_paper[a]
        done = s[L.S_CATASTROPHIC] != L.CAT_NONE or s[L.S_T] > horizon
        if controller >= _RL:
            delivered, n_rewards = _deliver_feedback(
                controller, verdicts, n_verdicts, delivered, ctx_of, int(s[L.S_T]) - 1, done,
                window, c_paper, tab, safe, lpar, rng, rewards, n_rewards, lin, lin_x,
                round_of)
        if done:
            break
    lstats[LS_N_REWARDS] = n_rewards
    return OK, n_verdicts, first_alarm, total_c, n_decs


@nb.njit(cache=True)
def play_batch(controller, ps, fas, acs, c_papers, seeds, d_crits, cooldown, onsets,
               obs_idx, obs_high, hists, states, verdicts, counts, status, n_verdicts,
               first_alarm, paper_costs, tab, safe, lpar, rng, rewards, lstats, smps,
               smetas, regret, decs, n_decs, memos, lin):
    """Play the episodes of the batch in order with ``ps[i]``, ``fas[i]``, ... (play_episode).

    ``ps``, ``fas``, ``acs``, ``c_papers``, ``hists``, ``states``, ``verdicts``,
    ``rewards``, ``smps`` and ``smetas`` are typed lists of per-episode arrays; ``seeds``,
    ``d_crits`` and ``onsets`` per-episode arrays; ``counts`` (n, N_EXTENDED_ACTIONS),
    ``status``, ``n_verdicts``, ``first_alarm``, ``paper_costs`` (n,) and ``lstats``
    (n, N_LSTATS) are filled, and with ``regret`` the typed list ``decs`` and ``n_decs``
    (n,); ``memos`` holds each episode's regret-fork memo (:func:`_evaluate_at`). One
    learner (``tab``, ``rng``) lives through the batch, as through ``run_controller``.
    """
    for i in range(len(ps)):
        st, nv, fa_min, pc, nd = play_episode(
            controller, ps[i], fas[i], acs[i], c_papers[i], seeds[i], d_crits[i], cooldown,
            onsets[i], obs_idx, obs_high, hists[i], states[i], verdicts[i], counts[i], tab,
            safe, lpar, rng, rewards[i], lstats[i], smps[i], smetas[i], regret, decs[i],
            memos[i], lin)
        status[i] = st
        n_verdicts[i] = nv
        first_alarm[i] = fa_min
        paper_costs[i] = pc
        n_decs[i] = nd
        if st != OK:
            break


# ----------------------------------------------------------------------------------------
# Python side
# ----------------------------------------------------------------------------------------
def env_episode_seed(seed: int) -> int:
    """Return the internal episode seed ``SelfHealEnv.reset(seed=seed)`` draws."""
    rng, _ = seeding.np_random(int(seed))
    return int(rng.integers(0, 2**53))


def compile_for_fast(scenario: Scenario, action_set: str = "auto", deployment: str = "direct",
                     canary_judge: str = "delta_sla") -> CompiledScenario:
    """Compile ``scenario`` as ``run_episode`` configures the env for a controller.

    :func:`simulator.env.compile_for_env`: ``deployment`` and ``canary_judge`` are the
    controller's, ``P_N_ACTIONS`` is set by ``action_set`` (``auto``: the scenario's).
    """
    return compile_for_env(scenario, action_set, deployment, canary_judge)


#: Placeholders meaning "a fresh sample cache per episode".
_NO_SMP = np.empty((0, L.N_FEATURES, 0))
_NO_SMETA = np.zeros((0, 0), dtype=np.uint64)


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

    def get(self, p: np.ndarray, fa: np.ndarray, ep_seed: int) -> tuple[np.ndarray, np.ndarray]:
        """Return the cache ``(smp, smeta)`` of the episode, creating it when new."""
        key = (int(ep_seed), np.ascontiguousarray(fa).tobytes(),
               *(int(p[k]) for k in (L.P_HORIZON, L.P_SAMPLES_PER_MIN, L.P_KS_WINDOW,
                                     L.P_REF_SIZE)), float(p[L.P_ANOMALY_Z]))
        if key not in self._store:
            self._store[key] = new_sample_cache(p, self.mib)
        return self._store[key]

    def fork_memo(self, p: np.ndarray, fa: np.ndarray, ac: np.ndarray,
                  ep_seed: int) -> np.ndarray:
        """Return the episode's regret-fork memo (``_evaluate_at``), creating it when new.

        The forks of the no_op-only trajectory depend on the whole compiled scenario
        (parameters, faults, action costs) and the episode seed, so all of them key it.
        """
        key = ("memo", int(ep_seed), *(np.ascontiguousarray(x).tobytes() for x in (p, fa, ac)))
        if key not in self._store:
            self._store[key] = np.zeros((int(p[L.P_HORIZON]) + 2, N_FM_FIELDS))
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
    verdicts : list of ndarray, shape (n_verdicts_i, N_VERDICT_FIELDS)
    counts : ndarray of int64, shape (n, N_EXTENDED_ACTIONS)
    first_alarm, onsets : ndarray of int64, shape (n,)
    paper_costs : ndarray, shape (n,)
    c_papers : list of ndarray
        C(a) of every action, per episode.
    rec_mins : list of int
        Recovery minutes per episode (MTTR).
    decisions : list of ndarray, shape (n_decisions_i, N_DEC_FIELDS)
        Regret records per episode (empty unless played with ``regret``).
    """

    hists: list
    states: list
    verdicts: list
    counts: np.ndarray
    first_alarm: np.ndarray
    onsets: np.ndarray
    paper_costs: np.ndarray
    c_papers: list
    rec_mins: list
    decisions: list

    @property
    def steps(self) -> int:
        """Env steps played in the batch (reset minutes excluded)."""
        return int(sum(int(s[L.S_T]) - 1 for s in self.states))


#: Parameters each fast-path controller takes, with their defaults (the configs' values).
_PARAMS = {
    "noop": {},
    "rules": {},
    "human": {"response_minutes": 45, "accuracy": 0.88, "handling_minutes": 30.0,
              "random_delay": False},
    "rl": {"lam": 10.0, "n_actions": 4, "epsilon": 0.1, "epsilon_schedule": "constant",
           "epsilon_c": 6.0, "epsilon_d": 0.5},
    "bandit": {"lam": 10.0, "n_actions": 4},
    "hybrid_literal": {"lam": 10.0, "n_actions": 4},
    "hybrid": {"lam": 10.0, "n_actions": 4, "sla_threshold": 0.95, "slo_target": 0.99,
               "budget_window": 60, "burn_limit": 14.4, "use_shield": True,
               "use_canary": True, "use_sla_filter": True, "use_error_budget": True,
               "canary_judge": "delta_sla"},
    "oracle": {"window": None, "deployment": "direct"},
    "linucb": {"lam": 10.0, "n_actions": 4, "ucb_alpha": 0.5, "l2_lambda": 1.0,
               "no_op_reward": 0.0},
    "lin_ts": {"lam": 10.0, "n_actions": 4, "v": 0.25, "l2_lambda": 1.0, "no_op_reward": 0.0},
    "conservative_ucb": {"lam": 10.0, "n_actions": 4, "alpha_c": 0.1, "ucb_alpha": 0.5,
                         "l2_lambda": 1.0, "no_op_reward": 0.0},
}


def _check(controller_name: str, params: dict | None) -> tuple[int, float, int, dict]:
    """Return (code, alpha, cooldown, other parameters) after validating them."""
    if controller_name not in FAST_CONTROLLERS:
        raise ValueError(
            f"the fast path plays {sorted(FAST_CONTROLLERS)}, not {controller_name!r}: "
            "use experiments.episode.run_episode"
        )
    params = dict(params or {})
    alpha = float(params.pop("alpha", 0.05))
    cooldown = int(params.pop("cooldown", 60 if controller_name == "human" else 30))
    params.pop("seed", None)
    allowed = _PARAMS[controller_name]
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise ValueError(f"unknown {controller_name} parameters for the fast path: {unknown}; "
                         f"allowed: {sorted(['alpha', 'cooldown', 'seed', *allowed])}")
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    if cooldown < 0:
        raise ValueError(f"cooldown must be >= 0, got {cooldown}")
    other = {**allowed, **params}
    return FAST_CONTROLLERS[controller_name], alpha, cooldown, other


def _lpar(other: dict) -> np.ndarray:
    """Pack the controller parameters into the kernel's ``lpar`` vector.

    Parameters a controller does not take keep their ``_PARAMS`` defaults (unused).
    """
    from controllers.learners import EpsilonGreedy

    o = {k: v for prm in _PARAMS.values() for k, v in prm.items()} | other
    lpar = np.zeros(N_LPAR)
    lpar[LP_LAM] = float(o["lam"])
    lpar[LP_EPSILON] = float(o["epsilon"])
    lpar[LP_SCHEDULE] = EpsilonGreedy.SCHEDULES.index(o["epsilon_schedule"])
    lpar[LP_EPS_C] = float(o["epsilon_c"])
    lpar[LP_EPS_D] = float(o["epsilon_d"])
    lpar[LP_RESPONSE_MIN] = int(o["response_minutes"])
    lpar[LP_ACCURACY] = float(o["accuracy"])
    lpar[LP_HANDLING_MIN] = float(o["handling_minutes"])
    lpar[LP_SLA_THRESHOLD] = float(o["sla_threshold"])
    lpar[LP_SLO_TARGET] = float(o["slo_target"])
    lpar[LP_BUDGET_WINDOW] = int(o["budget_window"])
    lpar[LP_BURN_LIMIT] = float(o["burn_limit"])
    lpar[LP_USE_SHIELD] = float(bool(o["use_shield"]))
    lpar[LP_USE_SLA_FILTER] = float(bool(o["use_sla_filter"]))
    lpar[LP_USE_ERROR_BUDGET] = float(bool(o["use_error_budget"]))
    lpar[LP_WINDOW] = -1 if o["window"] is None else int(o["window"])
    lpar[LP_RANDOM_DELAY] = float(bool(o["random_delay"]))
    lpar[LP_UCB_ALPHA] = float(o["ucb_alpha"])
    lpar[LP_V] = float(o["v"])
    lpar[LP_NO_OP_VALUE] = LK.reward_to_unit(float(o["no_op_reward"]), float(o["lam"]))
    lpar[LP_ALPHA_C] = float(o["alpha_c"])
    return lpar


def no_linear_state() -> tuple:
    """Return a placeholder ``lin`` argument of :func:`play_episode` (no linear learner)."""
    return (np.zeros((1, 1, 1)), np.zeros((1, 1)), np.zeros((1, 1, 1)),
            np.zeros(1, dtype=np.int64), np.zeros((1, LinK.N_LINEAR_FEATURES)),
            np.zeros(1, dtype=np.int64), np.zeros(1, dtype=np.int64), np.zeros(1),
            np.zeros(3))


def play_fast(controller_name: str, params: dict | None,
              compiled_scenarios: Sequence[CompiledScenario],
              seeds: Sequence[int], controller: Controller | None = None,
              caches: SampleCaches | None = None, regret: bool = False) -> FastBatch:
    """Play episode ``i`` = (``compiled_scenarios[i]``, ``seeds[i]``) on the fast path.

    The episodes are played in order by one controller, its learning carried over, as
    ``run_controller`` plays a run.

    Parameters
    ----------
    controller_name : str
        A key of ``FAST_CONTROLLERS``.
    params : dict, optional
        The controller's parameters (``alpha``, ``cooldown`` and those of ``_PARAMS``;
        defaults as in its config; ``seed`` is accepted and ignored).
    compiled_scenarios : sequence of CompiledScenario
        As from :func:`compile_for_fast`; not modified.
    seeds : sequence of int
        Episode seeds, as passed to ``run_episode`` (``env.reset(seed=...)``).
    controller : Controller, optional
        Required for the controllers that draw random numbers or learn (human, rl, bandit,
        hybrid_literal): its generator and learner state are used and advanced in place,
        exactly as the Gymnasium path would leave them.
    caches : SampleCaches, optional
        Sample caches to share with other controllers playing the same episodes (each
        episode's feature samples, merged KS windows and initial-reference KS statistics
        are then computed once for all of them; results are unchanged). Default: a fresh
        cache per episode.
    regret : bool
        Record regret against the oracle at every decision epoch (``FastBatch.decisions``).

    Returns
    -------
    FastBatch

    Raises
    ------
    ValueError
        On an unsupported controller or parameter, mismatched lengths, a missing
        ``controller``, or a non-finite observation (as the Gymnasium path).
    """
    code, alpha, cooldown, other = _check(controller_name, params)
    if len(compiled_scenarios) != len(seeds):
        raise ValueError(f"{len(compiled_scenarios)} scenarios but {len(seeds)} seeds")
    if code == _ORACLE:
        if other["window"] is not None and int(other["window"]) < 1:
            raise ValueError(f"window must be >= 1 minute, got {other['window']}")
        canary = float(other["deployment"] == "canary")
        if any(float(c.params[L.P_DEPLOY_CANARY]) != canary for c in compiled_scenarios):
            raise ValueError("oracle: the compiled scenarios' deployment must match its "
                             "deployment (compile_for_fast(..., deployment))")
    if code == _HYBRID:  # deployments and judge are compiled in: they must agree
        from simulator.scenarios.compile import CANARY_JUDGES

        if other["canary_judge"] not in CANARY_JUDGES:
            raise ValueError(f"canary_judge must be one of {CANARY_JUDGES}, "
                             f"got {other['canary_judge']!r}")
        want = (float(bool(other["use_canary"])),
                float(CANARY_JUDGES.index(other["canary_judge"])))
        for c in compiled_scenarios:
            got = (float(c.params[L.P_DEPLOY_CANARY]), float(c.params[L.P_CANARY_JUDGE]))
            if got != want:
                raise ValueError(
                    "hybrid: the compiled scenarios' deployment and canary judge must match "
                    "use_canary and canary_judge (compile_for_fast(..., deployment, "
                    "canary_judge))")
    if code >= _HUMAN and controller is None:
        raise ValueError(f"the fast path needs the {controller_name} controller itself "
                         "(its generator and learned state)")
    learner = getattr(controller, "learner", None) if code >= _RL else None
    no_lin = no_linear_state()
    ridge, rounds, totals = no_lin[:4], no_lin[4:8], no_lin[8]
    tab = np.zeros((2, 1, 1))
    if code >= _LINUCB:  # the ridge models, learned in place
        ridge = (learner.A, learner.b, learner.chol, learner.counts)
    elif learner is not None:
        tab = learner.tab
    if code == _CUCB:  # room for a round at every minute of the batch, then written back
        need = controller.n_rounds + sum(int(c.params[L.P_HORIZON]) + 1
                                         for c in compiled_scenarios)
        rounds = LinK.cucb_grow(controller._rx, controller._rplayed, controller._rbase,
                                controller._rreward, max(need, controller._rplayed.shape[0]))
        totals[:] = (controller.n_rounds, controller.n_explored, controller.last_margin)
    lin = (*ridge, *rounds, totals)
    safe = controller.safe if code == _HYBRID else np.ones((2, 1, 1))
    rng = controller.rng if controller is not None else np.random.default_rng(0)
    n_ep = len(seeds)
    ep_seeds = np.array([env_episode_seed(s) for s in seeds], dtype=np.int64)
    ps, fas, acs, cps, hists, states, verds, rews, smps, smetas, decs, memos = (
        List() for _ in range(12))
    d_crits = np.empty(n_ep)
    onsets = np.empty(n_ep, dtype=np.int64)
    rec_mins = []
    for i, c in enumerate(compiled_scenarios):
        p = np.ascontiguousarray(c.params, dtype=np.float64)
        horizon = int(p[L.P_HORIZON])
        ps.append(p)
        fas.append(np.ascontiguousarray(c.faults, dtype=np.float64))
        acs.append(np.ascontiguousarray(c.action_costs, dtype=np.float64))
        cps.append(np.ascontiguousarray(paper_cost(c.action_costs, c.params), dtype=np.float64))
        hists.append(np.zeros((horizon + 1, L.N_RECORD)))
        states.append(np.zeros(L.N_STATE))
        verds.append(np.zeros((horizon + 1, N_VERDICT_FIELDS)))
        rews.append(np.zeros(horizon + 1))
        decs.append(np.zeros((horizon + 1 if regret else 0, N_DEC_FIELDS)))
        if caches is None:
            smps.append(_NO_SMP)
            smetas.append(_NO_SMETA)
            memos.append(np.zeros((int(p[L.P_HORIZON]) + 2 if regret else 0, N_FM_FIELDS)))
        else:
            smp, smeta = caches.get(p, fas[i], ep_seeds[i])
            smps.append(smp)
            smetas.append(smeta)
            memos.append(caches.fork_memo(p, fas[i], acs[i], ep_seeds[i]) if regret
                         else np.zeros((0, N_FM_FIELDS)))
        d_crits[i] = critical_value(alpha, int(p[L.P_SAMPLES_PER_MIN] * p[L.P_KS_WINDOW]),
                                    int(p[L.P_REF_SIZE]))
        onsets[i] = int(c.faults[:, L.F_ONSET].min())
        rec_mins.append(int(p[L.P_RECOVERY_MIN]))
    counts = np.zeros((n_ep, L.N_EXTENDED_ACTIONS), dtype=np.int64)
    status = np.zeros(n_ep, dtype=np.int64)
    n_verdicts = np.zeros(n_ep, dtype=np.int64)
    first_alarm = np.zeros(n_ep, dtype=np.int64)
    paper_costs = np.zeros(n_ep)
    lstats = np.zeros((n_ep, N_LSTATS), dtype=np.int64)
    n_decs = np.zeros(n_ep, dtype=np.int64)
    if n_ep:
        play_batch(code, ps, fas, acs, cps, ep_seeds, d_crits, cooldown, onsets, _OBS_IDX,
                   _OBS_HIGH, hists, states, verds, counts, status, n_verdicts, first_alarm,
                   paper_costs, tab, safe, _lpar(other), rng, rews, lstats, smps, smetas,
                   bool(regret), decs, n_decs, memos, lin)
    bad = np.flatnonzero(status != OK)
    if bad.size:
        raise ValueError(f"non-finite observation in episode {int(bad[0])} "
                         f"(seed {seeds[int(bad[0])]})")
    if code == _CUCB:  # what ConservativeUCBController.update records
        controller._rx, controller._rplayed, controller._rbase, controller._rreward = rounds
        controller._n_rounds = int(totals[CU_N_ROUNDS])
        controller.n_explored = int(totals[CU_N_EXPLORED])
        controller.last_margin = float(totals[CU_LAST_MARGIN])
    if learner is not None:  # what LearningController.update records
        for i in range(n_ep):
            controller.rewards.extend(float(r) for r in rews[i][: lstats[i, LS_N_REWARDS]])
        if hasattr(controller, "bandit_choices"):
            controller.bandit_choices += int(lstats[:, LS_BANDIT_CHOICES].sum())
    return FastBatch(
        hists=list(hists), states=list(states),
        verdicts=[verds[i][: n_verdicts[i]] for i in range(n_ep)], counts=counts,
        first_alarm=first_alarm, onsets=onsets, paper_costs=paper_costs, c_papers=list(cps),
        rec_mins=rec_mins, decisions=[decs[i][: n_decs[i]] for i in range(n_ep)],
    )


def verdict_dicts(verdicts: np.ndarray, c_paper: np.ndarray) -> list[dict]:
    """Rebuild the env's assessment dicts (``SelfHealEnv.assessments``) from verdicts."""
    out = []
    for v in verdicts:
        a = int(v[V_ACTION])
        out.append({
            "harmful": bool(v[V_HARMFUL] > 0.5),
            "safety_violation": bool(v[V_VIOLATION] > 0.5),
            "contained": bool(v[V_CONTAINED] > 0.5),
            "success": bool(v[V_SUCCESS] > 0.5),
            "delta_cost_usd": float(v[V_DELTA_USD]),
            "minutes": int(v[V_MINUTES]),
            "decision_minute": int(v[V_MINUTE]),
            "action": L.ACTION_NAMES[a],
            "paper_cost": float(c_paper[a]),
        })
    return out


def decision_dicts(decs: np.ndarray) -> list[dict]:
    """Rebuild ``experiments.regret.decision_record``'s dicts from regret records."""
    return [{
        "minute": int(d[D_MINUTE]),
        "action": L.ACTION_NAMES[int(d[D_ACTION])],
        "best_action": L.ACTION_NAMES[int(d[D_BEST])],
        "regret_usd": float(d[D_REGRET]),
        "avoidable_catastrophe": bool(d[D_AVOIDABLE] > 0.5),
        "chosen_cost_usd": float(d[D_CHOSEN_COST]),
        "best_cost_usd": float(d[D_BEST_COST]),
        "chosen_catastrophic": bool(d[D_CHOSEN_CAT] > 0.5),
        "window_minutes": int(d[D_WINDOW]),
    } for d in decs]


def episode_row(batch: FastBatch, i: int) -> dict:
    """Build the result row of episode ``i`` exactly as ``run_episode`` builds it."""
    s = batch.states[i]
    return summarise_episode(batch.hists[i], s, int(s[L.S_T]) - 1,
                             verdict_dicts(batch.verdicts[i], batch.c_papers[i]),
                             batch.counts[i], float(batch.paper_costs[i]),
                             int(batch.first_alarm[i]), int(batch.onsets[i]),
                             batch.rec_mins[i])


def run_episodes_fast(controller_name: str, params: dict | None,
                      compiled_scenarios: Sequence[CompiledScenario],
                      seeds: Sequence[int], controller: Controller | None = None,
                      caches: SampleCaches | None = None, regret: bool = False,
                      decisions: list | None = None) -> list[dict]:
    """Play the batch on the fast path; return ``run_episode``'s row for each episode.

    See :func:`play_fast` for the arguments. Row ``i`` equals
    ``run_episode(controller, scenario_i, seeds[i], regret=regret)`` for every column, the
    controller having played episodes 0..i-1 before. With ``regret`` and a ``decisions``
    list, each episode's list of decision records is appended to it.
    """
    batch = play_fast(controller_name, params, compiled_scenarios, seeds, controller, caches,
                      regret)
    rows = [episode_row(batch, i) for i in range(len(seeds))]
    if regret:
        for row, decs in zip(rows, batch.decisions, strict=True):
            records = decision_dicts(decs)
            row.update(episode_regret(records))
            if decisions is not None:
                decisions.append(records)
    return rows


def fast_path_params(controller: Controller) -> dict | None:
    """Return the fast path's ``params`` for ``controller``, or None if it cannot play it.

    Plain instances (not subclasses) of the noop, rules, human (fixed or random delay),
    rl, bandit, hybrid_literal, hybrid (any ablation, either canary judge), LinUCB, linear
    TS and conservative UCB controllers and the oracle qualify; all but hybrid and the
    oracle with direct deployments and the default canary judge. User controllers run on
    the Gymnasium path.
    """
    from controllers.bandit import BanditController
    from controllers.conservative import ConservativeUCBController
    from controllers.human import HumanController
    from controllers.hybrid import HybridController
    from controllers.hybrid_literal import HybridLiteralController
    from controllers.lints import LinTSController
    from controllers.linucb import LinUCBController
    from controllers.noop import NoOpController
    from controllers.oracle import OracleController
    from controllers.rl import RLController
    from controllers.rules import RulesController

    kinds = {NoOpController: "noop", RulesController: "rules", HumanController: "human",
             RLController: "rl", BanditController: "bandit",
             HybridLiteralController: "hybrid_literal", HybridController: "hybrid",
             OracleController: "oracle", LinUCBController: "linucb",
             LinTSController: "lin_ts", ConservativeUCBController: "conservative_ucb"}
    name = kinds.get(type(controller))
    if name is None or controller.name != name:
        return None
    if name not in ("hybrid", "oracle") and (
            getattr(controller, "deployment", "direct") != "direct"
                             or getattr(controller, "canary_judge", "delta_sla") != "delta_sla"):
        return None
    params = {"alpha": controller.alpha, "cooldown": controller.cooldown}
    if name == "oracle":
        params.update(window=controller.window, deployment=controller.deployment)
    elif name == "human":
        params.update(response_minutes=int(controller.response_minutes),
                      accuracy=float(controller.accuracy),
                      handling_minutes=float(controller.handling_minutes),
                      random_delay=bool(controller.random_delay))
    elif name in ("linucb", "lin_ts", "conservative_ucb"):
        params.update(lam=controller.lam, n_actions=controller.n_actions,
                      l2_lambda=controller.l2_lambda, no_op_reward=controller.no_op_reward)
        if name == "lin_ts":
            params.update(v=controller.v)
        else:
            params.update(ucb_alpha=controller.ucb_alpha)
        if name == "conservative_ucb":
            params.update(alpha_c=controller.alpha_c)
    elif name in ("rl", "bandit", "hybrid_literal", "hybrid"):
        params.update(lam=controller.lam, n_actions=controller.n_actions)
        if name == "hybrid":
            params.update(
                sla_threshold=controller.sla_threshold, slo_target=controller.slo_target,
                budget_window=controller._slo_window.maxlen, burn_limit=controller.burn_limit,
                use_shield=controller.use_shield, use_canary=controller.deployment == "canary",
                use_sla_filter=controller.use_sla_filter,
                use_error_budget=controller.use_error_budget,
                canary_judge=controller.canary_judge)
        if name == "rl":
            lr = controller.learner
            params.update(epsilon=lr.epsilon, epsilon_schedule=lr.epsilon_schedule,
                          epsilon_c=lr.epsilon_c, epsilon_d=lr.epsilon_d)
    return params


def run_controller_fast(controller: Controller, scenarios: Sequence[Scenario], run_seed: int,
                        action_set: str = "auto", regret: bool = False,
                        decisions: list[dict] | None = None) -> list[dict]:
    """:func:`experiments.episode.run_controller` on the fast path (same rows, same order).

    Raises
    ------
    ValueError
        If :func:`fast_path_params` rejects ``controller``.
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
        If :func:`fast_path_params` rejects one of the controllers.
    """
    if decisions is not None and len(decisions) != len(controllers):
        raise ValueError(f"decisions needs one list per controller ({len(controllers)})")
    params = []
    for c in controllers:
        prm = fast_path_params(c)
        if prm is None:
            raise ValueError(f"the fast path cannot play {type(c).__name__} {c.name!r}: "
                             "use experiments.episode.run_controller")
        params.append(prm)
    order = scenario_order(run_seed, scenarios)
    caches = SampleCaches()
    runs: list[list[dict]] = [[] for _ in controllers]
    for k, sc in enumerate(order):
        caches.clear()
        seed = episode_seed(run_seed, sc.id)
        compiled: dict = {}
        for j, (c, prm, rows) in enumerate(zip(controllers, params, runs, strict=True)):
            mode = (getattr(c, "deployment", "direct"), getattr(c, "canary_judge", "delta_sla"))
            if mode not in compiled:
                compiled[mode] = compile_for_fast(sc, action_set, *mode)
            recs: list = []
            row = run_episodes_fast(c.name, prm, [compiled[mode]], [seed], c, caches, regret,
                                    recs)[0]
            if regret and decisions is not None:
                decisions[j].extend({**r, "scenario": sc.id, "episode": k, "seed": int(run_seed)}
                                    for r in recs[0])
            row.update(scenario=sc.id, family=sc.family, subtype=sc.subtype, episode=k,
                       seed=int(run_seed), optimal_action=sc.annotations.optimal_action)
            rows.append(row)
    return runs
