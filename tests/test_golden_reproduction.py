"""The committed tables are the code's: golden digests of the paper reproduction's cells.

``python -m experiments.reproduce preset=paper`` writes ``results/tables/cells.csv``: the
SHA-256 of every (controller, seed) cell's rows behind the committed tables. Here seed 0 of
``rules``, ``hybrid`` and the oracle (regret on, as in the paper preset) is rerun from
scratch and must have the committed digest, so no change of the simulator, a controller or
a scenario can leave the committed tables stale silently: when this fails, regenerate them
(the message says how). Tables written twice from the same rows are byte-identical.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hydra import compose, initialize_config_dir

from experiments.config import CONFIG_DIR, REPO_ROOT
from experiments.report_write import cell_digests, write_report
from experiments.reproduce import reproduce

CELLS = REPO_ROOT / "results" / "tables" / "cells.csv"
REGENERATE = "python -m experiments.reproduce preset=paper"


@pytest.fixture(scope="module")
def seed0(tmp_path_factory) -> pd.DataFrame:
    """Rows of seed 0 of rules and hybrid (and the oracle), regret on, run from scratch."""
    tmp = tmp_path_factory.mktemp("golden")
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        cfg = compose("reproduce", overrides=[
            "preset=paper", "n_seeds=1", "controllers=[rules,hybrid]", "n_jobs=1",
            f"raw_dir={tmp / 'raw'}", f"tables_dir={tmp / 'tables'}"])
    assert cfg.regret is True and cfg.first_seed == 0
    return reproduce(cfg)


def test_rerun_cells_have_the_committed_digests(seed0):
    """Seed 0 of rules, hybrid and the oracle, rerun, has the committed cells' digests."""
    committed = pd.read_csv(CELLS).set_index(["controller", "seed"])
    ours = cell_digests(seed0).set_index(["controller", "seed"])
    assert sorted(ours.index) == [("hybrid", 0), ("oracle", 0), ("rules", 0)]
    for key, row in ours.iterrows():
        assert key in committed.index, f"{key} is not in {CELLS.name}: run {REGENERATE}"
        assert row.episodes == committed.loc[key, "episodes"] == 43
        assert row.rows_sha256 == committed.loc[key, "rows_sha256"], (
            f"{key}: the rows differ from those behind the committed tables; the code changed "
            f"the results, so regenerate them: {REGENERATE}")
    # the committed run is the paper preset's: 100 seeds of every main controller
    assert committed.xs(0, level="seed").index.size >= 8
    assert committed.loc["hybrid"].index.tolist() == list(range(100))


def test_digests_ignore_provenance_and_see_every_value(seed0):
    """Provenance columns do not change a digest; one changed value in one row does."""
    digests = cell_digests(seed0)
    base = digests.rows_sha256.tolist()
    before = digests.set_index("controller").rows_sha256
    moved = seed0.assign(git_commit="elsewhere", config_hash="0" * 16)
    assert cell_digests(moved).rows_sha256.tolist() == base
    shuffled = seed0.sample(frac=1.0, random_state=1)  # row order is not part of a digest
    assert cell_digests(shuffled).rows_sha256.tolist() == base
    changed = seed0.copy()
    i = int(np.flatnonzero(changed.controller == "hybrid")[0])
    changed.loc[changed.index[i], "cost_usd"] = np.nextafter(changed.cost_usd.iloc[i], np.inf)
    after = cell_digests(changed).set_index("controller").rows_sha256
    assert after["hybrid"] != before["hybrid"] and after["rules"] == before["rules"]


def test_tables_written_twice_are_byte_identical(seed0, tmp_path):
    """The same rows give byte-identical tables (Markdown, CSV, LaTeX) in two folders."""
    outs = [tmp_path / "a", tmp_path / "b"]
    for out in outs:
        write_report(out, "", "paper", seed0, ["rules", "hybrid"], [],
                     ["safety", "performance", "learning", "paired", "family", "action_mix"],
                     None)
    a = sorted(p.name for p in outs[0].iterdir())
    assert a == sorted(p.name for p in outs[1].iterdir()) and len(a) == 21
    for name in a:
        assert (outs[0] / name).read_bytes() == (outs[1] / name).read_bytes(), name
    # and the safety table's numbers are those of the rows
    tab = pd.read_csv(outs[0] / "safety.csv").set_index("controller")
    for name in ("rules", "hybrid"):
        g = seed0[seed0.controller == name]
        assert tab.loc[name, "episodes"] == len(g) == 43
        assert tab.loc[name, "catastrophic_pct"] == pytest.approx(100 * g.catastrophic.mean())


def test_committed_manifest_covers_the_committed_tables():
    """cells.csv lists 100 seeds of every controller of the committed main table."""
    committed = pd.read_csv(CELLS)
    main = pd.read_csv(Path(CELLS).with_name("main_results.csv"))
    for name in main.controller:
        seeds = committed[committed.controller == name].seed
        assert sorted(seeds) == list(range(100)), name
    assert (committed.episodes == 43).all()
