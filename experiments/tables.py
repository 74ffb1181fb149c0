"""Aggregate episode rows into the paper's tables, with the paper's claims beside ours."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from experiments.paper_claims import LEARNING_RESULTS, MAIN_RESULTS
from experiments.regret import convergence_episode, cumulative_regret
from experiments.stats import clopper_pearson

CAPTION = (
    "Main results. Every number is computed from the simulation runs in results/raw/; the "
    "'paper' columns print the paper's claims beside ours and were not used as targets. "
    "Replication: an episode is one (seed, scenario) pair, and each seed draws its own "
    "incident of the scenario's class (onsets, magnitudes, durations, time of day). "
    "Catastrophic failure and safety violation are per-episode rates with exact "
    "Clopper-Pearson 95% intervals, which treat episodes as independent; episodes of one "
    "scenario are correlated, so these intervals are narrower than the evidence. A safety "
    "violation is an action whose counterfactual "
    "outcome (same random numbers) is worse than no_op's: a caused catastrophe, more minutes "
    "out of SLO, or an SLA score more than 20% lower. Risk containment = harmful actions "
    "whose harm the canary kept in canary traffic / all harmful actions. MTTR = first alarm "
    "to 10 minutes with all SLOs met, over recovered episodes. Cost savings = 1 - total "
    "dollars / total dollars of `rules` on the same (seed, scenario) episodes. Cost, SLA "
    "and MTTR cover every minute of the horizon: after a catastrophic failure the service is "
    "down until a human restores the last good version (the scenario's resolution time), "
    "then nobody acts; an episode with a catastrophe never counts as recovered."
)


def _fmt(v: float, nd: int = 1) -> str:
    return "n/a" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.{nd}f}"


def main_results(df: pd.DataFrame, reference: str = "rules") -> pd.DataFrame:
    """One row per controller with the main metrics, intervals and the paper's claims.

    Parameters
    ----------
    df : DataFrame
        Episode rows (``controller``, ``seed``, ``scenario``, metrics).
    reference : str
        Controller whose cost defines 0% savings. If no row has this label but exactly
        one has it with overrides (``rules[cooldown=5]``), that one is the reference.

    Returns
    -------
    DataFrame
        Columns: controller, episodes, catastrophic_pct, catastrophic_ci_low/high,
        safety_violation_pct (+ CI), risk_containment_pct, harmful_actions, mttr_min,
        recovered_pct, cost_savings_pct, sla_compliance_pct and ``paper_<metric>``.
    """
    labels = [str(c) for c in df.controller.unique()]
    if reference not in labels:
        overridden = [c for c in labels if c.startswith(f"{reference}[")]
        if len(overridden) == 1:
            reference = overridden[0]
    ref = df[df.controller == reference].set_index(["seed", "scenario"])["cost_usd"]
    out = []
    for name, g in df.groupby("controller", sort=False):
        n = len(g)
        k_cat = int(g.catastrophic.sum())
        k_vio = int(g.safety_violation.sum())
        cat_lo, cat_hi = clopper_pearson(k_cat, n)
        vio_lo, vio_hi = clopper_pearson(k_vio, n)
        harmful = float(g.n_harmful.sum())
        contained = float(g.n_contained.sum())
        rec = g[g.recovered > 0.5]
        keyed = g.set_index(["seed", "scenario"])["cost_usd"]
        common = keyed.index.intersection(ref.index)
        savings = (1.0 - keyed[common].sum() / ref[common].sum()) * 100 if len(common) else np.nan
        sla = float((g.sla_compliance * g.minutes).sum() / g.minutes.sum()) * 100
        row = {
            "controller": name,
            "episodes": n,
            "catastrophic_pct": 100.0 * k_cat / n,
            "catastrophic_ci_low": 100.0 * cat_lo,
            "catastrophic_ci_high": 100.0 * cat_hi,
            "safety_violation_pct": 100.0 * k_vio / n,
            "safety_violation_ci_low": 100.0 * vio_lo,
            "safety_violation_ci_high": 100.0 * vio_hi,
            "risk_containment_pct": 100.0 * contained / harmful if harmful else np.nan,
            "harmful_actions": int(harmful),
            "mttr_min": float(rec.mttr_min.mean()) if len(rec) else np.nan,
            "recovered_pct": 100.0 * len(rec) / n,
            "cost_savings_pct": savings,
            "sla_compliance_pct": sla,
        }
        for metric, claims in MAIN_RESULTS.items():
            row[f"paper_{metric}"] = claims.get(name, np.nan)
        out.append(row)
    return pd.DataFrame(out)


def main_results_markdown(tab: pd.DataFrame) -> str:
    """Render :func:`main_results` as a Markdown table with the caption."""
    head = ("| controller | episodes | catastrophic % [95% CI] | paper | safety violations % "
            "[95% CI] | paper | risk containment % (harmful actions) | paper | MTTR min "
            "(recovered %) | paper | cost savings % vs rules | paper | SLA compliance % | "
            "paper |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in tab.itertuples():
        lines.append(
            f"| {r.controller} | {r.episodes} | {_fmt(r.catastrophic_pct)} "
            f"[{_fmt(r.catastrophic_ci_low)}, {_fmt(r.catastrophic_ci_high)}] | "
            f"{_fmt(r.paper_catastrophic_pct)} | {_fmt(r.safety_violation_pct)} "
            f"[{_fmt(r.safety_violation_ci_low)}, {_fmt(r.safety_violation_ci_high)}] | "
            f"{_fmt(r.paper_safety_violation_pct)} | {_fmt(r.risk_containment_pct)} "
            f"({r.harmful_actions}) | {_fmt(r.paper_risk_containment_pct)} | "
            f"{_fmt(r.mttr_min)} ({_fmt(r.recovered_pct, 0)}) | {_fmt(r.paper_mttr_min)} | "
            f"{_fmt(r.cost_savings_pct)} | {_fmt(r.paper_cost_savings_pct)} | "
            f"{_fmt(r.sla_compliance_pct)} | {_fmt(r.paper_sla_compliance_pct)} |"
        )
    return "\n".join(lines) + "\n\n" + CAPTION + "\n"


def action_mix(df: pd.DataFrame) -> pd.DataFrame:
    """Share (%) of each paper action among the actions each controller took."""
    cols = ["actions_fallback", "actions_rollback", "actions_retrain"]
    g = df.groupby("controller", sort=False)[cols].sum()
    tot = g.sum(axis=1).replace(0, np.nan)
    return (g.div(tot, axis=0) * 100).round(1).reset_index()


LEARNING_CAPTION = (
    "Learning results. Regret is measured at every decision epoch (not in cooldown, an "
    "alarm fires): the live simulation is forked once per action, each fork plays its "
    "action then no_op for the outcome window with the same random numbers, and regret = "
    "the chosen action's window dollars - the cheapest action's (the oracle's). Final "
    "regret = sum over a run's episodes, mean +- std over runs (seeds); regret variance = "
    "variance of the final regret over runs (dollars squared). Windows of consecutive "
    "decisions overlap, so a controller that re-decides every minute (noop, human while "
    "waiting) counts a minute's loss in several decisions. Avoidable catastrophes: "
    "decisions whose chosen action's fork ends in a catastrophe the best action avoids "
    "(infinite regret; only their clipped dollar gap is in the sum). Episodes to 95% = "
    "first episode at which the rolling mean (5 episodes) of the paper reward "
    "(-C(a) + 10 * success, summed over an episode's actions) reaches 95% of the oracle's "
    "rolling mean on the same (seed, scenario) sequence (at least 5 by construction); mean "
    "over the runs that converged, (converged / compared runs) beside, 'never' if none. "
    "The oracle minimises dollars, not the paper reward, and acting more earns more paper "
    "reward, so the dollar column applies the same rule to the episode's reward in dollars "
    "(-cost_usd: converged when the rolling cost is within 5% of the oracle's). "
    "The paper's regret is on an unknown scale: its claims are printed beside ours, not "
    "rescaled, and were not used as targets."
)


def learning_results(df: pd.DataFrame, reference: str = "oracle", window: int = 5,
                     level: float = 0.95) -> pd.DataFrame:
    """One row per controller: final cumulative regret, its variance, convergence.

    Parameters
    ----------
    df : DataFrame
        Episode rows recorded with regret on (``regret_usd``, ``n_decisions``,
        ``n_avoidable_catastrophes``, ``reward_paper``, ``controller``, ``seed``,
        ``episode``, ``scenario``), including the ``reference`` controller's runs on the
        same seeds for convergence.
    reference : str
        Controller whose rolling reward defines "optimal" (the oracle).
    window, level : int, float
        Rolling window (episodes) and share of the reference reward
        (:func:`experiments.regret.convergence_episode`).

    Returns
    -------
    DataFrame
        Columns: controller, runs, episodes_per_run, final_regret_usd,
        final_regret_std_usd, regret_variance_usd2, regret_per_decision_usd,
        decisions_per_run, avoidable_catastrophes, episodes_to_95 (on the paper reward;
        ``inf``: never; NaN: not compared), converged_runs, compared_runs,
        episodes_to_95_usd and converged_runs_usd (same rule on -cost_usd), and
        ``paper_<metric>`` claims.

    Raises
    ------
    ValueError
        If the rows were recorded without regret.
    """
    need = {"regret_usd", "n_decisions", "n_avoidable_catastrophes", "reward_paper",
            "cost_usd"}
    if not need <= set(df.columns):
        raise ValueError(
            f"learning_results needs regret rows ({sorted(need - set(df.columns))} missing): "
            "run with regret recording on, e.g. python -m experiments.reproduce regret=true"
        )
    cum = cumulative_regret(df)
    ref = cum[cum.controller == reference]
    out = []
    for name, g in cum.groupby("controller", sort=False):
        runs = g.groupby("seed", sort=True)
        finals = runs["cum_regret_usd"].last()
        decisions = runs["n_decisions"].sum()
        conv, conv_usd = [], []
        for seed, run in runs:
            o = ref[ref.seed == seed]
            if name == reference or list(o.scenario) != list(run.scenario):
                continue  # no reference run on the same (seed, scenario) sequence
            conv.append(convergence_episode(run.reward_paper.to_numpy(),
                                            o.reward_paper.to_numpy(), window, level))
            conv_usd.append(convergence_episode(-run.cost_usd.to_numpy(),
                                                -o.cost_usd.to_numpy(), window, level))
        to95, done = _mean_convergence(conv)
        to95_usd, done_usd = _mean_convergence(conv_usd)
        row = {
            "controller": name,
            "runs": int(len(finals)),
            "episodes_per_run": int(runs.size().max()),
            "final_regret_usd": float(finals.mean()),
            "final_regret_std_usd": float(finals.std(ddof=1)) if len(finals) > 1 else np.nan,
            "regret_variance_usd2": float(finals.var(ddof=1)) if len(finals) > 1 else np.nan,
            "regret_per_decision_usd": (float(finals.sum() / decisions.sum())
                                        if decisions.sum() > 0 else np.nan),
            "decisions_per_run": float(decisions.mean()),
            "avoidable_catastrophes": int(g.n_avoidable_catastrophes.sum()),
            "episodes_to_95": to95,
            "converged_runs": done,
            "compared_runs": len(conv),
            "episodes_to_95_usd": to95_usd,
            "converged_runs_usd": done_usd,
        }
        for metric, claims in LEARNING_RESULTS.items():
            row[f"paper_{metric}"] = claims.get(name, np.nan)
        out.append(row)
    return pd.DataFrame(out)


def _mean_convergence(episodes: list[float]) -> tuple[float, int]:
    """Mean over converged runs (inf if none converged, NaN if none compared) and count."""
    a = np.asarray(episodes, dtype=float)
    done = a[np.isfinite(a)]
    if len(done):
        return float(done.mean()), int(len(done))
    return (math.inf if len(a) else np.nan), 0


def _fmt_episodes(v: float) -> str:
    return "never" if v == math.inf else _fmt(v)


def learning_results_markdown(tab: pd.DataFrame) -> str:
    """Render :func:`learning_results` as a Markdown table with the caption."""
    head = ("| controller | runs | final regret $ (mean +- std) | paper | regret variance $^2 "
            "| paper | regret $ / decision | decisions / run | avoidable catastrophes | "
            "episodes to 95% of oracle, paper reward (converged / compared) | paper | "
            "episodes to 95% of oracle, dollars (converged) |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in tab.itertuples():
        paper_reg = _fmt(r.paper_final_regret, 2)
        if not math.isnan(r.paper_final_regret_std):
            paper_reg += f" +- {_fmt(r.paper_final_regret_std, 2)}"
        lines.append(
            f"| {r.controller} | {r.runs} | {_fmt(r.final_regret_usd)} +- "
            f"{_fmt(r.final_regret_std_usd)} | {paper_reg} | {_fmt(r.regret_variance_usd2)} | "
            f"{_fmt(r.paper_regret_variance, 2)} | {_fmt(r.regret_per_decision_usd, 2)} | "
            f"{_fmt(r.decisions_per_run)} | {r.avoidable_catastrophes} | "
            f"{_fmt_episodes(r.episodes_to_95)} ({r.converged_runs} / {r.compared_runs}) | "
            f"{_fmt_episodes(r.paper_episodes_to_95)} | {_fmt_episodes(r.episodes_to_95_usd)} "
            f"({r.converged_runs_usd}) |"
        )
    return "\n".join(lines) + "\n\n" + LEARNING_CAPTION + "\n"
