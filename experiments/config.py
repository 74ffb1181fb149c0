"""Typed Hydra config schemas (ConfigStore), so that a typo fails at composition."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hydra.core.config_store import ConfigStore
from omegaconf import OmegaConf

#: Repository root and its Hydra config tree.
REPO_ROOT = Path(__file__).resolve().parents[1]
CONFIG_DIR = REPO_ROOT / "configs"


@dataclass
class ScenarioSetConfig:
    """A scenario set: ``paper43``, ``extended``, ``all`` or a family name."""

    name: str = "paper43"


@dataclass
class RunConfig:
    """``python -m experiments.run``: one controller, one run seed."""

    controller: Any = None
    scenario_set: ScenarioSetConfig = field(default_factory=ScenarioSetConfig)
    seed: int = 0
    select: str | None = None
    action_set: str = "auto"
    out_dir: str = "results/raw/run"


@dataclass
class ReproduceConfig:
    """``python -m experiments.reproduce``: every controller x ``n_seeds`` runs."""

    scenario_set: ScenarioSetConfig = field(default_factory=ScenarioSetConfig)
    controllers: list[str] = field(
        default_factory=lambda: ["noop", "rules", "human", "rl", "bandit", "hybrid_literal",
                                 "hybrid"]
    )
    n_seeds: int = 5
    first_seed: int = 0
    n_jobs: int = 2
    select: str | None = None
    #: Record regret at every decision (forked simulations; slow) and write the learning
    #: table. Adds the oracle to the runs if it is not among ``controllers``.
    regret: bool = False
    #: Per-controller parameter overrides, e.g. ``+overrides.rules.alpha=0.01``: the
    #: sensitivity studies. Overridden controllers are stored and labelled apart.
    overrides: dict[str, Any] = field(default_factory=dict)
    raw_dir: str = "results/raw/reproduce"
    tables_dir: str = "results/tables"


def register() -> None:
    """Store the schemas under the names the YAML defaults lists use."""
    cs = ConfigStore.instance()
    cs.store(name="base_run", node=RunConfig)
    cs.store(name="base_reproduce", node=ReproduceConfig)


def controller_config(name: str) -> dict:
    """Load ``configs/controller/<name>.yaml`` (the controller registry).

    Raises
    ------
    ValueError
        If there is no such controller config.
    """
    path = CONFIG_DIR / "controller" / f"{name}.yaml"
    if not path.is_file():
        known = sorted(p.stem for p in (CONFIG_DIR / "controller").glob("*.yaml"))
        raise ValueError(f"unknown controller {name!r}; configs/controller/ has: {known}")
    return OmegaConf.to_container(OmegaConf.load(path), resolve=True)
