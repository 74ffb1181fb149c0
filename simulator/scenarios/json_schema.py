"""JSON schema export of the scenario schema, for editors and other tools.

``scenarios/schema.json`` is the committed export (``python -m simulator.scenarios schema``);
a test asserts that it equals :func:`schema_text`, so it never drifts from the pydantic
models. An editor with the YAML language server validates and completes a scenario file
whose first line is ``# yaml-language-server: $schema=../schema.json``.

The JSON schema holds every per-field rule (types, ranges, allowed values, unknown keys);
the cross-field checks of :class:`~simulator.scenarios.schema.Scenario` (fault onset before
the horizon, sub-type within its family, extended actions opted in) and the file-name rule
are enforced by the loader only.
"""

from __future__ import annotations

import json

from simulator.scenarios.loader import SCENARIO_ROOT
from simulator.scenarios.schema import Scenario

#: Path of the committed export.
SCHEMA_PATH = SCENARIO_ROOT / "schema.json"
#: JSON Schema dialect pydantic generates.
DIALECT = "https://json-schema.org/draft/2020-12/schema"


def scenario_json_schema() -> dict:
    """Return the JSON schema of a scenario file (``Scenario.model_json_schema()``)."""
    return {"$schema": DIALECT, **Scenario.model_json_schema()}


def schema_text() -> str:
    """Return the exact text of ``scenarios/schema.json`` (indented JSON, trailing newline)."""
    return json.dumps(scenario_json_schema(), indent=2) + "\n"
