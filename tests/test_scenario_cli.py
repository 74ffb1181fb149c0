"""The scenario command line (``python -m simulator.scenarios``) and the scenario guide.

Each subcommand is called through :func:`simulator.scenarios.cli.main` with captured
output, and its exit code and exact lines are pinned: ``list`` (the table), ``show`` (the
validated scenario round-trips), ``validate`` (every invalid file reported, one line per
error, nothing executed), ``plot`` (a PNG), ``check`` (agreement of the annotation) and
``schema`` (equal to the committed ``scenarios/schema.json``). Bad usage exits 2 with one
line. The first-alarm rule of :mod:`simulator.scenarios.plot` is checked against
``controllers.envelope.alarm``. The worked example of ``docs/adding_a_scenario.md`` is
read from the guide, written to a temporary library and validated, listed, checked and run
with ``experiments.run`` without touching ``scenarios/``.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest
import yaml
from hydra import compose, initialize_config_dir

from controllers.envelope import Observation, alarm
from experiments import run as xrun
from experiments.config import CONFIG_DIR
from simulator import layout as L
from simulator.env import SelfHealEnv, resolve_scenario
from simulator.scenarios import (
    SCENARIO_ROOT,
    ScenarioError,
    draw_incident,
    load_scenario,
    load_scenarios,
    parse_scenario,
    scenario_files,
)
from simulator.scenarios import loader as scenario_loader
from simulator.scenarios.cli import main
from simulator.scenarios.json_schema import DIALECT, SCHEMA_PATH, schema_text
from simulator.scenarios.plot import d_critical, play, record_alarms

REPO = SCENARIO_ROOT.parent
GUIDE = REPO / "docs" / "adding_a_scenario.md"
EXAMPLE_ID = "resource_recurring_node_faults"
SET_MESSAGE = (
    "error: unknown scenario set 'nope'; allowed: paper43, extended, all, anomaly_patterns,"
    " data_drift, infrastructure, model_degradation"
)


def run_cli(capsys, *argv: str) -> tuple[int, list[str], list[str]]:
    """Call the CLI; return (exit code, stdout lines, stderr lines)."""
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out.splitlines(), err.splitlines()


def guide_example() -> str:
    """Return the worked example's YAML, read from the guide (so the guide is what is tested)."""
    text = GUIDE.read_text(encoding="utf-8")
    m = re.search(rf"<!-- example: {EXAMPLE_ID} -->\n```yaml\n(.*?)```", text, re.S)
    assert m, "the guide lost its example block"
    return m.group(1)


@pytest.fixture
def library(tmp_path) -> Path:
    """Build a temporary library: the guide's example in paper43/, two extended files."""
    root = tmp_path / "scenarios"
    (root / "paper43").mkdir(parents=True)
    (root / "extended").mkdir()
    (root / "paper43" / f"{EXAMPLE_ID}.yaml").write_text(guide_example(), encoding="utf-8")
    for name in ("surge_launch_day", "bad_deploy_model_push"):
        shutil.copy(SCENARIO_ROOT / "extended" / f"{name}.yaml", root / "extended")
    return root


# ----------------------------------------------------------------------------- schema
def test_committed_schema_is_the_current_export():
    """scenarios/schema.json equals the export of the pydantic models, byte for byte."""
    assert SCHEMA_PATH.read_text(encoding="utf-8") == schema_text()


def test_schema_subcommand_prints_the_committed_file(capsys):
    """`schema` prints exactly scenarios/schema.json: a JSON schema of the Scenario model."""
    assert main(["schema"]) == 0
    out = capsys.readouterr().out
    assert out == SCHEMA_PATH.read_text(encoding="utf-8")
    doc = yaml.safe_load(out)  # JSON is YAML
    assert doc["$schema"] == DIALECT
    assert doc["title"] == "Scenario" and doc["additionalProperties"] is False
    assert {"id", "family", "subtype", "annotations", "faults"} <= set(doc["required"])
    kinds = doc["properties"]["faults"]["items"]["discriminator"]["mapping"]
    assert sorted(kinds) == sorted(L.FAULT_KINDS)


