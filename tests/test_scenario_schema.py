"""Error messages of the scenario loader, and validity of the shipped scenario library.

DESIGN 7: a scenario file is loaded with a safe YAML loader and validated against a strict
schema; every refusal is a :class:`ScenarioError` whose message names the file and the
offending field ("<path>: field '<dotted.field>': <reason> (got <value>)") and never runs
code. Each test writes one broken variant of a valid scenario to ``tmp_path`` and pins the
message with ``pytest.raises(..., match=...)``. The last tests check that every file under
``scenarios/`` validates and that ``scenarios/paper43/`` covers the paper's taxonomy.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path

import pytest
import yaml

from simulator.scenarios import (
    SCENARIO_ROOT,
    ScenarioError,
    load_scenario,
    parse_scenario,
    scenario_files,
)
from simulator.scenarios.schema import FAMILY_OF_SUBTYPE

#: A minimal valid scenario; tests mutate a deep copy of it.
VALID = {
    "id": "probe",
    "family": "data_drift",
    "subtype": "covariate_shift",
    "description": "A probe scenario for the loader tests.",
    "source": "tests/test_scenario_schema.py",
    "horizon": 240,
    "annotations": {
        "optimal_action": "fallback",
        "business_impact": 5,
        "recovery_complexity": "medium",
        "historical_resolution_minutes": 60,
    },
    "faults": [{"kind": "covariate_shift", "onset": 60, "magnitude": 1.0}],
}

#: The paper's taxonomy (Sec. 5): the 12 sub-types of its four families.
PAPER_SUBTYPES = {
    "data_drift": {"covariate_shift", "concept_drift", "feature_corruption"},
    "model_degradation": {"accuracy_decay", "latency_increase", "memory_leak"},
    "infrastructure": {"resource_exhaustion", "network_latency", "dependency_failure"},
    "anomaly_patterns": {"adversarial_inputs", "outlier_cluster", "temporal_anomaly"},
}


def write_scenario(tmp_path: Path, data: dict, name: str = "probe") -> Path:
    """Dump ``data`` as YAML to ``tmp_path/<name>.yaml`` and return the path."""
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def variant(**top) -> dict:
    """Return a deep copy of the valid scenario with top-level keys replaced."""
    data = copy.deepcopy(VALID)
    data.update(top)
    return data


def names(path: Path, field: str) -> str:
    """Regex matching a message that starts with ``path`` and names ``field`` as the field."""
    return rf"^{re.escape(str(path))}: field '{re.escape(field)}': "


def test_valid_probe_loads(tmp_path):
    """The unmodified probe scenario is valid, so every failure below is the mutation's."""
    sc = load_scenario(write_scenario(tmp_path, VALID))
    assert sc.id == "probe"
    assert sc.faults[0].kind == "covariate_shift"


def test_unknown_top_level_key(tmp_path):
    """An unknown top-level key is refused, naming the key and its value."""
    path = write_scenario(tmp_path, variant(colour="red"))
    with pytest.raises(
        ScenarioError, match=names(path, "colour") + r"unknown key .*\(got 'red'\)$"
    ):
        load_scenario(path)


def test_unknown_key_inside_fault(tmp_path):
    """An unknown key inside a fault is refused with the fault's index in the field path."""
    data = variant()
    data["faults"][0]["colour"] = "red"
    path = write_scenario(tmp_path, data)
    with pytest.raises(
        ScenarioError,
        match=rf"^{re.escape(str(path))}: field 'faults\.0\.(covariate_shift\.)?colour': "
        r"unknown key .*\(got 'red'\)$",
    ):
        load_scenario(path)


def test_wrong_type_horizon(tmp_path):
    """A string where an integer belongs is refused, naming the field and the value."""
    path = write_scenario(tmp_path, variant(horizon="abc"))
    with pytest.raises(
        ScenarioError, match=names(path, "horizon") + r".*valid integer.*\(got 'abc'\)$"
    ):
        load_scenario(path)


def test_negative_magnitude(tmp_path):
    """A negative fault magnitude is out of range; the message says what is allowed."""
    data = variant()
    data["faults"][0]["magnitude"] = -1.0
    path = write_scenario(tmp_path, data)
    with pytest.raises(
        ScenarioError,
        match=rf"^{re.escape(str(path))}: field 'faults\.0\.(covariate_shift\.)?magnitude': "
        r".*greater than 0 \(got -1\.0\)$",
    ):
        load_scenario(path)


