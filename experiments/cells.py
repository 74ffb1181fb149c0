"""Cells: one controller config through one seeded run, stored, keyed and resumed.

A cell is the unit of every experiment (``reproduce``, a sweep of ``experiments.run``): one
controller config (with any parameter overrides) through the seeded order of a scenario
set, with one run seed. Its rows are one Parquet file under the raw folder, at a path made
of the scenario set, the controller config and its settings, and the seed::

    <raw_dir>/<set>/<controller>[_<overrides hash>][_select<hash>][_scenario<hash>]
        [_actions-<set>]/seed<k>[_regret].parquet

and its key (``config_hash``) is a hash of the resolved controller config, the scenario
set, selection and overrides, regret recording and the action set, together with the code
fingerprint (:func:`experiments.storage.code_fingerprint`). A finished cell whose stored
key matches is read back, never recomputed, so any run that plans the same cell (a
reproduction, a sweep on a cluster) resumes from it. Files are written atomically
(temporary name, then rename): a killed run leaves finished cells and no half-written one.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from hydra.utils import instantiate
from joblib import Parallel, delayed
from tqdm import tqdm

from experiments.episode import run_controller
from experiments.fast import has_fast_path, run_controllers_fast
from experiments.storage import code_fingerprint, config_hash, read_cell, write_rows


@dataclass(frozen=True)
class Cell:
    """One (controller config, seed) run over a scenario set.

    Attributes
    ----------
    name : str
        Row label: the config name with its overrides, e.g. ``hybrid[alpha=0.01]``.
    controller : dict
        Resolved controller config (``_target_`` and parameters).
    seed : int
        Run seed (>= 0).
    source : ScenarioSource
        Where the scenarios come from (:func:`experiments.config.scenario_source`).
    select : str or None
        Scenario ids or globs, comma-separated; None for all.
    scenario_overrides : dict
        Settings applied to every scenario.
    path : Path
        The cell's Parquet file.
    config_hash : str
        The cell's key (16 hex digits).
    commit : str
        Git commit recorded in the rows (provenance).
    regret : bool
        Record regret against the oracle at every decision (docs/regret.md).
    action_set : str
        ``auto``, ``paper`` or ``extended``.
    """

    name: str
    controller: dict = field(hash=False)
    seed: int
    source: Any
    select: str | None
    scenario_overrides: dict = field(hash=False)
    path: Path
    config_hash: str
    commit: str
    regret: bool
    action_set: str = "auto"

    @property
    def group(self) -> tuple:
        """Cells with equal groups meet the same episodes (one job plays them together)."""
        return (self.seed, self.source.label, json.dumps(self.select),
                json.dumps(self.scenario_overrides, sort_keys=True), self.regret,
                self.action_set)


def make_cell(base: str, controller: dict, extra: dict, seed: int, source, select: str | None,
              scenario_overrides: dict, regret: bool, raw: Path, commit: str,
              action_set: str = "auto") -> Cell:
    """Return the cell of a controller config ``base`` with parameter overrides ``extra``.

    ``controller`` is the resolved config (the config with ``extra`` applied); the path and
    key follow the module docstring, so any entry point that plans the same run finds the
    same file.
    """
    key: dict = {"controller": controller, "set": source.label, "select": select}
    if scenario_overrides:
        key["scenario_overrides"] = scenario_overrides
    if regret:
        key["regret"] = True
    if action_set != "auto":
        key["action_set"] = action_set
    folder = base if not extra else f"{base}_{config_hash(extra)[:8]}"
    if select is not None:  # a subset run keeps its own cells
        folder += f"_select{config_hash(select)[:8]}"
    if scenario_overrides:  # so does a run with other scenario settings
        folder += f"_scenario{config_hash(scenario_overrides)[:8]}"
    if action_set != "auto":
        folder += f"_actions-{action_set}"
    path = raw / source.label / folder / f"seed{seed}{'_regret' if regret else ''}.parquet"
    return Cell(label(base, extra), controller, seed, source, select, scenario_overrides,
                path, config_hash(key), commit, regret, action_set)


def label(name: str, extra: dict) -> str:
    """Row label of a controller config with overrides, e.g. ``rules[cooldown=5]``."""
    return name + "".join(f"[{k}={v}]" for k, v in sorted(extra.items()))


def decisions_path(cell: Path) -> Path:
    """Path of the per-decision regret records stored beside a regret cell."""
    return cell.with_name(cell.name.replace("_regret.parquet", "_decisions.parquet"))


def label_rows(cell: Cell, rows: list[dict]) -> list[dict]:
    """Add the cell's provenance to its rows (in place): label, key, commit, code."""
    code = code_fingerprint()
    for r in rows:
        r.update(controller=cell.name, config_hash=cell.config_hash, git_commit=cell.commit,
                 code_fingerprint=code)
    return rows


