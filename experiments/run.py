"""``python -m experiments.run``: one cell, a controller through a seeded run of a scenario set.

A run is one cell (:mod:`experiments.cells`): its rows are stored under ``out_dir`` at the
same path and key as ``reproduce`` gives the same run (default ``results/raw/reproduce``,
so a later ``reproduce`` reads a sweep's cells back), and a finished cell is read back, not
recomputed: a sweep that was stopped resumes where it stopped.

Under ``--multirun`` every job writes ``cell.json`` (status ``finished``, ``cached`` or
``failed``, with the error) into its own folder, and the sweep's report
(:mod:`experiments.sweep`) writes ``summary.md`` / ``summary.json`` into the sweep folder,
shows one progress line per sweep, and exits non-zero naming the failed cells; the other
cells are kept. ``launcher=local|slurm|ray`` chooses where the jobs run (docs/cluster.md).

Examples
--------
python -m experiments.run controller=hybrid seed=3
python -m experiments.run controller=rules select='cov_*'
python -m experiments.run --multirun controller=rules,rl,bandit,hybrid seed='range(5)'
python -m experiments.run --multirun launcher=slurm controller=hybrid seed='range(100)' \
    regret=true
"""

from __future__ import annotations

import json
import logging
import os
import sys
import traceback
from pathlib import Path

import hydra
import pandas as pd
from hydra.utils import instantiate, to_absolute_path
from omegaconf import DictConfig, OmegaConf

from experiments.cells import Cell, label_rows, make_cell, run_cells
from experiments.config import register, scenario_overrides, scenario_source
from experiments.episode import run_controller
from experiments.fast import has_fast_path, run_controller_fast
from experiments.storage import git_commit, read_cell

register()
log = logging.getLogger(__name__)

ACTION_SETS = ("auto", "paper", "extended")


def _hydra_config():
    """Return the running app's Hydra config, or None outside a Hydra app."""
    from hydra.core.hydra_config import HydraConfig

    return HydraConfig.get() if HydraConfig.initialized() else None


def _config_name(default: str) -> str:
    """Name of the chosen ``controller`` config (e.g. ``hybrid_no_shield``) under Hydra."""
    hc = _hydra_config()
    return (hc.runtime.choices.get("controller") if hc else None) or default


def _controller_overrides(ctrl_cfg: dict) -> dict:
    """Parameters given on the command line (``controller.<key>=...``), resolved values."""
    hc = _hydra_config()
    if hc is None:
        return {}
    keys = []
    for ov in hc.overrides.task:
        key = ov.split("=", 1)[0].lstrip("+~")
        if key.startswith("controller.") and key.count(".") >= 1:
            keys.append(key.split(".")[1])
    return {k: ctrl_cfg[k] for k in sorted(set(keys)) if k in ctrl_cfg}


def plan_cell(cfg: DictConfig) -> Cell:
    """Check the run's settings and return its cell (nothing is run or written).

    Raises
    ------
    ValueError
        Naming the setting that is wrong (ScenarioError, a ValueError, for scenarios).
    """
    chosen = _config_name("")
    if chosen.endswith("_schema"):
        raise ValueError(f"controller={chosen} is the parameter schema of "
                         f"controller={chosen.removesuffix('_schema')}, not a controller "
                         "config; choose one of configs/controller/*.yaml")
    if int(cfg.seed) < 0:
        raise ValueError(f"seed must be >= 0, got {cfg.seed}")
    if cfg.action_set not in ACTION_SETS:
        raise ValueError(f"action_set must be one of {list(ACTION_SETS)}, got "
                         f"{cfg.action_set!r}")
    scen_ov = scenario_overrides(cfg)
    source = scenario_source(cfg)
    source.load(cfg.select, scen_ov)  # validate the scenarios before anything runs
    ctrl_cfg = OmegaConf.to_container(cfg.controller, resolve=True)
    try:
        controller = instantiate(cfg.controller, seed=int(cfg.seed))
    except Exception as err:  # noqa: BLE001 (any constructor error, reported with its key)
        cause = err.__cause__ if err.__cause__ is not None else err
        raise ValueError(f"controller={_config_name(ctrl_cfg.get('_target_', '?'))}: "
                         f"{cause}") from None
    base = _config_name(controller.name)
    return make_cell(base, ctrl_cfg, _controller_overrides(ctrl_cfg), int(cfg.seed), source,
                     cfg.select, scen_ov, bool(cfg.regret),
                     Path(to_absolute_path(cfg.out_dir)), git_commit(), cfg.action_set)


