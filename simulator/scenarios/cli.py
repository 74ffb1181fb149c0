"""``python -m simulator.scenarios`` (also ``selfheal-scenarios``): browse and check scenarios.

Subcommands
-----------
list [--set SET]
    Table of the scenarios of a set (``paper43``, ``extended``, ``all`` or a family): id,
    family, sub-type, annotated optimal action, source (truncated).
show ID
    The validated scenario as YAML, every default filled in (read-only).
validate [PATHS ...]
    Validate files (directories: every ``*.yaml`` below them; default: the whole library).
    Prints one line per error, ``<file>: field '<f>': <reason>``, for every invalid file,
    and refuses two files with the same id. Nothing is executed (safe YAML loader).
plot ID [--out DIR] [--seed S]
    ``<DIR>/<ID>.png``: ground truth and measurements under ``no_op`` and under the
    annotated action played after the first alarm (see :mod:`simulator.scenarios.plot`).
show ID --seed N | --env-seed S
    The incident of episode seed ``N`` (the seed result rows record as ``episode_seed``,
    and ``check`` and ``plot`` play), or the one ``env.reset(seed=S)`` draws (randomised
    files; see :mod:`simulator.scenarios.randomise`).
check ID [ID ...] | --set SET [--markdown]  [--seeds N]
    For each of episode seeds 0..N-1 (default 20; each draws its incident), fork the simulation
    after the first alarm once per action and play each to the horizon; report the share
    of draws in which the annotated action is the cheapest within the tie tolerance (its
    *hold rate*, :mod:`simulator.scenarios.holdrate`). Exit 1 if a hold rate is below 60%.
    For one scenario, the draws in which every action ends in a catastrophe are named, with
    the multi-step remedy the oracle's forks find there
    (:func:`simulator.scenarios.holdrate.search_remedy`), if any.
schema
    Print the JSON schema of a scenario file (the committed ``scenarios/schema.json``).

``ID`` is a scenario id of the library or a path to a ``.yaml`` file. ``--root DIR``
(before the subcommand) reads another library folder laid out like ``scenarios/``.
``--dir DIR`` (before the subcommand, repeatable) reads users' scenario folders instead:
their ``*.yaml`` files are the set (``--set all`` or a family), ids are looked up in them,
and an id defined in two folders is refused, naming both files.

Exit codes: 0 success; 1 invalid scenario file(s) (or, for ``check``, an annotation the
simulation does not support); 2 bad usage (unknown id, set or option), with a one-line
message and no traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path
from typing import get_args

import yaml

from simulator.scenarios import loader
from simulator.scenarios.loader import SET_FOLDERS, ScenarioError, load_scenario, scenario_files
from simulator.scenarios.schema import Family, Scenario

PROG = "python -m simulator.scenarios"
#: Width at which ``list`` truncates the source column.
SOURCE_WIDTH = 60
#: Family names accepted by ``--set`` besides the folder sets and ``all``.
FAMILIES = tuple(sorted(get_args(Family)))


class UsageError(Exception):
    """Bad command-line usage; reported as one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    """ArgumentParser whose errors are one line (``error: ...``) and exit 2."""

    def error(self, message: str):  # noqa: D102 (argparse API)
        raise UsageError(f"{message} (see {self.prog} --help)")


def _set_names() -> list[str]:
    return [*SET_FOLDERS, "all", *[f for f in FAMILIES if f not in SET_FOLDERS]]


def _files_of_set(set_name: str, root: Path,
                  dirs: list[Path] | None = None) -> tuple[list[Path], str | None]:
    """Return the files to read for ``set_name`` and the family to keep (None: all).

    With ``dirs`` (``--dir``) the files are those of the users' folders; ``all`` keeps
    them all and a family name keeps that family.
    """
    if dirs:
        if set_name != "all" and set_name not in FAMILIES:
            what = "is a folder of the library" if set_name in SET_FOLDERS else "is unknown"
            raise UsageError(f"--set {set_name} {what}; with --dir use --set all or a family "
                             f"({', '.join(sorted(FAMILIES))})")
        return loader.dir_files(dirs), (None if set_name == "all" else set_name)
    if set_name in SET_FOLDERS or set_name == "all":
        return scenario_files(set_name, root), None
    if set_name in FAMILIES:
        return scenario_files("all", root), set_name
    raise UsageError(f"unknown scenario set {set_name!r}; allowed: {', '.join(_set_names())}")


