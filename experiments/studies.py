"""The runs behind the reproduction's tables: the main comparison and the sensitivity studies.

Each study is a set of :func:`experiments.reproduce.reproduce` runs over the same scenario
set, so every cell is stored, keyed and resumed as any other (a cell shared by two studies,
such as a default setting, is run once and read back after).

The main study runs ``controllers`` (plus the oracle with regret, plus ``ablations`` when
the ablation table is asked for) on ``n_seeds`` seeds. A sensitivity study (``sensitivity``
of ``configs/reproduce.yaml``) runs its ``controllers`` on ``sensitivity_seeds`` seeds once
per value of one setting: a controller ``parameter`` (set on the controllers of ``vary``)
or a ``scenario_parameter`` (a scenario override, applied to every scenario). The study's
``default`` value runs the plain configuration. Written equivalently as a Hydra multirun,
the alpha study is::

    python -m experiments.reproduce --multirun 'controllers=[rules,hybrid]' n_seeds=30 \
        +overrides.hybrid.alpha=0.01,0.10 regret=false tables='[main]'
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import pandas as pd
from omegaconf import DictConfig, OmegaConf, open_dict

from experiments.config import TABLES

#: Fields a sensitivity study may set (``configs/reproduce.yaml``, ``sensitivity.<name>``).
STUDY_FIELDS = {"controllers", "vary", "parameter", "scenario_parameter", "values", "default",
                "regret"}


@dataclass(frozen=True)
class Setting:
    """One run of a sensitivity study: a value of its setting.

    Attributes
    ----------
    study, parameter, value : str
        The study's name, the setting's name and the value's label (``default`` for an
        empty price mapping).
    controllers : tuple of str
        Controller configs run.
    overrides : dict
        ``{controller: {parameter: value}}`` (``overrides`` of the reproduction).
    scenario_overrides : dict
        Scenario overrides applied to every scenario.
    regret : bool
        Record regret (the oracle then runs too).
    """

    study: str
    parameter: str
    value: str
    controllers: tuple
    overrides: dict
    scenario_overrides: dict
    regret: bool


#: Tables that need runs of their own (the ablation controllers, the sensitivity settings).
STUDY_TABLES = ("ablations", "sensitivity")


def wanted_tables(cfg: DictConfig, full: bool = True) -> list[str]:
    """Return the tables to write, in :data:`~experiments.config.TABLES` order.

    ``all`` means every table for the preset's full comparison (``full``) when ``studies``
    is true (the default); for any other run (a subset of controllers or scenarios,
    overrides, ..., or ``studies=false`` as in the quick preset) it means the tables of the
    run's own controllers, without the ablation and sensitivity studies, which run only
    when named (``tables=[sensitivity]``).

    Raises
    ------
    ValueError
        If ``tables`` is empty or names a table that does not exist.
    """
    asked = [str(t) for t in cfg.tables]
    unknown = sorted(set(asked) - set(TABLES) - {"all"})
    if unknown or not asked:
        raise ValueError(f"tables={asked}: unknown {unknown or 'empty list'}; allowed: all or "
                         f"any of {TABLES}")
    if "all" in asked:
        studies = full and bool(cfg.get("studies", True))
        asked += [t for t in TABLES if studies or t not in STUDY_TABLES]
    return [t for t in TABLES if t in asked]


def main_controllers(cfg: DictConfig, tables: list[str]) -> list[str]:
    """Return the main study's controllers: ``controllers``, then the ablation table's."""
    names = list(cfg.controllers)
    if "ablations" in tables:
        names += [a for a in cfg.ablations if a not in names]
    if "ablations" in tables and "hybrid" not in names:
        names.append("hybrid")  # the ablation table's reference
    return names


def _label(value) -> str:
    """Label of a study value: the number, ``default`` for {}, else ``key=value`` pairs."""
    if isinstance(value, dict):
        return ",".join(f"{k}={v}" for k, v in sorted(value.items())) or "default"
    return str(value)


def _nest(path: str, value) -> dict:
    """``a.b`` and 1 -> {"a": {"b": 1}}."""
    out = value
    for key in reversed(path.split(".")):
        out = {key: out}
    return out


def settings(cfg: DictConfig) -> list[Setting]:
    """Return every sensitivity setting of ``cfg.sensitivity``, study by study.

    Raises
    ------
    ValueError
        Naming the study and the field, if a study is malformed: an unknown field, no
        controllers, neither or both of ``parameter`` and ``scenario_parameter``, no values,
        a ``vary`` controller that is not run, or a ``default`` not among the values.
    """
    studies = OmegaConf.to_container(cfg.sensitivity, resolve=True) if cfg.sensitivity else {}
    out = []
    for name, spec in studies.items():
        where = f"sensitivity.{name}"
        if not isinstance(spec, dict):
            raise ValueError(f"{where}: must map fields {sorted(STUDY_FIELDS)} to values")
        unknown = sorted(set(spec) - STUDY_FIELDS)
        if unknown:
            raise ValueError(f"{where}: unknown field(s) {unknown}; allowed: "
                             f"{sorted(STUDY_FIELDS)}")
        ctrls = list(spec.get("controllers") or [])
        if not ctrls:
            raise ValueError(f"{where}.controllers: name at least one controller config")
        param, scen = spec.get("parameter"), spec.get("scenario_parameter")
        if (param is None) == (scen is None):
            raise ValueError(f"{where}: give exactly one of parameter (a controller "
                             f"parameter) and scenario_parameter (a scenario override path)")
        values = list(spec.get("values") or [])
        if not values:
            raise ValueError(f"{where}.values: give at least one value")
        default = spec.get("default")
        if default not in values:
            raise ValueError(f"{where}.default: {default!r} is not among values {values}")
        vary = list(spec.get("vary") or ctrls)
        if not set(vary) <= set(ctrls):
            raise ValueError(f"{where}.vary: {sorted(set(vary) - set(ctrls))} are not among "
                             f"its controllers {ctrls}")
        for value in values:
            plain = value == default
            ov = {} if plain or scen else {c: {param: value} for c in vary}
            sov = {} if plain or param else _nest(scen, copy.deepcopy(value))
            out.append(Setting(name, param or scen, _label(value), tuple(ctrls), ov, sov,
                               bool(spec.get("regret", False))))
    return out


def setting_config(cfg: DictConfig, s: Setting) -> DictConfig:
    """Return the reproduction config of one sensitivity setting (``sensitivity_seeds``)."""
    out = copy.deepcopy(cfg)
    with open_dict(out):
        out.controllers = list(s.controllers)
        out.overrides = s.overrides
        out.scenario_overrides = s.scenario_overrides
        out.regret = s.regret
        out.n_seeds = cfg.sensitivity_seeds
    return out


def tag(df: pd.DataFrame, s: Setting) -> pd.DataFrame:
    """Label a setting's rows: ``study``, ``parameter``, ``value``, base ``controller``."""
    out = df.copy()
    out["controller"] = out.controller.str.replace(r"\[.*$", "", regex=True)
    out["study"], out["parameter"], out["value"] = s.study, s.parameter, s.value
    return out
