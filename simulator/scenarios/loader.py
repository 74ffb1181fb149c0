"""Safe loading of scenario YAML files into validated :class:`Scenario` objects.

YAML is parsed with ``yaml.safe_load`` only, so tags that would construct Python objects are
refused; keys such as ``_target_`` are refused before validation, so a scenario can never
name code. Every error is a :class:`ScenarioError` naming the file, the field and what is
allowed.
"""

from __future__ import annotations

import fnmatch
import re
from pathlib import Path

import yaml
from pydantic import ValidationError

from simulator.layout import FAULT_KINDS
from simulator.scenarios import randomise as R
from simulator.scenarios.schema import FieldError, Scenario

#: Folder of the scenario library shipped with the repository.
SCENARIO_ROOT = Path(__file__).resolve().parents[2] / "scenarios"
#: Scenario sets: name -> sub-folder of ``scenarios/``.
SET_FOLDERS = {"paper43": "paper43", "extended": "extended"}


class ScenarioError(ValueError):
    """A scenario file that cannot be read or is invalid; the message names file and field."""


def _forbidden_keys(node, where: str = "") -> str | None:
    if isinstance(node, dict):
        for k, v in node.items():
            key = str(k)
            path = f"{where}.{key}" if where else key
            if key.startswith("_") and key.endswith("_"):
                return path
            hit = _forbidden_keys(v, path)
            if hit:
                return hit
    elif isinstance(node, list):
        for i, v in enumerate(node):
            hit = _forbidden_keys(v, f"{where}.{i}")
            if hit:
                return hit
    return None


class _UniqueKeyLoader(yaml.SafeLoader):
    """Safe loader that refuses duplicate mapping keys (the last would silently win)."""


def _construct_unique(loader: yaml.SafeLoader, node: yaml.MappingNode, deep: bool = False):
    seen = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_unique
)


def _format_validation(path: Path, err: ValidationError) -> str:
    lines = []
    for e in err.errors():
        parts = [str(p) for p in e["loc"]]
        if len(parts) > 2 and parts[0] == "faults" and parts[2] in FAULT_KINDS:
            del parts[2]  # the discriminator tag pydantic inserts
        msg = e["msg"].removeprefix("Value error, ")
        got = e.get("input")
        if e["type"] == "extra_forbidden":
            msg = "unknown key (not in the scenario schema)"
        elif e["type"] == "union_tag_invalid":
            parts.append("kind")
            got = (got or {}).get("kind") if isinstance(got, dict) else got
            msg = f"unknown fault kind; allowed: {', '.join(FAULT_KINDS)}"
        cause = (e.get("ctx") or {}).get("error")
        if isinstance(cause, FieldError):
            parts = cause.field.split(".")
            msg = str(cause)
            got = cause.got
        loc = ".".join(parts) or "(top level)"
        shown = "" if isinstance(got, dict | list) or got is None else f" (got {got!r})"
        lines.append(f"{path}: field '{loc}': {msg}{shown}")
    return "\n".join(lines)


def parse_scenario(data: object, path: Path | str = "<memory>") -> Scenario:
    """Validate an already parsed mapping as a scenario.

    Parameters
    ----------
    data : object
        The parsed YAML document (must be a mapping).
    path : Path or str
        Name used in error messages.

    Returns
    -------
    Scenario
        The validated scenario.

    Raises
    ------
    ScenarioError
        If the document is not a mapping, holds a ``_..._`` key such as ``_target_``, or
        fails the schema; the message names the file and every offending field.
    """
    path = Path(path)
    if not isinstance(data, dict):
        raise ScenarioError(f"{path}: a scenario must be a YAML mapping, got {type(data).__name__}")
    bad = _forbidden_keys(data)
    if bad:
        raise ScenarioError(
            f"{path}: field '{bad}': keys of the form _name_ (such as _target_) are not allowed;"
            " scenarios are data and never instantiate code"
        )
    dists, kinds, errors = R.parse_distributions(Scenario, data)
    if errors:
        raise ScenarioError("\n".join(f"{path}: field '{e.split(': ', 1)[0]}': "
                                      f"{e.split(': ', 1)[1]}" for e in errors))
    if not dists:
        return _validate(data, path)
    # the nominal incident first, then every corner of the ranges' box (R.corners)
    nominal = _validate(R.substitute(data, R.corner_values(dists, kinds, "middle")), path,
                        " (with every distribution at the middle of its range)", dists)
    for corner in R.corners(dists):
        _validate(R.substitute(data, R.corner_values(dists, kinds, corner)), path,
                  _corner_note(corner), dists)
    nominal._template = data
    nominal._path = str(path)
    return nominal


