"""Randomised incidents: scenario fields given as distributions, drawn per episode (DESIGN 3.1).

A scenario describes an incident *class*. Any numeric field of a scenario file (a fault's
onset, magnitude, ramp, duration, period, scale; a setting such as ``pipeline.base_rps``,
``pipeline.diurnal_phase`` or ``monitoring.label_delay``) may be written as a distribution
instead of a number:

======================================== =====================================================
YAML                                     draw
======================================== =====================================================
``{uniform: [lo, hi]}``                  uniform on [lo, hi), lo < hi
``{loguniform: [lo, hi]}``               exp(uniform(ln lo, ln hi)), 0 < lo < hi
``{normal: [mu, sigma], clip: [lo, hi]}`` normal, then clipped to [lo, hi] (clip required)
``{choice: [v1, v2, ...]}``              one of the values, equally likely
======================================== =====================================================

An integer field takes the draw rounded to the nearest integer (half to even). Each
episode draws its incident from the env's episode seed, each field from a random stream of
its own keyed by (episode seed, :data:`INCIDENT_STREAM`, the field's path): every
controller meets the same incident in the same episode (common random numbers), and adding a
distribution to one field changes no other field's draw.

A file with distributions is validated at its nominal incident and at the corners of its
ranges (:func:`corners`; the drawn incident is validated again at every draw); ``horizon``
may not vary (:data:`FIXED_FIELDS`); :func:`draw_incident` returns the
concrete :class:`~simulator.scenarios.schema.Scenario` of one episode, and the scenario
object the loader returns for such a file is its *nominal* incident (every range at its
middle: the midpoint of uniform and clip ranges, the geometric mean of log-uniform ones,
the normal's mean, the median choice), carrying the template in ``_template``.
"""

from __future__ import annotations

import hashlib
import math
import types
import typing
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

#: Distribution kinds a scenario field may take.
KINDS = ("uniform", "loguniform", "normal", "choice")
#: Numeric fields that may not vary, and why.
FIXED_FIELDS = {("horizon",): "the episode length is fixed per scenario (every controller "
                              "and seed is scored over the same minutes)"}
#: Stream id of the incident draws (mixed with the episode seed and the field's path).
INCIDENT_STREAM = 0x1C1DE47


