"""The results figures (``python -m paper_figures.results_figures``) drawn from fixture tables.

The CSVs of ``tests/data/figure_tables/`` are small hand-made tables in the schemas the
script reads (four controllers, five episodes per curve, two families, NaN cells, a
controller that took no action, an all-zero regret curve besides the oracle's). The
figures are drawn once per module; a second run through the command line must give the
same bytes; a missing CSV skips only its figure. The module must not import the
simulator, the controllers or the experiments: it reads tables, it does not simulate.
"""

from __future__ import annotations

import ast
import shutil
from pathlib import Path

import matplotlib
import matplotlib.image
import matplotlib.style
import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from paper_figures import results_figures as rf

TABLES = Path(__file__).resolve().parent / "data" / "figure_tables"
STEMS = ["safety", "cost_sla", "regret", "learning_curves", "action_mix", "family_heatmap",
         "sensitivity", "detectors"]


@pytest.fixture(scope="module")
def figures(tmp_path_factory) -> tuple[Path, list[Path]]:
    """Write the figures of the fixture tables once; return (folder, returned paths)."""
    out = tmp_path_factory.mktemp("figures")
    return out, rf.write_figures(TABLES, out)


def test_every_figure_is_written_as_png_and_pdf(figures):
    """Each figure is written as a non-empty PNG and PDF; the paths are returned in order."""
    out, paths = figures
    assert [spec.stem for spec in rf.FIGURES] == STEMS
    assert paths == [out / f"{s}.{ext}" for s in STEMS for ext in ("png", "pdf")]
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in paths)
    for p in paths:
        assert p.stat().st_size > 1000, p
    for p in out.glob("*.pdf"):
        data = p.read_bytes()
        assert data.startswith(b"%PDF") and b"CreationDate" not in data
        assert b"Matplotlib" not in data  # no Producer / Creator with the version


@pytest.mark.parametrize("spec", rf.FIGURES, ids=lambda s: s.stem)
def test_png_has_the_figure_size_in_pixels(figures, spec):
    """A PNG opens with imread and is the spec's size in inches times the dpi."""
    out, _ = figures
    image = matplotlib.image.imread(out / f"{spec.stem}.png")
    width, height = spec.size
    assert image.shape == (round(height * rf.DPI), round(width * rf.DPI), 4)


