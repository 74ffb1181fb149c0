"""Users' own scenario folders: ``scenario_dirs=[...]`` (Hydra) and the CLI's ``--dir`` (issue 13).

A folder outside the repository is a scenario set of its own: its files are validated like
the library's, never copied into it, and an id defined in two folders is refused, naming
both files. A run on such folders keeps its own result cells and tables, labelled by a hash
of the folders' files, so editing a file never reuses results of the old one.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
from hydra import compose, initialize_config_dir

import experiments.reproduce as xreproduce
import experiments.run as xrun
from experiments.config import scenario_source
from simulator.scenarios import load_scenarios, scenario_files
from simulator.scenarios.cli import main
from simulator.scenarios.loader import ScenarioError, dir_files

CONFIGS = Path(__file__).resolve().parents[1] / "configs"
SOURCE = next(p for p in scenario_files("paper43") if p.stem == "dependency_feature_store_db")


def _user_dir(tmp_path: Path, name: str, ids: tuple[str, ...]) -> Path:
    """Return a folder outside the repository with a copy of one library scenario per id."""
    folder = tmp_path / name
    folder.mkdir()
    text = SOURCE.read_text(encoding="utf-8")
    for sid in ids:
        (folder / f"{sid}.yaml").write_text(text.replace(f"id: {SOURCE.stem}", f"id: {sid}"),
                                            encoding="utf-8")
    return folder


def _cli(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_load_scenarios_reads_the_folders_as_one_set(tmp_path):
    """Two folders: their files in folder order; select works on their ids."""
    a = _user_dir(tmp_path, "a", ("mine_one", "mine_two"))
    b = _user_dir(tmp_path, "b", ("theirs",))
    assert [p.name for p in dir_files([a, b])] == ["mine_one.yaml", "mine_two.yaml",
                                                   "theirs.yaml"]
    scenarios = load_scenarios(dirs=[a, b])
    assert [sc.id for sc in scenarios] == ["mine_one", "mine_two", "theirs"]
    assert [sc.id for sc in load_scenarios(dirs=[a, b], select="mine_*")] == ["mine_one",
                                                                              "mine_two"]
    with pytest.raises(ScenarioError, match="no scenario of scenario_dirs matches 'nope'"):
        load_scenarios(dirs=[a], select="nope")


def test_an_id_in_two_folders_is_refused_naming_both_files(tmp_path):
    """The same id in two folders: refused, with both files in the message."""
    a = _user_dir(tmp_path, "a", ("same",))
    b = _user_dir(tmp_path, "b", ("same",))
    with pytest.raises(ScenarioError) as err:
        load_scenarios(dirs=[a, b])
    msg = str(err.value)
    assert str(b / "same.yaml") in msg and str(a / "same.yaml") in msg
    assert "duplicate scenario id 'same'" in msg


@pytest.mark.parametrize(("make", "match"), [
    (lambda t: [], "give at least one folder"),
    (lambda t: [t / "missing"], "missing: no such folder"),
    (lambda t: [t / "empty"], "empty: no .yaml file in this folder"),
    (lambda t: [t / "a", t / "a"], "listed twice"),
])
def test_unusable_folders_are_refused(tmp_path, make, match):
    """No folder, a missing or empty one, one listed twice: one clear message each."""
    (tmp_path / "empty").mkdir()
    _user_dir(tmp_path, "a", ("mine",))
    with pytest.raises(ScenarioError, match=match):
        dir_files(make(tmp_path))


def test_cli_dir_lists_shows_and_checks_a_users_folder(tmp_path, capsys):
    """`--dir` makes list, show, validate and check read the user's folder."""
    a = _user_dir(tmp_path, "a", ("mine_one",))
    code, out, _ = _cli(capsys, "--dir", a, "list")
    assert code == 0 and "mine_one" in out and "1 scenario(s)" in out
    code, out, _ = _cli(capsys, "--dir", a, "show", "mine_one", "--seed", "2")
    assert code == 0 and "id: mine_one" in out
    code, _, err = _cli(capsys, "--dir", a, "validate")
    assert code == 0 and "1 scenario file(s) valid" in err
    code, out, _ = _cli(capsys, "--dir", a, "check", "mine_one", "--seeds", "2")
    assert "mine_one: each action played once" in out and code in (0, 1)


def test_cli_dir_refuses_duplicates_missing_folders_and_library_sets(tmp_path, capsys):
    """Duplicate ids (exit 1, both files named), a missing folder, a library set (exit 2)."""
    a = _user_dir(tmp_path, "a", ("same",))
    b = _user_dir(tmp_path, "b", ("same",))
    code, _, err = _cli(capsys, "--dir", a, "--dir", b, "list")
    assert code == 1 and "duplicate scenario id 'same'" in err and str(a / "same.yaml") in err
    code, _, err = _cli(capsys, "--dir", tmp_path / "nope", "list")
    assert code == 2 and err.strip() == f"error: --dir {tmp_path / 'nope'}: no such folder"
    code, _, err = _cli(capsys, "--dir", a, "list", "--set", "paper43")
    assert code == 2 and "is a folder of the library; with --dir use --set all" in err
    code, _, err = _cli(capsys, "--dir", a, "show", "cov_sudden_campaign")
    assert code == 2 and "unknown scenario 'cov_sudden_campaign' in --dir" in err