def _resolve(ident: str, root: Path, dirs: list[Path] | None = None) -> Path:
    """Return the file of a scenario id (``<root>/*/<id>.yaml``) or of a ``.yaml`` path.

    With ``dirs`` the id is looked up in the users' folders (:func:`loader.dir_files`).
    """
    path = Path(ident)
    if path.suffix in (".yaml", ".yml"):
        if not path.is_file():
            raise UsageError(f"no such scenario file: {ident}")
        return path
    if dirs:
        hits = [f for f in loader.dir_files(dirs) if f.stem == ident]
        if not hits:
            raise UsageError(f"unknown scenario {ident!r} in --dir "
                             f"{', '.join(map(str, dirs))} (see `{PROG} --dir DIR list`)")
        return hits[0]
    hits = sorted(root.glob(f"*/{ident}.yaml"))
    if not hits:
        raise UsageError(f"unknown scenario {ident!r} under {root} (see `{PROG} list --set all`)")
    return hits[0]


def _load(ident: str, root: Path, dirs: list[Path] | None = None) -> Scenario:
    return load_scenario(_resolve(ident, root, dirs))


# ----------------------------------------------------------------------------------------
# Subcommands
# ----------------------------------------------------------------------------------------
def cmd_list(args: argparse.Namespace) -> int:
    """Print the table of a set's scenarios; report unreadable files on stderr (exit 1)."""
    import pandas as pd

    files, family = _files_of_set(args.set, args.root, args.dir)
    rows, errors = [], []
    for path in files:
        try:
            sc = load_scenario(path)
        except ScenarioError as err:
            errors.append(str(err))
            continue
        if family is not None and sc.family != family:
            continue
        src = sc.source if len(sc.source) <= SOURCE_WIDTH else sc.source[: SOURCE_WIDTH - 3] + "..."
        rows.append((sc.id, sc.family, sc.subtype, sc.annotations.optimal_action, src))
    if rows:
        cols = ["id", "family", "subtype", "optimal_action", "source"]
        df = pd.DataFrame(rows, columns=cols)
        widths = {c: max(len(c), int(df[c].str.len().max())) for c in cols}
        fmt = {c: (lambda w: lambda v: f"{v:<{w}}")(widths[c]) for c in cols}
        print(df.to_string(index=False, formatters=fmt, justify="left"))
        print(f"{len(rows)} scenario(s) in set {args.set!r}")
    else:
        where = ", ".join(map(str, args.dir)) if args.dir else args.root
        print(f"no scenarios in set {args.set!r} under {where}")
    for e in errors:
        print(e, file=sys.stderr)
    if errors:
        print(f"{len(errors)} invalid file(s) not listed; run `{PROG} validate`", file=sys.stderr)
        return 1
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    """Print the validated scenario as YAML with every default filled in.

    With ``--seed N``, print the incident of episode seed ``N`` (the seed result rows
    record as ``episode_seed`` and ``Simulation.reset`` takes); with ``--env-seed S``, the
    one ``env.reset(seed=S)`` draws. A fixed scenario prints itself; without a seed, a
    randomised file prints its nominal incident.
    """
    from simulator.env import env_episode_seed

    path = _resolve(args.id, args.root, args.dir)
    sc = load_scenario(path)
    for flag, value in (("--seed", args.seed), ("--env-seed", args.env_seed)):
        if value is not None and value < 0:
            raise UsageError(f"{flag} must be >= 0, got {value}")
    if args.seed is not None and args.env_seed is not None:
        raise UsageError("give --seed or --env-seed, not both")
    seed, how = args.seed, f"episode seed {args.seed}"
    if args.env_seed is not None:
        seed = env_episode_seed(args.env_seed)
        how = f"env.reset(seed={args.env_seed}), episode seed {seed}"
    if not loader.is_randomised(sc):
        what = "a fixed incident (no ranges)"
    elif seed is None:
        what = "the nominal incident (every range at its middle; --seed N draws one)"
    else:
        sc = loader.draw_incident(sc, seed)
        what = f"the incident drawn for {how}"
    print(f"# {path}: validated, every default filled in; {what}")
    data = sc.model_dump(mode="json")
    data["faults"] = [{"kind": f["kind"], **f} for f in data["faults"]]  # kind first
    print(yaml.safe_dump(data, sort_keys=False, width=100), end="")
    return 0


