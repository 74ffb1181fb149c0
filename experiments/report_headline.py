"""The headline table: each figure of the paper's introduction beside our measurement."""

from __future__ import annotations

import numpy as np
import pandas as pd

from experiments.paper_claims import HEADLINE, MAIN_RESULTS, SENSITIVITY
from experiments.report_tables import _boot, matrix


def headline_table(df: pd.DataFrame, safety: pd.DataFrame, perf: pd.DataFrame,
                   optimal: pd.DataFrame, hybrid: str = "hybrid", rl: str = "rl",
                   reference: str = "rules") -> pd.DataFrame:
    """One row per headline claim (:data:`experiments.paper_claims.HEADLINE`).

    Parameters
    ----------
    df : DataFrame
        The main study's episode rows.
    safety, perf, optimal : DataFrame
        :func:`~experiments.report_tables.safety_table`,
        :func:`~experiments.report_tables.performance_table` and
        :func:`~experiments.report_tables.pct_of_optimal` of the same rows.

    Returns
    -------
    DataFrame
        claim, paper (%), definition (ours), ours (%), ours_low, ours_high (95%), interval
        (how it was computed), episodes, scenarios, unit of replication, verdict
        (:func:`verdict`). A claim whose controllers were not run has NaN values.
    """
    s = safety.set_index("controller")
    p = perf.set_index("controller")
    o = optimal.set_index("controller")
    boot = "cluster bootstrap (scenarios, then seeds), 1,000 resamples"
    rows = []

    def add(key, definition, frame, ctrl, col, low, high, interval):
        text, paper = HEADLINE[key]
        have = ctrl in frame.index
        g = df[df.controller == ctrl]
        rows.append({"claim": text, "paper": paper, "definition": definition,
                     "ours": float(frame.loc[ctrl, col]) if have else np.nan,
                     "ours_low": float(frame.loc[ctrl, low]) if have else np.nan,
                     "ours_high": float(frame.loc[ctrl, high]) if have else np.nan,
                     "interval": interval, "episodes": len(g),
                     "scenarios": g.scenario.nunique(),
                     "unit": "scenario (intervals); episode = (seed, scenario)"})

    add("pct_of_optimal", "hybrid's % of optimal = (J_noop - J_hybrid) / (J_noop - J_oracle), "
        "J = total dollars over the same episodes", o, hybrid, "pct_of_optimal",
        "pct_of_optimal_low", "pct_of_optimal_high", boot)
    text, paper = HEADLINE["share_of_rl_savings"]
    g_ref, g_h, g_rl = (df[df.controller == c] for c in (reference, hybrid, rl))
    ours = lo = hi = np.nan
    if len(g_ref) and len(g_h) and len(g_rl):
        j_ref = matrix(g_ref, "cost_usd")
        den = j_ref - matrix(g_rl, "cost_usd")
        if den.sum() > 0:  # RL-only saves something: the share is defined
            ours, lo, hi = (100 * v for v in _boot(j_ref - matrix(g_h, "cost_usd"), den))
    rows.append({"claim": text, "paper": paper,
                 "definition": "hybrid's dollar savings over rules / RL-only's "
                               "(J_rules - J_hybrid) / (J_rules - J_rl); meaningless when "
                               "RL-only saves nothing (denominator <= 0)",
                 "ours": ours, "ours_low": lo, "ours_high": hi, "interval": boot,
                 "episodes": len(g_h), "scenarios": g_h.scenario.nunique(),
                 "unit": "scenario (intervals); episode = (seed, scenario)"})
    add("risk_reduction", "1 - E[incident loss of hybrid] / E[incident loss of human]; incident "
        "loss = SLA penalties + revenue lost (wrong predictions, failed requests) per episode",
        p, hybrid, "risk_reduction_pct", "risk_reduction_pct_low", "risk_reduction_pct_high",
        boot)
    add("engineer_time", "1 - engineer hours of hybrid / of human over the same episodes", p,
        hybrid, "engineer_hours_reduction_pct", "engineer_hours_reduction_pct_low",
        "engineer_hours_reduction_pct_high", boot)
    add("cost_savings", "1 - dollars of hybrid / dollars of rules over the same episodes", p,
        hybrid, "cost_savings_pct", "cost_savings_pct_low", "cost_savings_pct_high", boot)
    add("sla", "share of minutes meeting all SLOs (availability, p99 latency, accuracy), "
        "hybrid", p, hybrid, "sla_compliance_pct", "sla_compliance_pct_low",
        "sla_compliance_pct_high", boot)
    for key, ctrl in (("catastrophic_hybrid", hybrid), ("catastrophic_rl", rl)):
        extra = "n/a"
        if ctrl in s.index:
            r = s.loc[ctrl]
            extra = (f"per episode (exact Clopper-Pearson) [{r.catastrophic_ci_low:.2f}, "
                     f"{r.catastrophic_ci_high:.2f}]%; scenarios with one: "
                     f"{int(r.catastrophic_scen_k)} of {int(r.scenarios)}, exact upper bound "
                     f"{r.catastrophic_scen_upper:.1f}%")
        add(key, f"episodes with a catastrophic failure, {ctrl}", s, ctrl, "catastrophic_pct",
            "catastrophic_boot_low", "catastrophic_boot_high", f"{boot}; {extra}")
    out = pd.DataFrame(rows)
    out["verdict"] = [verdict(r.paper, r.ours, r.ours_low, r.ours_high)
                      for r in out.itertuples()]
    zero = (out.paper == 0.0) & (out.ours > 0)  # "zero failures" is refuted by any failure
    out.loc[zero, "verdict"] = "fails"
    return out


