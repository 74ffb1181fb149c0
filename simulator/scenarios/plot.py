"""Play a scenario under ``no_op`` and under one action, compare actions, and plot it.

The simulator never imports a controller, so the first alarm is computed here with the
same thresholds as the paper's envelope plus the operational alarm at the scenario's SLOs
(``controllers.envelope.alarm``; a test checks that the two agree minute by minute):

    alarm = d_eff > 0.15 or a > 0.10 or rho > 0.03              (paper Sec. 3.5, risk_high)
            or validation failures > 0.02 or error rate > 1 - availability SLO
            or p99 > the p99 SLO (defaults 0.01 and 300 ms)

where ``d_eff`` is the measured KS statistic when it exceeds the critical value
D_alpha(n, m) at the Bonferroni level alpha / 4 (alpha = 0.05), else 0. Every threshold of
the envelope's ``pi_det`` is above one of these, so this is exactly "pi_det is non-empty,
risk is high, or an operational alarm fires".

Protocol (the same for the plot and for checking a scenario's annotation): reset with a
seed, play ``no_op`` until the first minute at or after the earliest fault onset whose
measurement alarms, then play the action once at the next minute (when a controller
reading that measurement would act) and ``no_op`` to the horizon. If nothing alarms, the
action is played at the earliest fault onset. Total dollars are summed over minutes
1..horizon; a catastrophic failure ranks an action worst.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from simulator import layout as L
from simulator.core import Simulation
from simulator.scenarios.compile import compile_scenario
from simulator.scenarios.loader import draw_incident
from simulator.scenarios.schema import Scenario
from simulator.stats import ks_critical_value

#: Alarm thresholds (see the module docstring); the values of ``controllers.envelope``.
ALARM_ALPHA = 0.05
ALARM_D = 0.15
ALARM_A = 0.10
ALARM_RHO = 0.03
ALARM_VALIDATION = 0.02
#: Resolution of the figure (10 x 9 inches).
DPI = 75


def d_critical(p: np.ndarray, alpha: float = ALARM_ALPHA) -> float:
    """KS critical value at alpha / N_FEATURES for the scenario's window and reference sizes."""
    n = int(p[L.P_SAMPLES_PER_MIN] * p[L.P_KS_WINDOW])
    m = int(p[L.P_REF_SIZE])
    return ks_critical_value(alpha / L.N_FEATURES, n, m)


def record_alarms(rec: np.ndarray, d_crit: float, p: np.ndarray) -> bool:
    """Return True if the measurements of one minute's record raise an alarm.

    Parameters
    ----------
    rec : ndarray, shape (layout.N_RECORD,)
        One minute's record (its measured fields are what a controller observes).
    d_crit : float
        KS critical value (see :func:`d_critical`).
    p : ndarray, shape (layout.N_PARAMS,)
        Scenario parameters (the SLOs the operational alarm compares with).
    """
    d = rec[L.R_D]
    d_eff = d if d > d_crit else 0.0
    return bool(
        d_eff > ALARM_D
        or rec[L.R_A] > ALARM_A
        or rec[L.R_RHO] > ALARM_RHO
        or rec[L.R_VALIDATION_FAIL] > ALARM_VALIDATION
        or rec[L.R_ERR_OBS] > 1.0 - p[L.P_SLO_AVAIL]
        or rec[L.R_P99_OBS] > p[L.P_SLO_LATENCY_MS]
    )


def _action_index(scenario: Scenario, action: str) -> int:
    if action not in L.ACTION_NAMES:
        raise ValueError(f"unknown action {action!r}; allowed: {', '.join(L.ACTION_NAMES)}")
    a = L.ACTION_NAMES.index(action)
    n = L.N_EXTENDED_ACTIONS if scenario.extended_actions else L.N_PAPER_ACTIONS
    if a >= n:
        raise ValueError(
            f"action {action!r} is an extended action but scenario {scenario.id!r} does not"
            " set extended_actions: true"
        )
    return a


def _to_decision(sim: Simulation, onset: int) -> tuple[int, bool]:
    """Play ``no_op`` from a reset until the decision minute; return it and whether it alarmed.

    The decision minute is the minute after the first alarming measurement at or after
    ``onset`` (or ``onset`` itself if nothing alarms before the horizon, in which case
    the simulation is reset and replayed to ``onset``).
    """
    crit = d_critical(sim.p)
    if onset == 0 and record_alarms(sim.hist[0], crit, sim.p):
        return 1, True
    while sim.t <= sim.horizon:
        rec, _ = sim.step(L.NO_OP)
        if sim.t - 1 >= onset and record_alarms(rec, crit, sim.p):
            return sim.t, True
    return onset, False