def _corner_note(corner: dict[tuple, str]) -> str:
    """Say which ends of the ranges a corner takes (for an error message)."""
    ends = set(corner.values())
    if len(ends) == 1:
        return f" (with every distribution at the {ends.pop()} end of its range)"
    high = [".".join(map(str, p)) for p, e in corner.items() if e == "high"]
    its = "its range" if len(high) == 1 else "their ranges"
    return f" (with {', '.join(high)} at the high end of {its} and the other ranges at the low end)"


def _validate(data: dict, path: Path, note: str = "", dists: dict | None = None) -> Scenario:
    """Validate a concrete document; ScenarioError naming file and fields otherwise.

    ``note`` is appended to each error line; with ``dists``, only to the lines about a
    field that has a distribution (whose value the note explains).
    """
    try:
        return Scenario.model_validate(data)
    except ValidationError as err:
        msg = _format_validation(path, err)
        lines = msg.splitlines()
        if dists is not None:
            names = [".".join(map(str, p)) for p in dists]
            def about_a_range(line: str) -> bool:
                m = re.search(r"field '([^']*)'", line)
                f = m.group(1) if m else ""
                return any(n == f or n.startswith(f + ".") for n in names)

            lines = [line + note if about_a_range(line) else line for line in lines]
        else:
            lines = [line + note for line in lines]
        raise ScenarioError("\n".join(lines)) from None


def is_randomised(scenario: Scenario) -> bool:
    """Whether the scenario's file has distributions (its incidents vary with the seed)."""
    return scenario._template is not None


def draw_incident(scenario: Scenario, seed: int) -> Scenario:
    """Return the incident of the episode with episode seed ``seed`` (the scenario if fixed).

    ``seed`` is the episode seed (``simulator.env.env_episode_seed`` of an env seed; result
    rows record it as ``episode_seed``). Every distribution of the file is drawn from its
    own stream keyed by ``seed`` (:mod:`simulator.scenarios.randomise`); the result is
    validated like a file.

    Raises
    ------
    ScenarioError
        If the drawn incident fails the schema (a rule the corners of the ranges did not
        exercise), naming the file, the episode seed, the field and the drawn values.
    """
    if scenario._template is None:
        return scenario
    data = scenario._template
    dists, kinds, _ = R.parse_distributions(Scenario, data)
    values = R.draw_values(dists, kinds, seed)
    drawn = R.substitute(data, values)
    shown = ", ".join(f"{'.'.join(map(str, p))}={v:.6g}" for p, v in values.items())
    return _validate(drawn, Path(scenario._path),
                     f" (incident drawn for episode seed {seed}: {shown})")


#: Sections of a scenario a run may override for every scenario it loads
#: (``scenario_overrides``); metadata, annotations and faults belong to the file alone.
OVERRIDABLE_SECTIONS = ("pipeline", "modelling", "monitoring", "deployment", "slo",
                        "catastrophe", "economics", "dynamics", "cost_weights")


