"""The reproduction's tables on synthetic rows: every number checked by hand, no simulation.

Also the sensitivity studies' parsing (``experiments.studies``): each malformed study is
refused naming its field, and the settings are those the config describes.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from omegaconf import OmegaConf

from experiments.report_headline import claims_table, verdict
from experiments.report_tables import (
    cvar,
    display,
    family_table,
    matrix,
    mttr_km,
    paired_table,
    pct_of_optimal,
    performance_table,
    safety_table,
)
from experiments.stats import clopper_pearson, scenario_upper_bound
from experiments.studies import settings, wanted_tables

SCEN = ["s_a", "s_b", "s_c", "s_d"]
FAMILY = {"s_a": "data_drift", "s_b": "data_drift", "s_c": "infrastructure",
          "s_d": "infrastructure"}


def _rows(controller: str, cost: float, catastrophic=(), seeds=range(3), **extra) -> list:
    """One row per (seed, scenario); ``catastrophic`` lists the (seed, scenario) that fail."""
    out = []
    for seed in seeds:
        for k, sid in enumerate(SCEN):
            cat = (seed, sid) in catastrophic
            out.append({
                "controller": controller, "seed": seed, "scenario": sid,
                "family": FAMILY[sid], "episode": k, "catastrophic": float(cat),
                "safety_violation": float(k == 0), "n_harmful": 2.0, "n_contained": 1.0,
                "cost_usd": cost * (1 + k), "sla_compliance": 0.9, "minutes": 100.0,
                "cost_sla_usd": 10.0, "cost_revenue_usd": 5.0 * (1 + k),
                "engineer_hours": 1.0 if controller == "human" else 0.0,
                "recovered": 0.0 if cat else 1.0, "mttr_min": np.nan if cat else 4.0 + k,
                "first_alarm_min": 20.0, "optimal_action": "fallback", **extra})
    return out


@pytest.fixture()
def df() -> pd.DataFrame:
    """Five controllers x 3 seeds x 4 scenarios; the hybrid fails twice in s_c."""
    return pd.DataFrame(_rows("rules", 100.0) + _rows("human", 150.0)
                        + _rows("hybrid", 80.0, catastrophic={(0, "s_c"), (2, "s_c")})
                        + _rows("noop", 120.0) + _rows("oracle", 60.0))


def test_matrix_is_scenarios_by_seeds_and_refuses_gaps(df):
    """A controller's rows as (scenarios, seeds); a missing cell is refused."""
    m = matrix(df[df.controller == "rules"], "cost_usd")
    assert m.shape == (4, 3) and m[1, 0] == 200.0 and (m[:, 0] == m[:, 2]).all()
    with pytest.raises(ValueError, match="every seed must run every scenario once"):
        matrix(df[(df.controller == "rules")].iloc[1:], "cost_usd")


def test_safety_table_by_hand(df):
    """Counts, exact and scenario-level intervals of the safety table, by hand."""
    tab = safety_table(df, ["rules", "hybrid"]).set_index("controller")
    h = tab.loc["hybrid"]
    assert (h.episodes, h.scenarios, h.seeds, h.catastrophic_k) == (12, 4, 3, 2)
    assert h.catastrophic_pct == pytest.approx(100 * 2 / 12)
    lo, hi = clopper_pearson(2, 12)
    assert (h.catastrophic_ci_low, h.catastrophic_ci_high) == pytest.approx((100 * lo, 100 * hi))
    # both events in one scenario: 1 of 4 scenarios, its exact upper bound
    assert h.catastrophic_scen_k == 1
    upper = scenario_upper_bound(np.array([[0, 0, 0], [0, 0, 0], [1, 0, 1], [0, 0, 0]]))[2]
    assert h.catastrophic_scen_upper == pytest.approx(100 * upper)
    assert h.catastrophic_boot_low <= h.catastrophic_pct <= h.catastrophic_boot_high
    rules = tab.loc["rules"]
    assert rules.catastrophic_k == 0 and rules.catastrophic_boot_high == 0
    assert h.safety_violation_pct == pytest.approx(25.0) and h.risk_containment_pct == 50.0
    assert h.harmful_actions == 24 and h.paper_catastrophic_pct == 0.0


