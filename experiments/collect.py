"""``python -m experiments.collect DIR... --out TABLES``: the reproduction's tables from sweeps.

Merges the cells (Parquet files, :mod:`experiments.cells`) found under any set of folders
(the ``out_dir`` of local or cluster sweeps of ``experiments.run``, a ``reproduce`` raw
folder, copies of either) and writes the tables of the reproduction from them: ``main``,
``safety``, ``performance``, ``learning`` (when the cells recorded regret), ``action_mix``,
``family``, ``paired``, ``ablations`` (when ablation controllers are among them),
``headline``, ``claims`` and ``cells.csv``. The sensitivity table needs the studies'
settings and is made by ``reproduce`` only.

Cells must agree before anything is written:

- every row must carry the same code fingerprint (rows made by different code are never
  mixed), and
- every cell of one controller label must have the same config hash (the same settings,
  scenarios and regret recording at every seed; two different runs under one label, say
  one with regret and one without, are refused, naming both files); a cell found twice
  (copied into two folders) is kept once; and
- every cell must cover the same scenarios.

Examples
--------
python -m experiments.collect results/raw/reproduce --out results/collected
python -m experiments.collect cluster_a/raw cluster_b/raw --out results/collected
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from experiments.config import ABLATIONS, ReproduceConfig
from experiments.report_write import cell_digests, write_report
from experiments.storage import code_fingerprint
from experiments.tables import main_results, main_results_markdown

#: Columns every cell's rows must have.
KEYS = ("controller", "seed", "scenario", "config_hash", "code_fingerprint")


class CollectError(ValueError):
    """Cells that cannot be merged, or folders without cells."""


def cell_files(dirs: list[Path]) -> list[Path]:
    """Return every cell file under ``dirs`` (not the per-decision regret records), sorted.

    Raises
    ------
    CollectError
        If a folder does not exist or none holds a cell.
    """
    files = []
    for d in dirs:
        if not d.is_dir():
            raise CollectError(f"{d}: not a folder")
        files += [f for f in sorted(d.rglob("*.parquet"))
                  if not f.name.endswith("_decisions.parquet")]
    if not files:
        raise CollectError(f"no cell (*.parquet) under {', '.join(map(str, dirs))}")
    return files


def merge(files: list[Path]) -> pd.DataFrame:
    """Read the cells and return their rows, each cell once.

    Raises
    ------
    CollectError
        Naming the file: unreadable, without the key columns, made by other code than the
        first file, a cell whose config hash differs from another cell's of the same label,
        or a cell covering other scenarios.
    """
    seen: dict[tuple, tuple[str, Path]] = {}
    setting: dict[str, tuple[str, Path]] = {}  # label -> (config hash, first file)
    scenarios: tuple[frozenset, Path] | None = None
    code: tuple[str, Path] | None = None
    frames = []
    for f in files:
        try:
            df = pd.read_parquet(f)
        except (OSError, ValueError) as err:
            raise CollectError(f"{f}: not a readable Parquet cell ({err})") from None
        missing = [k for k in KEYS if k not in df]
        if missing:
            raise CollectError(f"{f}: not a cell (no column(s) {missing}); a cell written "
                               f"before code fingerprints were recorded must be run again")
        for fp in df.code_fingerprint.unique():
            if code is None:
                code = (fp, f)
            elif fp != code[0]:
                raise CollectError(f"{f}: made by other code (fingerprint {fp}) than "
                                   f"{code[1]} ({code[0]}); collect cells of one code version")
        new = []
        for (name, seed), g in df.groupby(["controller", "seed"], sort=False):
            hashes = set(g.config_hash)
            if len(hashes) != 1:
                raise CollectError(f"{f}: {name} seed {seed} has several config hashes")
            (h,) = hashes
            first = setting.setdefault(name, (h, f))
            if first[0] != h:
                raise CollectError(
                    f"{f}: {name} seed {seed} has config hash {h}, but {first[1]} has "
                    f"{first[0]} for {name}: two different runs under one label (other "
                    f"settings, scenarios or regret); collect the cells of one setting")
            ids = frozenset(g.scenario)
            scenarios = scenarios or (ids, f)
            if ids != scenarios[0]:
                raise CollectError(f"{f}: {name} seed {seed} covers other scenarios "
                                   f"({len(ids)}) than {scenarios[1]} ({len(scenarios[0])}); "
                                   f"every cell must cover the same scenarios")
            if (name, seed) in seen:
                continue  # the same cell twice (same key): kept once
            seen[name, seed] = (h, f)
            new.append(g)
        frames += new
    rows = pd.concat(frames, ignore_index=True)
    return rows.sort_values(["controller", "seed", "scenario"], kind="stable",
                            ignore_index=True)


def controllers_of(df: pd.DataFrame) -> tuple[list[str], list[str]]:
    """Return (main controllers, ablations) among the rows' labels, in the paper's order."""
    names = [n for n in df.controller.unique() if n != "oracle"]
    default = ReproduceConfig().controllers
    main = [n for n in default if n in names] + sorted(
        n for n in names if n not in default and n not in ABLATIONS)
    return main, [a for a in ABLATIONS if a in names]


def collect(dirs: list[Path], out: Path) -> tuple[pd.DataFrame, list[Path]]:
    """Merge the cells under ``dirs`` and write the reproduction's tables into ``out``.

    Returns
    -------
    rows : DataFrame
        The merged rows, each cell once.
    written : list of Path
        The files written.

    Raises
    ------
    CollectError
        As :func:`cell_files` and :func:`merge`; nothing is written then.
    """
    df = merge(cell_files(dirs))
    controllers, ablations = controllers_of(df)
    tables = ["main", "safety", "performance", "learning", "action_mix", "family", "paired",
              "headline", "claims"] + (["ablations"] if ablations else [])
    out.mkdir(parents=True, exist_ok=True)
    main = df[df.controller.isin(controllers)]
    tab = main_results(main)
    tab.to_csv(out / "main_results.csv", index=False)
    (out / "main_results.md").write_text(
        f"# Main results ({main.seed.nunique()} seeds x {main.scenario.nunique()} scenarios, "
        f"collected)\n\n" + main_results_markdown(tab))
    written = [out / "main_results.md", out / "main_results.csv"]
    written += write_report(out, "", "collected", df, controllers, ablations, tables, None)
    cell_digests(df).to_csv(out / "cells.csv", index=False, lineterminator="\n")
    written.append(out / "cells.csv")
    return df, written


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python -m experiments.collect DIR... --out TABLES``."""
    parser = argparse.ArgumentParser(
        prog="python -m experiments.collect",
        description="Write the reproduction's tables from the cells (Parquet) of sweeps: "
                    "local or cluster out_dir folders, or reproduce's raw folder.")
    parser.add_argument("dirs", nargs="+", type=Path, metavar="DIR",
                        help="folders searched (recursively) for cells")
    parser.add_argument("--out", type=Path, default=Path("results/collected"),
                        help="folder of the tables (default: results/collected)")
    args = parser.parse_args(argv)
    try:
        n, written = collect(args.dirs, args.out)
    except CollectError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except OSError as err:
        print(f"error: cannot write into {args.out}: {err.strerror}", file=sys.stderr)
        return 2
    here = code_fingerprint()
    if n.code_fingerprint.iloc[0] != here:
        print(f"note: the cells were made by other code ({n.code_fingerprint.iloc[0]}) than "
              f"this checkout ({here})", file=sys.stderr)
    print(f"collected {len(n)} episode rows ({n.groupby(['controller', 'seed']).ngroups} "
          f"cells) from {len(args.dirs)} folder(s)")
    for path in written:
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
