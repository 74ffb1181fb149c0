"""Typed Hydra config schemas (ConfigStore), so that a typo fails at composition.

Three kinds of schema are stored:

- ``base_run`` and ``base_reproduce``: the entry points' settings;
- ``controller/<name>_schema``: the parameter schema of every controller class of the
  ``controllers`` package that has one (the ``Config`` dataclass of a
  :class:`controllers.base.KernelController`), found by importing the package's modules:
  there is no table of names to keep. A YAML of ``configs/controller/`` lists its schema
  first in its defaults, so Hydra refuses a wrong type or an unknown key, naming it.

:func:`controller_config` composes a controller's config through Hydra (inside a running
Hydra app or not), with optional overrides, validated by the same schema.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import importlib
import os
import pkgutil
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hydra import compose, initialize_config_dir
from hydra.core.config_store import ConfigStore
from hydra.core.global_hydra import GlobalHydra
from hydra.errors import HydraException, MissingConfigException
from hydra.utils import to_absolute_path
from omegaconf import DictConfig, ListConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from simulator.scenarios.loader import ScenarioError, check_overrides, dir_files, load_scenarios

#: Repository root and its Hydra config tree.
REPO_ROOT = Path(__file__).resolve().parents[1]
CONFIG_DIR = REPO_ROOT / "configs"


@dataclass
class ScenarioSetConfig:
    """A scenario set: ``paper43``, ``extended``, ``all`` or a family name."""

    name: str = "paper43"


@dataclass
class RunConfig:
    """``python -m experiments.run``: one controller, one run seed.

    ``controller`` is the chosen ``configs/controller/`` option, typed by its schema.
    """

    controller: Any = None
    scenario_set: ScenarioSetConfig = field(default_factory=ScenarioSetConfig)
    seed: int = 0
    select: str | None = None
    action_set: str = "auto"
    #: Settings applied to every scenario, e.g.
    #: ``+scenario_overrides.economics.usd_sla_penalty_per_minute=10`` (sections: pipeline,
    #: modelling, monitoring, deployment, slo, catastrophe, economics, dynamics,
    #: cost_weights); validated with each scenario.
    scenario_overrides: dict[str, Any] = field(default_factory=dict)
    #: Users' scenario folders, e.g. ``scenario_dirs=[my/scenarios]`` (or one folder
    #: without brackets): their ``*.yaml`` files are the scenario set instead of
    #: ``scenario_set`` (nothing is copied into the repository); a scenario id in two
    #: folders is refused, naming both files. None: the library set.
    scenario_dirs: Any = None
    #: Folder of the cells (experiments.cells): the same layout and keys as reproduce's
    #: raw_dir, so that a reproduction reads a sweep's finished cells back.
    out_dir: str = "results/raw/reproduce"
    #: Record regret against the oracle at every decision (forked simulations, as
    #: ``reproduce regret=true``; docs/regret.md).
    regret: bool = False


@dataclass
class PresetConfig:
    """Which reproduction a preset (``configs/preset/``) stands for.

    ``name`` labels the tables (``quick`` or ``paper``); ``n_seeds`` is the preset's seed
    count: a run with fewer seeds writes tables under a hashed name instead of the
    preset's own, so a small run never overwrites the tables of a full one.
    """

    name: str = "quick"
    n_seeds: int = 2


#: The hybrid's ablations and the other learners of the ablation table (DESIGN 4).
ABLATIONS = ["hybrid_no_shield", "hybrid_no_canary", "hybrid_no_sla_filter",
             "hybrid_no_error_budget", "conservative_ucb", "linucb", "lin_ts"]

#: Every table ``reproduce`` can write (``tables=[...]``; ``all`` for every one).
TABLES = ["main", "safety", "performance", "learning", "action_mix", "family", "paired",
          "ablations", "sensitivity", "headline", "claims", "detectors"]


@dataclass
class ReproduceConfig:
    """``python -m experiments.reproduce``: every controller x ``n_seeds`` runs."""

    preset: PresetConfig = field(default_factory=PresetConfig)

    scenario_set: ScenarioSetConfig = field(default_factory=ScenarioSetConfig)
    controllers: list[str] = field(
        default_factory=lambda: ["noop", "rules", "human", "rl", "bandit", "hybrid_literal",
                                 "hybrid"]
    )
    n_seeds: int = 2
    first_seed: int = 0
    n_jobs: int = 2
    select: str | None = None
    #: Record regret at every decision (forked simulations; slow) and write the learning
    #: table. Adds the oracle to the runs if it is not among ``controllers``.
    regret: bool = False
    #: Per-controller parameter overrides, e.g. ``+overrides.rules.alpha=0.01``: the
    #: sensitivity studies. Overridden controllers are stored and labelled apart; each
    #: override is checked against the controller's schema.
    overrides: dict[str, Any] = field(default_factory=dict)
    #: Settings applied to every scenario (as in ``experiments.run``), e.g. the prices of
    #: a cost-model sensitivity run; such a run keeps its own cells and tables.
    scenario_overrides: dict[str, Any] = field(default_factory=dict)
    #: Users' scenario folders (as in ``experiments.run``): their files are the scenario set
    #: instead of ``scenario_set``; such a run keeps its own cells and tables.
    scenario_dirs: Any = None
    #: Write the detector-quality table (false alarms, detection delay) on the run's
    #: no_op episodes (``experiments.detector_quality``).
    detectors: bool = True
    raw_dir: str = "results/raw/reproduce"
    tables_dir: str = "results/tables"
    #: Tables to write (names of :data:`TABLES`, or ``all``); only the runs they need are
    #: made (the ablation controllers for ``ablations``, the studies for ``sensitivity``).
    tables: list[str] = field(default_factory=lambda: ["all"])
    #: Controllers of the ablation table, run beside ``controllers`` on the same seeds.
    ablations: list[str] = field(default_factory=lambda: list(ABLATIONS))
    #: Whether ``tables=[all]`` of a full comparison includes the ablation and sensitivity
    #: studies (their own runs); the quick preset leaves them out to stay under a minute.
    studies: bool = True
    #: Seeds of every sensitivity setting (seeds first_seed .. first_seed + k - 1).
    sensitivity_seeds: int = 2
    #: The sensitivity studies (``configs/reproduce.yaml``): name -> controllers, vary,
    #: parameter or scenario_parameter, values, default, regret (experiments.studies).
    sensitivity: dict[str, Any] = field(default_factory=dict)
    #: Folder of the result figures (``paper_figures/results_figures.py``); null: none.
    figures_dir: str | None = None


def controller_schemas() -> dict[str, type]:
    """Return ``{controller name: schema dataclass}`` of the ``controllers`` package.

    Every module of the package is imported; each :class:`~controllers.base.KernelController`
    subclass defined in it with its own ``Config`` contributes ``<name>: Config``.

    Raises
    ------
    ValueError
        If two classes claim the same name with different schemas.
    """
    import controllers
    from controllers.base import KernelController

    found: dict[str, type] = {}
    for mod in pkgutil.iter_modules(controllers.__path__, "controllers."):
        module = importlib.import_module(mod.name)
        for obj in vars(module).values():
            if (isinstance(obj, type) and issubclass(obj, KernelController)
                    and obj is not KernelController
                    and obj.__module__ == module.__name__ and "Config" in vars(obj)):
                if found.get(obj.name, obj.Config) is not obj.Config:
                    raise ValueError(f"two controller schemas are named {obj.name!r}")
                found[obj.name] = obj.Config
    return found


def sweep_token() -> str:
    """Eight random hex digits: the ``${sweep_id:}`` of a sweep's folder name.

    Two sweeps started in the same second get different folders (the timestamp alone would
    collide). Hydra caches a resolver's value in the sweep's config and copies that cache
    into every job's, so all jobs of one sweep see the same token.
    """
    return secrets.token_hex(4)


def register() -> None:
    """Store the entry points' schemas and every controller's (``<name>_schema``).

    Also registers the resolvers of the sweep folders: ``sweep_id`` (:func:`sweep_token`)
    and ``launch_dir`` (the working directory of the process that starts the sweep, so
    that jobs running elsewhere, as Ray workers do, write into the same absolute folder).
    """
    if not OmegaConf.has_resolver("sweep_id"):
        OmegaConf.register_new_resolver("sweep_id", sweep_token, use_cache=True)
    if not OmegaConf.has_resolver("launch_dir"):  # the sweep's working directory, cached
        OmegaConf.register_new_resolver("launch_dir", os.getcwd, use_cache=True)
    cs = ConfigStore.instance()
    cs.store(name="base_run", node=RunConfig)
    cs.store(name="base_reproduce", node=ReproduceConfig)
    for name, schema in controller_schemas().items():
        cs.store(group="controller", name=f"{name}_schema", node=schema)


def known_controllers() -> list[str]:
    """Names of the controller configs of ``configs/controller/``."""
    return sorted(p.stem for p in (CONFIG_DIR / "controller").glob("*.yaml"))


def _yaml_stamp(name: str) -> tuple:
    """(mtime, size) of ``configs/controller/<name>.yaml``, so an edited file is recomposed."""
    path = CONFIG_DIR / "controller" / f"{name}.yaml"
    try:
        st = path.stat()
    except OSError:
        return (None, None)
    return (st.st_mtime_ns, st.st_size)


@functools.lru_cache(maxsize=256)
def _composed(name: str, stamp: tuple) -> DictConfig:
    """Compose ``controller=<name>`` once per file version (Hydra's compose is slow)."""
    register()
    try:
        if GlobalHydra.instance().is_initialized():  # inside a Hydra app: its search path
            cfg = compose(config_name="config", overrides=[f"controller={name}"])
        else:
            with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
                cfg = compose(config_name="config", overrides=[f"controller={name}"])
    except MissingConfigException:
        raise ValueError(f"unknown controller {name!r}; configs/controller/ has: "
                         f"{known_controllers()}") from None
    except (HydraException, OmegaConfBaseException) as err:
        raise ValueError(f"controller {name!r}: {str(err).splitlines()[0]}") from None
    return cfg.controller


def controller_config(name: str, overrides: dict | None = None) -> DictConfig:
    """Compose ``configs/controller/<name>.yaml`` with Hydra, then apply ``overrides``.

    The result is typed by the controller's schema: an override of the wrong type or an
    unknown key is refused, named.

    Raises
    ------
    ValueError
        If there is no such controller config, or an override does not fit its schema
        (the message names ``overrides.<name>.<key>``).
    """
    node = copy.deepcopy(_composed(name, _yaml_stamp(name)))
    if overrides:
        for key in overrides:
            if key == "_target_":
                raise ValueError(f"overrides.{name}._target_: the class cannot be overridden")
        try:
            node = OmegaConf.merge(node, overrides)
        except OmegaConfBaseException as err:
            key = (getattr(err, "full_key", None) or "").removeprefix("controller.")
            msg = str(err).splitlines()[0]
            raise ValueError(f"overrides.{name}.{key}: {msg}" if key else
                             f"overrides.{name}: {msg}") from None
    return node


def scenario_overrides(cfg: DictConfig) -> dict:
    """Return the run's ``scenario_overrides`` as a plain, checked dict ({} when absent).

    Raises
    ------
    ScenarioError
        If they do not map overridable sections to settings
        (:func:`simulator.scenarios.loader.check_overrides`).
    """
    ov = cfg.get("scenario_overrides")
    ov = OmegaConf.to_container(ov, resolve=True) if isinstance(ov, DictConfig) else ov
    return check_overrides(ov)


@dataclass(frozen=True)
class ScenarioSource:
    """Where a run's scenarios come from: a library set or users' folders.

    Attributes
    ----------
    set_name : str
        The library set (``scenario_set.name``); unused when ``dirs`` is non-empty.
    dirs : tuple of str
        Absolute paths of the users' scenario folders (``scenario_dirs``), or empty.
    label : str
        The set's name in tables and result folders: ``set_name``, or
        ``dirs_<hash>`` with the hash of the files' (normalised absolute) paths and their
        contents, so that editing a file never reuses results of the old one.
    """

    set_name: str
    dirs: tuple[str, ...]
    label: str

    def load(self, select: str | None = None, overrides: dict | None = None) -> list:
        """Load the scenarios (:func:`simulator.scenarios.load_scenarios`)."""
        return load_scenarios(self.set_name, select, overrides=overrides,
                              dirs=self.dirs or None)


def scenario_source(cfg: DictConfig) -> ScenarioSource:
    """Return the run's :class:`ScenarioSource` (``scenario_dirs`` if given, else the set).

    Raises
    ------
    ScenarioError
        If ``scenario_dirs`` is not a folder or a list of folders, is empty, comes with
        another ``scenario_set`` than the default, or names a folder that is missing,
        listed twice or holds no ``.yaml``.
    """
    raw = cfg.get("scenario_dirs")
    name = cfg.scenario_set.name
    if raw is None:
        return ScenarioSource(name, (), name)
    if isinstance(raw, str):
        raw = [raw]
    elif isinstance(raw, ListConfig | list | tuple):
        raw = list(raw)
        if not all(isinstance(d, str) for d in raw):
            raise ScenarioError(f"scenario_dirs: folders must be paths, got {raw!r}")
    else:
        raise ScenarioError(f"scenario_dirs: a folder or a list of folders "
                            f"(scenario_dirs=[a,b]), got {raw!r}")
    if name != "paper43":
        raise ScenarioError(f"scenario_dirs replaces scenario_set: drop "
                            f"scenario_set={name} (or scenario_dirs)")
    dirs = tuple(os.path.normpath(to_absolute_path(d)) for d in raw)
    files = dir_files(dirs)  # refuses an empty list, a missing, empty or repeated folder
    digest = hashlib.sha256()
    for path in files:
        digest.update(str(path).encode())
        digest.update(path.read_bytes())
    return ScenarioSource(name, dirs, f"dirs_{digest.hexdigest()[:8]}")
