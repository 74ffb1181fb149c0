"""Determinism: same seed and config give bit-identical results in any process layout.

Issue 5 / DESIGN 7: joblib ``n_jobs=1`` and ``n_jobs=2`` agree; two fresh processes
started together on a cold Numba cache they share, one with ``NUMBA_NUM_THREADS=1`` and one
with ``2``, agree.
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


@pytest.mark.slow
def test_cold_cache_parallel_workers_and_thread_counts_identical(tmp_path):
    """Two fresh processes at once, on an empty shared Numba cache, with 1 and 2 Numba threads.

    One cold compile covers three claims: parallel workers starting on an empty cache
    neither crash nor corrupt it, fresh processes agree with each other, and the Numba
    thread count does not change a result.
    """
    cache = tmp_path / "cache"  # cold: starts empty, shared by both processes
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "experiments.run", "controller=hybrid", "seed=4",
             f"select='{SELECT}'", f"out_dir={tmp_path}/w{threads}",
             f"hydra.run.dir={tmp_path}/h{threads}"],
            cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            env={**os.environ, "NUMBA_CACHE_DIR": str(cache),
                 "NUMBA_NUM_THREADS": str(threads)},
        )
        for threads in (1, 2)
    ]
    errs = [p.communicate(timeout=600)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], errs
    a, b = (pd.read_parquet(next((tmp_path / f"w{t}").glob("*.parquet"))) for t in (1, 2))
    assert len(a) == 3
    pd.testing.assert_frame_equal(a.drop(columns=META), b.drop(columns=META), check_exact=True)