# ----------------------------------------------------------------------------- list
def test_list_extended_shows_every_file(capsys):
    """`list --set extended` has one row per file of scenarios/extended/ and a count line."""
    code, out, err = run_cli(capsys, "list", "--set", "extended")
    files = scenario_files("extended")
    assert code == 0 and err == []
    assert out[0].split() == ["id", "family", "subtype", "optimal_action", "source"]
    assert [line.split()[0] for line in out[1:-1]] == [p.stem for p in files]
    assert out[-1] == f"{len(files)} scenario(s) in set 'extended'"
    row = next(line for line in out if line.startswith("surge_launch_day "))
    assert row.split()[1:4] == ["extended", "traffic_surge", "scale_out"]


def test_list_truncates_the_source_and_filters_by_family(capsys, library):
    """Sources longer than 60 characters end in '...'; `--set infrastructure` keeps one family."""
    code, out, _ = run_cli(capsys, "--root", library, "list", "--set", "infrastructure")
    assert code == 0
    assert len(out) == 3 and out[-1] == "1 scenario(s) in set 'infrastructure'"
    src = load_scenario(library / "paper43" / f"{EXAMPLE_ID}.yaml").source
    assert out[1].split(maxsplit=4) == [
        EXAMPLE_ID,
        "infrastructure",
        "resource_exhaustion",
        "fallback",
        src[:57] + "...",
    ]
    code, out, _ = run_cli(capsys, "--root", library, "list", "--set", "all")
    assert code == 0 and out[-1] == "3 scenario(s) in set 'all'"


def test_list_reports_invalid_files_and_exits_1(capsys, library):
    """An invalid file is left out of the table, its error goes to stderr, exit code 1."""
    bad = library / "extended" / "broken.yaml"
    bad.write_text("id: broken\n", encoding="utf-8")
    code, out, err = run_cli(capsys, "--root", library, "list", "--set", "extended")
    assert code == 1
    assert out[-1] == "2 scenario(s) in set 'extended'"
    assert err[0].startswith(f"{bad}: field 'family': Field required")
    assert err[-1] == ("1 invalid file(s) not listed; run `python -m simulator.scenarios validate`")


# ----------------------------------------------------------------------------- bad usage
@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["list", "--set", "nope"], SET_MESSAGE),
        (
            ["show", "nope"],
            "error: unknown scenario 'nope' under {root} (see `python -m "
            "simulator.scenarios list --set all`)",
        ),
        (
            ["plot", "nope"],
            "error: unknown scenario 'nope' under {root} (see `python -m "
            "simulator.scenarios list --set all`)",
        ),
        (["check", "missing.yaml"], "error: no such scenario file: missing.yaml"),
        (["validate", "no/such/dir"], "error: no such file or directory: no/such/dir"),
        (["check", "surge_launch_day", "--seeds", "0"], "error: --seeds must be >= 1, got 0"),
        (
            ["frobnicate"],
            "error: argument command: invalid choice: 'frobnicate' (choose from "
            "'list', 'show', 'validate', 'plot', 'check', 'schema') (see python -m "
            "simulator.scenarios --help)",
        ),
        (
            ["plot", "surge_launch_day", "--seed", "x"],
            "error: argument --seed: invalid int value: 'x' (see python -m simulator.scenarios "
            "plot --help)",
        ),
    ],
)
def test_bad_usage_exits_2_with_one_line(capsys, argv, message):
    """Unknown set, id, file, option or subcommand: exit 2, one stderr line, empty stdout."""
    code, out, err = run_cli(capsys, *argv)
    assert code == 2 and out == []
    assert err == [message.format(root=SCENARIO_ROOT)]


