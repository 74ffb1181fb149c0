"""Scenario library: strict schema, safe loader, compiler to kernel arrays, CLI."""

from simulator.scenarios.compile import CompiledScenario, compile_scenario, paper_cost
from simulator.scenarios.loader import (
    SCENARIO_ROOT,
    ScenarioError,
    draw_incident,
    is_randomised,
    load_scenario,
    load_scenarios,
    parse_scenario,
    scenario_files,
)
from simulator.scenarios.schema import Scenario

__all__ = [
    "SCENARIO_ROOT",
    "CompiledScenario",
    "Scenario",
    "ScenarioError",
    "compile_scenario",
    "draw_incident",
    "is_randomised",
    "load_scenario",
    "load_scenarios",
    "paper_cost",
    "parse_scenario",
    "scenario_files",
]
