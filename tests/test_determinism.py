"""Determinism: same seed and config give bit-identical results in any process layout.

Issue 5 / DESIGN 7: joblib ``n_jobs=1`` and ``n_jobs=2`` agree; two fresh processes started
together, one with ``NUMBA_NUM_THREADS=1`` and one with ``2``, agree; processes compiling
into one empty Numba cache at once agree, and so does a later one loading it.
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
                "controllers=[rl,hybrid]",
                f"select='{SELECT}'",
                "regret=false",
            ],
        )
    df = reproduce(cfg).drop(columns=META)
    return df.sort_values(["controller", "seed", "scenario"]).reset_index(drop=True)


def test_joblib_one_or_two_workers_identical(tmp_path):
    """Reproduce gives identical episode rows with one worker and with two."""
    a = _rows(tmp_path / "a", 1)
    b = _rows(tmp_path / "b", 2)
    assert len(a) == 2 * 2 * 3
    pd.testing.assert_frame_equal(a, b, check_exact=True)


def _popen(args: list[str], env: dict) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, *args], cwd=REPO_ROOT, env={**os.environ, **env},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _finish(procs: list[subprocess.Popen]) -> list[str]:
    outs = [p.communicate(timeout=600) for p in procs]
    assert [p.returncode for p in procs] == [0] * len(procs), [e for _, e in outs]
    return [o for o, _ in outs]


@pytest.mark.slow
def test_fresh_processes_with_one_or_two_threads_identical(tmp_path):
    """Two fresh processes at once, with 1 and 2 Numba threads, give identical rows.

    They use the repository's Numba cache (warm when other tests compiled the hybrid),
    so they also load and write one cache at the same time.
    """
    _finish([
        _popen(["-m", "experiments.run", "controller=hybrid", "seed=4", f"select='{SELECT}'",
                f"out_dir={tmp_path}/w{threads}", f"hydra.run.dir={tmp_path}/h{threads}"],
               {"NUMBA_NUM_THREADS": str(threads)})
        for threads in (1, 2)
    ])
    a, b = (pd.read_parquet(next((tmp_path / f"w{t}").rglob("*.parquet"))) for t in (1, 2))
    assert len(a) == 3
    pd.testing.assert_frame_equal(a.drop(columns=META), b.drop(columns=META), check_exact=True)


#: Compiles and runs cached kernels of three modules (Poisson and normal draws, the KS
#: statistic on sorted blocks), printing their results.
_KERNELS = """
import numpy as np
from simulator import numba_cache
from simulator.rng import normal, poisson, seed_stream
from simulator.stats import ks_statistic, sort_block
rs = np.zeros(1, np.uint64)
seed_stream(rs, 7, 3, 6)
a = np.array([normal(rs) for _ in range(200)])
b = np.array([normal(rs) + 0.3 for _ in range(300)])
sort_block(a)
sort_block(b)
print(repr([poisson(rs, 3000.0) for _ in range(5)]), repr(ks_statistic(a, b)))
print(numba_cache.CACHE_DIR)
"""


def test_cold_cache_shared_by_parallel_workers(tmp_path):
    """Two processes compiling into one empty Numba cache at once neither crash nor disagree.

    A third process then loads what they wrote and agrees too. (Kernels of three modules
    stand in for the whole simulator, whose cold compile takes minutes.)
    """
    env = {"NUMBA_CACHE_DIR": str(tmp_path / "cache")}
    first = _finish([_popen(["-c", _KERNELS], env) for _ in range(2)])
    index = list((tmp_path / "cache").rglob("*.nbi"))
    assert len(index) >= 5  # the kernels were cached
    stamps = {p: p.stat().st_mtime_ns for p in index}
    (again,) = _finish([_popen(["-c", _KERNELS], env)])
    assert first[0] == first[1] == again
    assert {p: p.stat().st_mtime_ns for p in index} == stamps  # loaded, not rewritten