def run(cfg: DictConfig) -> list[dict]:
    """Run the configured cell and return its rows, labelled; nothing is read or written.

    Rows are labelled with the controller *config* name (and the parameters given on the
    command line), so ablations of one class (``hybrid_no_shield``, ...) stay apart, as in
    ``reproduce``.
    """
    cell = plan_cell(cfg)
    scenarios = cell.source.load(cell.select, cell.scenario_overrides)
    controller = instantiate(cell.controller, seed=cell.seed)
    play = run_controller_fast if has_fast_path(controller) else run_controller
    return label_rows(cell, play(controller, scenarios, cell.seed, cell.action_set,
                                 regret=cell.regret))


def _job_report(status: dict) -> None:
    """Write ``cell.json`` into the job's folder atomically (read by the sweep's report)."""
    hc = _hydra_config()
    if hc is None:
        return
    folder = Path(hc.runtime.output_dir)
    folder.mkdir(parents=True, exist_ok=True)
    status = {"job": hc.job.override_dirname or hc.job.name, **status}
    tmp = folder / f".cell.json.{os.getpid()}"
    tmp.write_text(json.dumps(status, indent=1, default=str) + "\n")
    os.replace(tmp, folder / "cell.json")


def _multirun() -> bool:
    from hydra.types import RunMode

    hc = _hydra_config()
    return hc is not None and hc.mode == RunMode.MULTIRUN


@hydra.main(version_base="1.3", config_path="../configs", config_name="config")
def main(cfg: DictConfig) -> None:
    """Hydra entry point: run (or read back) the cell, print a one-line summary per episode."""
    cell = None
    try:
        cell = plan_cell(cfg)
        cached = read_cell(cell.path, cell.config_hash) is not None
        df = run_cells([cell])[0]
    except KeyboardInterrupt:
        print("\ninterrupted: finished cells are kept under out_dir", file=sys.stderr)
        raise SystemExit(130) from None
    except Exception as err:  # noqa: BLE001 (a sweep reports every failed cell and goes on)
        if not _multirun():
            if isinstance(err, ValueError):  # ScenarioError is a ValueError
                raise SystemExit(f"error: {err}") from None
            if isinstance(err, OSError):
                raise SystemExit(f"error: cannot write under out_dir={cfg.out_dir}: "
                                 f"{err}") from None
            raise
        _job_report({"status": "failed", "error": f"{type(err).__name__}: {err}",
                     "traceback": traceback.format_exc(),
                     **({"controller": cell.name, "seed": cell.seed,
                         "config_hash": cell.config_hash} if cell else {})})
        print(f"error: {err}", file=sys.stderr)
        return
    _job_report({"status": "cached" if cached else "finished", "controller": cell.name,
                 "seed": cell.seed, "config_hash": cell.config_hash, "path": str(cell.path),
                 "episodes": len(df)})
    _print_rows(df, cell, cached)


def _print_rows(df: pd.DataFrame, cell: Cell, cached: bool) -> None:
    """Log one line per episode, then where the cell is (stdout and the job's run.log)."""
    for r in df.itertuples():
        log.info(f"{r.scenario:<36} cat={int(r.catastrophic)} "
                 f"viol={int(r.safety_violation)} sla={r.sla_compliance:.3f} "
                 f"cost=${r.cost_usd:.0f} actions={int(r.n_actions_taken)}")
    verb = "read back (finished before)" if cached else "wrote"
    log.info(f"{verb} {len(df)} episode rows: {cell.path}")


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:  # in a sweep's launcher, between or around its jobs
        print("\ninterrupted: finished cells are kept under out_dir (no sweep summary); "
              "run the same command again to resume", file=sys.stderr)
        raise SystemExit(130) from None
