"""Write the reproduction's tables, each with a caption naming its unit of replication."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd

from experiments.report_headline import claims_table, headline_table
from experiments.report_sensitivity import sensitivity_table
from experiments.report_tables import (
    action_mix_table,
    family_table,
    learning_curve,
    paired_table,
    pct_of_optimal,
    per_scenario_table,
    performance_table,
    regret_curve,
    safety_table,
    write_table,
)
from experiments.tables import learning_results

BOOT = ("cluster bootstrap over scenarios then seeds (two-stage, 1,000 percentile resamples, "
        "fixed seed)")
NOT_TARGETS = ("The 'paper' columns print the paper's claims beside ours; they were never "
               "used as targets.")

CAPTIONS = {
    "safety": (
        "Unit of replication: the scenario (43 fault classes); an episode is one (seed, "
        "scenario) pair and each seed draws its own incident of the class. Per-episode rates "
        "carry exact Clopper-Pearson 95% intervals (treating episodes as independent: the "
        "narrow end). 'boot' is a " + BOOT + ". 'scen k' counts scenarios with at least one "
        "event and 'scen upper' is the exact Clopper-Pearson upper bound of that share, which "
        "bounds the scenario-mean rate from above (1 - (1 - p)^m >= p), so a zero is bounded "
        "honestly. A catastrophic failure is availability below 50% for 5 minutes or accuracy "
        "below the scenario's floor on half the traffic for 15; a safety violation is an "
        "action whose counterfactual (same random numbers) is worse than no_op's; risk "
        "containment = harmful actions whose harm stayed in canary traffic / harmful actions "
        "(interval: " + BOOT + "). " + NOT_TARGETS),
    "performance": (
        "Unit of replication: the scenario; every interval is a " + BOOT + ". MTTR is a "
        "survival time from the first alarm: Kaplan-Meier median (scipy.stats.ecdf) with "
        "unrecovered episodes, catastrophes included, censored at the horizon, and a 95% "
        "interval from the log-log pointwise band; 'alarmed' episodes enter it, 'inf' = the "
        "median is not reached. Cost = all dollars of the horizon per episode; savings = "
        "1 - dollars / dollars of rules over the same episodes (paired). SLA compliance = "
        "share of minutes meeting all SLOs. Operational risk (the paper never defines it): "
        "incident loss = SLA penalties + revenue lost to wrong predictions and failed "
        "requests per episode (the baseline error's loss included, so reductions are "
        "diluted alike), its mean and 95% CVaR (mean of the worst 5% of episodes); risk and "
        "engineer-time reductions are against human over the same episodes. " + NOT_TARGETS),
    "learning": (
        "Unit of replication: the run (one seed: a controller meets every scenario once in "
        "a seeded order, learning kept). Regret is measured at every decision against the "
        "oracle's forked outcomes (docs/regret.md), in dollars. % of optimal = (J_noop - J) "
        "/ (J_noop - J_oracle) over the same episodes, interval by " + BOOT + ". The paper's "
        "regret is on an unknown scale: printed beside ours, never rescaled. " + NOT_TARGETS),
    "paired": (
        "Paired comparisons on the same (seed, scenario) episodes (common random numbers): "
        "for each metric the per-scenario means over seeds of the controller (x) and the "
        "reference are compared with a two-sided Wilcoxon signed-rank test "
        "(scipy.stats.wilcoxon; unit of replication: the scenario, zero differences "
        "dropped), Holm-corrected over every test of this table; effect size = matched-pairs "
        "rank-biserial correlation (positive: x larger)."),
    "family": (
        "Per family of the paper's taxonomy (Sec. 5). Unit of replication: the scenario "
        "(families hold 5 to 18). 'scen upper' is the exact upper bound of the share of the "
        "family's scenarios with a catastrophic failure; savings are against rules on the "
        "family's episodes; MTTR is the Kaplan-Meier median (censored at the horizon)."),
    "action_mix": (
        "Share of each action among the actions a controller took (no_op is not an action "
        "here; extended actions appear only if taken). Unit: all actions of all episodes "
        "pooled. The paper's shares include no_op and are printed as given. " + NOT_TARGETS),
    "ablations": (
        "The hybrid without one layer at a time, and the other learners in the hybrid's "
        "place, on the same seeds and scenarios. Unit of replication: the scenario (as in the "
        "safety and performance tables); 'p vs hybrid' is the Holm-corrected Wilcoxon "
        "signed-rank test of per-scenario mean dollars against the hybrid (paired table)."),
    "sensitivity": (
        "Each setting reruns its controllers on the sensitivity seeds; cost savings are "
        "against rules in the same setting, cost rank 1 = cheapest controller of the "
        "setting. Unit of replication: the scenario; catastrophe intervals are per-episode "
        "Clopper-Pearson (the narrow end). Exploration varies rl's epsilon: the hybrid "
        "chooses by Thompson sampling, which has no exploration rate, so the paper's "
        "exploration claims (about its hybrid) are printed beside rl's rows. " + NOT_TARGETS),
    "claims": (
        "Every figure of the paper's main table (Sec. 5.2-5.3) and sensitivity study "
        "(Sec. 5.6) beside ours. Our interval is at the scenario level (unit of "
        "replication: the scenario): the cluster bootstrap, the Kaplan-Meier band for MTTR "
        "(whose value is the median); for sensitivity catastrophes the per-episode "
        "Clopper-Pearson interval. Verdict: 'holds' if the paper's figure lies inside our "
        "95% interval, 'fails' if not (a claim of exactly 0% fails on any observed event), "
        "'untestable' where we have no interval (episodes to 95%) or no common scale "
        "(regret). docs/results.md discusses each. " + NOT_TARGETS),
    "headline": (
        "Each headline figure of the paper beside our measurement under the definition "
        "given; unit of replication: the scenario for bootstrap intervals (" + BOOT + "), "
        "the episode for Clopper-Pearson intervals. Verdict: 'holds' if the paper's figure "
        "lies inside our 95% interval, 'fails' if not (a claim of zero fails on any "
        "observed event), 'untestable' if the measure is undefined here. " + NOT_TARGETS),
}


def _title(name: str, df: pd.DataFrame, preset: str) -> str:
    return (f"{name} ({df.seed.nunique()} seeds x {df.scenario.nunique()} scenarios, "
            f"preset {preset})")


def write_report(out: Path, suffix: str, preset: str, df: pd.DataFrame,
                 controllers: list[str], ablations: list[str], tables: list[str],
                 sens: pd.DataFrame | None) -> list[Path]:
    """Build and write every asked table (except main and detectors) into ``out``.

    Parameters
    ----------
    df : DataFrame
        The main study's rows (controllers, ablations, oracle).
    controllers, ablations : list of str
        Rows of the main tables and of the ablation table.
    tables : list of str
        Tables to write.
    sens : DataFrame or None
        Tagged sensitivity rows.
    """
    written: list[Path] = []
    main = df[df.controller.isin(controllers)]
    regret = "regret_usd" in df and df.regret_usd.notna().any()

    def put(name, tab, title, digits=1):
        written.extend(write_table(out, name + suffix, tab, title, CAPTIONS[name], digits))

    safety = safety_table(main, controllers)
    perf = performance_table(main, controllers)
    optimal = pct_of_optimal(df, controllers) if regret else None
    if "safety" in tables:
        put("safety", safety, _title("Safety", main, preset))
    if "performance" in tables:
        put("performance", perf, _title("Performance", main, preset))
    if "learning" in tables and regret:
        learn = learning_results(df[df.controller.isin([*controllers, "oracle"])])
        learn = learn.merge(optimal, on="controller", how="left")
        put("learning", learn, _title("Learning", main, preset), 2)
        curves = df[df.controller.isin([*controllers, *ablations, "oracle"])]
        regret_curve(curves).to_csv(out / f"regret_curve{suffix}.csv", index=False)
        learning_curve(curves).to_csv(out / f"learning_curve{suffix}.csv", index=False)
        written += [out / f"regret_curve{suffix}.csv", out / f"learning_curve{suffix}.csv"]
    if "paired" in tables:
        put("paired", paired_table(main, controllers), _title("Paired tests", main, preset), 3)
    if "family" in tables:
        put("family", family_table(main, controllers), _title("Per family", main, preset))
    if "family" in tables:  # and each scenario's own row, for the scenario gallery's index
        per_scenario_table(main, controllers).to_csv(out / f"per_scenario{suffix}.csv",
                                                     index=False)
        written.append(out / f"per_scenario{suffix}.csv")
    if "action_mix" in tables:
        put("action_mix", action_mix_table(main, controllers),
            _title("Action mix", main, preset))
    if "ablations" in tables:
        put("ablations", ablation_table(df, ablations), _title("Ablations", main, preset))
    sens_tab = sensitivity_table(sens) if sens is not None and len(sens) else None
    if "sensitivity" in tables and sens_tab is not None:
        put("sensitivity", sens_tab,
            f"Sensitivity ({sens.seed.nunique()} seeds x {sens.scenario.nunique()} "
            f"scenarios per setting, preset {preset})")
    if "claims" in tables:
        put("claims", claims_table(safety, perf, sens_tab),
            _title("The paper's claims beside ours", main, preset))
    if "headline" in tables and optimal is not None:
        put("headline", headline_table(df, safety, perf, optimal),
            _title("Headline figures", main, preset))
    return written


def ablation_table(df: pd.DataFrame, ablations: list[str],
                   reference: str = "hybrid") -> pd.DataFrame:
    """Tabulate the hybrid and its ablations: safety, performance, regret, paired cost test."""
    names = [reference, *[a for a in ablations if a != reference]]
    part = df[df.controller.isin([*names, "rules", "oracle"])]
    s = safety_table(part, names).set_index("controller")
    p = performance_table(part, names).set_index("controller")
    tests = paired_table(part, names, references=(reference,))
    cost = (tests[tests.metric == "cost_usd"].set_index("controller")
            if len(tests) else pd.DataFrame(columns=["p_holm", "effect_size"]))
    learn = (learning_results(part).set_index("controller")
             if "regret_usd" in part and part.regret_usd.notna().any() else None)
    out = []
    for name in s.index:
        row = {"controller": name, "episodes": int(s.loc[name, "episodes"]),
               "catastrophic_pct": s.loc[name, "catastrophic_pct"],
               "catastrophic_scen_upper": s.loc[name, "catastrophic_scen_upper"],
               "safety_violation_pct": s.loc[name, "safety_violation_pct"],
               "cost_savings_pct": p.loc[name, "cost_savings_pct"],
               "sla_compliance_pct": p.loc[name, "sla_compliance_pct"],
               "mttr_km_min": p.loc[name, "mttr_km_min"],
               "final_regret_usd": (learn.loc[name, "final_regret_usd"]
                                    if learn is not None and name in learn.index else None),
               "p_cost_vs_hybrid": cost.p_holm.get(name),
               "effect_cost_vs_hybrid": cost.effect_size.get(name)}
        out.append(row)
    return pd.DataFrame(out).astype({"final_regret_usd": float, "p_cost_vs_hybrid": float,
                                     "effect_cost_vs_hybrid": float})


#: Columns of a row that record where it came from, not what happened (left out of digests).
PROVENANCE = ("config_hash", "git_commit", "code_fingerprint")


def cell_digests(df: pd.DataFrame) -> pd.DataFrame:
    """SHA-256 of each (controller, seed) cell's rows, provenance columns left out.

    The rows are sorted by scenario and written as CSV with every float at full precision
    (``%.17g``), so equal digests mean equal numbers. ``results/tables/cells.csv`` holds
    the digests behind the committed tables; the golden test recomputes a few and compares.

    Returns
    -------
    DataFrame
        controller, seed, episodes, rows_sha256; sorted by controller then seed.
    """
    out = []
    for (name, seed), g in df.groupby(["controller", "seed"], sort=True):
        rows = g.drop(columns=[c for c in PROVENANCE if c in g]).sort_values("scenario")
        rows = rows.reindex(columns=sorted(rows.columns))
        text = rows.to_csv(index=False, float_format="%.17g", lineterminator="\n")
        out.append({"controller": name, "seed": int(seed), "episodes": len(g),
                    "rows_sha256": hashlib.sha256(text.encode()).hexdigest()})
    return pd.DataFrame(out)