def _reproduce_cfg(tmp_path: Path, dirs: list[Path], *extra: str):
    overrides = [f"raw_dir={tmp_path / 'raw'}", f"tables_dir={tmp_path / 'tables'}",
                 "n_seeds=1", "controllers=[rules,hybrid]", "n_jobs=1", "detectors=false",
                 "regret=false",
                 f"scenario_dirs=[{','.join(str(d) for d in dirs)}]", *extra]
    with initialize_config_dir(config_dir=str(CONFIGS), version_base="1.3"):
        return compose("reproduce", overrides=overrides)


def test_reproduce_runs_a_folder_outside_the_repository(tmp_path):
    """`reproduce scenario_dirs=[dir] controllers=[rules,hybrid]`: own cells and tables."""
    a = _user_dir(tmp_path, "a", ("mine_one", "mine_two"))
    cfg = _reproduce_cfg(tmp_path, [a])
    source = scenario_source(cfg)
    assert source.dirs == (str(a),) and source.label.startswith("dirs_")
    df = xreproduce.reproduce(cfg)
    assert sorted(df.controller.unique()) == ["hybrid", "rules"]
    assert sorted(df.scenario.unique()) == ["mine_one", "mine_two"]
    cells = sorted((tmp_path / "raw" / source.label).glob("*/seed0.parquet"))
    assert [c.parent.name for c in cells] == ["hybrid", "rules"]
    assert xreproduce.table_stem(cfg).startswith("main_results_")  # never the main table
    xreproduce.main.__wrapped__(cfg)
    (table,) = (tmp_path / "tables").glob("main_results_*.md")
    assert f"set `{source.label}`" in table.read_text(encoding="utf-8")
    # editing a file is a new set: the old cells are not reused
    (a / "mine_two.yaml").write_text((a / "mine_two.yaml").read_text() + "\n# edited\n")
    assert scenario_source(cfg).label != source.label


def test_run_reads_scenario_dirs_and_refuses_duplicates(tmp_path):
    """`experiments.run scenario_dirs=[...]` plays the folder's scenarios; duplicates fail."""
    a = _user_dir(tmp_path, "a", ("mine_one",))
    overrides = ["controller=rules", f"scenario_dirs=[{a}]", f"out_dir={tmp_path / 'out'}"]
    with initialize_config_dir(config_dir=str(CONFIGS), version_base="1.3"):
        cfg = compose("config", overrides=overrides)
    rows = xrun.run(cfg)
    assert [r["scenario"] for r in rows] == ["mine_one"]
    b = _user_dir(tmp_path, "b", ("mine_one",))
    with initialize_config_dir(config_dir=str(CONFIGS), version_base="1.3"):
        cfg = compose("config", overrides=[*overrides[:1], f"scenario_dirs=[{a},{b}]"])
    with pytest.raises(ScenarioError, match="duplicate scenario id 'mine_one'"):
        xrun.run(cfg)
    assert pd.DataFrame(rows).cost_usd.gt(0).all()
    shutil.rmtree(b)


@pytest.mark.parametrize(("value", "match"), [
    ("[]", "give at least one folder"),
    ("[1,2]", "folders must be paths"),
])
def test_bad_scenario_dirs_values_are_refused(tmp_path, value, match):
    """An explicit empty list is not 'the library'; a non-path list is refused."""
    with initialize_config_dir(config_dir=str(CONFIGS), version_base="1.3"):
        cfg = compose("config", overrides=["controller=rules", f"scenario_dirs={value}"])
    with pytest.raises(ScenarioError, match=match):
        scenario_source(cfg)


def test_one_folder_without_brackets_and_a_conflicting_set(tmp_path):
    """`scenario_dirs=dir` is one folder; with another scenario_set it is refused."""
    a = _user_dir(tmp_path, "a", ("mine_one",))
    with initialize_config_dir(config_dir=str(CONFIGS), version_base="1.3"):
        cfg = compose("config", overrides=["controller=rules", f"scenario_dirs={a}"])
        clash = compose("config", overrides=["controller=rules", f"scenario_dirs=[{a}]",
                                             "scenario_set=extended"])
    assert scenario_source(cfg).dirs == (str(a),)
    with pytest.raises(ScenarioError, match="scenario_dirs replaces scenario_set"):
        scenario_source(clash)
    # the same folder spelled differently is the same set
    with initialize_config_dir(config_dir=str(CONFIGS), version_base="1.3"):
        other = compose("config", overrides=["controller=rules",
                                             f"scenario_dirs=[{a}/../a]"])
    assert scenario_source(other).label == scenario_source(cfg).label


def test_cli_dir_validate_reads_what_a_run_reads_and_families_filter(tmp_path, capsys):
    """Validate --dir: top-level *.yaml only; --set extended / a family filter the folder."""
    a = _user_dir(tmp_path, "a", ("mine_one",))
    (a / "old").mkdir()
    shutil.copy(a / "mine_one.yaml", a / "old" / "mine_one.yaml")  # a backup, not read
    code, _, err = _cli(capsys, "--dir", a, "validate")
    assert code == 0 and "1 scenario file(s) valid" in err
    empty = tmp_path / "empty"
    empty.mkdir()
    code, _, err = _cli(capsys, "--dir", empty, "validate")
    assert code == 1 and f"scenario_dirs: {empty}: no .yaml file in this folder" in err
    code, out, _ = _cli(capsys, "--dir", a, "list", "--set", "extended")
    assert code == 0 and f"no scenarios in set 'extended' under {a}" in out
    code, out, _ = _cli(capsys, "--dir", a, "list", "--set", "infrastructure")
    assert code == 0 and "mine_one" in out