def test_performance_table_by_hand(df):
    """Savings, SLA, incident loss and engineer time of the performance table."""
    tab = performance_table(df, ["rules", "human", "hybrid"]).set_index("controller")
    assert tab.loc["hybrid", "cost_savings_pct"] == pytest.approx(20.0)  # 80 vs 100 per unit
    assert tab.loc["rules", "cost_savings_pct"] == pytest.approx(0.0)
    lo, hi = tab.loc["hybrid", ["cost_savings_pct_low", "cost_savings_pct_high"]]
    assert lo == pytest.approx(20.0) and hi == pytest.approx(20.0)  # constant ratio
    assert tab.loc["hybrid", "sla_compliance_pct"] == pytest.approx(90.0)
    assert tab.loc["hybrid", "cost_usd"] == pytest.approx(80.0 * 2.5)
    # incident loss = SLA + revenue, the same for all here: no reduction against human
    assert tab.loc["hybrid", "incident_loss_usd"] == pytest.approx(10 + 5 * 2.5)
    assert tab.loc["hybrid", "risk_reduction_pct"] == pytest.approx(0.0)
    assert tab.loc["hybrid", "engineer_hours_reduction_pct"] == pytest.approx(100.0)
    assert tab.loc["human", "engineer_hours"] == 1.0
    assert tab.loc["hybrid", "incident_loss_cvar95_usd"] == pytest.approx(30.0)  # the worst


def test_mttr_kaplan_meier_censors_the_unrecovered(df):
    """Recovered: 4..7 minutes; the two catastrophes are censored at 100 - 20 = 80."""
    med, lo, hi, alarmed, rec = mttr_km(df[df.controller == "hybrid"])
    assert (alarmed, rec) == (12, 10)
    # times 4,5,6,7 (three each, s_c's 6 only once): S drops below 0.5 at 5
    assert med == 5.0 and lo <= med <= hi
    none = df[df.controller == "rules"].assign(first_alarm_min=np.nan)
    assert all(math.isnan(v) for v in mttr_km(none)[:3]) and mttr_km(none)[3:] == (0, 0)


def test_cvar_is_the_mean_of_the_worst_share():
    """CVaR 95% of 1..100 is the mean of the five largest."""
    v = np.arange(1.0, 101.0)
    assert cvar(v) == pytest.approx(np.mean([96, 97, 98, 99, 100]))
    assert cvar(np.array([3.0])) == 3.0


def test_pct_of_optimal_by_hand(df):
    """(J_noop - J) / (J_noop - J_oracle): rules (120-100)/(120-60) = 1/3, hybrid 2/3."""
    tab = pct_of_optimal(df, ["rules", "hybrid"]).set_index("controller")
    assert tab.loc["rules", "pct_of_optimal"] == pytest.approx(100 / 3)
    assert tab.loc["hybrid", "pct_of_optimal"] == pytest.approx(200 / 3)


def test_paired_tests_and_holm(df):
    """Wilcoxon effect sizes and Holm p-values on per-scenario means."""
    tab = paired_table(df, ["rules", "hybrid", "noop"], references=("rules",))
    cost = tab[(tab.metric == "cost_usd")].set_index("controller")
    assert list(cost.index) == ["hybrid", "noop"]
    assert cost.loc["hybrid", "effect_size"] == -1.0  # cheaper in every scenario
    assert cost.loc["noop", "effect_size"] == 1.0
    assert (tab.p_holm >= tab.p_value).all() and (tab.p_holm <= 1).all()
    same = tab[(tab.metric == "sla_compliance")]
    assert (same.p_value == 1.0).all() and (same.n_nonzero == 0).all()


def test_family_table(df):
    """Per-family rates and savings."""
    tab = family_table(df, ["rules", "hybrid"]).set_index(["family", "controller"])
    assert tab.loc[("infrastructure", "hybrid"), "catastrophic_pct"] == pytest.approx(100 / 3)
    assert tab.loc[("data_drift", "hybrid"), "catastrophic_pct"] == 0.0
    assert tab.loc[("data_drift", "hybrid"), "cost_savings_pct"] == pytest.approx(20.0)
    assert tab.loc[("data_drift", "hybrid"), "scenarios"] == 2


def test_display_puts_intervals_beside_values():
    """Each value beside its interval; p-values to three digits."""
    tab = pd.DataFrame({"c": ["x"], "a_pct": [1.25], "a_ci_low": [0.5], "a_ci_high": [2.0],
                        "a_boot_low": [0.0], "a_boot_high": [3.0], "m": [4.0],
                        "m_low": [3.0], "m_high": [np.inf], "p_holm": [0.000123]})
    out = display(tab)
    assert list(out.columns) == ["c", "a_pct [exact CI]", "a boot CI", "m [95% CI]", "p_holm"]
    assert out.iloc[0].tolist() == ["x", "1.2 [0.5, 2.0]", "[0.0, 3.0]", "4.0 [3.0, inf]",
                                    "0.000123"]