class Distribution(BaseModel):
    """One distribution of a scenario field (module docstring).

    Raises
    ------
    pydantic.ValidationError
        Unless exactly one kind is given with valid parameters.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    uniform: tuple[float, float] | None = None
    loguniform: tuple[float, float] | None = None
    normal: tuple[float, float] | None = None
    choice: tuple[float, ...] | None = None
    clip: tuple[float, float] | None = None

    @model_validator(mode="after")
    def _one_kind(self):
        given = [k for k in KINDS if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(f"a distribution needs exactly one of {', '.join(KINDS)}, "
                             f"got {given or 'none'}")
        if self.uniform is not None and not self.uniform[0] < self.uniform[1]:
            raise ValueError(f"uniform needs [lo, hi] with lo < hi, got {list(self.uniform)}")
        if self.loguniform is not None and not 0 < self.loguniform[0] < self.loguniform[1]:
            raise ValueError("loguniform needs [lo, hi] with 0 < lo < hi, "
                             f"got {list(self.loguniform)}")
        if self.normal is not None:
            if not self.normal[1] > 0:
                raise ValueError(f"normal needs [mu, sigma] with sigma > 0, got "
                                 f"{list(self.normal)}")
            if self.clip is None:
                raise ValueError("normal needs clip: [lo, hi] (the field's allowed range)")
        if self.clip is not None:
            if self.normal is None:
                raise ValueError("clip goes with normal only")
            if not self.clip[0] < self.clip[1]:
                raise ValueError(f"clip needs [lo, hi] with lo < hi, got {list(self.clip)}")
        if self.choice is not None and len(self.choice) == 0:
            raise ValueError("choice needs at least one value")
        return self

    @property
    def low(self) -> float:
        """The lower end of the support."""
        if self.choice is not None:
            return min(self.choice)
        return (self.uniform or self.loguniform or self.clip)[0]

    @property
    def high(self) -> float:
        """The upper end of the support."""
        if self.choice is not None:
            return max(self.choice)
        return (self.uniform or self.loguniform or self.clip)[1]

    @property
    def middle(self) -> float:
        """The nominal value (module docstring), to 12 significant digits (0.8-1.6: 1.2)."""
        if self.uniform is not None:
            return float(f"{0.5 * (self.uniform[0] + self.uniform[1]):.12g}")
        if self.loguniform is not None:
            return float(f"{math.sqrt(self.loguniform[0] * self.loguniform[1]):.12g}")
        if self.normal is not None:
            return min(max(self.normal[0], self.clip[0]), self.clip[1])
        return sorted(self.choice)[(len(self.choice) - 1) // 2]

    def sample(self, rng: np.random.Generator) -> float:
        """Draw one value."""
        if self.uniform is not None:
            return float(rng.uniform(*self.uniform))
        if self.loguniform is not None:
            lo, hi = self.loguniform
            return float(math.exp(rng.uniform(math.log(lo), math.log(hi))))
        if self.normal is not None:
            return float(np.clip(rng.normal(*self.normal), *self.clip))
        return float(self.choice[int(rng.integers(0, len(self.choice)))])


def is_distribution(node: Any) -> bool:
    """Whether a parsed YAML node is written as a distribution (a mapping with a kind key)."""
    return isinstance(node, dict) and any(k in node for k in KINDS)


def find_distributions(node: Any, path: tuple = ()) -> list[tuple[tuple, Any]]:
    """Return ``(path, node)`` of every distribution node under ``node``, in document order."""
    if is_distribution(node):
        return [(path, node)]
    out: list = []
    if isinstance(node, dict):
        for k, v in node.items():
            out += find_distributions(v, (*path, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += find_distributions(v, (*path, i))
    return out


def find_mappings(node: Any, path: tuple = ()) -> list[tuple[tuple, dict]]:
    """Return ``(path, node)`` of every mapping under ``node`` that is not a distribution."""
    out: list = []
    if isinstance(node, dict) and not is_distribution(node):
        if path:
            out.append((path, node))
        for k, v in node.items():
            out += find_mappings(v, (*path, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += find_mappings(v, (*path, i))
    return out


def substitute(node: Any, values: dict[tuple, Any], path: tuple = ()) -> Any:
    """Return a copy of ``node`` with the value ``values[p]`` at each path ``p``."""
    if path in values:
        return values[path]
    if isinstance(node, dict):
        return {k: substitute(v, values, (*path, k)) for k, v in node.items()}
    if isinstance(node, list):
        return [substitute(v, values, (*path, i)) for i, v in enumerate(node)]
    return node


def _unwrap(annotation: Any) -> Any:
    """Strip ``X | None`` and ``Annotated`` down to the field's type."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(args) != 1:
                return annotation
            annotation = args[0]
        else:
            return annotation


def field_type(model: type[BaseModel], raw: dict, path: tuple) -> type | None:
    """Return ``int`` or ``float`` if ``path`` names a numeric field of ``model``, else None.

    ``raw`` is the document (faults are resolved by their ``kind``).
    """
    from simulator.scenarios.schema import FAULT_MODELS

    current: Any = model
    node: Any = raw
    for part in path:
        if isinstance(current, type) and issubclass(current, BaseModel):
            info = current.model_fields.get(str(part))
            if info is None:
                return None
            current = _unwrap(info.annotation)
        elif typing.get_origin(current) is list and isinstance(part, int):
            kind = node[part].get("kind") if isinstance(node[part], dict) else None
            current = FAULT_MODELS.get(kind)
            if current is None:
                return None
        elif typing.get_origin(current) is dict:
            current = _unwrap(typing.get_args(current)[1])
        else:
            return None
        node = node[part] if isinstance(node, dict | list) else None
    if current is bool:
        return None
    return current if current in (int, float) else None


def _path_seed(path: tuple) -> int:
    """Return a stable 64-bit number for a field's path (its random stream)."""
    text = ".".join(str(p) for p in path).encode()
    return int.from_bytes(hashlib.sha256(text).digest()[:8], "little")


def draw_values(dists: dict[tuple, Distribution], types_: dict[tuple, type],
                seed: int) -> dict[tuple, float | int]:
    """Draw every distribution for episode ``seed`` (module docstring: one stream per field)."""
    out: dict[tuple, float | int] = {}
    for path, dist in dists.items():
        rng = np.random.default_rng([int(seed), INCIDENT_STREAM, _path_seed(path)])
        v = dist.sample(rng)
        out[path] = int(np.rint(v)) if types_[path] is int else v
    return out


