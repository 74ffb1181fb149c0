"""Run-wide scenario settings (``scenario_overrides``): applied to every scenario, checked.

A run (``experiments.run`` / ``experiments.reproduce``) may override any field of a
scenario's parameter sections, e.g. the SLA penalty of a price-sensitivity study; the
override is merged into each file before validation, so every drawn incident carries it
and a bad value is refused naming the file, the field and the override.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from simulator import layout as L
from simulator.scenarios import ScenarioError, compile_scenario, draw_incident, load_scenarios
from simulator.scenarios.loader import OVERRIDABLE_SECTIONS, check_overrides

OV = {"economics": {"usd_sla_penalty_per_minute": 123.0},
      "dynamics": {"deploy_capacity": 0.5}}


def test_overrides_reach_every_scenario_and_every_drawn_incident():
    """Each loaded scenario compiles with the overridden prices; the others are untouched."""
    plain = load_scenarios("paper43", select="cov_*,corruption_*")
    over = load_scenarios("paper43", select="cov_*,corruption_*", overrides=OV)
    assert [s.id for s in plain] == [s.id for s in over] and len(over) >= 5
    for a, b in zip(plain, over, strict=True):
        for seed in (0, 7):
            pa = compile_scenario(draw_incident(a, seed)).params
            pb = compile_scenario(draw_incident(b, seed)).params
            assert pb[L.P_USD_SLA_MIN] == 123.0 and pb[L.P_DEPLOY_CAPACITY] == 0.5
            assert pa[L.P_USD_SLA_MIN] != 123.0
            differ = {i for i in range(L.N_PARAMS) if pa[i] != pb[i]}
            assert differ <= {L.P_USD_SLA_MIN, L.P_DEPLOY_CAPACITY}


def test_a_file_setting_is_replaced_field_by_field():
    """An override replaces one field of a section the file sets; the file's others stay."""
    sc = load_scenarios("paper43", select="concept_lagged_truth_flu")[0]
    assert "monitoring" in sc.model_fields_set
    over = load_scenarios("paper43", select="concept_lagged_truth_flu",
                          overrides={"monitoring": {"ks_window": 5}})[0]
    assert over.monitoring.ks_window == 5
    assert over.monitoring.label_delay == sc.monitoring.label_delay


@pytest.mark.parametrize(("ov", "match"), [
    ({"faults": {"onset": 1}}, r"scenario_overrides\.faults: not an overridable section"),
    ({"id": {"x": 1}}, r"scenario_overrides\.id: not an overridable section"),
    ({"economics": 3}, r"scenario_overrides\.economics: must map field names"),
    ({"economics": {}}, r"scenario_overrides\.economics: must map field names"),
    ([1, 2], r"scenario_overrides: must map sections to settings, got list"),
    ({"economics": {"usd_per_sla_minute": 1}}, r"scenario_overrides\.economics\."
     r"usd_per_sla_minute: unknown field; allowed: .*usd_sla_penalty_per_minute"),
])
def test_malformed_overrides_are_refused(ov, match):
    """Only mappings of the parameter sections to settings are accepted."""
    with pytest.raises(ScenarioError, match=match):
        check_overrides(ov)
    assert "faults" not in OVERRIDABLE_SECTIONS and "annotations" not in OVERRIDABLE_SECTIONS


@pytest.mark.parametrize(("ov", "match"), [
    ({"slo": {"accuracy": 2}}, r"field 'slo\.accuracy': Input should be less than or equal"
     r" to 1 \(got 2\) \(with scenario_overrides"),
    ({"dynamics": {"deploy_capacity": "x"}}, r"field 'dynamics\.deploy_capacity'"),
])
def test_an_override_that_breaks_a_scenario_names_the_file_and_the_override(ov, match):
    """The schema's message, the file's path and the override that caused it."""
    with pytest.raises(ScenarioError, match=match) as err:
        load_scenarios("paper43", select="cov_sudden_campaign", overrides=ov)
    assert ".yaml" in str(err.value)


def test_the_cli_refuses_a_bad_override_before_running(tmp_path):
    """``experiments.run`` exits non-zero with one line naming the field; nothing written."""
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, "-m", "experiments.run", "controller=noop",
         "select=cov_sudden_campaign", f"out_dir={out}",
         "+scenario_overrides.economics.usd_per_replica_minut=1",
         f"hydra.run.dir={tmp_path / 'hydra'}"],
        capture_output=True, text=True, check=False)
    assert proc.returncode != 0
    assert "scenario_overrides.economics.usd_per_replica_minut: unknown field" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not out.exists()
