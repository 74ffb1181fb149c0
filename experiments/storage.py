"""Tidy Parquet storage of episode rows, written atomically (DESIGN 5).

Each cell (controller, seed) is one file; it is written to a temporary name and renamed,
so a crash never leaves a half-written file, and a finished cell is never recomputed when
its config hash matches.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import subprocess
from pathlib import Path

import pandas as pd

from experiments.config import REPO_ROOT
from simulator.numba_cache import files_hash, source_files


def config_hash(obj: object) -> str:
    """Stable short hash of a JSON-serialisable config together with the code fingerprint."""
    text = json.dumps({"config": obj, "code": code_fingerprint()}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


#: Modules of ``experiments/`` that cannot change a cell's rows: they aggregate, test or
#: print finished rows (tables, statistics, the paper's claims, benchmarks, collection of
#: sweeps), drive the runs (reproduce, run and its sweep reports), or compose the configs
#: whose resolved values are themselves part of a cell's key. Editing them keeps the
#: finished cells; every other source file counts.
REPORTING_MODULES = frozenset({
    "experiments/bench.py", "experiments/config.py", "experiments/paper_claims.py",
    "experiments/reproduce.py", "experiments/run.py", "experiments/sweep.py",
    "experiments/collect.py",
    "experiments/stats.py", "experiments/studies.py", "experiments/tables.py",
    "experiments/report_tables.py", "experiments/report_headline.py",
    "experiments/report_sensitivity.py", "experiments/report_write.py",
})


@functools.cache
def code_fingerprint() -> str:
    """Hash of the sources that make rows and of the scenario files.

    Part of every cell's key, so that changed code or scenarios never reuse stale results:
    the simulator, the controllers and every experiment module except
    :data:`REPORTING_MODULES`.
    """
    files = [f for f in source_files()
             if f.relative_to(REPO_ROOT).as_posix() not in REPORTING_MODULES]
    return files_hash(files + sorted((REPO_ROOT / "scenarios").rglob("*.yaml")))


def git_commit() -> str:
    """Return the repository's HEAD commit, or ``unknown`` outside a git checkout."""
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True,
                             text=True, timeout=5, check=False)
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def write_rows(rows: list[dict], path: Path) -> None:
    """Write rows to Parquet atomically (temporary file, then rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    pd.DataFrame(rows).to_parquet(tmp, index=False)
    os.replace(tmp, path)


def read_cell(path: Path, chash: str) -> pd.DataFrame | None:
    """Return a finished cell if it exists with the same config hash, else None."""
    if not path.is_file():
        return None
    try:
        df = pd.read_parquet(path)
    except (OSError, ValueError):
        return None
    if "config_hash" not in df or (df["config_hash"] != chash).any():
        return None
    return df
