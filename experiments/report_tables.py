"""The reproduction's tables with statistics at the level of scenarios (DESIGN 5).

Every builder takes episode rows (one per controller, seed and scenario; each seed runs
every scenario once) and returns a DataFrame of numbers; :func:`write_table` writes it as
Markdown, CSV and LaTeX with its caption. Units of replication:

episode
    One (seed, scenario) pair. Per-episode rates carry exact Clopper-Pearson intervals,
    which treat episodes as independent (they are not: episodes of one scenario share its
    fault class), so they are the narrow end.
scenario
    The unit of replication of every other interval: a two-stage cluster bootstrap
    (scenarios, then seeds within each; :func:`experiments.stats.cluster_bootstrap`,
    1,000 resamples, percentile) for means and ratios, the scenario-level exact upper
    bound (:func:`experiments.stats.scenario_upper_bound`) for rates, and paired
    Wilcoxon signed-rank tests on per-scenario means (Holm-corrected) for comparisons.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from experiments.paper_claims import ACTION_MIX, MAIN_RESULTS
from experiments.regret import cumulative_regret
from experiments.stats import (
    clopper_pearson,
    cluster_bootstrap,
    holm,
    km_median,
    paired_wilcoxon,
    scenario_upper_bound,
)

#: Bootstrap resamples of every interval, and the seed of their random numbers.
N_RESAMPLES = 1000
BOOT_SEED = 0

#: Families of the paper's taxonomy (Sec. 5), in its order.
FAMILIES = ["data_drift", "model_degradation", "infrastructure", "anomaly_patterns"]

#: Metrics of the paired tests: column, its direction word.
PAIRED_METRICS = {"cost_usd": "dollars", "sla_compliance": "SLA compliance",
                  "catastrophic": "catastrophic failure", "safety_violation": "safety violation"}


def matrix(g: pd.DataFrame, col: str) -> np.ndarray:
    """Episode values of one controller as a (scenarios, seeds) array, both sorted.

    Raises
    ------
    ValueError
        If some (scenario, seed) cell is missing or repeated (every seed must run every
        scenario once).
    """
    wide = g.pivot_table(index="scenario", columns="seed", values=col, aggfunc="count")
    if wide.isna().any().any() or (wide != 1).any().any():
        raise ValueError(f"{col}: every seed must run every scenario once "
                         f"({g.controller.iloc[0]})")
    return g.pivot(index="scenario", columns="seed", values=col).to_numpy(dtype=float)


def _boot(num: np.ndarray, den: np.ndarray | None = None) -> tuple[float, float, float]:
    return cluster_bootstrap(num, den, n_resamples=N_RESAMPLES, seed=BOOT_SEED)


def _rate(g: pd.DataFrame, col: str, prefix: str) -> dict:
    """Per-episode rate (%, exact CI), cluster-bootstrap CI and scenario-level bound."""
    m = matrix(g, col)
    k, n = int(m.sum()), m.size
    lo, hi = clopper_pearson(k, n)
    _, blo, bhi = _boot(m)
    ks, s, upper = scenario_upper_bound(m > 0.5)
    return {f"{prefix}_k": k, f"{prefix}_pct": 100.0 * k / n, f"{prefix}_ci_low": 100 * lo,
            f"{prefix}_ci_high": 100 * hi, f"{prefix}_boot_low": 100 * blo,
            f"{prefix}_boot_high": 100 * bhi, f"{prefix}_scen_k": ks,
            f"{prefix}_scen_upper": 100 * upper}


def _by(df: pd.DataFrame, controllers: list[str] | None = None):
    """(name, rows) per controller in ``controllers`` order (default: order of appearance)."""
    names = controllers or list(dict.fromkeys(df.controller))
    return [(c, df[df.controller == c]) for c in names if (df.controller == c).any()]


def sla_pct(g: pd.DataFrame) -> float:
    """Minute-weighted SLA compliance (%) of a set of episode rows."""
    return 100 * float((g.sla_compliance * g.minutes).sum() / g.minutes.sum())


def _counts(g: pd.DataFrame) -> dict:
    return {"episodes": len(g), "scenarios": g.scenario.nunique(), "seeds": g.seed.nunique()}


def safety_table(df: pd.DataFrame, controllers: list[str] | None = None) -> pd.DataFrame:
    """Catastrophic failures, safety violations and risk containment (paper Sec. 5.2).

    Returns
    -------
    DataFrame
        One row per controller: episodes, scenarios, seeds; for ``catastrophic`` and
        ``safety_violation``: ``_k``, ``_pct``, ``_ci_low/high`` (Clopper-Pearson, per
        episode), ``_boot_low/high`` (cluster bootstrap), ``_scen_k`` (scenarios with at
        least one) and ``_scen_upper`` (their exact upper bound), all in %;
        risk_containment_pct with its bootstrap interval (``_low`` / ``_high``),
        harmful_actions; ``paper_*``.
    """
    out = []
    for name, g in _by(df, controllers):
        row = {"controller": name, **_counts(g), **_rate(g, "catastrophic", "catastrophic"),
               **_rate(g, "safety_violation", "safety_violation")}
        harmful = matrix(g, "n_harmful")
        if harmful.sum() > 0:
            pt, lo, hi = _boot(matrix(g, "n_contained"), harmful)
            row.update(risk_containment_pct=100 * pt, risk_containment_pct_low=100 * lo,
                       risk_containment_pct_high=100 * hi)
        else:
            row.update(risk_containment_pct=np.nan, risk_containment_pct_low=np.nan,
                       risk_containment_pct_high=np.nan)
        row["harmful_actions"] = int(harmful.sum())
        for metric in ("catastrophic_pct", "safety_violation_pct", "risk_containment_pct"):
            row[f"paper_{metric}"] = MAIN_RESULTS[metric].get(name, np.nan)
        out.append(row)
    return pd.DataFrame(out)


def mttr_km(g: pd.DataFrame) -> tuple[float, float, float, int, int]:
    """Kaplan-Meier median MTTR (minutes) of one controller's alarmed episodes.

    An episode's time runs from its first alarm; one that never recovers (a catastrophe
    included) is censored at the horizon (``minutes - first_alarm_min``). Episodes with
    no alarm have no MTTR and are left out.

    Returns
    -------
    (median, low, high, alarmed, recovered)
    """
    a = g[g.first_alarm_min.notna()]
    if a.empty:
        return math.nan, math.nan, math.nan, 0, 0
    rec = a.recovered.to_numpy() > 0.5
    t = np.where(rec, a.mttr_min.to_numpy(), a.minutes.to_numpy() - a.first_alarm_min.to_numpy())
    med, lo, hi = km_median(t.astype(float), rec)
    return med, lo, hi, len(a), int(rec.sum())


def _incident_loss(g: pd.DataFrame) -> np.ndarray:
    return matrix(g, "cost_sla_usd") + matrix(g, "cost_revenue_usd")


def cvar(values: np.ndarray, level: float = 0.95) -> float:
    """Mean of the worst (largest) ``1 - level`` share of ``values`` (at least one value)."""
    v = np.sort(np.asarray(values, dtype=float).ravel())[::-1]
    k = max(1, math.ceil(round((1.0 - level) * len(v), 9)))  # 5% of 100 is 5, not 6
    return float(v[:k].mean())


def performance_table(df: pd.DataFrame, controllers: list[str] | None = None,
                      reference: str = "rules", risk_reference: str = "human") -> pd.DataFrame:
    """MTTR, cost, savings, SLA, operational risk and engineer time (Sec. 5.3, intro).

    Returns
    -------
    DataFrame
        One row per controller: episodes, scenarios, seeds; mttr_km_min (Kaplan-Meier
        median, minutes), alarmed, recovered_pct; cost_usd (dollars per episode);
        cost_savings_pct (vs ``reference`` on the same episodes); sla_compliance_pct;
        incident_loss_usd (mean per episode) and incident_loss_cvar95_usd;
        risk_reduction_pct and engineer_hours_reduction_pct (vs ``risk_reference``);
        engineer_hours (per episode); ``paper_*``. Every value X but the CVaR and the hours
        has its interval in ``X_low`` / ``X_high``: cluster bootstrap over scenarios then
        seeds (Kaplan-Meier band for MTTR).
    """
    groups = dict(_by(df))
    ref = groups.get(reference)
    risk_ref = groups.get(risk_reference)
    out = []
    for name, g in _by(df, controllers):
        med, mlo, mhi, alarmed, rec = mttr_km(g)
        cost = matrix(g, "cost_usd")
        row = {"controller": name, **_counts(g), "mttr_km_min": med, "mttr_km_min_low": mlo,
               "mttr_km_min_high": mhi, "alarmed": alarmed,
               "recovered_pct": 100.0 * float(g.recovered.sum()) / len(g)}
        row["cost_usd"], row["cost_usd_low"], row["cost_usd_high"] = _boot(cost)
        row.update(_savings("cost_savings", cost, matrix(ref, "cost_usd") if ref is not None
                            else None))
        pt, lo, hi = _boot(matrix(g, "sla_compliance") * matrix(g, "minutes"),
                           matrix(g, "minutes"))
        row.update(sla_compliance_pct=100 * pt, sla_compliance_pct_low=100 * lo,
                   sla_compliance_pct_high=100 * hi)
        loss = _incident_loss(g)
        row["incident_loss_usd"], row["incident_loss_low"], row["incident_loss_high"] = \
            _boot(loss)
        row["incident_loss_cvar95_usd"] = cvar(loss)
        row.update(_savings("risk_reduction", loss,
                            _incident_loss(risk_ref) if risk_ref is not None else None))
        hours = matrix(g, "engineer_hours")
        row["engineer_hours"] = float(hours.mean())
        row.update(_savings("engineer_hours_reduction", hours,
                            matrix(risk_ref, "engineer_hours") if risk_ref is not None
                            else None))
        row["paper_mttr_min"] = MAIN_RESULTS["mttr_min"].get(name, np.nan)
        row["paper_cost_savings_pct"] = MAIN_RESULTS["cost_savings_pct"].get(name, np.nan)
        row["paper_sla_compliance_pct"] = MAIN_RESULTS["sla_compliance_pct"].get(name, np.nan)
        out.append(row)
    return pd.DataFrame(out)


def _savings(prefix: str, values: np.ndarray, ref: np.ndarray | None) -> dict:
    """1 - sum(values) / sum(ref) in %, with its paired cluster-bootstrap interval."""
    if ref is None or ref.shape != values.shape or ref.sum() == 0:
        return {f"{prefix}_pct": np.nan, f"{prefix}_pct_low": np.nan, f"{prefix}_pct_high": np.nan}
    pt, lo, hi = _boot(values, ref)
    return {f"{prefix}_pct": 100 * (1 - pt), f"{prefix}_pct_low": 100 * (1 - hi),
            f"{prefix}_pct_high": 100 * (1 - lo)}


def paired_table(df: pd.DataFrame, controllers: list[str],
                 references: tuple[str, ...] = ("rules", "hybrid")) -> pd.DataFrame:
    """Paired Wilcoxon signed-rank tests of each controller against each reference.

    Per metric of :data:`PAIRED_METRICS`, the per-scenario means (over seeds) of the
    controller and of the reference on the same (seed, scenario) episodes are compared;
    p-values are Holm-corrected over every test of the table.

    Returns
    -------
    DataFrame
        controller, reference, metric, scenarios, n (non-zero differences), mean_x,
        mean_ref, median_diff, statistic, p_value, p_holm, effect_size (matched-pairs
        rank-biserial correlation, positive when the controller's values are larger).
    """
    out = []
    for ref in references:
        r = df[df.controller == ref]
        if r.empty:
            continue
        for name, g in _by(df, controllers):
            if name == ref:
                continue
            for metric in PAIRED_METRICS:
                x = g.groupby("scenario")[metric].mean()
                y = r.groupby("scenario")[metric].mean().reindex(x.index)
                res = paired_wilcoxon(x.to_numpy(), y.to_numpy())
                out.append({"controller": name, "reference": ref, "metric": metric,
                            "scenarios": len(x), "mean_x": float(x.mean()),
                            "mean_ref": float(y.mean()), **res})
    tab = pd.DataFrame(out)
    if len(tab):
        tab = tab.rename(columns={"n": "n_nonzero"})
        tab["p_holm"] = holm(tab.p_value.to_numpy())
    return tab


def family_table(df: pd.DataFrame, controllers: list[str] | None = None,
                 reference: str = "rules") -> pd.DataFrame:
    """Safety and performance per scenario family (paper Sec. 5 taxonomy).

    Returns
    -------
    DataFrame
        controller, family, episodes, scenarios, seeds, catastrophic_pct,
        catastrophic_scen_upper, safety_violation_pct, cost_savings_pct (vs ``reference``
        on the family's episodes), sla_compliance_pct, mttr_km_min.
    """
    out = []
    fams = [f for f in FAMILIES if f in set(df.family)] + sorted(set(df.family) - set(FAMILIES))
    for fam in fams:
        part = df[df.family == fam]
        ref = part[part.controller == reference]
        for name, g in _by(part, controllers):
            cost = matrix(g, "cost_usd")
            _, _, upper = scenario_upper_bound(matrix(g, "catastrophic") > 0.5)
            sav = (100 * (1 - cost.sum() / matrix(ref, "cost_usd").sum())
                   if len(ref) else np.nan)
            out.append({"controller": name, "family": fam, **_counts(g),
                        "catastrophic_pct": 100 * g.catastrophic.mean(),
                        "catastrophic_scen_upper": 100 * upper,
                        "safety_violation_pct": 100 * g.safety_violation.mean(),
                        "cost_savings_pct": sav,
                        "sla_compliance_pct": sla_pct(g),
                        "mttr_km_min": mttr_km(g)[0]})
    return pd.DataFrame(out)


def action_mix_table(df: pd.DataFrame, controllers: list[str] | None = None) -> pd.DataFrame:
    """Share (%) of each action among the actions each controller took (no_op not counted).

    Columns: controller, actions (total), ``actions_<name>`` for every action any
    controller took, and the paper's fallback / rollback / retrain / no_op shares.
    """
    cols = [c for c in df.columns if c.startswith("actions_") and c != "actions_no_op"]
    cols = [c for c in cols if df[c].sum() > 0] or ["actions_fallback"]
    out = []
    for name, g in _by(df, controllers):
        tot = float(g[cols].to_numpy().sum())
        row = {"controller": name, "actions": int(tot)}
        for c in cols:
            row[c] = 100 * float(g[c].sum()) / tot if tot else np.nan
        for action, share in ACTION_MIX.get(name, {}).items():
            row[f"paper_{action}"] = share
        out.append(row)
    return pd.DataFrame(out)


def regret_curve(df: pd.DataFrame) -> pd.DataFrame:
    """Cumulative regret by episode position: mean and 2.5 / 97.5 percentiles over runs.

    Columns: controller, episode (1-based position in a run), cum_regret_mean,
    cum_regret_low, cum_regret_high (dollars), runs.
    """
    cum = cumulative_regret(df)
    cum["position"] = cum.groupby(["controller", "seed"]).cumcount() + 1
    g = cum.groupby(["controller", "position"], sort=False).cum_regret_usd
    out = pd.DataFrame({"cum_regret_mean": g.mean(), "cum_regret_low": g.quantile(0.025),
                        "cum_regret_high": g.quantile(0.975), "runs": g.size()}).reset_index()
    return out.rename(columns={"position": "episode"})


def learning_curve(df: pd.DataFrame, oracle: str = "oracle") -> pd.DataFrame:
    """Dollars per episode above the oracle's on the same (seed, scenario) episode.

    Columns: controller, episode (1-based position), excess_cost_mean, excess_cost_low,
    excess_cost_high (2.5 / 97.5 percentiles over runs), runs.
    """
    o = df[df.controller == oracle].set_index(["seed", "scenario"]).cost_usd
    rows = df[df.controller != oracle].sort_values(["controller", "seed", "episode"]).copy()
    rows["excess"] = rows.cost_usd.to_numpy() - o.reindex(
        pd.MultiIndex.from_frame(rows[["seed", "scenario"]])).to_numpy()
    rows["position"] = rows.groupby(["controller", "seed"]).cumcount() + 1
    g = rows.groupby(["controller", "position"], sort=False).excess
    out = pd.DataFrame({"excess_cost_mean": g.mean(), "excess_cost_low": g.quantile(0.025),
                        "excess_cost_high": g.quantile(0.975), "runs": g.size()}).reset_index()
    return out.rename(columns={"position": "episode"})


def pct_of_optimal(df: pd.DataFrame, controllers: list[str], baseline: str = "noop",
                   oracle: str = "oracle") -> pd.DataFrame:
    """% of optimal = (J_ref - J_pi) / (J_ref - J_oracle) in dollars (DESIGN 3.6).

    J is the total cost over the same (seed, scenario) episodes; J_ref is ``baseline``'s
    (doing nothing), so the figure is the share of the oracle's saving over doing nothing
    that the controller achieves. Interval: paired cluster bootstrap.

    Columns: controller, pct_of_optimal, pct_of_optimal_low, pct_of_optimal_high.
    """
    ref, orc = df[df.controller == baseline], df[df.controller == oracle]
    out = []
    for name, g in _by(df, controllers):
        row = {"controller": name, "pct_of_optimal": np.nan, "pct_of_optimal_low": np.nan,
               "pct_of_optimal_high": np.nan}
        if len(ref) and len(orc):
            j_ref = matrix(ref, "cost_usd")
            den = j_ref - matrix(orc, "cost_usd")
            if den.sum() > 0:
                pt, lo, hi = _boot(j_ref - matrix(g, "cost_usd"), den)
                row.update(pct_of_optimal=100 * pt, pct_of_optimal_low=100 * lo,
                           pct_of_optimal_high=100 * hi)
        out.append(row)
    return pd.DataFrame(out)


def display(tab: pd.DataFrame, digits: int = 1) -> pd.DataFrame:
    """Return ``tab`` as text for reading: each value beside its interval, numbers rounded.

    ``X`` with ``X_low`` / ``X_high`` becomes ``X [95% CI]`` = "v [lo, hi]"; a rate
    ``B_pct`` with ``B_ci_low`` / ``B_ci_high`` (exact, per episode) becomes
    ``B_pct [exact CI]`` and its ``B_boot_low`` / ``B_boot_high`` a ``B boot CI`` column.
    """
    cols, used, out = list(tab.columns), set(), {}
    for c in cols:
        if c in used:
            continue
        base = c.removesuffix("_pct")
        if {f"{c}_low", f"{c}_high"} <= set(cols):
            out[f"{c} [95% CI]"] = _joined(tab, c, f"{c}_low", f"{c}_high", digits)
            used |= {f"{c}_low", f"{c}_high"}
        elif c.endswith("_pct") and {f"{base}_ci_low", f"{base}_ci_high"} <= set(cols):
            out[f"{c} [exact CI]"] = _joined(tab, c, f"{base}_ci_low", f"{base}_ci_high",
                                             digits)
            used |= {f"{base}_ci_low", f"{base}_ci_high"}
            if {f"{base}_boot_low", f"{base}_boot_high"} <= set(cols):
                out[f"{base} boot CI"] = _joined(tab, None, f"{base}_boot_low",
                                                 f"{base}_boot_high", digits)
                used |= {f"{base}_boot_low", f"{base}_boot_high"}
        elif c.startswith("p_"):  # p-values: three significant digits, however small
            out[c] = tab[c].map(lambda v: "n/a" if pd.isna(v) else f"{v:.3g}")
        elif pd.api.types.is_float_dtype(tab[c]):
            out[c] = tab[c].map(lambda v: _fmt(v, digits))
        else:
            out[c] = tab[c]
    return pd.DataFrame(out)


def _joined(tab: pd.DataFrame, value: str | None, low: str, high: str, digits: int) -> list:
    head = [f"{_fmt(v, digits)} " for v in tab[value]] if value else [""] * len(tab)
    return [f"{h}[{_fmt(lo, digits)}, {_fmt(hi, digits)}]"
            for h, lo, hi in zip(head, tab[low], tab[high], strict=True)]


def write_table(out: Path, stem: str, tab: pd.DataFrame, title: str, caption: str,
                digits: int = 1) -> list[Path]:
    """Write ``tab`` as ``stem``.md and .tex (:func:`display`, caption) and .csv (all digits).

    Returns the three paths.
    """
    out.mkdir(parents=True, exist_ok=True)
    shown = display(tab, digits)
    paths = [out / f"{stem}.md", out / f"{stem}.csv", out / f"{stem}.tex"]
    md = shown.to_markdown(index=False, disable_numparse=True)  # our digits, not tabulate's
    paths[0].write_text(f"# {title}\n\n{md}\n\n{caption}\n")
    tab.to_csv(paths[1], index=False)
    tex = shown.to_latex(index=False, caption=f"{title}. {caption}", label=f"tab:{stem}",
                         escape=True)
    paths[2].write_text(tex)
    return paths


def _fmt(v: float, digits: int) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "n/a"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return f"{v:.{digits}f}"


def per_scenario_table(df: pd.DataFrame, controllers: list[str] | None = None) -> pd.DataFrame:
    """Each controller on each scenario: episodes, catastrophes, mean dollars and SLA.

    Columns: controller, scenario, family, episodes (= seeds), catastrophes,
    catastrophic_pct, cost_usd (mean per episode), sla_compliance_pct (minute-weighted),
    optimal_action (the scenario's annotation). Unit: the episodes of one scenario.
    """
    out = []
    for name, g in _by(df, controllers):
        for sid, s in g.groupby("scenario", sort=True):
            out.append({"controller": name, "scenario": sid, "family": s.family.iloc[0],
                        "episodes": len(s), "catastrophes": int(s.catastrophic.sum()),
                        "catastrophic_pct": 100 * float(s.catastrophic.mean()),
                        "cost_usd": float(s.cost_usd.mean()),
                        "sla_compliance_pct": sla_pct(s),
                        "optimal_action": s.optimal_action.iloc[0]})
    return pd.DataFrame(out)
