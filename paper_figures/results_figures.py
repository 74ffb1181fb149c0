"""Results figures: the paper's result plots, drawn from the tables in ``results/tables/``.

Each figure reads one CSV the experiments wrote and nothing else (no simulation is run,
nothing of ``simulator``, ``controllers`` or ``experiments`` is imported) and is written
as ``<name>.png`` and ``<name>.pdf`` into the output folder:

================  ====================  ===============================================
figure            input                 what it shows
================  ====================  ===============================================
safety            safety.csv            catastrophic and safety-violation rates
cost_sla          performance.csv       cost savings vs SLA compliance
regret            regret_curve.csv      cumulative regret vs episode, log-log, slopes
learning_curves   learning_curve.csv    excess cost over the oracle vs episode
action_mix        action_mix.csv        share of each action per controller
family_heatmap    family.csv            controller x fault family heatmaps
sensitivity       sensitivity.csv       one panel per sensitivity study
detectors         detectors.csv         detection delay vs false-alarm rate
================  ====================  ===============================================

Regenerate after the tables change::

    python -m paper_figures.results_figures                  # results/tables -> paper_figures
    python -m paper_figures.results_figures --tables results/tables/urgent --out /tmp/figs

A missing CSV skips its figure with one printed line naming the file; every written figure
prints one line. Conventions: every title states the unit of replication given in its CSV;
where the CSV has ``paper_*`` columns the paper's value is a hollow diamond labelled
"paper (claim)" drawn beside ours, never a target line; controllers keep the CSV's row
order. The files are byte-identical run to run: matplotlib's default style, fixed figure
sizes and dpi, and no software name, version or date in the PNG or PDF metadata.
"""

from __future__ import annotations

import argparse
import textwrap
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import matplotlib
import matplotlib.style
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import LogFormatter
from matplotlib.transforms import offset_copy

#: Repository root (this file is ``<root>/paper_figures/results_figures.py``).
REPO_ROOT = Path(__file__).resolve().parents[1]
#: Default input folder: the experiments' tables.
TABLES_DIR = REPO_ROOT / "results" / "tables"
#: Default output folder: this package's folder.
FIGURES_DIR = Path(__file__).resolve().parent
#: Resolution of the PNGs (and of any raster part of the PDFs), dots per inch.
DPI = 150
#: PNG metadata: no "Software" (matplotlib's version) entry.
PNG_METADATA = {"Software": None}
#: PDF metadata: no creator, producer (matplotlib's version) or creation date.
PDF_METADATA = {"Creator": None, "Producer": None, "CreationDate": None}
#: Settings on top of matplotlib's default style (the user's matplotlibrc is ignored).
RC_PARAMS = {
    "svg.hashsalt": "selfheal-bench",
    "font.size": 8,
    "axes.titlesize": 8,
    "axes.labelsize": 8,
    "xtick.labelsize": 7,
    "ytick.labelsize": 7,
    "legend.fontsize": 7,
    "figure.titlesize": 9,
}

#: Label of the paper's claimed values in every legend.
PAPER_LABEL = "paper (claim)"
#: Marker of the paper's claimed values (edge colour: the controller's or action's colour).
PAPER_MARKER = {
    "marker": "D",
    "markersize": 6,
    "markerfacecolor": "none",
    "markeredgewidth": 1.3,
    "linestyle": "none",
}
#: Fixed colours of the repository's controllers (``configs/controller/``).
CONTROLLER_COLORS = {
    "noop": "#7f7f7f",
    "rules": "#1f77b4",
    "human": "#8c564b",
    "rl": "#d62728",
    "rl_decaying": "#ff9896",
    "bandit": "#ff7f0e",
    "linucb": "#9467bd",
    "lin_ts": "#c5b0d5",
    "conservative_ucb": "#e377c2",
    "hybrid_literal": "#17becf",
    "hybrid": "#2ca02c",
    "oracle": "#000000",
}
#: Colours of any other controller, family or action, in order of first appearance.
OTHER_COLORS = ("#bcbd22", "#aec7e8", "#ffbb78", "#98df8a", "#c49c94", "#f7b6d2",
                "#dbdb8d", "#9edae5", "#393b79", "#637939", "#8c6d31", "#843c39")
#: Fixed colours of the fault families (``all`` is the pooled row of detectors.csv).
FAMILY_COLORS = {
    "data_drift": "#1f77b4",
    "model_degradation": "#d62728",
    "infrastructure": "#ff7f0e",
    "anomaly_patterns": "#9467bd",
    "all": "#000000",
}
#: Fixed colours of the paper's actions.
ACTION_COLORS = {"fallback": "#4c72b0", "rollback": "#dd8452", "retrain": "#55a868",
                 "no_op": "#c7c7c7"}
#: Markers of the detectors in detectors.csv, in order of first appearance.
DETECTOR_MARKERS = ("o", "s", "^", "v", "P", "X", "*", "h")
#: Panel kind of each sensitivity study; any other study is drawn as "rates".
STUDY_KINDS = {
    "alpha": "rates",
    "beta": "rates",
    "exploration": "learning",
    "prices": "rank",
    "detector_threshold": "rank",
}


