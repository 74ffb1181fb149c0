"""Sweeps of ``experiments.run`` (issue 15).

Cells shared with reproduce, resume after a kill, unique folders, failures reported,
collection across sweeps, and the cluster launchers.

Every sweep here runs in a fresh process with its working directory in ``tmp_path`` (so
Hydra's ``multirun/`` folder is the test's) over one short scenario.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from hydra import compose, initialize_config_dir

from experiments import collect as xcollect
from experiments.config import CONFIG_DIR, sweep_token
from experiments.reproduce import plan

SID = "cov_sudden_campaign"
#: Columns that may differ between two runs of one cell (provenance, not results).
META = ["git_commit"]


def _sweep(tmp: Path, out: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """Run ``experiments.run --multirun`` in ``tmp`` with cells in ``out``."""
    proc = subprocess.run(
        [sys.executable, "-m", "experiments.run", "--multirun", f"select={SID}",
         f"out_dir={out}", *args],
        cwd=tmp, capture_output=True, text=True, timeout=900, check=False,
        env={**os.environ, "CI": "1"})
    if check:
        assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def _rows(out: Path) -> pd.DataFrame:
    """Every cell's rows under ``out``, sorted, provenance left out."""
    df = pd.concat([pd.read_parquet(f) for f in sorted(out.rglob("*.parquet"))],
                   ignore_index=True)
    return df.drop(columns=META).sort_values(["controller", "seed", "scenario"],
                                              ignore_index=True)


def _summaries(tmp: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted((tmp / "multirun").glob("*/summary.json"))]


# =========================================================================== cells
def test_a_run_is_the_cell_reproduce_plans(tmp_path):
    """`experiments.run` and `reproduce` key and place the same run at the same file."""
    from experiments.run import plan_cell

    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        run_cfg = compose("config", overrides=["controller=hybrid", "seed=3", f"select={SID}",
                                               f"out_dir={tmp_path}", "regret=true"])
        rep_cfg = compose("reproduce", overrides=[
            "controllers=[hybrid]", "first_seed=3", "n_seeds=1", f"select={SID}",
            f"raw_dir={tmp_path}", f"tables_dir={tmp_path / 't'}", "regret=true"])
    cell = plan_cell(run_cfg)
    (hybrid, oracle) = plan(rep_cfg)
    assert oracle.name == "oracle"
    assert (cell.path, cell.config_hash, cell.name) == (hybrid.path, hybrid.config_hash,
                                                         hybrid.name)
    assert cell.path.name == "seed3_regret.parquet"


def test_sweep_token_differs_within_one_second():
    """Sweep folders are <timestamp>_<token>: tokens of one second differ."""
    tokens = {sweep_token() for _ in range(1000)}
    assert len(tokens) == 1000 and all(len(t) == 8 for t in tokens)


# =========================================================================== sweeps
def test_failed_cell_is_reported_and_the_others_kept(tmp_path):
    """A job that raises: its error in its folder and the summary, exit 1, others kept."""
    out = tmp_path / "cells"
    proc = _sweep(tmp_path, out, "hydra/launcher=basic", "controller=rules", "seed=0,-1,1",
                  check=False)
    assert proc.returncode == 1
    assert "1 cell(s) failed: 1_controller=rules,seed=-1" in proc.stderr  # job 1
    (summary,) = _summaries(tmp_path)
    assert summary["counts"] == {"finished": 2, "failed": 1}
    assert summary["failed"] == [f"1_controller=rules,seed=-1,select={SID}"]
    (job,) = (tmp_path / "multirun").glob("*/1_controller=rules,seed=-1*/cell.json")
    rep = json.loads(job.read_text())
    assert rep["status"] == "failed" and rep["error"] == "ValueError: seed must be >= 0, got -1"
    assert sorted(p.name for p in out.rglob("*.parquet")) == ["seed0.parquet", "seed1.parquet"]
    md = next((tmp_path / "multirun").glob("*/summary.md")).read_text()
    assert "ValueError: seed must be >= 0, got -1" in md


