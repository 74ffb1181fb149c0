"""``python -m experiments.reproduce``: regenerate the main results table from real runs.

Runs every controller of ``controllers`` for ``n_seeds`` run seeds over the scenario set
(joblib, ``n_jobs`` processes), stores one Parquet file per (controller, seed) under
``raw_dir`` (resumable: a finished cell with the same config hash is read back, not
recomputed), and writes ``main_results.md`` / ``.csv`` under ``tables_dir``.

Examples
--------
python -m experiments.reproduce                 # quick default: 5 seeds
python -m experiments.reproduce n_seeds=100 n_jobs=2
python -m experiments.reproduce controllers='[rules,hybrid]' select='cov_*'
"""

from __future__ import annotations

from pathlib import Path

import hydra
import pandas as pd
from hydra.utils import instantiate, to_absolute_path
from joblib import Parallel, delayed
from omegaconf import DictConfig
from tqdm import tqdm

from experiments.config import ReproduceConfig, controller_config, register
from experiments.episode import run_controller
from experiments.storage import config_hash, git_commit, read_cell, write_rows
from experiments.tables import action_mix, main_results, main_results_markdown
from simulator.scenarios import load_scenarios

register()


def _cell(name: str, ctrl_cfg: dict, seed: int, set_name: str, select: str | None,
          path: Path, chash: str, commit: str) -> pd.DataFrame:
    cached = read_cell(path, chash)
    if cached is not None:
        return cached
    scenarios = load_scenarios(set_name, select)
    controller = instantiate(ctrl_cfg, seed=seed)
    rows = run_controller(controller, scenarios, seed)
    for r in rows:
        r.update(controller=name, config_hash=chash, git_commit=commit)
    write_rows(rows, path)
    return pd.DataFrame(rows)


def reproduce(cfg: DictConfig) -> pd.DataFrame:
    """Run (or read back) every cell and return all episode rows."""
    if cfg.n_seeds < 1:
        raise ValueError(f"n_seeds must be >= 1, got {cfg.n_seeds}")
    if cfg.first_seed < 0:
        raise ValueError(f"first_seed must be >= 0, got {cfg.first_seed}")
    if not cfg.controllers:
        raise ValueError("controllers must name at least one config of configs/controller/")
    load_scenarios(cfg.scenario_set.name, cfg.select)  # fail early on bad scenarios
    raw = Path(to_absolute_path(cfg.raw_dir))
    commit = git_commit()
    jobs = []
    for name in cfg.controllers:
        ctrl_cfg = controller_config(name)
        chash = config_hash({"controller": ctrl_cfg, "set": cfg.scenario_set.name,
                             "select": cfg.select})
        for seed in range(cfg.first_seed, cfg.first_seed + cfg.n_seeds):
            path = raw / cfg.scenario_set.name / name / f"seed{seed}.parquet"
            jobs.append((name, ctrl_cfg, seed, cfg.scenario_set.name, cfg.select, path, chash,
                         commit))
    # Compile (or load) the kernels once here so that workers start from a warm cache.
    _cell(*jobs[0])
    frames = Parallel(n_jobs=cfg.n_jobs, return_as="generator")(
        delayed(_cell)(*j) for j in jobs
    )
    parts = list(tqdm(frames, total=len(jobs), desc="cells (controller x seed)"))
    return pd.concat(parts, ignore_index=True)


def table_stem(cfg: DictConfig) -> str:
    """Return the tables' file stem.

    ``main_results`` for the full default comparison, else a name with the config hash, so
    that a subset run never overwrites the main table.
    """
    default = ReproduceConfig()
    full = (cfg.select is None and list(cfg.controllers) == default.controllers
            and cfg.scenario_set.name == "paper43")
    if full:
        return "main_results"
    key = config_hash({"set": cfg.scenario_set.name, "select": cfg.select,
                       "controllers": list(cfg.controllers)})
    return f"main_results_{key[:8]}"


@hydra.main(version_base="1.3", config_path="../configs", config_name="reproduce")
def main(cfg: DictConfig) -> None:
    """Hydra entry point: run, aggregate, print and write the tables."""
    try:
        df = reproduce(cfg)
    except ValueError as err:  # ScenarioError is a ValueError
        raise SystemExit(f"error: {err}") from None
    tab = main_results(df)
    md = main_results_markdown(tab)
    mix = action_mix(df)
    out = Path(to_absolute_path(cfg.tables_dir))
    out.mkdir(parents=True, exist_ok=True)
    stem = table_stem(cfg)
    tab.to_csv(out / f"{stem}.csv", index=False)
    (out / f"{stem}.md").write_text(
        f"# Main results ({cfg.n_seeds} seeds x {df.scenario.nunique()} scenarios, "
        f"set `{cfg.scenario_set.name}`)\n\n" + md
    )
    mix.to_csv(out / f"{stem.replace('main_results', 'action_mix')}.csv", index=False)
    print(md)
    print("Action mix (% of fallback / rollback / retrain actions):")
    print(mix.to_string(index=False))
    print(f"\nwrote {out / stem}.md and .csv ({len(df)} episode rows)")


if __name__ == "__main__":
    main()