def _expand(paths: list[str], root: Path) -> list[Path]:
    if not paths:
        paths = [str(root)]
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out += sorted(q for q in p.rglob("*") if q.suffix in (".yaml", ".yml"))
        elif p.is_file():
            out.append(p)
        else:
            raise UsageError(f"no such file or directory: {p}")
    return out


def cmd_validate(args: argparse.Namespace) -> int:
    """Validate every file; print each error line of every invalid file (exit 1 if any)."""
    if args.dir and args.paths:
        raise UsageError("give files or folders to validate, or --dir, not both")
    # --dir: the files a run reads (each folder's *.yaml), so validate agrees with list/run
    files = loader.dir_files(args.dir) if args.dir else _expand(args.paths, args.root)
    if not files:
        raise UsageError(f"no .yaml files under {', '.join(args.paths) or str(args.root)}")
    first_of: dict[str, Path] = {}
    bad = 0
    for path in files:
        try:
            sc = load_scenario(path)
        except ScenarioError as err:
            print(err)
            bad += 1
            continue
        if sc.id in first_of:
            print(f"{path}: field 'id': duplicate scenario id {sc.id!r} (also {first_of[sc.id]})")
            bad += 1
            continue
        first_of[sc.id] = path
    if bad:
        print(f"{bad} of {len(files)} scenario file(s) invalid", file=sys.stderr)
        return 1
    print(f"{len(files)} scenario file(s) valid", file=sys.stderr)
    return 0


def cmd_plot(args: argparse.Namespace) -> int:
    """Write the scenario's PNG and print its path."""
    from simulator.scenarios.plot import plot_scenario

    if args.seed < 0:
        raise UsageError(f"--seed must be >= 0, got {args.seed}")
    sc = _load(args.id, args.root, args.dir)
    print(plot_scenario(sc, args.out, seed=args.seed))
    return 0