def check_overrides(overrides: object) -> dict:
    """Return ``overrides`` as a plain ``{section: {field: value}}`` dict, or raise.

    Parameters
    ----------
    overrides : mapping or None
        Settings applied to every scenario a run loads, e.g.
        ``{"economics": {"usd_sla_penalty_per_minute": 10.0}}``; the field names are checked
        here against the section's schema, the values with each scenario
        (:func:`load_scenario`).

    Raises
    ------
    ScenarioError
        If it is not a mapping of allowed sections (:data:`OVERRIDABLE_SECTIONS`) to mappings
        of their fields; the message names ``scenario_overrides.<section>.<field>`` and lists
        what is allowed.
    """
    if overrides is None:
        return {}
    if not isinstance(overrides, dict):
        raise ScenarioError(f"scenario_overrides: must map sections to settings, got "
                            f"{type(overrides).__name__}")
    out = {}
    for section, fields in overrides.items():
        if section not in OVERRIDABLE_SECTIONS:
            raise ScenarioError(f"scenario_overrides.{section}: not an overridable section; "
                                f"allowed: {', '.join(OVERRIDABLE_SECTIONS)}")
        if not isinstance(fields, dict) or not fields:
            raise ScenarioError(f"scenario_overrides.{section}: must map field names to "
                                f"values (e.g. scenario_overrides.economics."
                                f"usd_sla_penalty_per_minute=10), got {fields!r}")
        allowed = Scenario.model_fields[section].annotation.model_fields
        for key in fields:
            if key not in allowed:
                raise ScenarioError(f"scenario_overrides.{section}.{key}: unknown field; "
                                    f"allowed: {', '.join(allowed)}")
        out[str(section)] = {str(k): v for k, v in fields.items()}
    return out


def _apply_overrides(data: object, overrides: dict) -> object:
    """Return a copy of the parsed document with ``overrides`` merged into its sections."""
    if not overrides or not isinstance(data, dict):
        return data
    data = dict(data)
    for section, fields in overrides.items():
        current = data.get(section)
        merged = dict(current) if isinstance(current, dict) else {}
        merged.update(fields)
        data[section] = merged
    return data