def _store(cell: Cell, rows: list[dict], decisions: list[dict]) -> pd.DataFrame:
    """Label and write a cell's rows (and regret decisions); return them as a frame."""
    label_rows(cell, rows)
    if cell.regret:  # written first: the cell file marks the finished pair
        for d in decisions:
            d.update(controller=cell.name, config_hash=cell.config_hash)
        write_rows(decisions, decisions_path(cell.path))
    write_rows(rows, cell.path)
    return pd.DataFrame(rows)


def run_cells(cells: list[Cell]) -> list[pd.DataFrame]:
    """Run (or read back) cells of one group (:attr:`Cell.group`), in order.

    The fast-path controllers among them are played together
    (:func:`experiments.fast.run_controllers_fast`): they meet the same episodes, whose
    samples are then drawn once for all (the rows are those of separate runs).
    """
    out: list[pd.DataFrame | None] = [None] * len(cells)
    first = cells[0]
    scenarios = None
    fast_idx, fast_ctrls = [], []
    for i, cell in enumerate(cells):
        cached = read_cell(cell.path, cell.config_hash)
        if cached is not None:
            out[i] = cached
            continue
        scenarios = scenarios or first.source.load(first.select, first.scenario_overrides)
        controller = instantiate(cell.controller, seed=cell.seed)
        if has_fast_path(controller):
            fast_idx.append(i)
            fast_ctrls.append(controller)
        else:  # the Gymnasium path (user controllers)
            decs: list[dict] = []
            rows = run_controller(controller, scenarios, cell.seed, cell.action_set,
                                  regret=cell.regret, decisions=decs)
            out[i] = _store(cell, rows, decs)
    if fast_idx:
        decisions: list[list[dict]] = [[] for _ in fast_idx]
        runs = run_controllers_fast(fast_ctrls, scenarios, first.seed, first.action_set,
                                    regret=first.regret, decisions=decisions)
        for i, rows, decs in zip(fast_idx, runs, decisions, strict=True):
            out[i] = _store(cells[i], rows, decs)
    return out


def warm_up(cells: list[Cell]) -> None:
    """Play each unfinished fast-path controller of a group on its shortest episode.

    The rows are discarded. The calling process thereby compiles (or loads) the kernels
    the controllers need, with the group's regret recording, so that workers started after
    it load them from Numba's cache instead of each compiling them at once; with a warm
    cache it costs a few seconds.
    """
    todo = [c for c in cells if read_cell(c.path, c.config_hash) is None]
    if not todo:
        return
    first = todo[0]
    shortest = min(first.source.load(first.select, first.scenario_overrides),
                   key=lambda sc: sc.horizon)
    ctrls = [c for c in (instantiate(cell.controller, seed=cell.seed) for cell in todo)
             if has_fast_path(c)]
    if ctrls:
        run_controllers_fast(ctrls, [shortest], first.seed, first.action_set,
                             regret=first.regret, decisions=[[] for _ in ctrls])


def run_plans(plans: list[list[Cell]], n_jobs: int) -> list[pd.DataFrame]:
    """Run (or read back) the cells of several plans in one parallel pass.

    A cell planned twice (the same file, e.g. a default setting shared by two studies) runs
    once. Cells of one group (:attr:`Cell.group`: seed, scenarios, regret recording) are
    one joblib job: their controllers meet the same episodes, whose samples are drawn once
    (the rows are those of separate runs).

    Returns
    -------
    list of DataFrame
        The rows of each plan, in its cells' order.
    """
    unique: dict[Path, Cell] = {}
    for cells in plans:
        for c in cells:
            unique.setdefault(c.path, c)
    groups: dict[tuple, list[Cell]] = {}
    for c in unique.values():
        groups.setdefault(c.group, []).append(c)
    ordered = [groups[k] for k in sorted(groups, key=lambda k: (k[0], str(k[1:])))]
    found = sum(c.path.is_file() for c in unique.values())
    print(f"{len(unique)} cells ({found} on disk, read back if their key matches) in "
          f"{len(ordered)} jobs on {n_jobs} worker(s), after a warm-up episode per "
          f"controller (Numba compiles its kernels on first use)", file=sys.stderr)
    warm_up(ordered[0])
    done = list(tqdm(Parallel(n_jobs=n_jobs, return_as="generator")(
        delayed(run_cells)(cells) for cells in ordered), total=len(ordered),
        desc="jobs (seeds x settings)", disable=None))
    frames = {c.path: f for cells, fs in zip(ordered, done, strict=True)
              for c, f in zip(cells, fs, strict=True)}
    return [pd.concat([frames[c.path] for c in cells], ignore_index=True) for cells in plans]