def verdict(paper: float, ours: float, low: float, high: float) -> str:
    """Return ``holds`` if the paper's figure lies in our 95% interval, else ``fails``.

    ``untestable`` when we have no value (the controllers were not run, or the measure is
    undefined here, e.g. a share of RL-only's savings when RL-only saves nothing).
    """
    if any(np.isnan(v) for v in (ours, low, high)):
        return "untestable"
    return "holds" if low <= paper <= high else "fails"


#: Table, value column and interval columns of each claim of the paper's main table.
_MAIN_CLAIMS = {
    "catastrophic_pct": ("safety", "catastrophic_boot_low", "catastrophic_boot_high"),
    "safety_violation_pct": ("safety", "safety_violation_boot_low",
                             "safety_violation_boot_high"),
    "risk_containment_pct": ("safety", "risk_containment_pct_low", "risk_containment_pct_high"),
    "mttr_min": ("performance", "mttr_km_min_low", "mttr_km_min_high"),
    "cost_savings_pct": ("performance", "cost_savings_pct_low", "cost_savings_pct_high"),
    "sla_compliance_pct": ("performance", "sla_compliance_pct_low", "sla_compliance_pct_high"),
}


def claims_table(safety: pd.DataFrame, perf: pd.DataFrame,
                 sens: pd.DataFrame | None = None) -> pd.DataFrame:
    """Every claim of the paper's main and sensitivity tables beside ours, with a verdict.

    Our interval is the scenario-level one (cluster bootstrap; Kaplan-Meier band for MTTR,
    whose value is the median). A claim of exactly 0% fails when any event was observed.

    Returns
    -------
    DataFrame
        table, metric, controller, setting, paper, ours, ours_low, ours_high, episodes,
        verdict (``holds``, ``fails`` or ``untestable``).
    """
    frames = {"safety": safety.set_index("controller"),
              "performance": perf.set_index("controller")}
    rows = []
    for metric, claims in MAIN_RESULTS.items():
        table, low, high = _MAIN_CLAIMS[metric]
        f = frames[table]
        value = "mttr_km_min" if metric == "mttr_min" else metric
        for ctrl, paper in claims.items():
            have = ctrl in f.index
            r = {"table": table, "metric": metric, "controller": ctrl, "setting": "",
                 "paper": paper, "ours": f.loc[ctrl, value] if have else np.nan,
                 "ours_low": f.loc[ctrl, low] if have else np.nan,
                 "ours_high": f.loc[ctrl, high] if have else np.nan,
                 "episodes": int(f.loc[ctrl, "episodes"]) if have else 0}
            r["verdict"] = verdict(paper, r["ours"], r["ours_low"], r["ours_high"])
            if paper == 0.0 and metric == "catastrophic_pct" and have and r["ours"] > 0:
                r["verdict"] = "fails"  # "zero" is refuted by any observed event
            rows.append(r)
    if sens is not None and len(sens):
        for study in SENSITIVITY:
            for r in sens[sens.study == study].itertuples():
                for metric in ("catastrophic_pct", "cost_savings_pct", "episodes_to_95",
                               "final_regret"):
                    paper = getattr(r, f"paper_{metric}")
                    if np.isnan(paper):
                        continue
                    ours = getattr(r, "final_regret_usd" if metric == "final_regret"
                                   else metric)
                    lo, hi = {"catastrophic_pct": (r.catastrophic_ci_low,
                                                   r.catastrophic_ci_high),
                              "cost_savings_pct": (r.cost_savings_pct_low,
                                                   r.cost_savings_pct_high)}.get(
                        metric, (np.nan, np.nan))
                    v = verdict(paper, ours, lo, hi)
                    if metric == "catastrophic_pct" and paper == 0.0 and ours > 0:
                        v = "fails"
                    rows.append({"table": "sensitivity", "metric": metric,
                                 "controller": r.controller,
                                 "setting": f"{study}={r.value}", "paper": paper, "ours": ours,
                                 "ours_low": lo, "ours_high": hi, "episodes": r.episodes,
                                 "verdict": v})
    return pd.DataFrame(rows)
