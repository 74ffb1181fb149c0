"""Scenario gallery: one PNG per scenario of a set, in ``paper_figures/scenarios/``.

Each figure is :func:`simulator.scenarios.plot.plot_scenario`: the scenario under ``no_op``
and under its annotated action played after the first alarm (true accuracy, measured
d / a / rho, availability and p99, cumulative dollars; fault onsets marked). Unlike the
results figures, these simulate: they show what a scenario *is*, not how controllers did.
Regenerate after adding or changing scenario files::

    python -m paper_figures.scenario_gallery                 # every scenario
    python -m paper_figures.scenario_gallery --set extended --seed 1

With ``--set all`` into the default folder, a PNG whose scenario no longer exists is removed,
so the folder mirrors the library.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from simulator.scenarios import ScenarioError, load_scenario, scenario_files
from simulator.scenarios.plot import plot_scenario

#: Output folder of the gallery.
GALLERY_DIR = Path(__file__).resolve().parent / "scenarios"


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
    args = parser.parse_args(argv)
    try:
        paths = write_gallery(args.set, args.out, args.seed, args.root)
    except ScenarioError as err:
        print(f"error: {err}")
        return 1
    for p in paths:
        print(p)
    print(f"wrote {len(paths)} figure(s) to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
