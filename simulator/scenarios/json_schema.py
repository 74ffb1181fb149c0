"""JSON schema export of the scenario schema, for editors and other tools.

``scenarios/schema.json`` is the committed export (``python -m simulator.scenarios schema``);
a test asserts that it equals :func:`schema_text`, so it never drifts from the pydantic
models. An editor with the YAML language server validates and completes a scenario file
whose first line is ``# yaml-language-server: $schema=../schema.json``.

The JSON schema holds every per-field rule (types, ranges, allowed values, unknown keys);
the cross-field checks of :class:`~simulator.scenarios.schema.Scenario` (fault onset before
the horizon, sub-type within its family, extended actions opted in) and the file-name rule
are enforced by the loader only. Every numeric field also accepts a distribution
(``$defs/Distribution``, :mod:`simulator.scenarios.randomise`); that its range lies within
the field's is checked by the loader.
"""

from __future__ import annotations

import json

from simulator.scenarios.loader import SCENARIO_ROOT
from simulator.scenarios.randomise import Distribution
from simulator.scenarios.schema import Scenario

#: Path of the committed export.
SCHEMA_PATH = SCENARIO_ROOT / "schema.json"
#: JSON Schema dialect pydantic generates.
DIALECT = "https://json-schema.org/draft/2020-12/schema"


def _allow_distributions(node: object, dist_ref: dict) -> None:
    """Let every numeric property of ``node`` (in place) be a number or a distribution."""
    if isinstance(node, dict):
        props = node.get("properties")
        if isinstance(props, dict):
            for name, prop in props.items():
                kinds = {prop.get("type")} | {a.get("type") for a in prop.get("anyOf", ())}
                if kinds & {"integer", "number"}:
                    props[name] = {"anyOf": [prop, dist_ref]}
        for v in node.values():
            _allow_distributions(v, dist_ref)
    elif isinstance(node, list):
        for v in node:
            _allow_distributions(v, dist_ref)


def scenario_json_schema() -> dict:
    """Return the JSON schema of a scenario file.

    ``Scenario.model_json_schema()``, with ``Distribution`` added to ``$defs`` and allowed
    wherever a number is.
    """
    schema = Scenario.model_json_schema()
    _allow_distributions(schema, {"$ref": "#/$defs/Distribution"})
    dist = Distribution.model_json_schema()
    dist.pop("title", None)
    schema.setdefault("$defs", {})["Distribution"] = {
        **dist, "description": "A distribution of the field's value, drawn per episode "
        "(simulator/scenarios/randomise.py): exactly one of uniform, loguniform, normal "
        "(with clip), choice."}
    return {"$schema": DIALECT, **schema}


def schema_text() -> str:
    """Return the exact text of ``scenarios/schema.json`` (indented JSON, trailing newline)."""
    return json.dumps(scenario_json_schema(), indent=2) + "\n"