def _check_one(sc: Scenario, seeds: range) -> int:
    """Print one scenario's per-action table and hold rate; return 1 if it is too low.

    An urgent scenario (``annotations.urgent``) is also checked to be one: ``no_op`` must
    fail catastrophically within URGENT_MINUTES of onset in every draw, else 1.
    """
    import pandas as pd

    from simulator.scenarios.holdrate import (
        ALL_CATASTROPHIC,
        MIN_HOLD_RATE,
        URGENT_MINUTES,
        draw_verdicts,
        urgent_draws,
    )
    from simulator.scenarios.plot import compare_actions

    rows = compare_actions(sc, seeds)
    df = pd.DataFrame(rows)
    table = df.groupby("action", sort=False).agg(
        mean_usd=("score", "mean"),
        catastrophes=("catastrophe", lambda s: int((s != "none").sum())),
        min_usd=("cost_usd", "min"),
        max_usd=("cost_usd", "max"),
    )
    ann = sc.annotations.optimal_action
    seeds_played, holds, cheapest = draw_verdicts(rows, ann)
    drawn = "drawn incidents" if loader.is_randomised(sc) else "seeds (fixed incident)"
    print(f"{sc.id}: each action played once after the first alarm (or at onset), then "
          f"no_op; dollars to the horizon; {len(seeds)} {drawn} (seeds {seeds.start}.."
          f"{seeds.stop - 1}); catastrophe = inf")
    print(table.round(1).to_string())
    rate = sum(holds) / len(holds)
    counts = ", ".join(f"{a} {n}" for a, n in Counter(cheapest).most_common())
    verdict = "holds" if rate >= MIN_HOLD_RATE else f"FAILS (< {MIN_HOLD_RATE:.0%})"
    print(f"annotation {ann!r} {verdict}: best (within tolerance) in {sum(holds)} of "
          f"{len(holds)} draws ({rate:.0%}); cheapest per draw: {counts}")
    lost = [s for s, c in zip(seeds_played, cheapest, strict=True) if c == ALL_CATASTROPHIC]
    if lost:
        _report_remedies(sc, lost, len(seeds))
    status = 0 if rate >= MIN_HOLD_RATE else 1
    if sc.annotations.urgent:
        fast = urgent_draws(sc, seeds)
        ok = all(fast)
        print(f"urgent: no_op is catastrophic within {URGENT_MINUTES} minutes of onset in "
              f"{sum(fast)} of {len(fast)} draws"
              + ("" if ok else " (FAILS: an urgent incident must be, in every draw)"))
        status = max(status, 0 if ok else 1)
    return status


def _report_remedies(sc: Scenario, lost: list[int], n_draws: int) -> None:
    """Say which draws no single action saves, and what a multi-step search finds there."""
    from simulator.scenarios.holdrate import REMEDY_COOLDOWN, search_remedy

    print(f"every action ends in a catastrophe before the horizon (one action after the "
          f"first alarm, then no_op) in {len(lost)} of {n_draws} draws (seeds "
          f"{', '.join(map(str, lost))})")
    remedies = [search_remedy(sc, s) for s in lost]
    saved = [r for r in remedies if r.catastrophe == "none"]
    print(f"multi-step remedy (greedy, the oracle's forks: at every minute from the first "
          f"alarm, with a {REMEDY_COOLDOWN}-minute cooldown after each action, the action "
          f"whose outcome window is cheapest without a catastrophe): avoids it in "
          f"{len(saved)} of {len(lost)}")
    for r in sorted(remedies, key=lambda r: (r.catastrophe != "none", r.cost_usd)):
        print(f"  {r.describe()}")


def cmd_check(args: argparse.Namespace) -> int:
    """Hold rate of annotations over drawn incidents; exit 1 if any is below the minimum.

    One or more ids print each scenario's per-action table; ``--set`` prints one table
    (Markdown with ``--markdown``) of every scenario of the set.
    """
    from simulator.scenarios.holdrate import MIN_HOLD_RATE, hold_rate

    if args.seeds < 1:
        raise UsageError(f"--seeds must be >= 1, got {args.seeds}")
    if args.ids and args.set:
        raise UsageError("give scenario ids or --set SET, not both")
    if not args.ids and not args.set:
        raise UsageError("give scenario ids or --set SET")
    if args.markdown and not args.set:
        raise UsageError("--markdown goes with --set (a table of the set)")
    seeds = range(args.seeds)
    if args.ids:
        return max(_check_one(_load(i, args.root, args.dir), seeds) for i in args.ids)
    files, family = _files_of_set(args.set, args.root, args.dir)
    scenarios = [sc for sc in map(load_scenario, files) if family in (None, sc.family)]
    results = [hold_rate(sc, seeds) for sc in scenarios]
    if args.markdown:
        print("| scenario | annotated | holds | annotated catastrophic | cheapest per draw |")
        print("|---|---|---|---|---|")
    for r in results:
        counts = ", ".join(f"{a} {n}" for a, n in r.cheapest_counts.items())
        flag = "" if r.rate >= MIN_HOLD_RATE else " **below 60%**"
        if args.markdown:
            print(f"| `{r.scenario}` | {r.annotated} | {sum(r.holds)}/{len(r.holds)}{flag} "
                  f"| {sum(r.catastrophic)} | {counts} |")
        else:
            print(f"{r.scenario:45s} {r.annotated:10s} {r.rate:5.0%}  cat={sum(r.catastrophic)}"
                  f"  {counts}")
    low = [r.scenario for r in results if r.rate < MIN_HOLD_RATE]
    print(f"{len(results) - len(low)} of {len(results)} annotations hold in >= "
          f"{MIN_HOLD_RATE:.0%} of {args.seeds} draws" + (f"; below: {', '.join(low)}"
                                                          if low else ""), file=sys.stderr)
    return 1 if low else 0