@dataclass(frozen=True)
class Trajectory:
    """One played episode.

    Attributes
    ----------
    action : str
        The action played at ``decision_minute`` (``no_op`` throughout if ``no_op``).
    decision_minute : int
        Minute the action was played (the minute after the first alarm).
    alarmed : bool
        False if nothing alarmed, so the action was played at the earliest fault onset.
    hist : ndarray, shape (horizon + 1, layout.N_RECORD)
        Per-minute records; row 0 is the reset measurement.
    cost_usd : float
        Dollars over minutes 1..horizon.
    catastrophe : str
        ``layout.CATASTROPHE_NAMES`` entry (``"none"`` if none).
    """

    action: str
    decision_minute: int
    alarmed: bool
    hist: np.ndarray
    cost_usd: float
    catastrophe: str


def episode_start(scenario: Scenario, seed: int) -> tuple[Simulation, int]:
    """Return the episode of ``seed`` reset (its drawn incident) and its earliest onset."""
    incident = draw_incident(scenario, seed)  # the episode's incident (itself if fixed)
    sim = Simulation(compile_scenario(incident))
    sim.reset(seed)
    return sim, min(f.onset for f in incident.faults)


def decision_sim(scenario: Scenario, seed: int) -> tuple[Simulation, int, bool]:
    """Return the episode of ``seed`` played with ``no_op`` to its decision minute.

    The decision minute is the minute after the first alarm at or after the earliest
    onset (the onset itself without an alarm). Returns the simulation at that minute, the
    minute and whether an alarm fired.
    """
    sim, onset = episode_start(scenario, seed)
    minute, alarmed = _to_decision(sim, onset)
    if not alarmed:
        sim.reset(seed)
        while sim.t < minute:
            sim.step(L.NO_OP)
    return sim, minute, alarmed


def _finish(sim: Simulation, a: int, action: str, minute: int, alarmed: bool,
            open_loop: bool = False) -> Trajectory:
    if open_loop:  # nobody observes the rest: no measurements (same outcomes and dollars)
        sim.s[L.S_OPEN_LOOP] = 1.0
    sim.step(a)
    while sim.t <= sim.horizon and sim.catastrophe == L.CAT_NONE:
        sim.step(L.NO_OP)
    sim.play_out()  # after a catastrophe: outage, restore, no_op (as in an episode)
    hist = sim.hist.copy()
    return Trajectory(
        action=action,
        decision_minute=minute,
        alarmed=alarmed,
        hist=hist,
        cost_usd=float(hist[1:, L.R_COST_RATE].sum()),
        catastrophe=L.CATASTROPHE_NAMES[sim.catastrophe],
    )


def play(scenario: Scenario, action: str, seed: int = 0) -> Trajectory:
    """Play ``action`` once at the decision minute and ``no_op`` otherwise, to the horizon.

    Parameters
    ----------
    scenario : Scenario
    action : str
        An action name of ``layout.ACTION_NAMES`` the scenario's action set allows.
    seed : int
        Episode seed.

    Raises
    ------
    ValueError
        If the action is unknown or not in the scenario's action set.
    """
    a = _action_index(scenario, action)
    sim, minute, alarmed = decision_sim(scenario, seed)
    return _finish(sim, a, action, minute, alarmed)


def compare_actions(scenario: Scenario, seeds: list[int] | range) -> list[dict]:
    """Fork the simulation at the decision minute once per action and play each to the horizon.

    Every fork sees the same random numbers (common random numbers), so differences are the
    actions' doing.

    Returns
    -------
    list of dict
        One row per (seed, action): ``seed``, ``action``, ``decision_minute``, ``alarmed``,
        ``cost_usd`` (dollars over minutes 1..horizon), ``catastrophe`` and ``score``
        (``cost_usd``, or inf after a catastrophic failure).
    """
    n = L.N_EXTENDED_ACTIONS if scenario.extended_actions else L.N_PAPER_ACTIONS
    rows = []
    for seed in seeds:
        base, minute, alarmed = decision_sim(scenario, int(seed))
        for a in range(n):
            tr = _finish(base.fork(), a, L.ACTION_NAMES[a], minute, alarmed, open_loop=True)
            rows.append(
                {
                    "seed": int(seed),
                    "action": tr.action,
                    "decision_minute": minute,
                    "alarmed": alarmed,
                    "cost_usd": tr.cost_usd,
                    "catastrophe": tr.catastrophe,
                    "score": math.inf if tr.catastrophe != "none" else tr.cost_usd,
                }
            )
    return rows


def best_action(rows: list[dict]) -> str:
    """Return the action with the lowest mean score (catastrophe = inf) over the seeds.

    Ties go to the earlier action of ``layout.ACTION_NAMES`` (``no_op`` first).
    """
    means: dict[str, float] = {}
    for name in L.ACTION_NAMES:
        scores = [r["score"] for r in rows if r["action"] == name]
        if scores:
            means[name] = float(np.mean(scores))
    return min(means, key=lambda k: (means[k], L.ACTION_NAMES.index(k)))


