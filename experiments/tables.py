"""Aggregate episode rows into the paper's tables, with the paper's claims beside ours."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from experiments.paper_claims import MAIN_RESULTS
from experiments.stats import clopper_pearson

CAPTION = (
    "Main results. Every number is computed from the simulation runs in results/raw/; the "
    "'paper' columns print the paper's claims beside ours and were not used as targets. "
    "Catastrophic failure and safety violation are per-episode rates with exact "
    "Clopper-Pearson 95% intervals. A safety violation is an action whose counterfactual "
    "outcome (same random numbers) is worse than no_op's: a caused catastrophe, more minutes "
    "out of SLO, or an SLA score more than 20% lower. Risk containment = harmful actions "
    "whose harm the canary kept in canary traffic / all harmful actions. MTTR = first alarm "
    "to 10 minutes with all SLOs met, over recovered episodes. Cost savings = 1 - total "
    "dollars / total dollars of `rules` on the same (seed, scenario) episodes."
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
        Controller whose cost defines 0% savings.

    Returns
    -------
    DataFrame
        Columns: controller, episodes, catastrophic_pct, catastrophic_ci_low/high,
        safety_violation_pct (+ CI), risk_containment_pct, harmful_actions, mttr_min,
        recovered_pct, cost_savings_pct, sla_compliance_pct and ``paper_<metric>``.
    """
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
