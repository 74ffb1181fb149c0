"""Scenario gallery: one PNG per scenario of a set, in ``paper_figures/scenarios/``.

Each figure is :func:`simulator.scenarios.plot.plot_scenario`: the scenario under ``no_op``
and under its annotated action played after the first alarm (true accuracy, measured
d / a / rho, availability and p99, cumulative dollars; fault onsets marked). Unlike the
results figures, these simulate: they show what a scenario *is*, not how controllers did.
Regenerate after adding or changing scenario files::

    python -m paper_figures.scenario_gallery                 # every scenario
    python -m paper_figures.scenario_gallery --set extended --seed 1

With ``--set all`` into the default folder, a PNG whose scenario no longer exists is removed,
so the folder mirrors the library. The gallery's ``index.md`` lists every figure beside how
the controllers did on that scenario in the committed reproduction: it reads
``results/tables/per_scenario.csv`` (``--results``), never a simulation of its own::

    python -m paper_figures.scenario_gallery --index-only     # just rewrite index.md
"""

from __future__ import annotations

import argparse
from pathlib import Path

from simulator.scenarios import ScenarioError, load_scenario, scenario_files
from simulator.scenarios.plot import plot_scenario

#: Output folder of the gallery.
GALLERY_DIR = Path(__file__).resolve().parent / "scenarios"
#: The reproduction's per-scenario results the index reads.
PER_SCENARIO = Path(__file__).resolve().parents[1] / "results" / "tables" / "per_scenario.csv"
#: Controllers shown in the index, in this order (those present in the results file).
INDEX_CONTROLLERS = ("noop", "rules", "human", "rl", "hybrid")


def write_index(out_dir: Path, results: Path = PER_SCENARIO) -> Path:
    """Write ``index.md``: each figure of ``out_dir`` with its scenario's results.

    Parameters
    ----------
    out_dir : Path
        The gallery folder (its ``*.png`` are listed, one row each).
    results : Path
        ``per_scenario.csv`` of a reproduction (controller, scenario, family, episodes,
        catastrophes, cost_usd, sla_compliance_pct, optimal_action).

    Returns
    -------
    Path
        The index written. A scenario without results (e.g. of the extended set, which the
        paper reproduction does not run) shows "not in the reproduction".

    Raises
    ------
    ValueError
        If ``results`` does not exist or lacks a column (naming the file).
    """
    import pandas as pd

    if not Path(results).is_file():
        raise ValueError(f"{results}: no such results file (run python -m "
                         "experiments.reproduce preset=paper first)")
    tab = pd.read_csv(results)
    need = {"controller", "scenario", "episodes", "catastrophes", "cost_usd",
            "sla_compliance_pct", "optimal_action"}
    if not need <= set(tab.columns):
        raise ValueError(f"{results}: missing columns {sorted(need - set(tab.columns))}")
    names = [c for c in INDEX_CONTROLLERS if c in set(tab.controller)]
    by = tab.set_index(["scenario", "controller"])
    seeds = int(tab.episodes.max()) if len(tab) else 0
    head = "| figure | annotated action | " + " | ".join(
        f"{c}: catastrophes / {seeds}, mean $, SLA %" for c in names) + " |"
    lines = [f"# Scenario gallery ({len(list(out_dir.glob('*.png')))} figures)", "",
             "Each figure simulates the scenario (seed 0) under no_op and its annotated "
             "action. Beside it: how each controller did on that scenario in the "
             f"reproduction (`{Path(results).name}`; {seeds} seeds, one episode each, "
             "episodes of one scenario are draws of one incident class).", "", head,
             "|" + "---|" * (2 + len(names))]
    for png in sorted(out_dir.glob("*.png")):
        sid = png.stem
        cells = []
        for c in names:
            if (sid, c) in by.index:
                r = by.loc[(sid, c)]
                cells.append(f"{int(r.catastrophes)}, {r.cost_usd:.0f}, "
                             f"{r.sla_compliance_pct:.1f}")
            else:
                cells.append("not in the reproduction")
        action = (by.loc[sid].optimal_action.iloc[0] if sid in by.index.get_level_values(0)
                  else "")
        lines.append(f"| [{sid}]({png.name}) | {action} | " + " | ".join(cells) + " |")
    path = out_dir / "index.md"
    path.write_text("\n".join(lines) + "\n")
    return path


def write_gallery(
    set_name: str = "all", out_dir: Path = GALLERY_DIR, seed: int = 0, root: Path | None = None
) -> list[Path]:
    """Write one PNG per scenario of ``set_name`` into ``out_dir``; return the paths.

    Parameters
    ----------
    set_name : str
        ``paper43``, ``extended``, ``all`` or a family (see ``scenario_files``).
    out_dir : Path
        Output folder (created if missing).
    seed : int
        Episode seed of every figure.
    root : Path, optional
        Scenario library folder (default: the repository's ``scenarios/``).

    Raises
    ------
    ScenarioError
        If the set is unknown or one of its files is invalid (nothing is written then).
    """
    scenarios = [load_scenario(p) for p in scenario_files(set_name, root)]
    out_dir = Path(out_dir)
    paths = [plot_scenario(sc, out_dir, seed=seed) for sc in scenarios]
    if set_name == "all" and out_dir.resolve() == GALLERY_DIR:
        keep = {p.name for p in paths}
        for stale in out_dir.glob("*.png"):
            if stale.name not in keep:
                stale.unlink()
    return paths


def main(argv: list[str] | None = None) -> int:
    """Command line: write the gallery, print one line per figure; exit 1 on a bad scenario."""
    parser = argparse.ArgumentParser(prog="python -m paper_figures.scenario_gallery")
    parser.add_argument("--set", default="all", help="scenario set (default: all)")
    parser.add_argument("--out", type=Path, default=GALLERY_DIR, help="output folder")
    parser.add_argument("--seed", type=int, default=0, help="episode seed (default: 0)")
    parser.add_argument("--root", type=Path, default=None, help="scenario library folder")
    parser.add_argument("--results", type=Path, default=PER_SCENARIO,
                        help="per-scenario results the index reads "
                             "(default: results/tables/per_scenario.csv)")
    parser.add_argument("--index-only", action="store_true",
                        help="only rewrite index.md from the figures already in --out")
    args = parser.parse_args(argv)
    try:
        paths = [] if args.index_only else write_gallery(args.set, args.out, args.seed,
                                                         args.root)
        index = write_index(args.out, args.results)
    except (ScenarioError, ValueError) as err:
        print(f"error: {err}")
        return 1
    except OSError as err:  # --out a file, or a folder that cannot be created
        print(f"error: --out {args.out}: cannot write there ({err.strerror})")
        return 1
    for p in paths:
        print(p)
    print(f"wrote {len(paths)} figure(s) and {index.name} to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
