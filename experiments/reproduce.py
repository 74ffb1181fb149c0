"""``python -m experiments.reproduce``: the paper's tables and figures from real runs.

Plans every cell the asked tables need (:mod:`experiments.studies`: the main comparison,
the ablations, the sensitivity studies), runs them in one joblib pass (``n_jobs``
processes) as cells (:mod:`experiments.cells`: one Parquet file per controller config,
setting and seed under ``raw_dir``; a finished cell with the same key is read back, not
recomputed, including cells made by a sweep of ``experiments.run``), and writes the
tables under ``tables_dir`` and the figures under ``figures_dir``.

With ``regret=true`` (both presets) every decision's regret against the oracle is recorded
(forked simulations, docs/regret.md), the oracle is run too, and regret cells are stored
as ``seed<k>_regret.parquet`` with the per-decision records beside them.

Examples
--------
python -m experiments.reproduce                 # quick preset: 2 seeds, results/quick/
python -m experiments.reproduce studies=true    # + the ablation and sensitivity studies
python -m experiments.reproduce preset=paper    # the committed tables (100 seeds)
python -m experiments.reproduce controllers='[rules,hybrid]' select='cov_*'
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import json
import os
import sys
from pathlib import Path

import hydra
import pandas as pd
from hydra.utils import instantiate, to_absolute_path
from joblib import Parallel, delayed
from omegaconf import DictConfig, OmegaConf, open_dict

from experiments.cells import Cell, label, make_cell, run_plans
from experiments.config import (
    ReproduceConfig,
    controller_config,
    register,
    scenario_overrides,
    scenario_source,
)
from experiments.detector_quality import detector_markdown, detector_rows, detector_table
from experiments.report_write import cell_digests, write_report
from experiments.storage import config_hash, git_commit
from experiments.studies import main_controllers, setting_config, settings, tag, wanted_tables
from experiments.tables import main_results, main_results_markdown

register()


def run_names(cfg: DictConfig) -> list[str]:
    """Return the controllers to run: ``controllers``, plus the oracle with regret on."""
    names = list(cfg.controllers)
    if cfg.regret and "oracle" not in names:
        names.append("oracle")
    return names


def reproduce(cfg: DictConfig) -> pd.DataFrame:
    """Run (or read back) every cell and return all episode rows."""
    return run_jobs(plan(cfg), cfg.n_jobs)


def plan(cfg: DictConfig) -> list[Cell]:
    """Check every setting of a reproduction and return its cells, one per (controller, seed).

    Nothing is run; the raw and tables folders are created once all settings are valid.

    Raises
    ------
    ValueError
        Naming the setting that is wrong (ScenarioError, a ValueError, for scenarios).
    """
    if cfg.n_seeds < 1:
        raise ValueError(f"n_seeds must be >= 1, got {cfg.n_seeds}")
    if cfg.first_seed < 0:
        raise ValueError(f"first_seed must be >= 0, got {cfg.first_seed}")
    if not cfg.controllers:
        raise ValueError("controllers must name at least one config of configs/controller/")
    dup = sorted({n for n in cfg.controllers if list(cfg.controllers).count(n) > 1})
    if dup:
        raise ValueError(f"controllers lists {dup} more than once: each is run once")
    if cfg.n_jobs == 0 or cfg.n_jobs < -os.cpu_count():
        raise ValueError(f"n_jobs must be >= 1 (or -1 for all cores), got {cfg.n_jobs}")
    scen_ov = scenario_overrides(cfg)
    source = scenario_source(cfg)
    _check_scenarios(source, cfg.select, json.dumps(scen_ov, sort_keys=True))  # fail early
    regret = bool(cfg.regret)
    overrides = _overrides(cfg)
    stray = sorted(set(overrides) - set(run_names(cfg)))
    if stray:
        raise ValueError(f"overrides name controllers that are not run: {stray}; "
                         f"controllers are {list(run_names(cfg))}")
    controllers = []
    for base in run_names(cfg):
        extra = overrides.get(base) or {}
        node = controller_config(base, extra)  # Hydra's schema checks types and keys
        ctrl_cfg = OmegaConf.to_container(node, resolve=True)
        try:  # fail early, naming the setting, rather than in a worker after other cells
            instantiate(node, seed=cfg.first_seed)
        except Exception as err:  # noqa: BLE001 (any constructor error, reported with its key)
            cause = err.__cause__ if err.__cause__ is not None else err
            where = f"overrides.{base}" if extra else f"configs/controller/{base}.yaml"
            raise ValueError(f"{where}: {cause}") from None
        controllers.append((base, ctrl_cfg, extra))
    # the folders only once every setting is known to be valid: a refused run leaves none
    raw, _ = _writable_dirs({"raw_dir": cfg.raw_dir, "tables_dir": cfg.tables_dir})
    commit = git_commit()
    return [make_cell(base, ctrl_cfg, extra, seed, source, cfg.select, scen_ov, regret, raw,
                      commit)
            for base, ctrl_cfg, extra in controllers
            for seed in range(cfg.first_seed, cfg.first_seed + cfg.n_seeds)]


@functools.lru_cache(maxsize=64)
def _check_scenarios(source, select: str | None, overrides: str) -> None:
    """Load (validate) a scenario selection once per process; raise as the loader does."""
    source.load(select, json.loads(overrides))


def run_jobs(jobs: list[Cell], n_jobs: int) -> pd.DataFrame:
    """Run (or read back) the cells of :func:`plan` and return their rows."""
    return run_plans([jobs], n_jobs)[0]


def _writable_dirs(settings: dict, create: bool = True) -> list[Path]:
    """Create the folders of ``settings`` ({setting: folder}) once all of them can be.

    Each folder must exist and be writable, or its nearest existing ancestor must be a
    writable folder; only then are they created (unless ``create`` is False: checked
    only), so that a refused run leaves none.

    Raises
    ------
    ValueError
        Naming the setting whose folder is not writable or cannot be created.
    """
    paths = {}
    for setting, value in settings.items():
        path = Path(to_absolute_path(value))
        probe = path
        while not probe.exists() and probe != probe.parent:
            probe = probe.parent
        if not probe.is_dir():
            raise ValueError(f"{setting}={value}: cannot create the folder ({probe} is a file)")
        if not os.access(probe, os.W_OK):
            raise ValueError(f"{setting}={value}: the folder is not writable")
        paths[setting] = path
    for setting, path in paths.items() if create else ():
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise ValueError(f"{setting}={settings[setting]}: cannot create the folder "
                             f"({err.strerror})") from None
    return list(paths.values())


def _overrides(cfg: DictConfig) -> dict:
    """Return the ``overrides`` mapping as plain dicts ({} when absent)."""
    ov = cfg.get("overrides")
    ov = OmegaConf.to_container(ov, resolve=True) if ov else {}
    if not isinstance(ov, dict):
        raise ValueError(f"overrides must map controller names to parameters, got {ov!r}")
    for name, extra in ov.items():
        if extra is not None and not isinstance(extra, dict):
            raise ValueError(f"overrides.{name} must map parameter names to values "
                             f"(e.g. +overrides.{name}.cooldown=5), got {extra!r}")
    return ov


def _labels(cfg: DictConfig) -> list[str]:
    """Row labels of the configured controllers."""
    ov = _overrides(cfg)
    return [label(n, ov.get(n) or {}) for n in cfg.controllers]


def table_stem(cfg: DictConfig) -> str:
    """Return the tables' file stem.

    ``main_results`` for the full default comparison (every default controller, all paper43
    scenarios, no overrides, seeds 0 .. n_seeds - 1 with at least the preset's n_seeds),
    else a name with the config hash, so that a partial run never overwrites the main table.
    Every other table takes the same suffix (:func:`table_suffix`).
    """
    default = ReproduceConfig()
    preset_seeds = (cfg.get("preset") or {}).get("n_seeds", default.preset.n_seeds)
    full = (cfg.select is None and list(cfg.controllers) == default.controllers
            and cfg.scenario_set.name == "paper43" and not cfg.get("overrides")
            and not scenario_overrides(cfg) and not cfg.get("scenario_dirs")
            and cfg.first_seed == 0 and cfg.n_seeds >= preset_seeds)
    if full:
        return "main_results"
    key = config_hash({"set": scenario_source(cfg).label, "select": cfg.select,
                       "controllers": list(cfg.controllers),
                       "overrides": _overrides(cfg), "n_seeds": cfg.n_seeds,
                       **({"scenario_overrides": scenario_overrides(cfg)}
                          if scenario_overrides(cfg) else {}),
                       "first_seed": cfg.first_seed})
    return f"main_results_{key[:8]}"


def _write_detector_table(cfg: DictConfig, out: Path, stem: str) -> None:
    """Write the detector-quality table on the run's no_op episodes (same seeds, set)."""
    source = scenario_source(cfg)
    scenarios = source.load(cfg.select, scenario_overrides(cfg))
    seeds = list(range(cfg.first_seed, cfg.first_seed + cfg.n_seeds))
    chunks = [seeds[i::max(1, abs(cfg.n_jobs))] for i in range(max(1, abs(cfg.n_jobs)))]
    parts = Parallel(n_jobs=cfg.n_jobs)(delayed(detector_rows)(scenarios, c)
                                        for c in chunks if c)
    rows = pd.concat(parts, ignore_index=True).sort_values(["seed"], kind="stable")
    table = detector_table(rows.reset_index(drop=True))
    dstem = stem.replace("main_results", "detectors")
    table.to_csv(out / f"{dstem}.csv", index=False)
    md = detector_markdown(table, cfg.n_seeds)
    (out / f"{dstem}.md").write_text(
        f"# Detector quality ({cfg.n_seeds} seeds x {len(scenarios)} scenarios, "
        f"set `{source.label}`)\n\n" + md)
    print(f"wrote {out / dstem}.md and .csv")


def table_suffix(cfg: DictConfig) -> str:
    """``""`` for the preset's full run, else ``_<hash>`` (as :func:`table_stem`)."""
    return table_stem(cfg).removeprefix("main_results")


def _write_main_table(cfg: DictConfig, df: pd.DataFrame, out: Path, stem: str) -> None:
    """Write ``main_results`` (the compact table of every main metric) and print it."""
    tab = main_results(df)
    md = main_results_markdown(tab)
    tab.to_csv(out / f"{stem}.csv", index=False)
    (out / f"{stem}.md").write_text(
        f"# Main results ({df.seed.nunique()} seeds x {df.scenario.nunique()} scenarios, "
        f"set `{scenario_source(cfg).label}`, preset {cfg.preset.name})\n\n" + md)
    print(md)
    print(f"wrote {out / stem}.md and .csv ({len(df)} episode rows)")


@hydra.main(version_base="1.3", config_path="../configs", config_name="reproduce")
def main(cfg: DictConfig) -> None:
    """Hydra entry point: plan every study, run them together, write tables and figures."""
    try:
        stray = sorted(set(cfg) - {f.name for f in dataclasses.fields(ReproduceConfig)}
                       - {"hydra"})
        if stray:  # a +key=value Hydra added beside the schema: a typo, never a setting
            raise ValueError(f"unknown setting(s) {stray}; `python -m experiments.reproduce "
                             f"--help` lists the settings")
        tables = wanted_tables(cfg, full=not table_suffix(cfg))
        if "learning" in tables and not cfg.regret and "all" not in cfg.tables:
            raise ValueError("tables=[learning] needs regret=true (the learning table is "
                             "made of regret against the oracle)")
        if "detectors" in tables and not cfg.detectors and "all" not in cfg.tables:
            raise ValueError("tables=[detectors] contradicts detectors=false")
        if cfg.sensitivity_seeds < 1:
            raise ValueError(f"sensitivity_seeds must be >= 1, got {cfg.sensitivity_seeds}")
        main_cfg = copy.deepcopy(cfg)
        with open_dict(main_cfg):
            main_cfg.controllers = main_controllers(cfg, tables)
        sens = settings(cfg) if "sensitivity" in tables else []
        if cfg.figures_dir is not None:  # checked first, created only when figures are drawn
            _writable_dirs({"figures_dir": cfg.figures_dir}, create=False)
        plans = [plan(main_cfg)] + [plan(setting_config(cfg, s)) for s in sens]
        frames = run_plans(plans, cfg.n_jobs)
    except ValueError as err:  # ScenarioError is a ValueError
        raise SystemExit(f"error: {err}") from None
    except KeyboardInterrupt:
        print("\ninterrupted: finished cells are kept under raw_dir; run again to resume",
              file=sys.stderr)
        raise SystemExit(130) from None
    df = frames[0]
    sens_df = (pd.concat([tag(f, s) for f, s in zip(frames[1:], sens, strict=True)],
                         ignore_index=True) if sens else None)
    out = Path(to_absolute_path(cfg.tables_dir))
    out.mkdir(parents=True, exist_ok=True)
    stem, suffix = table_stem(cfg), table_suffix(cfg)
    labels = _labels(cfg)
    if "main" in tables:
        _write_main_table(cfg, df[df.controller.isin(labels)], out, stem)
    if "detectors" in tables and cfg.detectors:  # detectors=false: the old switch, kept
        _write_detector_table(cfg, out, stem)
    cells = out / f"cells{suffix}.csv"  # the digests the golden test checks
    cell_digests(df).to_csv(cells, index=False, lineterminator="\n")
    print(f"wrote {cells}")
    written = write_report(out, suffix, cfg.preset.name, df, labels,
                           [a for a in cfg.ablations if a in set(df.controller)], tables,
                           sens_df)
    for path in written:
        print(f"wrote {path}")
    if cfg.figures_dir is not None and not suffix:
        from paper_figures.results_figures import write_figures

        write_figures(out, Path(to_absolute_path(cfg.figures_dir)))


if __name__ == "__main__":
    main()