def corner_values(dists: dict[tuple, Distribution], types_: dict[tuple, type],
                  which: str | dict[tuple, str]) -> dict[tuple, float | int]:
    """Every distribution at its ``low``, ``high`` or ``middle`` value (ints rounded).

    ``which`` is one of those for all fields, or a mapping field path -> one of them.
    """
    out: dict[tuple, float | int] = {}
    for path, dist in dists.items():
        end = which if isinstance(which, str) else which[path]
        v = float(getattr(dist, end))
        out[path] = int(np.rint(v)) if types_[path] is int else v
    return out


#: Up to this many distributions, every corner of their box is validated (2**n corners).
MAX_ALL_CORNERS = 10
#: Beyond it: the two extreme corners and this many random ones.
N_RANDOM_CORNERS = 1024


def corners(dists: dict[tuple, Distribution]) -> list[dict[tuple, str]]:
    """Return the corners of the ranges' box to validate: each field at its low or high end.

    A file's cross-field rules (onset + duration within the horizon, active minutes below
    the period) are linear in the fields, so they hold everywhere in the box if they hold
    at every corner. All 2**n corners up to ``MAX_ALL_CORNERS`` fields; else the all-low
    and all-high corners and ``N_RANDOM_CORNERS`` random ones (seeded: deterministic).
    """
    paths = list(dists)
    n = len(paths)
    if n <= MAX_ALL_CORNERS:
        masks = range(2**n)
        return [{p: ("high" if m >> i & 1 else "low") for i, p in enumerate(paths)}
                for m in masks]
    rng = np.random.default_rng(0)
    out = [dict.fromkeys(paths, "low"), dict.fromkeys(paths, "high")]
    for _ in range(N_RANDOM_CORNERS):
        out.append({p: ("high" if b else "low") for p, b in zip(paths, rng.random(n) < 0.5,
                                                                strict=True)})
    return out


def parse_distributions(model: type[BaseModel], raw: dict
                        ) -> tuple[dict[tuple, Distribution], dict[tuple, type], list[str]]:
    """Validate the distributions of ``raw``; return them, their fields' types and errors.

    Errors are ``"<field path>: <message>"`` strings (a distribution on a field that is not
    numeric, or malformed parameters).
    """
    dists: dict[tuple, Distribution] = {}
    kinds: dict[tuple, type] = {}
    errors: list[str] = []
    for path, node in find_mappings(raw):  # a mapping where a number goes: no known kind
        if field_type(model, raw, path) is not None:
            where = ".".join(str(p) for p in path)
            errors.append(f"{where}: a number or a distribution expected, got a mapping with "
                          f"keys {sorted(map(str, node))} (allowed: {{uniform: [lo, hi]}}, "
                          "{loguniform: [lo, hi]}, {normal: [mu, sigma], clip: [lo, hi]}, "
                          "{choice: [...]})")
    for path, node in find_distributions(raw):
        where = ".".join(str(p) for p in path)
        ftype = field_type(model, raw, path)
        if ftype is None:
            errors.append(f"{where}: only numeric fields may be distributions")
            continue
        if path in FIXED_FIELDS:
            errors.append(f"{where}: {FIXED_FIELDS[path]}; give a number")
            continue
        pairs = [k for k in ("uniform", "loguniform", "normal", "clip")
                 if k in node and not (isinstance(node[k], list) and len(node[k]) == 2)]
        if pairs:
            k = pairs[0]
            what = "[mu, sigma]" if k == "normal" else "[lo, hi]"
            errors.append(f"{where}: {k} needs {what} (two numbers), got {node[k]!r}")
            continue
        try:
            dists[path] = Distribution.model_validate(node)
        except ValidationError as err:
            msg = err.errors()[0]["msg"].removeprefix("Value error, ")
            errors.append(f"{where}: {msg} (allowed: {{uniform: [lo, hi]}}, "
                          "{loguniform: [lo, hi]}, {normal: [mu, sigma], clip: [lo, hi]}, "
                          "{choice: [...]})")
            continue
        if ftype is int and dists[path].choice is not None and any(
                float(v) != int(v) for v in dists[path].choice):
            errors.append(f"{where}: an integer field's choices must be whole numbers")
        kinds[path] = ftype
    return dists, kinds, errors