def test_module_and_console_script_entry_points():
    """`python -m simulator.scenarios` runs main (exit 2, no traceback); the script is declared."""
    proc = subprocess.run(
        [sys.executable, "-m", "simulator.scenarios", "show", "nope"],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.startswith("error: unknown scenario 'nope'")
    assert "Traceback" not in proc.stderr and len(proc.stderr.splitlines()) == 1
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["selfheal-scenarios"] == "simulator.scenarios.cli:main"


def test_env_hint_for_an_unknown_scenario_points_at_the_cli():
    """The env's unknown-scenario message names the command that lists the ids."""
    with pytest.raises(ScenarioError, match=r"python -m simulator\.scenarios list"):
        resolve_scenario("no_such_scenario")


# ----------------------------------------------------------------------------- show
def test_show_prints_the_validated_scenario_with_defaults(capsys):
    """`show` YAML reloads to the same Scenario and spells out defaults the file omits."""
    path = SCENARIO_ROOT / "extended" / "bad_deploy_model_push.yaml"
    before = path.read_bytes()
    code, out, err = run_cli(capsys, "show", "bad_deploy_model_push")
    assert code == 0 and err == []
    assert out[0] == f"# {path}: validated, every default filled in; a fixed incident (no ranges)"
    data = yaml.safe_load("\n".join(out))
    assert parse_scenario(data) == load_scenario(path)
    assert data["pipeline"]["replicas"] == 4
    assert data["deployment"]["escalation_delay"] == 45
    assert data["faults"][0] == {
        "kind": "bad_deploy",
        "onset": 60,
        "duration": None,
        "shape": "sudden",
        "ramp": 0,
        "period": 0,
        "active_minutes": 0,
        "magnitude": 0.15,
        "previous_magnitude": 0.0,
    }
    assert path.read_bytes() == before  # read-only


# ----------------------------------------------------------------------------- validate
def test_validate_reports_every_invalid_file_and_runs_nothing(capsys, library, tmp_path):
    """Three broken files give three lines (file, field, reason), exit 1; the tag never runs."""
    folder = library / "paper43"
    good = yaml.safe_load(guide_example())
    unknown = dict(good, id="unknown_key", colour="red")
    late = dict(good, id="late_onset", faults=[dict(good["faults"][0], onset=600)])
    marker = tmp_path / "pwned"
    for name, data in (("unknown_key", unknown), ("late_onset", late)):
        (folder / f"{name}.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    (folder / "tagged.yaml").write_text(
        f"id: !!python/object/apply:os.system ['touch {marker}']\n", encoding="utf-8"
    )
    code, out, err = run_cli(capsys, "validate", folder)
    assert code == 1
    assert out == [
        f"{folder}/late_onset.yaml: field 'faults.0.onset': must be before the horizon"
        " (600 minutes) (got 600)",
        f"{folder}/tagged.yaml: not valid safe YAML at line 1, column 5: could not determine a"
        " constructor for the tag 'tag:yaml.org,2002:python/object/apply:os.system' (tags"
        " that construct objects are refused)",
        f"{folder}/unknown_key.yaml: field 'colour': unknown key (not in the scenario schema)"
        " (got 'red')",
    ]
    assert err == ["3 of 4 scenario file(s) invalid"]
    assert not marker.exists()


def test_validate_refuses_duplicate_ids_across_folders(capsys, library):
    """The same id in paper43/ and extended/ is an error naming both files."""
    dup = library / "extended" / f"{EXAMPLE_ID}.yaml"
    shutil.copy(library / "paper43" / f"{EXAMPLE_ID}.yaml", dup)
    code, out, err = run_cli(capsys, "--root", library, "validate")
    assert code == 1
    assert out == [
        f"{library}/paper43/{EXAMPLE_ID}.yaml: field 'id': duplicate scenario id"
        f" '{EXAMPLE_ID}' (also {dup})"
    ]
    assert err == ["1 of 4 scenario file(s) invalid"]


def test_validate_defaults_to_the_root_and_the_shipped_extended_set_is_valid(capsys, library):
    """`validate` with no path checks the whole --root; scenarios/extended/ validates."""
    assert run_cli(capsys, "--root", library, "validate") == (0, [], ["3 scenario file(s) valid"])
    n = len(scenario_files("extended"))
    assert run_cli(capsys, "validate", SCENARIO_ROOT / "extended") == (
        0,
        [],
        [f"{n} scenario file(s) valid"],
    )


# ----------------------------------------------------------------------------- alarm, plot
@pytest.mark.parametrize("slo", [None, {"availability": 0.95, "p99_latency_ms": 150.0}])
@pytest.mark.parametrize(
    "name", ["surge_launch_day", "compound_corruption_deploy", "cost_spot_price_spike"]
)
def test_first_alarm_rule_equals_the_envelope_alarm(name, slo):
    """record_alarms on each minute's record equals controllers.envelope.alarm on the obs.

    Both read the operational alarm's limits from the scenario's SLOs (the default ones, and
    other ones given in the file).
    """
    path = SCENARIO_ROOT / "extended" / f"{name}.yaml"
    sc = load_scenario(path) if slo is None else load_scenario(path, {"slo": slo})
    env = SelfHealEnv(sc, observation_mode="full", assess_actions=False)
    obs, info = env.reset(seed=0)
    crit = d_critical(env.sim.p)
    ours, theirs = [], []
    done = False
    while not done:
        obs, _, term, trunc, info = env.step(L.NO_OP)
        done = term or trunc
        ours.append(record_alarms(env.sim.hist[info["minute"]], crit, env.sim.p))
        assert info["slo_p99_ms"] == (slo or {}).get("p99_latency_ms", 300.0)
        theirs.append(alarm(Observation.from_env(obs, info, 0.05)))
    assert ours == theirs
    assert 0 < sum(ours) < len(ours)  # both values occur: the comparison is not vacuous


def test_play_acts_the_minute_after_the_first_alarm(library):
    """Example, seed 3: fallback acts the minute after the outage's onset alarms.

    It sheds load for its 120-min TTL; the next outage, one period later, is unprotected.
    """
    sc = load_scenario(library / "paper43" / f"{EXAMPLE_ID}.yaml")
    fault = draw_incident(sc, 3).faults[0]
    t0, period = fault.onset, fault.period
    assert (t0, period) == (88, 201)  # the incident seed 3 draws
    noop, fb = play(sc, "no_op", seed=3), play(sc, "fallback", seed=3)
    t = t0 + 1
    assert noop.decision_minute == fb.decision_minute == t and fb.alarmed
    assert np.array_equal(noop.hist[:t], fb.hist[:t])
    acc_noop, acc_fb = noop.hist[:, L.R_ACC_SERVED], fb.hist[:, L.R_ACC_SERVED]
    assert acc_fb[t:t + 120].mean() < acc_noop[t:t + 120].mean() - 0.03  # the stale fallback
    assert acc_fb[t + 120] == acc_noop[t + 120]  # TTL over: v1 again, on the same rows
    assert (noop.hist[t:t0 + 19, L.R_AVAILABILITY] < 0.99).all()  # half the capacity: overload
    assert (fb.hist[t:t0 + 19, L.R_AVAILABILITY] == 1.0).all()  # half the load per request
    nxt = t0 + period  # the next outage is unprotected
    assert (fb.hist[nxt:nxt + 19, L.R_AVAILABILITY] < 0.99).all()
    assert fb.cost_usd < noop.cost_usd and fb.catastrophe == "none"
    with pytest.raises(ValueError, match="is an extended action but scenario"):
        play(sc, "scale_out")


def test_plot_writes_a_png(capsys, library, tmp_path):
    """`plot` writes <out>/<id>.png (750 x 675 pixels) and prints its path."""
    out_dir = tmp_path / "figs"
    code, out, err = run_cli(
        capsys, "--root", library, "plot", "bad_deploy_model_push", "--out", out_dir, "--seed", "2"
    )
    png = out_dir / "bad_deploy_model_push.png"
    assert code == 0 and err == [] and out == [str(png)]
    from PIL import Image

    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with Image.open(png) as img:
        assert (img.size, img.mode) == ((750, 675), "P")  # 10 x 9 in at 75 dpi, palette


def test_gallery_writes_one_png_per_scenario_of_the_set(library, tmp_path):
    """The gallery script writes <id>.png for each scenario of the set, and only those."""
    from paper_figures.scenario_gallery import write_gallery

    paths = write_gallery("extended", tmp_path / "gallery", seed=0, root=library)
    assert [p.name for p in paths] == ["bad_deploy_model_push.png", "surge_launch_day.png"]
    assert sorted(p.name for p in (tmp_path / "gallery").iterdir()) == [p.name for p in paths]


def test_check_exits_1_when_another_action_is_cheaper(capsys, library):
    """`check` holds on the example (13 of 20 draws); annotated rollback, it fails, exit 1."""
    path = library / "paper43" / f"{EXAMPLE_ID}.yaml"
    code, out, _ = run_cli(capsys, "check", path)
    assert code == 0
    assert [line.split()[0] for line in out[3:7]] == ["no_op", "fallback", "rollback", "retrain"]
    assert out[-1] == ("annotation 'fallback' holds: best (within tolerance) in 13 of 20 draws "
                       "(65%); cheapest per draw: no_op 10, fallback 10")
    path.write_text(
        guide_example().replace("optimal_action: fallback", "optimal_action: rollback"),
        encoding="utf-8",
    )
    code, out, _ = run_cli(capsys, "check", path, "--seeds", "4")
    assert code == 1
    assert out[-1].startswith("annotation 'rollback' FAILS (< 60%): best (within tolerance) in ")


def test_check_set_prints_one_row_per_scenario(capsys, library):
    """`check --set` prints a Markdown row per scenario and the count that hold on stderr."""
    code, out, err = run_cli(capsys, "--root", library, "check", "--set", "paper43",
                             "--seeds", "4", "--markdown")
    assert code == 1  # seeds 0 and 1 strike at a quiet hour: no_op is cheaper
    assert out[0].startswith("| scenario | annotated | holds |")
    assert out[2] == f"| `{EXAMPLE_ID}` | fallback | 2/4 **below 60%** | 0 | no_op 2, fallback 2 |"
    assert err[-1] == "0 of 1 annotations hold in >= 60% of 4 draws; below: " + EXAMPLE_ID


# ----------------------------------------------------------------------------- the guide
def test_guide_example_is_listed_and_runs_with_no_code_change(capsys, library, monkeypatch):
    """The guide's file validates, is listed and runs `experiments.run ... select=<id>`."""
    assert run_cli(capsys, "--root", library, "validate", library / "paper43") == (
        0,
        [],
        ["1 scenario file(s) valid"],
    )
    assert [sc.id for sc in load_scenarios("paper43", root=library)] == [EXAMPLE_ID]
    monkeypatch.setattr(scenario_loader, "SCENARIO_ROOT", library)
    code, out, _ = run_cli(capsys, "list", "--set", "paper43")
    assert code == 0 and out[1].split()[0] == EXAMPLE_ID
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        cfg = compose("config", overrides=["controller=rules", f"select={EXAMPLE_ID}"])
    rows = xrun.run(cfg)
    assert len(rows) == 1
    row = rows[0]
    assert (row["scenario"], row["family"], row["optimal_action"]) == (
        EXAMPLE_ID,
        "infrastructure",
        "fallback",
    )
    assert row["controller"] == "rules" and row["mttd_min"] == 0.0  # alarm at the onset
    assert not (SCENARIO_ROOT / "paper43" / f"{EXAMPLE_ID}.yaml").exists()


def test_guide_commands_name_real_subcommands():
    """Every `python -m simulator.scenarios <sub>` in the guide is a subcommand of the CLI."""
    subs = set(
        re.findall(
            r"python -m simulator\.scenarios (?:--root \S+ )?(\w+)",
            GUIDE.read_text(encoding="utf-8"),
        )
    )
    assert subs == {"list", "show", "validate", "plot", "check", "schema"}


def test_check_says_when_every_action_fails_and_reports_a_multi_step_remedy(capsys):
    """Issue 13, item 4: in draw 3 of resource_pool_thread_limit no single action survives.

    `check` says so instead of naming a tie-break winner, and reports what the oracle's
    forks find when they may act again: a sequence that avoids the catastrophe.
    """
    from simulator.scenarios.holdrate import ALL_CATASTROPHIC, hold_rate, search_remedy

    sc = load_scenario(SCENARIO_ROOT / "paper43" / "resource_pool_thread_limit.yaml")
    r = hold_rate(sc, [3])
    assert r.cheapest == (ALL_CATASTROPHIC,) and r.catastrophic == (True,)
    remedy = search_remedy(sc, 3)
    assert remedy.catastrophe == "none" and len(remedy.actions) >= 2
    assert remedy.actions[0][1] == "fallback"
    assert [m for m, _ in remedy.actions] == sorted(m for m, _ in remedy.actions)
    code, out, _ = run_cli(capsys, "check", "resource_pool_thread_limit", "--seeds", "4")
    assert code == 0  # 3 of 4 draws hold
    assert ("every action ends in a catastrophe before the horizon (one action after the "
            "first alarm, then no_op) in 1 of 4 draws (seeds 3)") in out
    assert any(line.startswith("multi-step remedy") and line.endswith("avoids it in 1 of 1")
               for line in out)
    assert f"  {remedy.describe()}" in out