def test_business_impact_above_ten(tmp_path):
    """A business impact of 11 is out of the 1-10 range."""
    data = variant()
    data["annotations"]["business_impact"] = 11
    path = write_scenario(tmp_path, data)
    with pytest.raises(
        ScenarioError,
        match=names(path, "annotations.business_impact") + r".*less than or equal to 10 "
        r"\(got 11\)$",
    ):
        load_scenario(path)


def test_onset_after_horizon(tmp_path):
    """A fault whose onset is not before the horizon is refused, naming the fault's onset."""
    data = variant()
    data["faults"][0]["onset"] = 500
    path = write_scenario(tmp_path, data)
    with pytest.raises(
        ScenarioError,
        match=rf"^{re.escape(str(path))}: field 'faults\.0\.onset': must be before the horizon "
        r"\(240 minutes\) \(got 500\)$",
    ):
        load_scenario(path)


def test_unknown_fault_kind(tmp_path):
    """An unknown fault kind is refused, naming the fault, the value and the allowed kinds."""
    data = variant()
    data["faults"][0]["kind"] = "solar_flare"
    path = write_scenario(tmp_path, data)
    with pytest.raises(
        ScenarioError,
        match=rf"^{re.escape(str(path))}: field 'faults\.0\.kind': unknown fault kind; "
        r"allowed: covariate_shift, .*bad_deploy, label_shift, traffic_drop, runaway_usage, "
        r"stale_features, bad_artifact \(got 'solar_flare'\)$",
    ):
        load_scenario(path)


def test_bad_yaml_syntax(tmp_path):
    """Broken YAML is refused with the file, line and column of the problem."""
    path = tmp_path / "probe.yaml"
    path.write_text("id: probe\nfaults: [\n  - kind: covariate_shift\n", encoding="utf-8")
    with pytest.raises(
        ScenarioError,
        match=rf"^{re.escape(str(path))}: not valid safe YAML at line \d+, column \d+",
    ) as info:
        load_scenario(path)
    assert "tags that construct objects" not in str(info.value)  # only said of a tag


def test_non_utf8_file_is_a_scenario_error(tmp_path):
    """Bytes that are not UTF-8 are reported as a scenario error, not a traceback."""
    path = tmp_path / "binary.yaml"
    path.write_bytes(b"\xff\xfeid: x\n")
    want = rf"^{re.escape(str(path))}: not UTF-8 text \(byte 0xff at position 0\)"
    with pytest.raises(ScenarioError, match=want):
        load_scenario(path)


def test_object_constructing_tag_is_refused_and_not_run(tmp_path):
    """A python/object tag is refused by the safe loader and its command never runs."""
    marker = tmp_path / "pwned"
    cmd = f"touch {marker}"
    text = yaml.safe_dump(VALID, sort_keys=False)
    text += f"pipeline: !!python/object/apply:os.system [{cmd!r}]\n"
    path = tmp_path / "probe.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(
        ScenarioError,
        match=rf"^{re.escape(str(path))}: not valid safe YAML at line \d+, column \d+: "
        r".*python/object/apply:os\.system",
    ):
        load_scenario(path)
    assert not marker.exists(), "the YAML tag executed a command"
    # Control: the same payload does run under an unsafe loader, so the check above is real.
    control = tmp_path / "control"
    yaml.unsafe_load(text.replace(str(marker), str(control)))
    assert control.exists()


def test_target_key_top_level(tmp_path):
    """A ``_target_`` key at the top level is refused: scenarios never name code."""
    path = write_scenario(tmp_path, variant(_target_="os.system"))
    with pytest.raises(ScenarioError, match=names(path, "_target_") + r".*never instantiate code"):
        load_scenario(path)


@pytest.mark.parametrize(
    ("where", "field"),
    [("fault", "faults.0._target_"), ("pipeline", "pipeline._target_")],
)
def test_target_key_nested(tmp_path, where, field):
    """A ``_target_`` key nested in a fault or a settings block is refused with its path."""
    data = variant()
    if where == "fault":
        data["faults"][0]["_target_"] = "os.system"
    else:
        data["pipeline"] = {"_target_": "os.system"}
    path = write_scenario(tmp_path, data)
    with pytest.raises(ScenarioError, match=names(path, field) + r".*never instantiate code"):
        load_scenario(path)


def test_target_key_refused_by_parse_scenario():
    """``parse_scenario`` refuses ``_target_`` too and names the in-memory source."""
    with pytest.raises(ScenarioError, match=r"^<memory>: field '_target_': "):
        parse_scenario(variant(_target_="os.system"))