def test_killed_sweep_resumes_to_the_uninterrupted_tables(tmp_path):
    """SIGKILL a sweep after its first cell, rerun: tables equal an uninterrupted sweep's.

    The rerun reads the finished cells back and computes only the rest; the collected
    tables are byte-identical.
    """
    args = ["hydra/launcher=basic", "controller=rules,hybrid", "seed=0,1"]
    whole = tmp_path / "whole"
    _sweep(tmp_path, whole, *args)
    killed = tmp_path / "killed"
    proc = subprocess.Popen(
        [sys.executable, "-m", "experiments.run", "--multirun", f"select={SID}",
         f"out_dir={killed}", *args], cwd=tmp_path, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL, start_new_session=True, env={**os.environ, "CI": "1"})
    try:
        while not list(killed.rglob("*.parquet")) and proc.poll() is None:
            time.sleep(0.02)  # polls a file, not a clock: the kill follows the first cell
        os.killpg(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    done = sorted(killed.rglob("*.parquet"))
    assert 1 <= len(done) < 4, "the sweep was not stopped midway"
    for f in done:  # never a half-written cell
        assert len(pd.read_parquet(f)) == 1
    stamps = {f: f.stat().st_mtime_ns for f in done}
    rerun = _sweep(tmp_path, killed, *args)
    assert rerun.stdout.count("read back (finished before)") == len(done)
    assert {f: f.stat().st_mtime_ns for f in done} == stamps  # finished cells not rewritten
    pd.testing.assert_frame_equal(_rows(killed), _rows(whole), check_exact=True)
    xcollect.collect([whole], tmp_path / "t_whole")
    xcollect.collect([killed], tmp_path / "t_killed")
    for f in sorted((tmp_path / "t_whole").iterdir()):
        assert f.read_bytes() == (tmp_path / "t_killed" / f.name).read_bytes(), f.name


def test_two_sweeps_started_together_use_disjoint_folders(tmp_path):
    """Two sweeps at once (sharing one cell): two sweep folders, every row of both kept."""
    out = tmp_path / "cells"
    procs = [subprocess.Popen(
        [sys.executable, "-m", "experiments.run", "--multirun", "hydra/launcher=basic",
         f"select={SID}", f"out_dir={out}", "controller=rules", f"seed={seeds}"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "CI": "1"}) for seeds in ("0,1", "1,2")]
    outs = [p.communicate(timeout=900) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [e[-2000:] for _, e in outs]
    folders = sorted((tmp_path / "multirun").iterdir())
    assert len(folders) == 2 and folders[0].name != folders[1].name
    for folder in folders:
        summary = json.loads((folder / "summary.json").read_text())
        assert summary["reported"] == 2 and summary["failed"] == []
    assert sorted(_rows(out).seed) == [0, 1, 2]


def test_a_value_repeated_in_a_sweep_is_two_jobs_not_a_failure(tmp_path):
    """`seed=0,0`: two jobs, two folders (numbered), both reported; one cell."""
    out = tmp_path / "cells"
    _sweep(tmp_path, out, "hydra/launcher=basic", "controller=rules", "seed=0,0")
    (summary,) = _summaries(tmp_path)
    assert summary["reported"] == 2 and summary["counts"] == {"finished": 1, "cached": 1}
    assert len(list(out.rglob("*.parquet"))) == 1


# =========================================================================== collect
def test_collect_refuses_cells_that_disagree(tmp_path):
    """Other code, or two runs under one label, are refused naming the file; nothing written."""
    out = tmp_path / "cells"
    _sweep(tmp_path, out, "hydra/launcher=basic", "controller=rules", "seed=0")
    (cell,) = out.rglob("*.parquet")
    other = tmp_path / "other" / "rules" / "seed0.parquet"
    other.parent.mkdir(parents=True)
    df = pd.read_parquet(cell)
    df.assign(code_fingerprint="0" * 16).to_parquet(other)
    tables = tmp_path / "tables"
    with pytest.raises(xcollect.CollectError, match="made by other code"):
        xcollect.collect([out, tmp_path / "other"], tables)
    df.assign(config_hash="f" * 16).to_parquet(other)
    with pytest.raises(xcollect.CollectError, match="two different runs under one label"):
        xcollect.collect([out, tmp_path / "other"], tables)
    df.assign(config_hash="f" * 16, seed=1).to_parquet(other)  # another setting, seed 1
    with pytest.raises(xcollect.CollectError, match="two different runs under one label"):
        xcollect.collect([out, tmp_path / "other"], tables)
    df.assign(scenario="other_scenario", seed=1).to_parquet(other)
    with pytest.raises(xcollect.CollectError, match="covers other scenarios"):
        xcollect.collect([out, tmp_path / "other"], tables)
    df.drop(columns=["code_fingerprint"]).to_parquet(other)
    with pytest.raises(xcollect.CollectError, match="not a cell"):
        xcollect.collect([tmp_path / "other"], tables)
    assert not tables.exists()
    shutil.copy(cell, other)  # the same cell twice is kept once
    rows, _ = xcollect.collect([out, tmp_path / "other"], tables)
    assert len(rows) == 1
    assert (tables / "safety.md").is_file() and (tables / "cells.csv").is_file()


def test_collect_cli_errors_are_one_line(tmp_path):
    """A missing folder or a folder without cells: exit 2, one line on stderr."""
    for arg, msg in ((tmp_path / "nope", "not a folder"), (tmp_path, "no cell (*.parquet)")):
        proc = subprocess.run([sys.executable, "-m", "experiments.collect", str(arg),
                               "--out", str(tmp_path / "t")], capture_output=True, text=True,
                              timeout=120, check=False)
        assert proc.returncode == 2 and msg in proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "t").exists()


# =========================================================================== launchers
@pytest.fixture
def ray_instance(tmp_path):
    """Start a local Ray instance for the test; stop it after."""
    ray = shutil.which("ray", path=os.path.dirname(sys.executable))
    if ray is None:
        pytest.fail("ray is not installed: pip install -e '.[cluster]'")
    temp = Path("/tmp") / f"ray_{os.getpid()}"  # Ray's socket paths must stay short
    subprocess.run([ray, "start", "--head", "--num-cpus", "2", "--disable-usage-stats",
                    "--include-dashboard", "false", "--temp-dir", str(temp)],
                   check=True, capture_output=True, timeout=300)
    try:
        yield
    finally:
        subprocess.run([ray, "stop", "--force"], capture_output=True, timeout=300,
                       check=False)
        shutil.rmtree(temp, ignore_errors=True)


@pytest.mark.cluster
def test_joblib_submitit_and_ray_sweeps_give_identical_rows(tmp_path, ray_instance):
    """The same sweep through joblib, submitit (local executor) and Ray: identical rows."""
    args = ["controller=rules,hybrid", "seed=0,1"]
    rows = {}
    for name, launcher in (("joblib", "launcher=local"),
                           ("submitit", "hydra/launcher=submitit_local"),
                           ("ray", "launcher=ray")):
        extra = ["hydra.launcher.ray.init.address=auto"] if name == "ray" else []
        _sweep(tmp_path, tmp_path / name, launcher, *extra, *args)
        rows[name] = _rows(tmp_path / name)
    assert len(rows["joblib"]) == 4
    pd.testing.assert_frame_equal(rows["submitit"], rows["joblib"], check_exact=True)
    pd.testing.assert_frame_equal(rows["ray"], rows["joblib"], check_exact=True)
    assert all(s["counts"] == {"finished": 4} for s in _summaries(tmp_path))


def test_a_sensitivity_setting_is_the_cell_of_a_run_with_that_parameter(tmp_path):
    """`run controller.alpha=0.01` (as in a multirun over alpha) is the alpha study's cell."""
    from hydra.core.hydra_config import HydraConfig

    from experiments.run import plan_cell
    from experiments.studies import setting_config, settings

    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        run_cfg = compose("config", overrides=["controller=hybrid", "seed=0",
                                               "controller.alpha=0.01", f"out_dir={tmp_path}"],
                          return_hydra_config=True)
        rep_cfg = compose("reproduce", overrides=[f"raw_dir={tmp_path}",
                                                  f"tables_dir={tmp_path / 't'}"])
    HydraConfig.instance().set_config(run_cfg)
    try:
        cell = plan_cell(run_cfg)
    finally:
        HydraConfig.instance().cfg = None
    (setting,) = [s for s in settings(rep_cfg) if s.study == "alpha" and s.value == "0.01"]
    study_cells = plan(setting_config(rep_cfg, setting))
    (same,) = [c for c in study_cells if c.name == "hybrid[alpha=0.01]" and c.seed == 0]
    assert (cell.path, cell.config_hash, cell.name) == (same.path, same.config_hash, same.name)


def test_summary_counts_jobs_that_never_reported(tmp_path):
    """A job without cell.json (killed, node lost) is a failure in the summary."""
    from experiments.sweep import summarise

    for name, status in (("seed=0", "finished"), ("seed=1", "failed")):
        (tmp_path / name).mkdir()
        rep = {"status": status, "controller": "rules", "seed": int(name[-1]),
               **({"error": "ValueError: boom\nmore"} if status == "failed" else {})}
        (tmp_path / name / "cell.json").write_text(json.dumps(rep))
    table, failed = summarise(tmp_path, expected=3)
    assert list(table.status) == ["finished", "failed"]
    assert failed == ["seed=1", "1 job(s) that never reported"]
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["missing"] == 1 and summary["counts"] == {"finished": 1, "failed": 1}
    md = (tmp_path / "summary.md").read_text()
    assert "| seed=1   | failed   | rules        |      1 |" in md and "more" not in md