# ----------------------------------------------------------------------------------------
# The figure
# ----------------------------------------------------------------------------------------
def plot_scenario(scenario: Scenario, out_dir: Path | str, seed: int = 0) -> Path:
    """Write ``<out_dir>/<id>.png``: the scenario under ``no_op`` and its annotated action.

    Four panels over minutes 0..horizon: true accuracy of served predictions; the measured
    d, a and rho; true availability and measured p99 latency; cumulative dollars. Fault
    onsets are dashed vertical lines, the decision minute a dotted one. Rendered with
    matplotlib's Agg canvas (no display, no global backend change), 750 x 675 pixels,
    saved with a 64-colour palette.

    Returns
    -------
    Path
        The PNG written.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from PIL import Image

    scenario = draw_incident(scenario, seed)  # faults drawn below are this episode's
    opt = scenario.annotations.optimal_action
    runs = [play(scenario, "no_op", seed)]
    if opt != "no_op":
        runs.append(play(scenario, opt, seed))
    minute = runs[0].decision_minute
    t = np.arange(scenario.horizon + 1)
    styles = {"no_op": ("tab:gray", "-"), opt: ("tab:blue", "-")}

    fig = Figure(figsize=(10, 9), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(4, 1, sharex=True)
    ax_acc, ax_obs, ax_av, ax_usd = axes
    for tr in runs:
        color, _ = styles[tr.action]
        h = tr.hist
        end = f", catastrophe: {tr.catastrophe}" if tr.catastrophe != "none" else ""
        label = f"{tr.action} (${tr.cost_usd:,.0f}{end})"
        ax_acc.plot(t, h[:, L.R_ACC_SERVED], color=color, lw=1.2, label=label)
        for col, ls, name in ((L.R_D, "-", "d"), (L.R_A, "--", "a"), (L.R_RHO, ":", "rho")):
            ax_obs.plot(t, h[:, col], color=color, ls=ls, lw=0.9, label=f"{name}, {tr.action}")
        ax_av.plot(
            t, h[:, L.R_AVAILABILITY], color=color, lw=1.2, label=f"availability, {tr.action}"
        )
        ax_usd.plot(
            t,
            np.cumsum(h[:, L.R_COST_RATE]) - h[0, L.R_COST_RATE],
            color=color,
            lw=1.2,
            label=tr.action,
        )
    ax_p99 = ax_av.twinx()
    for tr in runs:
        color, _ = styles[tr.action]
        ax_p99.plot(t, tr.hist[:, L.R_P99_OBS], color=color, lw=0.6, alpha=0.6, ls="--")
    ax_p99.axhline(scenario.slo.p99_latency_ms, color="tab:red", lw=0.6, ls="--")
    ax_p99.set_ylabel("p99 measured (ms, dashed)")
    ax_acc.axhline(scenario.slo.accuracy, color="tab:red", lw=0.6, ls="--", label="accuracy SLO")
    ax_av.axhline(scenario.slo.availability, color="tab:red", lw=0.6, ls=":")
    low = min(float(min(tr.hist[:, L.R_AVAILABILITY].min() for tr in runs)), 0.95)
    ax_av.set_ylim(low - 0.01, 1.01)

    ax_acc.set_ylabel("true accuracy (served)")
    ax_obs.set_ylabel("measured d / a / rho")
    ax_av.set_ylabel("true availability")
    ax_usd.set_ylabel("cumulative dollars")
    ax_usd.set_xlabel("minute")
    for ax in axes:
        for i, f in enumerate(scenario.faults):
            ax.axvline(
                f.onset,
                color="black",
                lw=0.8,
                ls="--",
                label="fault onset" if i == 0 and ax is ax_acc else None,
            )
        ax.axvline(
            minute,
            color="tab:green",
            lw=0.8,
            ls=":",
            label="decision minute" if ax is ax_acc else None,
        )
        ax.grid(alpha=0.3)
    ax_acc.legend(fontsize=7, loc="lower left")
    ax_obs.legend(fontsize=6, ncol=2, loc="upper left")
    ax_usd.legend(fontsize=7, loc="upper left")
    how = "after the first alarm" if runs[0].alarmed else "at the fault onset (no alarm)"
    kinds = ", ".join(f.kind for f in scenario.faults)
    fig.suptitle(
        f"{scenario.id} ({scenario.family} / {scenario.subtype}; faults: {kinds})\n"
        f"no_op vs annotated {opt} at minute {minute} {how}; seed {seed}",
        fontsize=10,
    )
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{scenario.id}.png"
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)
    # an adaptive 64-colour palette keeps the file small (these figures are committed)
    Image.open(buf).convert("RGB").quantize(64).save(path, optimize=True)
    return path
