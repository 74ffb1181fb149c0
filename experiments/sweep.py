"""The report of an ``experiments.run --multirun`` sweep: progress, summary, exit status.

:class:`SweepReport` is a Hydra callback (``hydra.callbacks.sweep_report`` in
``configs/config.yaml``), so it works with any launcher (joblib, SLURM, Ray): it reads the
``cell.json`` each job writes into its own folder (:mod:`experiments.run`), on a file
system the launcher's workers share with the sweep's process.

- While the sweep runs: one progress line (tqdm), quiet when the output is not a terminal
  or ``CI`` is set.
- When it ends: ``summary.md`` and ``summary.json`` in the sweep folder (every cell with
  its status, and the error of each failed one), one line on stderr, and a non-zero exit
  naming the failed cells if any failed or never reported. Finished cells are kept.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from pathlib import Path
from typing import Any

import pandas as pd
from hydra.experimental.callback import Callback
from omegaconf import DictConfig
from tqdm import tqdm


def expected_jobs(config: DictConfig) -> int | None:
    """Return the number of jobs of the sweep (the basic sweeper's expansion) or None."""
    try:
        from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
        from hydra.core.override_parser.overrides_parser import OverridesParser

        parsed = OverridesParser.create().parse_overrides(list(config.hydra.overrides.task))
        return len(BasicSweeper.split_arguments(parsed, None)[0])
    except Exception:  # noqa: BLE001 (another sweeper: progress without a total)
        return None


def job_reports(sweep_dir: Path) -> list[dict]:
    """Return the ``cell.json`` of every job under ``sweep_dir``, sorted by job folder."""
    out = []
    for path in sorted(sweep_dir.rglob("cell.json")):
        try:
            rep = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        rep["folder"] = str(path.parent.relative_to(sweep_dir))
        out.append(rep)
    return out


def summarise(sweep_dir: Path, expected: int | None) -> tuple[pd.DataFrame, list[str]]:
    """Write ``summary.md`` / ``summary.json``; return the table and the failed cells' names.

    A job without a report (killed, or its node lost) counts as failed: ``expected`` minus
    the reports found.
    """
    reps = job_reports(sweep_dir)
    table = pd.DataFrame([{k: r.get(k) for k in ("folder", "status", "controller", "seed",
                                                 "episodes", "error")} for r in reps],
                         columns=["folder", "status", "controller", "seed", "episodes",
                                  "error"])
    failed = [r["folder"] for r in reps if r.get("status") == "failed"]
    missing = max(0, (expected or 0) - len(reps))
    counts = table.status.value_counts().to_dict()
    summary: dict[str, Any] = {"sweep_dir": str(sweep_dir), "expected_jobs": expected,
                               "reported": len(reps), "missing": missing,
                               "counts": counts, "failed": failed,
                               "cells": json.loads(table.to_json(orient="records"))}
    (sweep_dir / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    md = table.assign(error=table.error.fillna("").str.split("\n").str[0],
                      seed=table.seed.astype("Int64")).astype(object)
    md = md.where(md.notna(), "")
    (sweep_dir / "summary.md").write_text(
        f"# Sweep summary\n\n{len(reps)} of {expected if expected is not None else '?'} "
        f"jobs reported: {counts}; {missing} never reported.\n\n"
        + (md.to_markdown(index=False) if len(md) else "(no job reported)") + "\n")
    return table, failed + ([f"{missing} job(s) that never reported"] if missing else [])


class SweepReport(Callback):
    """Hydra callback: a progress line while a sweep runs, a summary and exit status after."""

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __getstate__(self) -> dict:
        """Nothing: launchers pickle the callbacks with each job; the thread stays here."""
        return {}

    def __setstate__(self, state: dict) -> None:
        self.__init__()

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        """Start the progress line (counts the jobs' reports as they appear)."""
        sweep_dir = Path(str(config.hydra.sweep.dir))
        total = expected_jobs(config)
        quiet = bool(os.environ.get("CI"))
        self._stop.clear()
        self._thread = threading.Thread(target=self._watch, args=(sweep_dir, total, quiet),
                                        daemon=True)
        self._thread.start()

    def _watch(self, sweep_dir: Path, total: int | None, quiet: bool) -> None:
        with tqdm(total=total, desc=f"sweep {sweep_dir.name}", unit="cell",
                  disable=True if quiet else None) as bar:
            while True:
                stopping = self._stop.wait(0.5)
                done = sum(1 for _ in sweep_dir.rglob("cell.json")) if sweep_dir.is_dir() else 0
                bar.update(done - bar.n)
                if stopping:
                    return

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        """Write the summary; exit non-zero naming the failed cells, if any."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        sweep_dir = Path(str(config.hydra.sweep.dir))
        sweep_dir.mkdir(parents=True, exist_ok=True)
        table, failed = summarise(sweep_dir, expected_jobs(config))
        counts = table.status.value_counts().to_dict()
        print(f"sweep {sweep_dir}: {counts}; summary in {sweep_dir / 'summary.md'}",
              file=sys.stderr)
        if failed:
            raise SystemExit(f"error: {len(failed)} cell(s) failed: {', '.join(failed)}; "
                             f"errors in {sweep_dir / 'summary.md'} and each job's cell.json")