def test_id_must_match_file_name(tmp_path):
    """An id different from the file stem is refused, naming the expected and given id."""
    path = write_scenario(tmp_path, variant(id="other"), name="probe")
    with pytest.raises(ScenarioError, match=names(path, "id") + r".*\('probe'\).*'other'"):
        load_scenario(path)


def test_subtype_not_of_its_family(tmp_path):
    """A sub-type filed under the wrong family is refused, naming both families."""
    path = write_scenario(tmp_path, variant(subtype="memory_leak"))
    with pytest.raises(
        ScenarioError,
        match=rf"^{re.escape(str(path))}: field 'subtype': belongs to family "
        r"'model_degradation', not 'data_drift' \(got 'memory_leak'\)$",
    ):
        load_scenario(path)


def test_gradual_shape_without_ramp(tmp_path):
    """A gradual fault without a ramp is refused, naming the fault and the ramp."""
    data = variant()
    data["faults"][0]["shape"] = "gradual"
    path = write_scenario(tmp_path, data)
    with pytest.raises(
        ScenarioError,
        match=rf"^{re.escape(str(path))}: field 'faults\.0': shape 'gradual' needs "
        r"ramp >= 1",
    ):
        load_scenario(path)


@pytest.mark.parametrize(
    ("top", "fault", "field"),
    [
        ({}, {"onset": 500}, "faults.0.onset"),
        ({"subtype": "memory_leak"}, {}, "subtype"),
    ],
    ids=["onset", "subtype"],
)
def test_cross_field_errors_name_the_field(tmp_path, top, fault, field):
    """Cross-field errors should name the offending field itself, not the top level."""
    data = variant(**top)
    data["faults"][0].update(fault)
    path = write_scenario(tmp_path, data)
    with pytest.raises(ScenarioError, match=names(path, field)):
        load_scenario(path)


@pytest.mark.parametrize("path", scenario_files("all"), ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_every_shipped_scenario_validates(path):
    """Every YAML file under scenarios/ loads and validates."""
    sc = load_scenario(path)
    assert sc.id == path.stem


def test_library_is_not_empty():
    """The library glob finds the shipped files (guards the parametrised test above)."""
    assert len(scenario_files("all")) >= 12
    assert all(p.is_relative_to(SCENARIO_ROOT) for p in scenario_files("all"))


def test_paper43_covers_the_taxonomy():
    """Each of the paper's 12 sub-types appears in scenarios/paper43/ under its family."""
    seen: dict[str, set[str]] = {}
    for p in scenario_files("paper43"):
        sc = load_scenario(p)
        seen.setdefault(sc.family, set()).add(sc.subtype)
    assert sum(len(v) for v in PAPER_SUBTYPES.values()) == 12
    for family, subtypes in PAPER_SUBTYPES.items():
        missing = subtypes - seen.get(family, set())
        assert not missing, f"paper43 has no scenario of {family}: {sorted(missing)}"
    assert {s: f for f, ss in PAPER_SUBTYPES.items() for s in ss}.items() <= (
        FAMILY_OF_SUBTYPE.items()
    )


@pytest.mark.parametrize(
    ("text_edit", "field", "reason"),
    [
        (("horizon: 240", "horizon: '240'"), "horizon", "valid integer"),
        (("horizon: 240", "horizon: 240\nhorizon: 300"), None, "duplicate key 'horizon'"),
        (("kind: covariate_shift", "kind: solar_flare"), "faults.0.kind", "unknown fault kind"),
    ],
    ids=["string-for-int", "duplicate-key", "unknown-kind"],
)
def test_strict_yaml(tmp_path, text_edit, field, reason):
    """Strings for numbers, duplicate keys and unknown kinds are refused with the field named."""
    path = write_scenario(tmp_path, variant())
    old, new = text_edit
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    where = rf"field '{re.escape(field)}': .*" if field else r".*"
    with pytest.raises(ScenarioError, match=rf"^{re.escape(str(path))}: {where}{reason}"):
        load_scenario(path)


def test_infinite_value_refused(tmp_path):
    """An infinite price is refused with the field path."""
    data = variant()
    data["economics"] = {"usd_per_replica_minute": float("inf")}
    path = write_scenario(tmp_path, data)
    with pytest.raises(ScenarioError, match=r"field 'economics\.usd_per_replica_minute': .*finite"):
        load_scenario(path)
