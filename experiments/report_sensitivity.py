"""The sensitivity table (paper Sec. 5.6; the ranking under other prices and thresholds)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from experiments.paper_claims import SENSITIVITY
from experiments.report_tables import _boot, matrix, sla_pct
from experiments.stats import clopper_pearson
from experiments.tables import learning_results


def sensitivity_table(df: pd.DataFrame, reference: str = "rules") -> pd.DataFrame:
    """One row per (study, value, controller) of the tagged sensitivity rows.

    Parameters
    ----------
    df : DataFrame
        Rows of :func:`experiments.studies.tag` (``study``, ``parameter``, ``value``,
        base ``controller``), with regret fields where the study records regret.
    reference : str
        Controller whose dollars define 0% savings within each setting.

    Returns
    -------
    DataFrame
        study, parameter, value, controller, seeds, episodes, catastrophic_pct and its
        Clopper-Pearson ci_low / ci_high (per episode), cost_usd (per episode),
        cost_savings_pct (vs ``reference`` in the same setting, same episodes) with its
        cluster-bootstrap interval (``_low`` / ``_high``),
        sla_compliance_pct, final_regret_usd and episodes_to_95 (regret studies; NaN
        otherwise), cost_rank (1 = cheapest controller of the setting), and the paper's
        claims (``paper_catastrophic_pct``, ``paper_cost_savings_pct``,
        ``paper_episodes_to_95``, ``paper_final_regret``) beside the varied controller.
    """
    out = []
    for (study, value), part in df.groupby(["study", "value"], sort=False):
        ref = part[part.controller == reference]
        learn = (learning_results(part).set_index("controller")
                 if "regret_usd" in part and part.regret_usd.notna().any() else None)
        rows = []
        for name, g in part.groupby("controller", sort=False):
            if name == "oracle":
                continue
            k, n = int(g.catastrophic.sum()), len(g)
            lo, hi = clopper_pearson(k, n)
            cost = matrix(g, "cost_usd")
            sav = lo_sav = hi_sav = np.nan
            if len(ref):
                pt, blo, bhi = _boot(cost, matrix(ref, "cost_usd"))
                sav, lo_sav, hi_sav = 100 * (1 - pt), 100 * (1 - bhi), 100 * (1 - blo)
            claims = SENSITIVITY.get(study, {}).get(value, {})
            varied = name not in (reference,)
            row = {"study": study, "parameter": g.parameter.iloc[0], "value": value,
                   "controller": name, "seeds": g.seed.nunique(), "episodes": n,
                   "catastrophic_pct": 100 * k / n, "catastrophic_ci_low": 100 * lo,
                   "catastrophic_ci_high": 100 * hi, "cost_usd": float(cost.mean()),
                   "cost_savings_pct": sav, "cost_savings_pct_low": lo_sav,
                   "cost_savings_pct_high": hi_sav,
                   "sla_compliance_pct": sla_pct(g),
                   "final_regret_usd": np.nan, "episodes_to_95": np.nan}
            if learn is not None and name in learn.index:
                row["final_regret_usd"] = float(learn.loc[name, "final_regret_usd"])
                row["episodes_to_95_usd"] = float(learn.loc[name, "episodes_to_95_usd"])
                row["episodes_to_95"] = float(learn.loc[name, "episodes_to_95"])
            for metric in ("catastrophic_pct", "cost_savings_pct", "episodes_to_95",
                           "final_regret"):
                row[f"paper_{metric}"] = claims.get(metric, np.nan) if varied else np.nan
            rows.append(row)
        ranks = pd.Series([r["cost_usd"] for r in rows]).rank(method="min")
        for r, rank in zip(rows, ranks, strict=True):
            r["cost_rank"] = int(rank)
        out += rows
    cols = ["study", "parameter", "value", "controller", "seeds", "episodes",
            "catastrophic_pct", "catastrophic_ci_low", "catastrophic_ci_high", "cost_usd",
            "cost_savings_pct", "cost_savings_pct_low", "cost_savings_pct_high",
            "sla_compliance_pct", "final_regret_usd", "episodes_to_95",
            "episodes_to_95_usd", "cost_rank", "paper_catastrophic_pct",
            "paper_cost_savings_pct", "paper_episodes_to_95", "paper_final_regret"]
    return pd.DataFrame(out).reindex(columns=cols)