def cmd_schema(args: argparse.Namespace) -> int:
    """Print the JSON schema (the text of scenarios/schema.json)."""
    from simulator.scenarios.json_schema import schema_text

    sys.stdout.write(schema_text())
    return 0


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the CLI."""
    parser = _Parser(prog=PROG, description="Browse, validate and plot failure scenarios.")
    parser.add_argument(
        "--root",
        type=Path,
        default=None,
        help="scenario library folder (default: the repository's scenarios/)",
    )
    parser.add_argument(
        "--dir",
        type=Path,
        action="append",
        default=None,
        help="a folder of your own scenario files, read instead of the library "
             "(repeatable; ids must be unique across folders)",
    )
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    p = sub.add_parser("list", help="table of the scenarios of a set")
    p.add_argument("--set", default="all", help=f"one of: {', '.join(_set_names())}")
    p.set_defaults(func=cmd_list)
    p = sub.add_parser("show", help="the validated scenario as YAML, defaults filled in")
    p.add_argument("id", help="scenario id or path to a .yaml file")
    p.add_argument("--seed", type=int, default=None,
                   help="print the incident of this episode seed (result rows' episode_seed)")
    p.add_argument("--env-seed", type=int, default=None,
                   help="print the incident env.reset(seed=S) draws")
    p.set_defaults(func=cmd_show)
    p = sub.add_parser("validate", help="validate files (default: the whole library)")
    p.add_argument("paths", nargs="*", help="files or directories (default: --root)")
    p.set_defaults(func=cmd_validate)
    p = sub.add_parser("plot", help="PNG of no_op vs the annotated action")
    p.add_argument("id", help="scenario id or path to a .yaml file")
    p.add_argument("--out", type=Path, default=Path("."), help="output folder (default: .)")
    p.add_argument("--seed", type=int, default=0,
                   help="episode seed: its drawn incident and random streams (default: 0)")
    p.set_defaults(func=cmd_plot)
    p = sub.add_parser("check", help="hold rate of annotations over drawn incidents")
    p.add_argument("ids", nargs="*", help="scenario ids or paths to .yaml files")
    p.add_argument("--set", default=None, help=f"every scenario of: {', '.join(_set_names())}")
    p.add_argument("--seeds", type=int, default=20,
                   help="episode seeds 0..N-1, one drawn incident each (default: 20)")
    p.add_argument("--markdown", action="store_true", help="with --set: a Markdown table")
    p.set_defaults(func=cmd_check)
    p = sub.add_parser("schema", help="print the JSON schema of a scenario file")
    p.set_defaults(func=cmd_schema)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; return the exit code (0 ok, 1 invalid scenario, 2 bad usage)."""
    try:
        args = build_parser().parse_args(argv)
        if args.root is None:
            args.root = loader.SCENARIO_ROOT  # read at call time: tests may point it elsewhere
        elif not args.root.is_dir():
            raise UsageError(f"--root {args.root}: no such folder")
        for d in args.dir or []:
            if not d.is_dir():
                raise UsageError(f"--dir {d}: no such folder")
        return args.func(args)
    except UsageError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except ScenarioError as err:
        print(err, file=sys.stderr)
        return 1
    except BrokenPipeError:  # e.g. `... list | head`
        return 0