@dataclass(frozen=True)
class FigureSpec:
    """One results figure: its file stem, input CSV, size and drawing function.

    Attributes
    ----------
    stem : str
        Output file name without suffix (``<stem>.png`` and ``<stem>.pdf``).
    csv : str
        Input file name inside the tables folder.
    size : tuple of float
        Figure size in inches (width, height); the PNG is ``size * DPI`` pixels.
    draw : callable
        ``draw(table, fig)`` draws the table into the empty figure.
    """

    stem: str
    csv: str
    size: tuple[float, float]
    draw: Callable[[pd.DataFrame, Figure], None]


# --------------------------------------------------------------------------- helpers


def loglog_slope(x: Sequence[float] | np.ndarray, y: Sequence[float] | np.ndarray) -> float:
    """Least-squares slope of ``log(y)`` on ``log(x)``.

    Parameters
    ----------
    x, y : array_like
        Points; only those with both coordinates finite and positive are used.

    Returns
    -------
    float
        The fitted exponent ``b`` of ``y ~ a x**b`` (0.5 on ``y = 3 sqrt(x)``, 1 on
        ``y = 2 x``); NaN with fewer than two usable points or a single distinct ``x``.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    ok = np.isfinite(x) & np.isfinite(y) & (x > 0) & (y > 0)
    if ok.sum() < 2 or np.ptp(x[ok]) == 0:
        return float("nan")
    slope, _ = np.polyfit(np.log(x[ok]), np.log(y[ok]), 1)
    return float(slope)


def read_table(path: Path) -> pd.DataFrame:
    """Read a results CSV: empty cells and ``NaN`` are missing, label columns stay text.

    ``None`` or ``null`` are not read as missing, so a label such as a sensitivity
    ``value`` is kept verbatim (``"0.10"`` stays ``"0.10"``).
    """
    labels = ["controller", "family", "detector", "study", "parameter", "value"]
    return pd.read_csv(path, dtype=dict.fromkeys(labels, str), keep_default_na=False,
                       na_values=["", "NaN", "nan"])


def require(table: pd.DataFrame, columns: Iterable[str], csv: str) -> None:
    """Raise ``ValueError`` naming the columns of ``columns`` that ``table`` lacks."""
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise ValueError(f"{csv}: missing column(s) {', '.join(missing)}")


def order(values: Iterable[str]) -> list[str]:
    """Distinct values in order of first appearance (the CSV's row order)."""
    return list(dict.fromkeys(values))


def colors_for(names: Iterable[str], fixed: dict[str, str]) -> dict[str, str]:
    """Colour of each name: its fixed colour, else the next of ``OTHER_COLORS``."""
    out, spare = {}, iter(OTHER_COLORS * 4)
    for name in order(names):
        out[name] = fixed.get(name) or next(spare)
    return out


def count_text(table: pd.DataFrame, column: str, noun: str) -> str:
    """``"215 episodes"``, or ``"200–215 episodes"`` when the rows differ ("?" if none)."""
    values = pd.to_numeric(table[column], errors="coerce").dropna()
    if values.empty:
        return f"? {noun}"
    lo, hi = int(values.min()), int(values.max())
    return f"{lo:,} {noun}" if lo == hi else f"{lo:,}–{hi:,} {noun}"


def caption(fig: Figure, title: str, text: str) -> None:
    """Set the figure's title: a title line, then the caption wrapped to the figure's width."""
    width = int(fig.get_figwidth() * 15)
    fig.suptitle(f"{title}\n" + textwrap.fill(text, width), fontsize=8)


def errors(value: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """Error-bar lengths ``[value - low, high - value]`` (never negative, NaN as 0)."""
    return np.nan_to_num(np.maximum(0.0, np.vstack([value - low, high - value])))


def plot_paper(ax: Axes, x: np.ndarray | float, y: np.ndarray | float, color: str,
               points_right: float = 0.0) -> None:
    """Draw the paper's claimed values as hollow diamonds (NaN: no claim, nothing drawn).

    Parameters
    ----------
    ax : Axes
        Target axes; its data limits are extended to the claims.
    x, y : array_like or float
        Positions in data coordinates.
    color : str
        Edge colour (the controller's or action's).
    points_right : float
        Shift to the right, in points, so the diamond sits beside our value at the same x.
    """
    x, y = np.atleast_1d(np.asarray(x, dtype=float)), np.atleast_1d(np.asarray(y, dtype=float))
    ok = np.isfinite(x) & np.isfinite(y)
    if not ok.any():
        return
    transform = offset_copy(ax.transData, fig=ax.figure, x=points_right, y=0, units="points")
    ax.plot(x[ok], y[ok], markeredgecolor=color, transform=transform, **PAPER_MARKER)
    ax.update_datalim(np.column_stack([x[ok], y[ok]]))  # an offset line is not autoscaled
    ax.autoscale_view()


def paper_handle() -> Line2D:
    """Legend entry of the paper's claimed values."""
    return Line2D([], [], color="0.3", markeredgecolor="0.3", label=PAPER_LABEL,
                  **PAPER_MARKER)


def numeric(table: pd.DataFrame, column: str) -> np.ndarray:
    """Column as floats (NaN where missing or not a number; all NaN if absent)."""
    if column not in table.columns:
        return np.full(len(table), np.nan)
    return pd.to_numeric(table[column], errors="coerce").to_numpy(dtype=float)


def curve_band(ax: Axes, x: np.ndarray, mean: np.ndarray, low: np.ndarray,
               high: np.ndarray, color: str, label: str) -> None:
    """Draw a mean line and its percentile band."""
    ax.fill_between(x, low, high, color=color, alpha=0.18, linewidth=0)
    ax.plot(x, mean, color=color, lw=1.5, label=label)


def setting_axis(values: Sequence[str]) -> tuple[dict[str, float], bool]:
    """Positions of a sensitivity study's values on the x axis.

    Returns
    -------
    positions : dict
        Value text -> x. Numbers are placed at their value; otherwise the values are
        categories 0, 1, ... in order of first appearance.
    log : bool
        Whether the axis should be logarithmic (numbers, all positive, spanning >= 10x).
    """
    distinct = order(values)
    try:
        numbers = [float(v) for v in distinct]
    except ValueError:
        return {v: float(i) for i, v in enumerate(distinct)}, False
    positive = all(n > 0 for n in numbers)
    log = positive and max(numbers) / min(numbers) >= 10
    return dict(zip(distinct, numbers, strict=True)), log


def label_settings(ax: Axes, positions: dict[str, float], log: bool) -> None:
    """Tick the x axis at each setting, labelled with its text (long texts wrapped)."""
    if log:
        ax.set_xscale("log")
    ax.set_xticks(list(positions.values()))
    ax.set_xticks([], minor=True)
    ax.set_xticklabels([textwrap.fill(v, 18) for v in positions], fontsize=6)


# --------------------------------------------------------------------------- figures


# Input safety.csv: controller, episodes, scenarios, catastrophic_pct, catastrophic_ci_low,
# catastrophic_ci_high, catastrophic_boot_low, catastrophic_boot_high, catastrophic_scen_upper,
# safety_violation_pct, safety_violation_ci_low, safety_violation_ci_high,
# safety_violation_boot_low, safety_violation_boot_high, paper_catastrophic_pct,
# paper_safety_violation_pct (optional).
def plot_safety(table: pd.DataFrame, fig: Figure) -> None:
    """Draw catastrophic and safety-violation rates per controller, with intervals."""
    metrics = [("catastrophic", "catastrophic episodes (%)"),
               ("safety_violation", "episodes with a safety violation (%)")]
    cols = ["controller", "episodes", "scenarios"]
    for m, _ in metrics:
        cols += [f"{m}_pct", f"{m}_ci_low", f"{m}_ci_high", f"{m}_boot_low", f"{m}_boot_high"]
    require(table, cols, "safety.csv")
    names = list(table["controller"])
    colors = colors_for(names, CONTROLLER_COLORS)
    x = np.arange(len(names), dtype=float)
    for ax, (metric, ylabel) in zip(fig.subplots(1, 2), metrics, strict=True):
        pct = numeric(table, f"{metric}_pct")
        ci = errors(pct, numeric(table, f"{metric}_ci_low"), numeric(table, f"{metric}_ci_high"))
        boot_low = numeric(table, f"{metric}_boot_low")
        boot_high = numeric(table, f"{metric}_boot_high")
        scen_upper = numeric(table, f"{metric}_scen_upper")
        paper = numeric(table, f"paper_{metric}_pct")
        for i, name in enumerate(names):
            c = colors[name]
            ax.vlines(x[i] + 0.1, boot_low[i], boot_high[i], color=c, lw=5, alpha=0.45)
            ax.plot(x[i] + 0.1, scen_upper[i], marker="_", markersize=9, mew=1.5, color=c)
            ax.errorbar(x[i] - 0.06, pct[i], yerr=ci[:, i:i + 1], fmt="o", color=c, ms=4,
                        elinewidth=0.9, capsize=2.5)
            plot_paper(ax, x[i] + 0.3, paper[i], c)
        ax.set_xticks(x)
        ax.set_xticklabels(names, rotation=30, ha="right")
        ax.set_xlim(-0.6, len(names) - 0.3)
        ax.set_ylim(bottom=0)
        ax.set_ylabel(ylabel)
        ax.grid(axis="y", alpha=0.3)
    handles = [
        Line2D([], [], color="0.3", marker="o", ms=4, lw=0.9,
               label="ours, 95% exact CI per episode (Clopper-Pearson)"),
        Line2D([], [], color="0.3", lw=5, alpha=0.45,
               label="95% cluster bootstrap over scenarios"),
        Line2D([], [], color="0.3", marker="_", markersize=9, mew=1.5, linestyle="none",
               label="scenario-level exact upper bound"),
        paper_handle(),
    ]
    fig.legend(handles=handles, loc="outside lower center", ncol=4)
    caption(fig, "Safety per controller",
            f"Each controller: {count_text(table, 'episodes', 'episodes')} over "
            f"{count_text(table, 'scenarios', 'scenarios')}. Unit of replication: the "
            "episode for the point and its thin bar, the scenario for the thick bar (cluster "
            "bootstrap) and the tick (exact upper bound from the share of scenarios with a "
            "catastrophe). Hollow diamonds: the paper's claimed value, where it gives one.")


# Input performance.csv: controller, episodes, scenarios, cost_savings_pct,
# cost_savings_pct_low, cost_savings_pct_high, sla_compliance_pct, sla_compliance_pct_low,
# sla_compliance_pct_high, paper_cost_savings_pct, paper_sla_compliance_pct (optional).
def plot_cost_sla(table: pd.DataFrame, fig: Figure) -> None:
    """Draw cost savings (x) vs SLA compliance (y), one labelled point per controller."""
    require(table, ["controller", "episodes", "scenarios", "cost_savings_pct",
                    "cost_savings_pct_low", "cost_savings_pct_high", "sla_compliance_pct",
                    "sla_compliance_pct_low", "sla_compliance_pct_high"], "performance.csv")
    names = list(table["controller"])
    colors = colors_for(names, CONTROLLER_COLORS)
    sx, sy = numeric(table, "cost_savings_pct"), numeric(table, "sla_compliance_pct")
    xerr = errors(sx, numeric(table, "cost_savings_pct_low"),
                  numeric(table, "cost_savings_pct_high"))
    yerr = errors(sy, numeric(table, "sla_compliance_pct_low"),
                  numeric(table, "sla_compliance_pct_high"))
    px = numeric(table, "paper_cost_savings_pct")
    py = numeric(table, "paper_sla_compliance_pct")
    ax = fig.subplots()
    partial = []
    for i, name in enumerate(names):
        c = colors[name]
        ax.errorbar(sx[i], sy[i], xerr=xerr[:, i:i + 1], yerr=yerr[:, i:i + 1], fmt="o",
                    color=c, ms=5, elinewidth=0.9, capsize=2)
        ax.annotate(name, (sx[i], sy[i]), xytext=(5, 4), textcoords="offset points",
                    color=c, fontsize=7)
        if np.isfinite(px[i]) and np.isfinite(py[i]):
            ax.plot([sx[i], px[i]], [sy[i], py[i]], color=c, lw=0.7, ls=":")
            plot_paper(ax, px[i], py[i], c)
        elif np.isfinite(px[i]) or np.isfinite(py[i]):
            partial.append(name)
    ax.set_xlabel("cost savings (%)")
    ax.set_ylabel("SLA compliance (%)")
    ax.grid(alpha=0.3)
    ax.legend(handles=[Line2D([], [], color="0.3", marker="o", ms=5, lw=0.9, label="ours"),
                       paper_handle()], loc="best")
    note = (f" Not drawn: the paper gives only one of the two values for {', '.join(partial)}."
            if partial else "")
    caption(fig, "Cost savings vs SLA compliance",
            f"Each controller: {count_text(table, 'episodes', 'episodes')} over "
            f"{count_text(table, 'scenarios', 'scenarios')} (unit of replication: the "
            "episode); bars: the low-high interval of performance.csv. Hollow diamonds: the "
            "paper's claim, joined to ours by a dotted line." + note)


# Input regret_curve.csv: controller, episode, cum_regret_mean, cum_regret_low, cum_regret_high,
# runs.
def plot_regret(table: pd.DataFrame, fig: Figure) -> None:
    """Draw cumulative regret vs episode, log-log, with fitted slopes and a sqrt(T) line."""
    require(table, ["controller", "episode", "cum_regret_mean", "cum_regret_low",
                    "cum_regret_high", "runs"], "regret_curve.csv")
    names = order(table["controller"])
    colors = colors_for(names, CONTROLLER_COLORS)
    ax = fig.subplots()
    curves, hidden = [], []
    for name in names:
        rows = table[table["controller"] == name].sort_values("episode")
        mean = numeric(rows, "cum_regret_mean")
        if name == "oracle" or not np.any(mean > 0):
            hidden.append(name)
            continue
        curves.append((name, numeric(rows, "episode"), mean, numeric(rows, "cum_regret_low"),
                       numeric(rows, "cum_regret_high")))
    positive = [v[v > 0] for _, _, mean, low, _ in curves for v in (mean, low)]
    floor = np.min(np.concatenate(positive)) / 2 if curves else 1.0
    for name, ep, mean, low, high in curves:
        label = f"{name} (slope {loglog_slope(ep, mean):.2f})"
        curve_band(ax, ep, np.where(mean > 0, mean, np.nan), np.where(low > 0, low, floor),
                   high, colors[name], label)
    if curves:
        _, ep, mean, _, _ = curves[0]
        first = np.flatnonzero((mean > 0) & (ep > 0))
        if first.size:
            x0, y0 = ep[first[0]], mean[first[0]]
            span = np.unique(np.concatenate([c[1] for c in curves]))
            span = span[span >= x0]
            ax.plot(span, y0 * np.sqrt(span / x0), color="black", lw=1, ls="--",
                    label="sqrt(T) reference")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_ylim(bottom=floor)
        for axis in (ax.xaxis, ax.yaxis):  # plain numbers (1, 2, 5, 10, ...), not 10^k
            axis.set_major_formatter(LogFormatter(labelOnlyBase=False))
            axis.set_minor_formatter(LogFormatter(labelOnlyBase=False, minor_thresholds=(1, 0.5)))
    title = f"not shown (zero regret, not on log axes): {', '.join(hidden)}" if hidden else None
    ax.legend(title=title, title_fontsize=7, loc="upper left")
    ax.set_xlabel("episode (position in a run)")
    ax.set_ylabel("cumulative regret vs the oracle (USD)")
    ax.grid(alpha=0.3, which="both")
    caption(fig, "Cumulative regret, log-log",
            f"Line: mean over {count_text(table, 'runs', 'runs')} (unit of replication: the "
            "run, one seed) per controller; band: 2.5-97.5 percentiles over runs (drawn to "
            "the axis floor where the lower percentile is 0). Slope: least-squares fit of "
            "log(mean) on log(episode); dashed: slope 0.5 through the first curve's first "
            "point.")


# Input learning_curve.csv: controller, episode, excess_cost_mean, excess_cost_low,
# excess_cost_high, runs.
def plot_learning_curves(table: pd.DataFrame, fig: Figure) -> None:
    """Draw excess cost over the oracle vs episode, a line and band per controller."""
    require(table, ["controller", "episode", "excess_cost_mean", "excess_cost_low",
                    "excess_cost_high", "runs"], "learning_curve.csv")
    names = [n for n in order(table["controller"]) if n != "oracle"]
    colors = colors_for(names, CONTROLLER_COLORS)
    ax = fig.subplots()
    ax.axhline(0, color="black", lw=1, label="oracle")
    for name in names:
        rows = table[table["controller"] == name].sort_values("episode")
        curve_band(ax, numeric(rows, "episode"), numeric(rows, "excess_cost_mean"),
                   numeric(rows, "excess_cost_low"), numeric(rows, "excess_cost_high"),
                   colors[name], name)
    ax.set_xlabel("episode (position in a run)")
    ax.set_ylabel("excess cost over the oracle (USD per episode)")
    ax.grid(alpha=0.3)
    ax.legend(loc="best")
    caption(fig, "Learning curves",
            "Cost of each episode above the oracle's on the same (seed, scenario) episode. "
            f"Line: mean over {count_text(table, 'runs', 'runs')} (unit of replication: the "
            "run, one seed); band: 2.5-97.5 percentiles over runs.")


# Input action_mix.csv: controller, actions_* (shares in %, NaN if the controller took no
# action), paper_<action> (optional, the paper's share), actions or episodes (optional counts).
def plot_action_mix(table: pd.DataFrame, fig: Figure) -> None:
    """Draw each controller's share of each action as stacked horizontal bars."""
    require(table, ["controller"], "action_mix.csv")
    share_cols = [c for c in table.columns if c.startswith("actions_")]
    if not share_cols:
        raise ValueError("action_mix.csv: no actions_* column")
    actions = [c.removeprefix("actions_") for c in share_cols]
    shares = table[share_cols].apply(pd.to_numeric, errors="coerce")
    none = shares.isna().all(axis=1).to_numpy()
    kept, shares = table[~none], shares[~none].fillna(0.0).to_numpy(dtype=float)
    colors = colors_for(actions, ACTION_COLORS)
    ax = fig.subplots()
    y = np.arange(len(kept), dtype=float)
    left = np.zeros(len(kept))
    for k, action in enumerate(actions):
        ax.barh(y, shares[:, k], left=left, height=0.55, color=colors[action],
                edgecolor="white", lw=0.5, label=action)
        for i in np.flatnonzero(shares[:, k] >= 6):
            ax.text(left[i] + shares[i, k] / 2, y[i], f"{shares[i, k]:.0f}", ha="center",
                    va="center", fontsize=6, color="white")
        left += shares[:, k]
    claimed = [a for a in actions if f"paper_{a}" in table.columns]
    if claimed:
        paper = np.column_stack([np.nan_to_num(numeric(kept, f"paper_{a}")) if a in claimed
                                 else np.zeros(len(kept)) for a in actions])
        given = np.column_stack([numeric(kept, f"paper_{a}") for a in claimed])
        has = np.isfinite(given).any(axis=1)
        ends = np.cumsum(paper, axis=1)
        for k, action in enumerate(actions):
            if action in claimed:
                plot_paper(ax, ends[has, k], y[has] + 0.36, colors[action])
    ax.set_yticks(y)
    ax.set_yticklabels(list(kept["controller"]))
    ax.set_ylim(len(kept) - 0.4, -0.6)
    ax.set_xlim(0, 104)
    ax.set_xlabel("share of the controller's actions (%)")
    handles, _ = ax.get_legend_handles_labels()
    if claimed:
        handles.append(paper_handle())
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    if "actions" in table.columns:
        unit = f"{count_text(table, 'actions', 'actions')} per controller"
    elif "episodes" in table.columns:
        unit = f"{count_text(table, 'episodes', 'episodes')} per controller"
    else:
        unit = "all of a controller's episodes (action_mix.csv gives no count)"
    skipped = list(table.loc[none, "controller"])
    note = f" Not shown (took no action): {', '.join(skipped)}." if skipped else ""
    paper_note = (" Hollow diamonds below a bar: the paper's claimed mix, at the right end of "
                  "each action's cumulative share." if claimed else "")
    caption(fig, "Action mix",
            f"Actions pooled over {unit}; unit of replication: the action taken."
            + note + paper_note)


# Input family.csv: controller, family, episodes, scenarios, catastrophic_pct, cost_savings_pct,
# sla_compliance_pct.
def plot_family_heatmap(table: pd.DataFrame, fig: Figure) -> None:
    """Draw controller x family heatmaps: catastrophes, cost savings, SLA compliance."""
    require(table, ["controller", "family", "episodes", "scenarios", "catastrophic_pct",
                    "cost_savings_pct", "sla_compliance_pct"], "family.csv")
    names, families = order(table["controller"]), order(table["family"])
    panels = [("catastrophic_pct", "catastrophic episodes (%)", "Reds"),
              ("cost_savings_pct", "cost savings (%)", "RdBu"),
              ("sla_compliance_pct", "SLA compliance (%)", "Greens")]
    for ax, (col, title, cmap_name) in zip(fig.subplots(1, 3), panels, strict=True):
        grid = (table.assign(v=numeric(table, col))
                .pivot(index="controller", columns="family", values="v")
                .reindex(index=names, columns=families).to_numpy(dtype=float))
        finite = grid[np.isfinite(grid)]
        if col == "cost_savings_pct":
            m = float(np.max(np.abs(finite))) if finite.size and np.any(finite) else 1.0
            norm = Normalize(-m, m)
        else:
            lo = float(finite.min()) if finite.size else 0.0
            hi = float(finite.max()) if finite.size else 1.0
            norm = Normalize(0.0 if col == "catastrophic_pct" else lo, max(hi, lo + 1e-9))
        cmap = matplotlib.colormaps[cmap_name].with_extremes(bad="0.85")
        image = ax.imshow(np.ma.masked_invalid(grid), cmap=cmap, norm=norm, aspect="auto")
        for (i, j), v in np.ndenumerate(grid):
            if np.isfinite(v):
                r, g, b, _ = cmap(norm(v))
                ink = "white" if 0.299 * r + 0.587 * g + 0.114 * b < 0.5 else "black"
                ax.text(j, i, f"{v:.1f}", ha="center", va="center", fontsize=7, color=ink)
            else:
                ax.text(j, i, "n/a", ha="center", va="center", fontsize=7, color="0.3")
        ax.set_xticks(range(len(families)))
        ax.set_xticklabels([f.replace("_", "\n") for f in families], fontsize=7)
        ax.set_yticks(range(len(names)))
        ax.set_yticklabels(names)
        ax.set_title(title)
        fig.colorbar(image, ax=ax, shrink=0.85)
    caption(fig, "Results by fault family",
            f"Each cell: one controller on one family, "
            f"{count_text(table, 'episodes', 'episodes')} over "
            f"{count_text(table, 'scenarios', 'scenarios')} (unit of replication: the "
            "episode). Cost savings on a diverging scale centred at 0; grey: no value.")


def _study_panel(fig: Figure, axes: list[Axes], rows: pd.DataFrame, kind: str,
                 colors: dict[str, str]) -> None:
    """Draw one sensitivity study into ``axes`` (two stacked axes, or one for a rank chart)."""
    rows = rows.assign(value=rows["value"].fillna(""))
    positions, log = setting_axis(list(rows["value"]))
    if kind == "rates":
        panels = [("catastrophic_pct", "paper_catastrophic_pct", "catastrophic (%)"),
                  ("cost_savings_pct", "paper_cost_savings_pct", "cost savings (%)")]
    elif kind == "learning":
        panels = [("final_regret_usd", "paper_final_regret", "final regret (USD)"),
                  ("episodes_to_95", "paper_episodes_to_95", "episodes to 95%")]
    else:
        panels = [("cost_rank", "", "cost rank (1 = cheapest)")]
    for ax, (col, paper_col, ylabel) in zip(axes, panels, strict=True):
        names = order(rows["controller"])
        for k, name in enumerate(names):
            sub = rows[rows["controller"] == name]
            sub = sub.iloc[np.argsort([positions[v] for v in sub["value"]], kind="stable")]
            x = np.array([positions[v] for v in sub["value"]])
            y = numeric(sub, col)
            ci = [col.removesuffix("_pct") + f"_ci_{e}" for e in ("low", "high")]
            if col.endswith("_pct") and set(ci) <= set(sub.columns):
                # interval bars: dodge the controllers by 3 points so the bars do not overlap
                lo, hi = numeric(sub, ci[0]), numeric(sub, ci[1])
                dodge = offset_copy(ax.transData, fig=fig, x=3 * (k - (len(names) - 1) / 2),
                                    y=0, units="points")
                ax.errorbar(x, y, yerr=errors(y, lo, hi), marker="o", ms=3.5, lw=1.2,
                            elinewidth=0.7, capsize=2, color=colors[name], transform=dodge)
                ends = np.column_stack([np.r_[x, x], np.r_[lo, hi]])
                ax.update_datalim(ends[np.isfinite(ends).all(axis=1)])
                ax.autoscale_view()
            else:
                ax.plot(x, y, marker="o", ms=3.5, lw=1.2, color=colors[name])
            if paper_col:
                plot_paper(ax, x, numeric(sub, paper_col), colors[name], points_right=6)
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
        label_settings(ax, positions, log)
    if kind == "rank":
        top = int(np.nanmax(numeric(rows, "cost_rank"))) if rows["cost_rank"].notna().any() else 1
        axes[0].set_yticks(range(1, top + 1))
        axes[0].set_ylim(top + 0.5, 0.5)
    else:
        axes[0].tick_params(labelbottom=False)


# Input sensitivity.csv: study, parameter, value, controller, seeds, episodes, catastrophic_pct,
# cost_savings_pct, final_regret_usd, episodes_to_95, cost_rank; optional catastrophic_ci_low,
# catastrophic_ci_high (error bars) and paper_catastrophic_pct, paper_cost_savings_pct,
# paper_episodes_to_95, paper_final_regret.
def plot_sensitivity(table: pd.DataFrame, fig: Figure) -> None:
    """Draw the sensitivity studies, one panel per study.

    ``alpha`` and ``beta``: catastrophic % and cost savings % vs the value;
    ``exploration``: final regret and episodes to 95% vs the value; ``prices`` and
    ``detector_threshold``: each controller's cost rank per setting (bump chart).
    """
    require(table, ["study", "parameter", "value", "controller", "seeds", "episodes",
                    "catastrophic_pct", "cost_savings_pct", "final_regret_usd",
                    "episodes_to_95", "cost_rank"], "sensitivity.csv")
    studies = order(table["study"])
    colors = colors_for(table["controller"], CONTROLLER_COLORS)
    grid = fig.add_gridspec(2, len(studies))
    for j, study in enumerate(studies):
        rows = table[table["study"] == study]
        kind = STUDY_KINDS.get(study, "rates")
        if kind == "rank":
            axes = [fig.add_subplot(grid[:, j])]
        else:
            top = fig.add_subplot(grid[0, j])
            axes = [top, fig.add_subplot(grid[1, j], sharex=top)]
        _study_panel(fig, axes, rows, kind, colors)
        parameter = ", ".join(order(rows["parameter"].fillna("")))
        axes[0].set_title(f"{study} ({parameter})\n{count_text(rows, 'seeds', 'seeds')} x "
                          f"{count_text(rows, 'episodes', 'episodes')} per point")
    handles = [Line2D([], [], color=c, marker="o", ms=3.5, lw=1.2, label=n)
               for n, c in colors.items()]
    if table.filter(like="paper_").notna().any().any():
        handles.append(paper_handle())
    fig.legend(handles=handles, loc="outside lower center", ncol=len(handles))
    caption(fig, "Sensitivity studies",
            "Each point: one controller in one setting, pooled over its seeds and their "
            "episodes (unit of replication: the seed, a run over the scenario set); bars on "
            "catastrophic %: 95% exact CI per episode where the CSV gives one. Rank panels: "
            "cost rank per setting (1 = cheapest). Hollow diamonds, offset to the right: the "
            "paper's claim where it gives one.")


# Input detectors.csv: detector, family, episodes, fault_free_minutes,
# false_alarms_per_1000_min, fa_ci_low, fa_ci_high, delay_median_min, delay_q1_min,
# delay_q3_min.
def plot_detectors(table: pd.DataFrame, fig: Figure) -> None:
    """Draw detection delay vs false-alarm rate, one marker per detector and family."""
    require(table, ["detector", "family", "episodes", "fault_free_minutes",
                    "false_alarms_per_1000_min", "fa_ci_low", "fa_ci_high",
                    "delay_median_min", "delay_q1_min", "delay_q3_min"], "detectors.csv")
    family_colors = colors_for(table["family"], FAMILY_COLORS)
    markers = dict(zip(order(table["detector"]), DETECTOR_MARKERS * 4, strict=False))
    fa = numeric(table, "false_alarms_per_1000_min")
    delay = numeric(table, "delay_median_min")
    xerr = errors(fa, numeric(table, "fa_ci_low"), numeric(table, "fa_ci_high"))
    yerr = errors(delay, numeric(table, "delay_q1_min"), numeric(table, "delay_q3_min"))
    ax = fig.subplots()
    for i, (det, fam) in enumerate(zip(table["detector"], table["family"], strict=True)):
        ax.errorbar(fa[i], delay[i], xerr=xerr[:, i:i + 1], yerr=yerr[:, i:i + 1],
                    fmt=markers[det], color=family_colors[fam], ms=5, elinewidth=0.7,
                    capsize=1.5, alpha=0.85)
    ax.set_xlabel("false alarms per 1,000 fault-free minutes")
    ax.set_ylabel("detection delay, median (min)")
    ax.grid(alpha=0.3)
    fam_handles = [Patch(color=c, label=f) for f, c in family_colors.items()]
    det_handles = [Line2D([], [], color="0.3", marker=m, linestyle="none", label=d)
                   for d, m in markers.items()]
    ax.legend(handles=fam_handles + det_handles, title="colour: family\nmarker: detector",
              title_fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    caption(fig, "Detectors: delay vs false alarms",
            f"One marker per detector and family: {count_text(table, 'episodes', 'episodes')}"
            f", {count_text(table, 'fault_free_minutes', 'fault-free minutes')} (unit of "
            "replication: the episode for the delay, the fault-free minute for the rate). "
            "x bars: 95% CI of the rate; y bars: q1-q3 of the delay over detected faults "
            "(missed faults not counted).")


#: The figures, in the order they are written.
FIGURES: tuple[FigureSpec, ...] = (
    FigureSpec("safety", "safety.csv", (10.0, 4.6), plot_safety),
    FigureSpec("cost_sla", "performance.csv", (7.0, 5.6), plot_cost_sla),
    FigureSpec("regret", "regret_curve.csv", (7.0, 5.6), plot_regret),
    FigureSpec("learning_curves", "learning_curve.csv", (7.0, 5.0), plot_learning_curves),
    FigureSpec("action_mix", "action_mix.csv", (8.0, 4.6), plot_action_mix),
    FigureSpec("family_heatmap", "family.csv", (14.0, 4.8), plot_family_heatmap),
    FigureSpec("sensitivity", "sensitivity.csv", (16.0, 7.0), plot_sensitivity),
    FigureSpec("detectors", "detectors.csv", (8.0, 5.6), plot_detectors),
)


# --------------------------------------------------------------------------- output


def build_figure(spec: FigureSpec, table: pd.DataFrame) -> Figure:
    """Draw ``table`` as ``spec``'s figure (Agg canvas, fixed size and dpi); not saved."""
    fig = Figure(figsize=spec.size, dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    spec.draw(table, fig)
    return fig


def save_figure(fig: Figure, out: Path, stem: str) -> list[Path]:
    """Write ``fig`` as ``<stem>.png`` and ``<stem>.pdf`` without dated or versioned metadata.

    Returns
    -------
    list of Path
        The PNG and PDF paths.
    """
    out.mkdir(parents=True, exist_ok=True)
    png, pdf = out / f"{stem}.png", out / f"{stem}.pdf"
    fig.savefig(png, format="png", dpi=DPI, metadata=PNG_METADATA)
    fig.set_layout_engine("none")  # keep the layout just computed: the PDF need not redo it
    fig.savefig(pdf, format="pdf", dpi=DPI, metadata=PDF_METADATA)
    return [png, pdf]


def write_figures(tables: Path, out: Path) -> list[Path]:
    """Write every figure whose CSV is in ``tables`` into ``out``; return the paths.

    Prints one line per written figure and one per skipped figure (its CSV missing or
    without rows).

    Parameters
    ----------
    tables : Path
        Folder of the input CSVs (``results/tables``).
    out : Path
        Output folder (created if missing).

    Returns
    -------
    list of Path
        The written files, PNG then PDF of each figure, in the order of ``FIGURES``.

    Raises
    ------
    ValueError
        If a CSV lacks a column its figure needs.
    """
    tables, out = Path(tables), Path(out)
    written: list[Path] = []
    with matplotlib.style.context("default"), matplotlib.rc_context(RC_PARAMS):
        for spec in FIGURES:
            src = tables / spec.csv
            if not src.is_file():
                print(f"skipped {spec.stem}: {src} not found")
                continue
            table = read_table(src)
            if table.empty:
                print(f"skipped {spec.stem}: {src} has no rows")
                continue
            paths = save_figure(build_figure(spec, table), out, spec.stem)
            print(f"wrote {spec.stem}: {paths[0]} and {paths[1].name} (from {spec.csv})")
            written += paths
    return written


def main(argv: list[str] | None = None) -> int:
    """Command line: write the figures; exit 1 if the tables folder does not exist."""
    parser = argparse.ArgumentParser(
        prog="python -m paper_figures.results_figures",
        description="Draw the results figures (PNG and PDF) from the CSVs of a tables "
                    "folder; a figure whose CSV is missing is skipped.")
    parser.add_argument("--tables", type=Path, default=TABLES_DIR,
                        help="folder of the input CSVs (default: results/tables)")
    parser.add_argument("--out", type=Path, default=FIGURES_DIR,
                        help="output folder (default: paper_figures)")
    args = parser.parse_args(argv)
    if not args.tables.is_dir():
        print(f"error: --tables {args.tables} is not a folder")
        return 1
    try:
        paths = write_figures(args.tables, args.out)
    except OSError as err:  # --out a file, or a folder that cannot be created
        print(f"error: --out {args.out}: cannot write there ({err.strerror})")
        return 1
    print(f"wrote {len(paths) // 2} figure(s) to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