def load_scenario(path: Path | str, overrides: dict | None = None) -> Scenario:
    """Read and validate one scenario YAML file.

    Parameters
    ----------
    path : Path or str
        The ``.yaml`` file.
    overrides : dict, optional
        Run-wide settings merged into the file's sections before validation
        (:func:`check_overrides`); an error they cause names the file and says so.

    Returns
    -------
    Scenario

    Raises
    ------
    ScenarioError
        If the file is missing, is not valid YAML (including tags that would construct
        objects, which the safe loader refuses), or fails validation.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise ScenarioError(f"{path}: cannot read the file ({err.strerror})") from None
    except UnicodeDecodeError as err:
        raise ScenarioError(
            f"{path}: not UTF-8 text (byte 0x{err.object[err.start]:02x} at position "
            f"{err.start})"
        ) from None
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # a SafeLoader subclass
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(err, "problem", None) or str(err)
        tagged = "constructor for the tag" in problem  # the safe loader refused a tag
        raise ScenarioError(
            f"{path}: not valid safe YAML{where}: {problem}"
            + (" (tags that construct objects are refused)" if tagged else "")
        ) from None
    overrides = check_overrides(overrides)
    try:
        scenario = parse_scenario(_apply_overrides(data, overrides), path)
    except ScenarioError as err:
        if not overrides:
            raise
        raise ScenarioError(f"{err} (with scenario_overrides {overrides})") from None
    if scenario.id != path.stem:
        raise ScenarioError(
            f"{path}: field 'id': must equal the file name without .yaml ('{path.stem}')"
            f" (got {scenario.id!r})"
        )
    return scenario


def scenario_files(set_name: str = "all", root: Path | None = None) -> list[Path]:
    """List the YAML files of a scenario set, sorted by path.

    Parameters
    ----------
    set_name : str
        ``paper43``, ``extended``, ``all``, or a family name (``data_drift``, ...).
    root : Path, optional
        Library folder; defaults to the repository's ``scenarios/``.

    Raises
    ------
    ScenarioError
        If ``set_name`` is unknown.
    """
    root = Path(root) if root is not None else SCENARIO_ROOT
    if set_name in SET_FOLDERS:
        return sorted((root / SET_FOLDERS[set_name]).glob("*.yaml"))
    if set_name == "all":
        return sorted(root.glob("*/*.yaml"))
    families = {"data_drift", "model_degradation", "infrastructure", "anomaly_patterns"}
    if set_name in families:
        return [p for p in sorted(root.glob("*/*.yaml")) if load_scenario(p).family == set_name]
    raise ScenarioError(
        f"unknown scenario set {set_name!r}; allowed: paper43, extended, all, "
        + ", ".join(sorted(families))
    )


def dir_files(dirs: list[Path | str] | tuple[Path | str, ...]) -> list[Path]:
    """List the YAML files of users' scenario folders (each folder's ``*.yaml``, in order).

    A folder outside the repository is a scenario set of its own: its files are validated
    like the library's and never copied into it.

    Parameters
    ----------
    dirs : sequence of Path or str
        Folders, each holding ``<id>.yaml`` files (not searched recursively).

    Raises
    ------
    ScenarioError
        If ``dirs`` is empty, a folder is missing or listed twice, holds no ``.yaml`` file,
        or two folders hold the same file name (a scenario's id is its file name: both
        files are named).
    """
    if not dirs:
        raise ScenarioError("scenario_dirs: give at least one folder")
    out: list[Path] = []
    seen: set[Path] = set()
    by_name: dict[str, Path] = {}
    for d in dirs:
        folder = Path(d)
        if not folder.is_dir():
            raise ScenarioError(f"scenario_dirs: {d}: no such folder")
        if folder.resolve() in seen:
            raise ScenarioError(f"scenario_dirs: {d}: listed twice")
        seen.add(folder.resolve())
        files = sorted(folder.glob("*.yaml"))
        if not files:
            raise ScenarioError(f"scenario_dirs: {d}: no .yaml file in this folder")
        for f in files:
            if f.name in by_name:
                raise ScenarioError(f"{f}: field 'id': duplicate scenario id {f.stem!r}, "
                                    f"also defined in {by_name[f.name]}")
            by_name[f.name] = f
        out.extend(files)
    return out


def load_scenarios(
    set_name: str = "paper43", select: str | None = None, root: Path | None = None,
    overrides: dict | None = None, dirs: list[Path | str] | tuple | None = None,
) -> list[Scenario]:
    """Load a scenario set, optionally keeping only ids matching a glob or comma list.

    Parameters
    ----------
    set_name : str
        See :func:`scenario_files`; ignored when ``dirs`` is given.
    select : str, optional
        Comma-separated ids or globs (``"cov_*,concept_gradual"``).
    root : Path, optional
        Library folder.
    overrides : dict, optional
        Settings applied to every scenario (:func:`check_overrides`), e.g. the SLA penalty
        of a price-sensitivity run.
    dirs : sequence of Path or str, optional
        Users' scenario folders (:func:`dir_files`): their files are the set instead.

    Raises
    ------
    ScenarioError
        If any file is invalid, two files share an id (both are named), ``select`` matches
        nothing, a folder of ``dirs`` is unusable, or the overrides are malformed or make a
        scenario invalid.
    """
    overrides = check_overrides(overrides)
    files = dir_files(dirs) if dirs else scenario_files(set_name, root)
    out: dict[str, Scenario] = {}
    where: dict[str, Path] = {}
    for p in files:
        sc = load_scenario(p, overrides)
        if sc.id in out:
            raise ScenarioError(f"{p}: field 'id': duplicate scenario id {sc.id!r}, "
                                f"also defined in {where[sc.id]}")
        out[sc.id] = sc
        where[sc.id] = p
    if select:
        pats = [s.strip() for s in select.split(",") if s.strip()]
        keep = [sid for sid in out if any(fnmatch.fnmatchcase(sid, pat) for pat in pats)]
        if not keep:
            what = "scenario_dirs" if dirs else f"set {set_name!r}"
            raise ScenarioError(
                f"no scenario of {what} matches {select!r}; "
                f"ids are: {', '.join(sorted(out))}"
            )
        out = {k: out[k] for k in keep}
    return list(out.values())
