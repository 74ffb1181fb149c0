"""``python -m experiments.run``: one controller through a seeded run of a scenario set.

Examples
--------
python -m experiments.run controller=hybrid seed=3
python -m experiments.run controller=rules select='cov_*'
python -m experiments.run --multirun controller=rules,rl,bandit,hybrid seed='range(5)'
"""

from __future__ import annotations

import sys
from pathlib import Path

import hydra
from hydra.utils import instantiate, to_absolute_path
from omegaconf import DictConfig, OmegaConf

from experiments.config import register, scenario_overrides, scenario_source
from experiments.episode import run_controller
from experiments.fast import has_fast_path, run_controller_fast
from experiments.storage import config_hash, git_commit, write_rows

register()


def _config_name(default: str) -> str:
    """Name of the chosen ``controller`` config (e.g. ``hybrid_no_shield``) under Hydra."""
    try:
        from hydra.core.hydra_config import HydraConfig

        return HydraConfig.get().runtime.choices.get("controller") or default
    except ValueError:  # not running inside a Hydra app
        return default


def run(cfg: DictConfig) -> list[dict]:
    """Run one controller config through the configured scenarios; return the rows.

    Rows are labelled with the controller *config* name, so ablations of one class
    (``hybrid_no_shield``, ...) stay apart, as in ``reproduce``.
    """
    chosen = _config_name("")
    if chosen.endswith("_schema"):
        raise ValueError(f"controller={chosen} is the parameter schema of "
                         f"controller={chosen.removesuffix('_schema')}, not a controller "
                         "config; choose one of configs/controller/*.yaml")
    if int(cfg.seed) < 0:
        raise ValueError(f"seed must be >= 0, got {cfg.seed}")
    scen_ov = scenario_overrides(cfg)
    source = scenario_source(cfg)
    scenarios = source.load(cfg.select, scen_ov)
    ctrl_cfg = OmegaConf.to_container(cfg.controller, resolve=True)
    controller = instantiate(cfg.controller, seed=int(cfg.seed))
    if has_fast_path(controller):  # identical rows, batched in Numba
        rows = run_controller_fast(controller, scenarios, int(cfg.seed), cfg.action_set)
    else:
        rows = run_controller(controller, scenarios, int(cfg.seed), cfg.action_set)
    chash = config_hash({"controller": ctrl_cfg, "set": source.label,
                         "select": cfg.select, "action_set": cfg.action_set,
                         **({"scenario_overrides": scen_ov} if scen_ov else {})})
    commit = git_commit()
    for r in rows:
        r.update(controller=_config_name(controller.name), config_hash=chash,
                 git_commit=commit)
    return rows


@hydra.main(version_base="1.3", config_path="../configs", config_name="config")
def main(cfg: DictConfig) -> None:
    """Hydra entry point: run, write Parquet, print a one-line summary per episode."""
    try:
        rows = run(cfg)
    except ValueError as err:  # ScenarioError is a ValueError
        raise SystemExit(f"error: {err}") from None
    except KeyboardInterrupt:
        print("\ninterrupted: nothing written", file=sys.stderr)
        raise SystemExit(130) from None
    name = rows[0]["controller"] if rows else "none"
    tag = f"_{rows[0]['config_hash'][:8]}" if rows else ""
    out = Path(to_absolute_path(cfg.out_dir)) / f"{name}_seed{int(cfg.seed)}{tag}.parquet"
    try:
        write_rows(rows, out)
    except OSError as err:
        raise SystemExit(f"error: cannot write {out}: {err.strerror}") from None
    for r in rows:
        print(f"{r['scenario']:<36} cat={int(r['catastrophic'])} "
              f"viol={int(r['safety_violation'])} sla={r['sla_compliance']:.3f} "
              f"cost=${r['cost_usd']:.0f} actions={int(r['n_actions_taken'])}")
    print(f"wrote {len(rows)} episode rows to {out}")


if __name__ == "__main__":
    main()