def test_verdicts(df):
    """Holds / fails / untestable, and a claim of zero fails on any event."""
    assert verdict(38.7, 20.0, 10.0, 30.0) == "fails"
    assert verdict(25.0, 20.0, 10.0, 30.0) == "holds"
    assert verdict(25.0, np.nan, np.nan, np.nan) == "untestable"
    claims = claims_table(safety_table(df), performance_table(df))
    row = claims[(claims.metric == "catastrophic_pct") & (claims.controller == "hybrid")]
    assert row.verdict.item() == "fails"  # a claim of zero, two events observed
    row = claims[(claims.metric == "catastrophic_pct") & (claims.controller == "rules")]
    assert row.verdict.item() == "holds"
    assert set(claims.controller) == {"hybrid", "rl", "rules", "human"}
    assert (claims[claims.controller == "rl"].verdict == "untestable").all()  # not run


def _cfg(**sens) -> OmegaConf:
    return OmegaConf.create({"sensitivity": sens, "tables": ["all"]})


def test_settings_follow_the_config():
    """One setting per value; the default value runs the plain configuration."""
    out = settings(_cfg(alpha={"controllers": ["rules", "hybrid"], "vary": ["hybrid"],
                               "parameter": "alpha", "values": [0.01, 0.05],
                               "default": 0.05},
                        beta={"controllers": ["rules"], "scenario_parameter": "cost_weights.risk",
                              "values": [0.1, 0.3], "default": 0.3, "regret": True}))
    assert [(s.study, s.value) for s in out] == [("alpha", "0.01"), ("alpha", "0.05"),
                                                ("beta", "0.1"), ("beta", "0.3")]
    assert out[0].overrides == {"hybrid": {"alpha": 0.01}} and out[1].overrides == {}
    assert out[2].scenario_overrides == {"cost_weights": {"risk": 0.1}}
    assert out[3].scenario_overrides == {} and out[3].regret is True


@pytest.mark.parametrize(("spec", "message"), [
    ({"controllers": [], "parameter": "alpha", "values": [1], "default": 1},
     "sensitivity.s.controllers: name at least one"),
    ({"controllers": ["rules"], "values": [1], "default": 1}, "give exactly one of parameter"),
    ({"controllers": ["rules"], "parameter": "a", "scenario_parameter": "b", "values": [1],
      "default": 1}, "give exactly one of parameter"),
    ({"controllers": ["rules"], "parameter": "a", "values": [], "default": 1},
     "sensitivity.s.values: give at least one value"),
    ({"controllers": ["rules"], "parameter": "a", "values": [1, 2], "default": 3},
     r"sensitivity.s.default: 3 is not among values \[1, 2\]"),
    ({"controllers": ["rules"], "vary": ["hybrid"], "parameter": "a", "values": [1],
      "default": 1}, r"sensitivity.s.vary: \['hybrid'\] are not among"),
    ({"controllers": ["rules"], "parameter": "a", "values": [1], "default": 1, "seeds": 3},
     r"sensitivity.s: unknown field\(s\) \['seeds'\]"),
])
def test_malformed_studies_are_refused_naming_the_field(spec, message):
    """Each malformed study is refused, naming sensitivity.<study>.<field>."""
    with pytest.raises(ValueError, match=message):
        settings(_cfg(s=spec))


def test_wanted_tables():
    """A partial run's all leaves out the studies; unknown tables are refused."""
    assert "sensitivity" in wanted_tables(OmegaConf.create({"tables": ["all"]}))
    partial = wanted_tables(OmegaConf.create({"tables": ["all"]}), full=False)
    assert "sensitivity" not in partial and "ablations" not in partial and "safety" in partial
    assert wanted_tables(OmegaConf.create({"tables": ["sensitivity"]}), full=False) == [
        "sensitivity"]
    with pytest.raises(ValueError, match=r"tables=\['safty'\]: unknown \['safty'\]"):
        wanted_tables(OmegaConf.create({"tables": ["safty"]}))
    with pytest.raises(ValueError, match="empty list"):
        wanted_tables(OmegaConf.create({"tables": []}))
