"""Actions, deployments and the canary (DESIGN 3.5).

:func:`apply_action` starts an action at a minute: ``fallback`` serves the fallback slot
for ``P_FALLBACK_TTL`` minutes; ``rollback`` deploys the previous version; ``retrain``
captures the labelled training rows (:func:`_capture_training_window`) and fits a
candidate classifier on them ``P_RETRAIN_MIN`` minutes later (:func:`_finish_retrain`);
``scale_out``, ``restart``, ``quarantine_inputs`` and ``escalate`` change replicas and
timers. A deployment (:func:`_deploy`) is direct (the slot is promoted
at once, :func:`_promote`, with reduced capacity for ``P_DEPLOY_MIN`` minutes) or goes
through a canary serving ``P_CANARY_SHARE`` of traffic for ``P_CANARY_MIN`` minutes, then
judged (:func:`_judge_canary`: the paper's delta-SLA rule or a Mann-Whitney U test).
:func:`advance_deployments` moves jobs, canaries and the fallback on each minute. Every
function takes the simulation record (:class:`simulator.state.Sim`) and changes it in
place; minutes ``t`` are float64 as in ``s[S_T]``. Numba-compiled.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from simulator import layout as L
from simulator.model import _slot_effects, fit_slot
from simulator.outcomes import sla_score
from simulator.rng import (
    STREAM_CANARY,
    STREAM_ESCALATE,
    STREAM_RETRAIN,
    binomial,
    seed_stream,
    uniform,
)
from simulator.sampling import draw_reference, label_volume
from simulator.stats import mann_whitney_less


@nb.njit(cache=True)
def _promote(sim, src):
    """Make slot ``src`` the serving model; the old serving model becomes previous.

    Promoting the previous slot swaps the two; promoting another slot empties it. The
    fallback ends and the leak restarts from zero (new processes); counted in
    ``s[S_N_PROMOTIONS]``.
    """
    s, models, refs = sim.s, sim.models, sim.refs
    if src == L.M_PREVIOUS:
        tmp = models[L.M_SERVING].copy()
        models[L.M_SERVING] = models[L.M_PREVIOUS]
        models[L.M_PREVIOUS] = tmp
        tmp_r = refs[L.M_SERVING].copy()
        refs[L.M_SERVING] = refs[L.M_PREVIOUS]
        refs[L.M_PREVIOUS] = tmp_r
    else:
        models[L.M_PREVIOUS] = models[L.M_SERVING]
        refs[L.M_PREVIOUS] = refs[L.M_SERVING]
        models[L.M_SERVING] = models[src]
        refs[L.M_SERVING] = refs[src]
        models[src, L.MF_VALID] = 0.0
    s[L.S_FALLBACK_ACTIVE] = 0.0
    s[L.S_LEAK] = 0.0
    s[L.S_N_PROMOTIONS] += 1.0


@nb.njit(cache=True)
def _deploy(sim, src, t):
    """Deploy slot ``src`` (previous or candidate) at minute ``t``: canary or direct.

    With ``P_DEPLOY_CANARY`` set, a canary of the slot starts (a rollback copies the
    previous model into the candidate slot) and is judged at ``t + P_CANARY_MIN``;
    otherwise the slot is promoted now and capacity is cut until ``t + P_DEPLOY_MIN``.
    """
    p, s, models, refs = sim.p, sim.s, sim.models, sim.refs
    if p[L.P_DEPLOY_CANARY] > 0.5:
        if src == L.M_PREVIOUS:
            models[L.M_CANDIDATE] = models[L.M_PREVIOUS]
            refs[L.M_CANDIDATE] = refs[L.M_PREVIOUS]
            s[L.S_CANARY_KIND] = L.ROLLBACK
        else:
            s[L.S_CANARY_KIND] = L.RETRAIN
        s[L.S_CANARY_ACTIVE] = 1.0
        s[L.S_CANARY_END] = t + p[L.P_CANARY_MIN]
    else:
        _promote(sim, src)
        s[L.S_DEPLOY_UNTIL] = t + p[L.P_DEPLOY_MIN]


@nb.njit(cache=True)
def _capture_training_window(sim, t):
    """Capture the labelled rows a retrain started at ``t`` can use (DESIGN 3.5).

    Labelled rows are those of minutes [t - delay - W, t - delay) with the labels that
    arrived for them, as the pipeline received them (corrupted values included): their
    sufficient statistics are a difference of the prefix sums ``tst``
    (:func:`simulator.classifier.stats_window`). Minutes before the episode contribute the
    initial training set's statistics, 1 / W of them per minute. Under an active
    ``quarantine_inputs`` the rows the quarantine flags are filtered out of the whole
    window, not only those recorded under quarantine. The statistics go to
    ``s[S_JOB_STATS]``; the window's mean concept and corrupted share (diagnostics, from
    the records) to ``s[S_JOB_CONCEPT]`` and ``s[S_JOB_CORRUPT]``.
    """
    p, s, hist, tst = sim.p, sim.s, sim.hist, sim.tst
    ns = L.N_TRAIN_STATS
    quarantine = s[L.S_QUARANTINE_UNTIL] > t
    delay = p[L.P_LABEL_DELAY]
    w = int(p[L.P_TRAIN_WINDOW])
    hi = int(t - delay)
    lo = hi - w
    col = ns if quarantine else 0
    job = s[L.S_JOB_STATS:L.S_JOB_STATS + ns]
    lo_c, hi_c = max(lo, 0), max(hi, 0)
    for q in range(ns):
        job[q] = tst[hi_c, col + q] - tst[lo_c, col + q]
    before = min(hi, 0) - lo  # minutes of the window before the episode
    if before > 0:
        for q in range(ns):
            job[q] += s[L.S_INIT_STATS + q] * (before / w)
    s[L.S_JOB_CONCEPT] = 0.0
    s[L.S_JOB_CORRUPT] = 0.0
    for u in range(lo_c, hi_c):
        r = hist[u]
        s[L.S_JOB_CONCEPT] += r[L.R_CONCEPT]
        s[L.S_JOB_CORRUPT] += r[L.R_CORRUPT_SHARE]
        if quarantine:  # the training pipeline filters rows validation flags
            s[L.S_JOB_CORRUPT] -= r[L.R_CORRUPT_DETECTABLE]
    s[L.S_JOB_CONCEPT] /= w
    s[L.S_JOB_CORRUPT] /= w


@nb.njit(cache=True)
def apply_action(sim, a, t):
    """Start action ``a`` at minute ``t``. Returns 1 if it took effect, 0 if it became a no-op.

    An action that conflicts with one in progress (a retrain or canary running, a rollback
    with no previous version, an escalation already paged) becomes a no-op and is counted
    in ``s[S_N_CONFLICTS]``.

    Parameters
    ----------
    sim : Sim
        The simulation (:class:`simulator.state.Sim`), changed in place.
    a : int
        Action index (``layout.NO_OP`` ... ``layout.ESCALATE``); an unknown index is a no-op
        returning 0.
    t : float
        The minute.

    Returns
    -------
    int
        1 if the action took effect, else 0.
    """
    p, s, models = sim.p, sim.s, sim.models
    if a == L.NO_OP:
        return 1
    busy = s[L.S_JOB_ACTIVE] > 0.5 or s[L.S_CANARY_ACTIVE] > 0.5
    if a == L.FALLBACK:
        s[L.S_FALLBACK_ACTIVE] = 1.0
        s[L.S_FALLBACK_UNTIL] = t + p[L.P_FALLBACK_TTL]
        return 1
    if a == L.ROLLBACK:
        if busy or models[L.M_PREVIOUS, L.MF_VALID] < 0.5:
            s[L.S_N_CONFLICTS] += 1.0
            return 0
        _deploy(sim, L.M_PREVIOUS, t)
        return 1
    if a == L.RETRAIN:
        if busy:
            s[L.S_N_CONFLICTS] += 1.0
            return 0
        _capture_training_window(sim, t)
        s[L.S_JOB_ACTIVE] = 1.0
        s[L.S_JOB_DONE_AT] = t + p[L.P_RETRAIN_MIN]
        return 1
    if a == L.SCALE_OUT:
        s[L.S_REPLICAS] += p[L.P_SCALE_STEP]
        return 1
    if a == L.RESTART:
        s[L.S_LEAK] = 0.0
        for i in range(sim.fa.shape[0]):  # the runaway work lived in the pods: it is killed
            if int(sim.fa[i, L.F_KIND]) == L.K_RUNAWAY and sim.fr[i, L.FR_STARTED] > 0.5:
                sim.fr[i, L.FR_STOPPED] = 1.0
        s[L.S_RESTART_UNTIL] = t + p[L.P_RESTART_MIN]
        return 1
    if a == L.QUARANTINE_INPUTS:
        s[L.S_QUARANTINE_UNTIL] = t + p[L.P_QUARANTINE_TTL]
        return 1
    if a == L.ESCALATE:
        if s[L.S_ESCALATE_AT] >= 0.0:
            s[L.S_N_CONFLICTS] += 1.0
            return 0
        s[L.S_ESCALATE_AT] = t + p[L.P_ESCALATE_DELAY]
        return 1
    return 0


@nb.njit(cache=True)
def paged_fix(sim, t):
    """Return the action the engineer paged by ``escalate`` applies at minute ``t``.

    The page is the human baseline's model (paper Sec. 5): the engineer's investigation
    finds the scenario's annotated action with probability ``P_ESCALATE_ACC`` (default 0.88),
    else picks uniformly among the env's other actions (``no_op`` included, ``escalate``
    and the annotated action excluded). Two uniforms from the stream (seed, t,
    ``STREAM_ESCALATE``) decide, whatever the outcome (common random numbers). A page
    answered with ``escalate`` (the annotated action) is not applied again (the caller).

    Parameters
    ----------
    sim : Sim
        The simulation (:class:`simulator.state.Sim`); read only.
    t : float
        The minute the page is answered (``escalation_delay`` after it was sent).

    Returns
    -------
    int
        An action index in [0, ``P_N_ACTIONS``).
    """
    p = sim.p
    rs = np.empty(1, np.uint64)
    seed_stream(rs, int(sim.s[L.S_SEED]), int(t), STREAM_ESCALATE)
    u_right = uniform(rs)
    u_pick = uniform(rs)
    opt = int(p[L.P_OPTIMAL_ACTION])
    if u_right < p[L.P_ESCALATE_ACC]:
        return opt
    n = int(p[L.P_N_ACTIONS])
    others = 0
    for a in range(n):
        if a != opt and a != L.ESCALATE:
            others += 1
    k = min(int(u_pick * others), others - 1)
    for a in range(n):
        if a != opt and a != L.ESCALATE:
            if k == 0:
                return a
            k -= 1
    return L.NO_OP


@nb.njit(cache=True)
def _finish_retrain(sim, t):
    """Fit the candidate on the captured training rows and deploy it.

    The candidate (a new version, the live schema) is an LDA classifier fit on the rows
    captured by :func:`_capture_training_window` (``s[S_JOB_STATS]``,
    :func:`simulator.model.fit_slot`): corrupted rows harm it as much as they pull its
    fit, no more. While a ``bad_artifact`` fault lasts, the build bundles the pipeline's
    regenerated artefact (``MF_ARTIFACT``): the fit saw the rows as stored, the served
    model reads them through the artefact. Its reference sample is drawn from the retrain
    stream (seed, t), except on open-loop forks, which take no measurements.
    """
    s, models, rs = sim.s, sim.models, sim.rs
    c = L.M_CANDIDATE
    models[c] = 0.0
    models[c, L.MF_VALID] = 1.0
    models[c, L.MF_VERSION] = s[L.S_NEXT_VERSION]
    s[L.S_NEXT_VERSION] += 1.0
    models[c, L.MF_CONCEPT] = s[L.S_JOB_CONCEPT]
    models[c, L.MF_CORRUPT] = s[L.S_JOB_CORRUPT]
    models[c, L.MF_SCHEMA] = s[L.S_LIVE_SCHEMA]
    models[c, L.MF_COST] = 1.0
    models[c, L.MF_TRAINED_AT] = t
    models[c, L.MF_REF_ID] = -1.0  # a new reference: its KS statistics are not cached
    fit_slot(sim, c, s[L.S_JOB_STATS:L.S_JOB_STATS + L.N_TRAIN_STATS])
    for i in range(sim.fa.shape[0]):  # a new build bundles the pipeline's current artefact
        if (int(sim.fa[i, L.F_KIND]) == L.K_BAD_ARTIFACT and sim.fr[i, L.FR_STARTED] > 0.5
                and t < sim.fa[i, L.F_END]):
            models[c, L.MF_ARTIFACT] = 1.0
    if s[L.S_OPEN_LOOP] < 0.5:  # the reference serves the measurements only
        seed_stream(rs, int(s[L.S_SEED]), int(t), STREAM_RETRAIN)
        draw_reference(sim, c)
    s[L.S_JOB_ACTIVE] = 0.0
    _deploy(sim, c, t)


@nb.njit(cache=True)
def _judge_canary(sim, t, acc_main, acc_cand, err, diag=None):
    """Judge the canary and promote or abort it; return 1 if promoted.

    The judge's samples are the labels that have arrived for each slice by the end of the
    canary: ``n = share * label_volume * max(0, canary_minutes - label_delay)`` labelled
    requests of the candidate and ``(1 - share) * ...`` of the baseline (the model serving the
    rest), each correct (1) or not (0) with the slice's true accuracy. They are drawn from the
    canary stream (seed, t), baseline first, the same draws whichever judge runs, so the
    judge changes no other random number (common random numbers).

    ``p[P_CANARY_JUDGE]`` selects the judge:

    0 (``delta_sla``, the paper's Sec. 3.4)
        Abort if the candidate's measured SLA score is more than ``canary_delta_sla`` below the
        baseline's. Without candidate labels its accuracy is taken to equal the baseline's.
    1 (``mann_whitney``, as canary-analysis systems such as Kayenta do)
        One-sided Mann-Whitney U test (Mann & Whitney 1947) of H1 "the candidate's correctness
        is stochastically smaller than the baseline's" on the candidate's and the
        baseline's correct counts (:func:`simulator.stats.mann_whitney_less`: normal
        approximation with tie and continuity corrections, as ``scipy.stats.mannwhitneyu(c,
        b, alternative="less", method="asymptotic")``); abort if p < 0.05. Without samples in
        either slice, or with all samples tied (sigma = 0), p = 1: no evidence, the
        candidate is promoted.

    Parameters
    ----------
    sim : Sim
        The simulation (:class:`simulator.state.Sim`), changed in place.
    t : float
        The minute the canary ends.
    acc_main, acc_cand : float
        True accuracy of the baseline (the main slot) and of the candidate, in [0, 1].
    err : float
        Error rate of the service (share of failed requests), the same for both slices.
    diag : ndarray, shape (4,), optional
        If given, receives (U_c, z, p, abort) of the Mann-Whitney judge, computed whichever
        judge decides (z = -inf when sigma = 0 or a slice is empty).

    Returns
    -------
    int
        1 if the candidate was promoted, 0 if the canary was aborted.
    """
    p, s, models, rs = sim.p, sim.s, sim.models, sim.rs
    seed_stream(rs, int(s[L.S_SEED]), int(t), STREAM_CANARY)
    share = p[L.P_CANARY_SHARE]
    minutes = max(0.0, p[L.P_CANARY_MIN] - p[L.P_LABEL_DELAY])
    # labels per minute at the last minute's traffic (fixed unless they follow traffic)
    vol = label_volume(p, sim.hist[max(int(t) - 1, 0), L.R_TRAFFIC])
    n_c = int(share * vol * minutes)
    n_b = int((1.0 - share) * vol * minutes)
    k_b = binomial(rs, n_b, acc_main)
    k_c = binomial(rs, n_c, acc_cand)
    s[L.S_CANARY_ACTIVE] = 0.0
    mwu_abort = False
    if p[L.P_CANARY_JUDGE] > 0.5 or diag is not None:
        u_c, z, pval = mann_whitney_less(n_c, k_c, n_b, k_b)
        mwu_abort = pval < p[L.P_CANARY_ALPHA]
        if diag is not None:
            diag[0] = u_c
            diag[1] = z
            diag[2] = pval
            diag[3] = 1.0 if mwu_abort else 0.0
    if p[L.P_CANARY_JUDGE] > 0.5:
        abort = mwu_abort
    else:
        acc_b = k_b / n_b if n_b > 0 else acc_main
        acc_c = k_c / n_c if n_c > 0 else acc_b
        avail = 1.0 - err
        lat = p[L.P_SLO_LATENCY_MS]
        sla_b = sla_score(avail, acc_b, lat, p)
        sla_c = sla_score(avail, acc_c, lat, p)
        abort = sla_c < sla_b - p[L.P_CANARY_DELTA]
    if abort:
        s[L.S_N_CANARY_ABORTS] += 1.0
        models[L.M_CANDIDATE, L.MF_VALID] = 0.0
        return 0
    if s[L.S_CANARY_KIND] == L.ROLLBACK:
        models[L.M_CANDIDATE, L.MF_VALID] = 0.0
        _promote(sim, L.M_PREVIOUS)
    else:
        _promote(sim, L.M_CANDIDATE)
    s[L.S_DEPLOY_UNTIL] = t + p[L.P_DEPLOY_MIN]
    return 1


@nb.njit(cache=True)
def advance_deployments(sim, t, eff, raw, lab):
    """Advance the retrain job, the canary and the fallback at minute ``t``.

    A finished retrain builds and deploys its candidate (:func:`_finish_retrain`); a
    canary at its end is judged on the slots' true accuracies (:func:`_judge_canary`, with
    the previous minute's error rate); a fallback past its TTL ends. The per-slot effects
    of version-bound faults are computed first and again whenever slots move
    (:func:`simulator.model._slot_effects`).

    Parameters
    ----------
    sim : Sim
        The simulation (:class:`simulator.state.Sim`), changed in place.
    t : float
        The minute.
    eff : FaultEffects
        The minute's fault effects (:func:`simulator.faults.fault_effects`).
    raw, lab : ndarray
        The minute's rows and labels (:func:`simulator.sampling.minute_rows`).

    Returns
    -------
    latmult : ndarray, shape (N_MODEL_SLOTS,)
        Latency multiplier of each slot (>= 1).
    acc : ndarray, shape (N_MODEL_SLOTS,)
        True accuracy of each slot in [0, 1].
    leak_rate : float
        Leak rate of the serving model (share of the heap per minute).
    """
    s, hist = sim.s, sim.hist
    ti = int(t)
    fb = s[L.S_FALLBACK_ACTIVE] > 0.5
    main = L.M_FALLBACK if fb else L.M_SERVING

    decay = np.zeros(L.N_MODEL_SLOTS)
    latmult = np.ones(L.N_MODEL_SLOTS)
    acc = np.zeros(L.N_MODEL_SLOTS)
    leak_rate = _slot_effects(sim, eff, raw, lab, decay, latmult, acc)

    moved = False
    if s[L.S_JOB_ACTIVE] > 0.5 and t >= s[L.S_JOB_DONE_AT]:
        _finish_retrain(sim, t)
        moved = True
        if s[L.S_CANARY_ACTIVE] > 0.5:  # the candidate's accuracy is needed by the judge
            leak_rate = _slot_effects(sim, eff, raw, lab, decay, latmult, acc)
            moved = False
    if s[L.S_CANARY_ACTIVE] > 0.5 and t >= s[L.S_CANARY_END]:
        err_prev = hist[ti - 1, L.R_ERROR_RATE] if ti > 0 else 0.0
        _judge_canary(sim, t, acc[main], acc[L.M_CANDIDATE], err_prev)
        moved = True
    if moved:  # slots moved: recompute accuracies and version-bound effects
        leak_rate = _slot_effects(sim, eff, raw, lab, decay, latmult, acc)
    if s[L.S_FALLBACK_ACTIVE] > 0.5 and t >= s[L.S_FALLBACK_UNTIL]:
        s[L.S_FALLBACK_ACTIVE] = 0.0
    return latmult, acc, leak_rate
