"""Determinism: same seed and config give bit-identical results in any process layout.

Issue 5 / DESIGN 7: joblib ``n_jobs=1`` and ``n_jobs=2`` agree; fresh processes with
``NUMBA_NUM_THREADS=1`` and ``2`` and a cold Numba cache shared by parallel workers agree.
"""

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from hydra import compose, initialize_config_dir

from experiments.config import CONFIG_DIR, REPO_ROOT
from experiments.reproduce import reproduce

SELECT = "cov_sudden_campaign,corruption_missing_logging,leak_serving_build"
#: Columns that legitimately differ between runs (none of them a result).
META = ["git_commit"]


def _rows(tmp: Path, n_jobs: int) -> pd.DataFrame:
    """Run reproduce with ``n_jobs`` workers into ``tmp`` and return the sorted rows."""
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        cfg = compose(
            "reproduce",
            overrides=[
                f"raw_dir={tmp}/raw",
                f"tables_dir={tmp}/tables",
                "n_seeds=2",
                f"n_jobs={n_jobs}",
                "controllers=[rules,rl,hybrid]",
                f"select='{SELECT}'",
            ],
        )
    df = reproduce(cfg).drop(columns=META)
    return df.sort_values(["controller", "seed", "scenario"]).reset_index(drop=True)


def test_joblib_one_or_two_workers_identical(tmp_path):
    """Reproduce gives identical episode rows with one worker and with two."""
    a = _rows(tmp_path / "a", 1)
    b = _rows(tmp_path / "b", 2)
    assert len(a) == 2 * 3 * 3
    pd.testing.assert_frame_equal(a, b, check_exact=True)


def _fresh_process_rows(tmp: Path, threads: int, cache: Path) -> pd.DataFrame:
    """Run ``experiments.run`` in a fresh process; return its Parquet rows."""
    env = {**os.environ, "NUMBA_NUM_THREADS": str(threads), "NUMBA_CACHE_DIR": str(cache)}
    out = tmp / f"threads{threads}"
    subprocess.run(
        [sys.executable, "-m", "experiments.run", "controller=hybrid", "seed=4",
         f"select='{SELECT}'", f"out_dir={out}", f"hydra.run.dir={tmp}/hydra{threads}"],
        cwd=REPO_ROOT, env=env, check=True, capture_output=True, timeout=300,
    )
    (path,) = out.glob("*.parquet")
    return pd.read_parquet(path).drop(columns=META)


@pytest.mark.slow
def test_fresh_processes_and_thread_counts_identical(tmp_path):
    """Fresh processes with 1 or 2 Numba threads and a cold cache give identical rows."""
    cache = tmp_path / "numba_cache"  # cold: starts empty, shared by both processes
    a = _fresh_process_rows(tmp_path, 1, cache)
    b = _fresh_process_rows(tmp_path, 2, cache)
    pd.testing.assert_frame_equal(a, b, check_exact=True)


@pytest.mark.slow
def test_cold_cache_shared_by_parallel_workers(tmp_path):
    """Two workers starting on an empty shared Numba cache neither crash nor disagree."""
    cache = tmp_path / "cache"
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "experiments.run", "controller=rules", f"seed={k}",
             f"select='{SELECT}'", f"out_dir={tmp_path}/w{i}", f"hydra.run.dir={tmp_path}/h{i}"],
            cwd=REPO_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )
        for i, k in enumerate((0, 0))
    ]
    errs = [p.communicate(timeout=300)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], errs
    a, b = (pd.read_parquet(next((tmp_path / f"w{i}").glob("*.parquet"))) for i in (0, 1))
    pd.testing.assert_frame_equal(a.drop(columns=META), b.drop(columns=META), check_exact=True)