def test_second_run_from_the_command_line_is_byte_identical(figures, tmp_path, capsys):
    """`main --tables --out` into another folder gives the same bytes, one line per figure."""
    out, paths = figures
    again = tmp_path / "again"
    assert rf.main(["--tables", str(TABLES), "--out", str(again)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in lines[:-1]] == [f"wrote {s}" for s in STEMS]
    assert lines[-1] == f"wrote {len(STEMS)} figure(s) to {again}"
    for p in paths:
        assert (again / p.name).read_bytes() == p.read_bytes(), p.name


def test_a_missing_csv_skips_only_its_figure(tmp_path, capsys):
    """Only the figures whose CSV is missing are skipped, each with one line naming it."""
    tables = tmp_path / "tables"
    tables.mkdir()
    kept = ["action_mix", "detectors"]  # the two quickest figures: the others' CSVs are gone
    for stem in kept:
        shutil.copy(TABLES / f"{stem}.csv", tables)
    paths = rf.write_figures(tables, tmp_path / "out")
    assert [p.name for p in paths] == [f"{s}.{ext}" for s in STEMS if s in kept
                                       for ext in ("png", "pdf")]
    lines = capsys.readouterr().out.splitlines()
    skipped = [line for line in lines if line.startswith("skipped")]
    csv = {"cost_sla": "performance", "regret": "regret_curve",
           "learning_curves": "learning_curve", "family_heatmap": "family"}
    assert skipped == [f"skipped {s}: {tables / (csv.get(s, s) + '.csv')} not found"
                       for s in STEMS if s not in kept]
    assert len(lines) == len(STEMS)  # one line per figure, written or skipped


def test_a_missing_tables_folder_exits_1(tmp_path, capsys):
    """A tables folder that does not exist is an error (exit 1), nothing is written."""
    assert rf.main(["--tables", str(tmp_path / "nope"), "--out", str(tmp_path / "out")]) == 1
    assert capsys.readouterr().out.startswith("error:")
    assert not (tmp_path / "out").exists()


def test_help_and_default_folders(capsys):
    """`--help` exits 0; the defaults are results/tables and paper_figures of the repository."""
    with pytest.raises(SystemExit) as stop:
        rf.main(["--help"])
    assert stop.value.code == 0
    assert "--tables" in capsys.readouterr().out
    root = Path(__file__).resolve().parents[1]
    assert rf.TABLES_DIR == root / "results" / "tables"
    assert rf.FIGURES_DIR == root / "paper_figures"


def test_loglog_slope():
    """The fitted exponent: 0.5 on 3 sqrt(x), 1 on 2x; non-positive points are ignored."""
    x = np.arange(1.0, 51.0)
    assert rf.loglog_slope(x, 3 * np.sqrt(x)) == pytest.approx(0.5, abs=1e-12)
    assert rf.loglog_slope(x, 2 * x) == pytest.approx(1.0, abs=1e-12)
    assert rf.loglog_slope([0.0, 1.0, 2.0, 4.0], [5.0, 2.0, 4.0, 8.0]) == pytest.approx(1.0)
    assert np.isnan(rf.loglog_slope([1.0, 2.0], [0.0, 0.0]))
    assert np.isnan(rf.loglog_slope([3.0, 3.0], [1.0, 2.0]))


def _figure(stem: str) -> Figure:
    spec = next(s for s in rf.FIGURES if s.stem == stem)
    with matplotlib.style.context("default"), matplotlib.rc_context(rf.RC_PARAMS):
        return rf.build_figure(spec, rf.read_table(TABLES / spec.csv))


def test_regret_legend_has_slopes_reference_and_hidden_controllers():
    """Legend: slope per drawn controller, the sqrt(T) line; zero-regret ones listed."""
    legend = _figure("regret").axes[0].get_legend()
    labels = [t.get_text() for t in legend.get_texts()]
    assert labels == ["rules (slope 1.00)", "bandit (slope 0.70)", "hybrid (slope 0.55)",
                      "sqrt(T) reference"]
    assert legend.get_title().get_text() == (
        "not shown (zero regret, not on log axes): oracle, hybrid_literal")


@pytest.mark.parametrize(("stem", "unit"), [
    ("safety", "215 episodes over 43 scenarios"),
    ("cost_sla", "215 episodes over 43 scenarios"),
    ("regret", "10 runs"),
    ("learning_curves", "10 runs"),
    ("action_mix", "gives no count"),
    ("family_heatmap", "50–60 episodes over 10–12 scenarios"),
    ("detectors", "40–215 episodes"),
])
def test_caption_states_the_unit_of_replication(stem, unit):
    """The title and caption name the CSV's unit of replication and its count."""
    text = " ".join(_figure(stem).get_suptitle().split())
    assert "unit of replication" in text.lower() and unit in text


def test_paper_claims_are_hollow_markers_not_lines():
    """Paper claims: hollow diamonds (no face, no line) in the figures with paper_* columns."""
    for stem in ["safety", "cost_sla", "action_mix", "sensitivity"]:
        lines = [ln for ax in _figure(stem).axes for ln in ax.get_lines()
                 if ln.get_marker() == "D"]
        assert lines, stem
        for ln in lines:
            assert ln.get_markerfacecolor() == "none" and ln.get_linestyle() == "None"


def test_module_reads_tables_only():
    """No import of simulator, controllers or experiments (the figures never simulate)."""
    tree = ast.parse(Path(rf.__file__).read_text(encoding="utf-8"))
    names = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    names |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert not {m.split(".")[0] for m in names} & {"simulator", "controllers", "experiments"}


def test_gallery_index_reads_the_per_scenario_results(tmp_path):
    """The gallery's index lists each figure with its scenario's results, read from a file."""
    from paper_figures.scenario_gallery import write_index

    gallery = tmp_path / "g"
    gallery.mkdir()
    for sid in ("cov_a", "ext_b"):
        (gallery / f"{sid}.png").write_bytes(b"")
    results = tmp_path / "per_scenario.csv"
    pd.DataFrame([
        {"controller": c, "scenario": "cov_a", "family": "data_drift", "episodes": 100,
         "catastrophes": k, "catastrophic_pct": k, "cost_usd": cost,
         "sla_compliance_pct": 80.25, "optimal_action": "fallback"}
        for c, k, cost in (("rules", 0, 512.4), ("hybrid", 3, 498.6))
    ]).to_csv(results, index=False)
    lines = write_index(gallery, results).read_text().splitlines()
    assert lines[0] == "# Scenario gallery (2 figures)"
    rows = [line for line in lines if line.startswith("| [")]
    assert rows == [
        "| [cov_a](cov_a.png) | fallback | 0, 512, 80.2 | 3, 499, 80.2 |",
        "| [ext_b](ext_b.png) |  | not in the reproduction | not in the reproduction |",
    ]
    with pytest.raises(ValueError, match="no such results file"):
        write_index(gallery, tmp_path / "missing.csv")
