"""Tests of the experiment layer (``experiments/``): statistics, seeding, tables, entry points.

Layout: Clopper-Pearson intervals against known values and SciPy; stable episode seeds and
seeded scenario orders; the main results table computed by hand from a small synthetic
frame; ``reproduce`` end to end with a composed Hydra config (rows equal the Parquet cells
written, a second call reads them back without recomputing, a changed controller parameter
changes the config hash and the numbers); the ``run`` app as a subprocess; and the
reproduce app writing a table whose numbers are those of its runs.
"""

from __future__ import annotations

import hashlib
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hydra import compose, initialize_config_dir
from hypothesis import given, settings
from hypothesis import strategies as st
from omegaconf import OmegaConf
from scipy import stats

import experiments.cells as xcells
import experiments.config as xconfig
import experiments.reproduce as xreproduce
import experiments.run as xrun
from controllers.rules import RulesController
from experiments.config import REPO_ROOT, controller_config
from experiments.episode import episode_seed, run_controller, scenario_order
from experiments.stats import clopper_pearson
from experiments.storage import config_hash
from experiments.tables import main_results
from simulator.scenarios import load_scenario, load_scenarios, scenario_files

REPO = Path(__file__).resolve().parents[1]
CONFIGS = REPO / "configs"

#: Columns every result row carries (DESIGN 5: every metric plus provenance).
ROW_COLUMNS = {
    "catastrophic", "catastrophe_kind", "sla_compliance", "mean_sla_score", "cost_usd",
    "cost_compute_usd", "cost_retrain_usd", "cost_revenue_usd", "cost_sla_usd",
    "cost_engineer_usd", "engineer_hours", "minutes", "canary_aborts", "promotions",
    "conflicts", "safety_violation", "n_actions_taken", "n_harmful", "n_contained",
    "paper_cost", "mttd_min", "first_alarm_min", "mttr_min", "recovered", "actions_no_op",
    "actions_fallback", "actions_rollback", "actions_retrain", "scenario", "family", "subtype",
    "episode", "seed", "optimal_action", "controller", "config_hash", "git_commit",
}  # fmt: skip


def _ids_of_kinds(*kinds: str) -> list[str]:
    """Ids of the first paper43 scenario with a single fault of each kind."""
    out = []
    for kind in kinds:
        for path in scenario_files("paper43"):
            sc = load_scenario(path)
            if len(sc.faults) == 1 and sc.faults[0].kind == kind:
                out.append(sc.id)
                break
        else:
            raise AssertionError(f"no paper43 scenario with a single {kind} fault")
    return out


SELECTED = _ids_of_kinds("feature_corruption", "covariate_shift")


# =========================================================================== statistics
def test_clopper_pearson_known_values():
    """Exact intervals: 0/43 has upper bound 0.0822; 5/10 is (0.187, 0.813)."""
    lo, hi = clopper_pearson(0, 43)
    assert lo == 0.0 and hi == pytest.approx(0.0822, abs=5e-5)
    assert hi == pytest.approx(1 - 0.025 ** (1 / 43), rel=1e-9)  # closed form when k = 0
    lo, hi = clopper_pearson(5, 10)
    assert lo == pytest.approx(0.1871, abs=5e-5) and hi == pytest.approx(0.8129, abs=5e-5)
    lo, hi = clopper_pearson(10, 10)
    assert hi == 1.0 and lo == pytest.approx(0.025 ** (1 / 10), rel=1e-9)


@settings(max_examples=200, deadline=None)
@given(
    st.integers(1, 500).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))),
    st.sampled_from([0.9, 0.95, 0.99]),
)
def test_clopper_pearson_matches_scipy_and_beta_quantiles(kn, conf):
    """The interval equals scipy's exact binomtest interval and the Beta-quantile formula."""
    k, n = kn
    lo, hi = clopper_pearson(k, n, conf)
    ci = stats.binomtest(k, n).proportion_ci(confidence_level=conf, method="exact")
    assert (lo, hi) == (ci.low, ci.high)
    a = (1 - conf) / 2
    beta_lo = 0.0 if k == 0 else stats.beta.ppf(a, k, n - k + 1)
    beta_hi = 1.0 if k == n else stats.beta.ppf(1 - a, k + 1, n - k)
    assert lo == pytest.approx(beta_lo, abs=1e-9) and hi == pytest.approx(beta_hi, abs=1e-9)
    assert 0.0 <= lo <= k / n <= hi <= 1.0


@pytest.mark.parametrize(("k", "n"), [(11, 10), (-1, 10), (0, -1)])
def test_clopper_pearson_rejects_impossible_counts(k, n):
    """Counts with k > n, k < 0 or n < 0 raise ValueError naming the constraint."""
    with pytest.raises(ValueError, match=r"need 0 <= k <= n"):
        clopper_pearson(k, n)


def test_clopper_pearson_empty_is_nan():
    """No trials give (nan, nan), not a made-up interval."""
    assert all(math.isnan(v) for v in clopper_pearson(0, 0))


# =========================================================================== seeding
def test_episode_seed_golden_and_formula():
    """Episode seeds are stable golden values: 6 little-endian bytes of sha256('seed:id')."""
    assert episode_seed(0, "cov_sudden_campaign") == 7876140926906
    assert episode_seed(3, "corruption_missing_logging") == 263595020001651
    h = hashlib.sha256(b"7:any_id").digest()
    assert episode_seed(7, "any_id") == int.from_bytes(h[:6], "little")
    assert 0 <= episode_seed(123, "x") < 2**48
    assert episode_seed(0, "a") != episode_seed(1, "a") != episode_seed(1, "b")


def test_scenario_order_is_a_seeded_permutation():
    """The run order is a permutation of the set, fixed by the seed, different across seeds."""
    scenarios = load_scenarios("paper43")
    ids = [s.id for s in scenarios]
    orders = {seed: [s.id for s in scenario_order(seed, scenarios)] for seed in range(5)}
    for order in orders.values():
        assert sorted(order) == sorted(ids)
    assert orders[0] == [s.id for s in scenario_order(0, scenarios)]
    assert len({tuple(o) for o in orders.values()}) > 1


# =========================================================================== tables
def _synthetic_rows() -> pd.DataFrame:
    """Return a small frame of episode rows with hand-checkable totals."""
    cols = [
        "controller",
        "seed",
        "scenario",
        "cost_usd",
        "catastrophic",
        "safety_violation",
        "n_harmful",
        "n_contained",
        "recovered",
        "mttr_min",
        "sla_compliance",
        "minutes",
    ]
    rows = [
        ("rules", 0, "s1", 100.0, 0, 0, 2, 0, 1, 10.0, 0.9, 100),
        ("rules", 0, "s2", 300.0, 1, 1, 1, 0, 0, np.nan, 0.5, 50),
        ("hybrid", 0, "s1", 50.0, 0, 0, 2, 1, 1, 4.0, 1.0, 100),
        ("hybrid", 0, "s2", 150.0, 0, 1, 2, 2, 1, 6.0, 0.8, 200),
        ("rl", 0, "s1", 200.0, 1, 1, 0, 0, 0, np.nan, 0.2, 20),
        ("rl", 1, "s1", 999.0, 0, 0, 0, 0, 0, np.nan, 1.0, 80),  # no rules twin
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=cols)


def test_main_results_hand_computed():
    """Catastrophic %, savings vs rules, containment and SLA % equal hand computations."""
    tab = main_results(_synthetic_rows()).set_index("controller")
    assert list(tab.index) == ["rules", "hybrid", "rl"]
    r, h, rl = tab.loc["rules"], tab.loc["hybrid"], tab.loc["rl"]
    # catastrophic and violation rates per episode, with exact intervals
    assert r.catastrophic_pct == 50.0 and h.catastrophic_pct == 0.0
    assert rl.catastrophic_pct == 50.0 and rl.episodes == 2
    assert h.safety_violation_pct == 50.0
    lo, hi = clopper_pearson(1, 2)
    assert r.catastrophic_ci_low == pytest.approx(100 * lo)
    assert r.catastrophic_ci_high == pytest.approx(100 * hi)
    assert h.catastrophic_ci_low == 0.0
    assert h.catastrophic_ci_high == pytest.approx(100 * (1 - 0.025**0.5))
    # savings: 1 - cost / cost(rules) on the (seed, scenario) pairs both have
    assert r.cost_savings_pct == 0.0
    assert h.cost_savings_pct == pytest.approx(100 * (1 - 200 / 400))
    assert rl.cost_savings_pct == pytest.approx(100 * (1 - 200 / 100))  # (1, s1) unpaired
    # containment: contained / harmful actions; undefined without harmful actions
    assert r.risk_containment_pct == 0.0 and r.harmful_actions == 3
    assert h.risk_containment_pct == pytest.approx(75.0) and h.harmful_actions == 4
    assert math.isnan(rl.risk_containment_pct)
    # SLA compliance weighted by minutes
    assert r.sla_compliance_pct == pytest.approx(100 * (0.9 * 100 + 0.5 * 50) / 150)
    assert h.sla_compliance_pct == pytest.approx(100 * (1.0 * 100 + 0.8 * 200) / 300)
    assert rl.sla_compliance_pct == pytest.approx(100 * (0.2 * 20 + 1.0 * 80) / 100)
    # MTTR over recovered episodes only
    assert r.mttr_min == 10.0 and h.mttr_min == 5.0 and math.isnan(rl.mttr_min)
    assert r.recovered_pct == 50.0 and h.recovered_pct == 100.0
    # the paper's claims sit in their own columns, untouched by our numbers
    assert rl.paper_catastrophic_pct == 4.2 and h.paper_cost_savings_pct == 38.7


def test_savings_reference_is_the_overridden_rules_when_alone():
    """A lone overridden rules is the 0% savings reference.

    With two variants there is no single reference and savings are undefined.
    """
    df = _synthetic_rows()
    df.loc[df.controller == "rules", "controller"] = "rules[cooldown=5]"
    tab = main_results(df).set_index("controller")
    assert tab.loc["rules[cooldown=5]", "cost_savings_pct"] == 0.0
    assert tab.loc["hybrid", "cost_savings_pct"] == pytest.approx(100 * (1 - 200 / 400))
    two = pd.concat([df, df[df.controller == "rules[cooldown=5]"].assign(
        controller="rules[alpha=0.01]")])
    assert math.isnan(main_results(two).set_index("controller").loc["hybrid",
                                                                     "cost_savings_pct"])


def test_main_results_follow_the_rows():
    """Changing one run's cost changes the savings: the table is computed, not typed in."""
    df = _synthetic_rows()
    before = main_results(df).set_index("controller").loc["hybrid", "cost_savings_pct"]
    df.loc[(df.controller == "hybrid") & (df.scenario == "s2"), "cost_usd"] = 350.0
    after = main_results(df).set_index("controller").loc["hybrid", "cost_savings_pct"]
    assert before == pytest.approx(50.0) and after == pytest.approx(0.0)


# =========================================================================== reproduce
def _compose(name: str, overrides: list[str]):
    """Compose ``configs/<name>.yaml`` with overrides (Hydra 1.3, no app run)."""
    with initialize_config_dir(config_dir=str(CONFIGS), version_base="1.3"):
        return compose(name, overrides=overrides)


def _reproduce_cfg(tmp_path: Path, extra: list[str] | None = None):
    """Compose reproduce for two scenarios, rules and hybrid, one seed, under tmp_path."""
    return _compose(
        "reproduce",
        [
            f"raw_dir={tmp_path / 'raw'}",
            f"tables_dir={tmp_path / 'tables'}",
            "n_seeds=1",
            "controllers=[rules,hybrid]",
            f"select='{','.join(SELECTED)}'",
            "n_jobs=1",
            "regret=false",
            *(extra or []),
        ],
    )


def _cell_path(tmp_path: Path, name: str, seed: int = 0) -> Path:
    """Path of one (controller, seed) cell under the test's raw directory.

    Runs with ``select`` keep their cells in ``<controller>_select<hash>`` folders.
    """
    found = sorted((tmp_path / "raw" / "paper43").glob(f"{name}_select*/seed{seed}.parquet"))
    assert len(found) == 1, found
    return found[0]


def test_reproduce_end_to_end(tmp_path, monkeypatch):
    """Rows equal the Parquet cells; a rerun reads them back; a changed parameter recomputes."""
    cfg = _reproduce_cfg(tmp_path)
    assert cfg.n_seeds == 1 and list(cfg.controllers) == ["rules", "hybrid"]
    df = xreproduce.reproduce(cfg)
    assert len(df) == 2 * len(SELECTED)
    assert ROW_COLUMNS <= set(df.columns)
    assert sorted(df.scenario.unique()) == sorted(SELECTED)
    # every returned row is the row stored in its controller's cell
    for name in ("rules", "hybrid"):
        stored = pd.read_parquet(_cell_path(tmp_path, name))
        mine = df[df.controller == name].reset_index(drop=True)
        pd.testing.assert_frame_equal(mine, stored, check_dtype=False)
        assert stored.config_hash.nunique() == 1
    # the rows are the runs: an in-process rules run gives the same numbers
    direct = pd.DataFrame(
        run_controller(RulesController(seed=0), load_scenarios("paper43", ",".join(SELECTED)), 0)
    )
    rules = df[df.controller == "rules"].reset_index(drop=True)
    for col in ("cost_usd", "sla_compliance", "n_actions_taken", "catastrophic"):
        assert list(rules[col]) == list(direct[col]), col

    # second call: every cell is read back, nothing is recomputed
    mtimes = {n: _cell_path(tmp_path, n).stat().st_mtime_ns for n in ("rules", "hybrid")}

    def no_runs(*args, **kwargs):
        raise AssertionError("a finished cell was recomputed")

    with monkeypatch.context() as m:
        m.setattr(xcells, "run_controller", no_runs)
        m.setattr(xcells, "run_controllers_fast", no_runs)
        again = xreproduce.reproduce(cfg)
    pd.testing.assert_frame_equal(again, df, check_dtype=False)
    for n, t in mtimes.items():
        assert _cell_path(tmp_path, n).stat().st_mtime_ns == t

    # a changed controller parameter changes the config hash and the numbers
    alt = tmp_path / "configs"
    shutil.copytree(CONFIGS, alt)
    rules_cfg = OmegaConf.load(alt / "controller" / "rules.yaml")
    rules_cfg.cooldown = 5
    OmegaConf.save(rules_cfg, alt / "controller" / "rules.yaml")
    monkeypatch.setattr(xconfig, "CONFIG_DIR", alt)
    changed = xreproduce.reproduce(cfg)
    old_r, new_r = df[df.controller == "rules"], changed[changed.controller == "rules"]
    assert new_r.config_hash.iloc[0] != old_r.config_hash.iloc[0]
    assert list(new_r.n_actions_taken) != list(old_r.n_actions_taken)
    assert (
        pd.read_parquet(_cell_path(tmp_path, "rules")).config_hash.iloc[0]
        == (new_r.config_hash.iloc[0])
    )
    # the unchanged hybrid cell was read back untouched
    assert _cell_path(tmp_path, "hybrid").stat().st_mtime_ns == mtimes["hybrid"]
    pd.testing.assert_frame_equal(
        changed[changed.controller == "hybrid"].reset_index(drop=True),
        df[df.controller == "hybrid"].reset_index(drop=True),
        check_dtype=False,
    )


def test_reproduce_rejects_zero_seeds(tmp_path):
    """n_seeds below 1 raises ValueError before any work."""
    with pytest.raises(ValueError, match="n_seeds must be >= 1"):
        xreproduce.reproduce(_reproduce_cfg(tmp_path, ["n_seeds=0"]))
    assert not (tmp_path / "raw").exists()


def test_run_override_changes_config_hash_and_results():
    """`controller.cooldown=5` on the run app changes the config hash and the result rows."""
    sid = SELECTED[0]
    base = xrun.run(_compose("config", ["controller=rules", f"select={sid}"]))
    again = xrun.run(_compose("config", ["controller=rules", f"select={sid}"]))
    fast = xrun.run(
        _compose("config", ["controller=rules", f"select={sid}", "controller.cooldown=5"])
    )
    assert base[0]["config_hash"] == again[0]["config_hash"]
    assert base[0]["cost_usd"] == again[0]["cost_usd"]
    assert fast[0]["config_hash"] != base[0]["config_hash"]
    assert fast[0]["n_actions_taken"] != base[0]["n_actions_taken"]
    expected = config_hash(
        {
            "controller": OmegaConf.to_container(controller_config("rules")),
            "set": "paper43",
            "select": sid,
        }
    )
    assert base[0]["config_hash"] == expected


def test_composition_rejects_unknown_keys():
    """A typo in an override fails at composition (typed config schemas)."""
    with pytest.raises(Exception, match="n_seedz"):
        _compose("reproduce", ["n_seedz=3"])


# =========================================================================== apps
def _run_module(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    """Run ``python -m <args>`` from the repository root with a clean Hydra output dir."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-m", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )


def test_run_app_writes_one_parquet_row(tmp_path):
    """`python -m experiments.run controller=rules select=<id>` writes one complete row."""
    sid = SELECTED[1]
    out = tmp_path / "out"
    proc = _run_module(
        [
            "experiments.run",
            "controller=rules",
            f"select={sid}",
            f"out_dir={out}",
            f"hydra.run.dir={tmp_path / 'hydra'}",
        ],
        REPO,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    files = list(out.rglob("*.parquet"))  # reproduce's layout: <set>/<config>/seed<k>
    assert [f.relative_to(out).parts[:2] for f in files] == [("paper43", files[0].parent.name)]
    assert files[0].parent.name.startswith("rules_select") and files[0].name == "seed0.parquet"
    df = pd.read_parquet(files[0])
    assert len(df) == 1 and ROW_COLUMNS <= set(df.columns)
    row = df.iloc[0]
    assert row.scenario == sid and row.controller == "rules" and row.seed == 0
    # another process, same seed: the same numbers as an in-process run
    mine = run_controller(RulesController(seed=0), load_scenarios("paper43", sid), 0)[0]
    for col in ("cost_usd", "sla_compliance", "n_actions_taken", "mean_sla_score"):
        assert row[col] == mine[col], col
    assert f"wrote 1 episode rows: {files[0]}" in proc.stdout
    log = (tmp_path / "hydra" / "run.log").read_text()  # the job's log has the summaries too
    assert f"{sid:<36} cat=" in log and f"wrote 1 episode rows: {files[0]}" in log


def test_reproduce_app_table_matches_its_runs(tmp_path):
    """`python -m experiments.reproduce` writes a table whose numbers are its runs'."""
    sid = SELECTED[0]
    raw, tables = tmp_path / "raw", tmp_path / "tables"
    proc = _run_module(
        [
            "experiments.reproduce",
            "controllers=[noop,rules]",
            f"select={sid}",
            "n_seeds=1",
            "n_jobs=1",
            "regret=false",
            "tables=[main]",
            "figures_dir=null",
            f"raw_dir={raw}",
            f"tables_dir={tables}",
            f"hydra.run.dir={tmp_path / 'hydra'}",
        ],
        REPO,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    csvs = list(tables.glob("main_results*.csv"))
    assert len(csvs) == 1  # a subset run writes its own table, never the main one
    assert csvs[0].name != "main_results.csv"
    tab = pd.read_csv(csvs[0]).set_index("controller")
    cells = pd.concat(
        [pd.read_parquet(next((raw / "paper43").glob(f"{n}_select*/seed0.parquet")))
         for n in ("noop", "rules")]
    )
    expected = main_results(cells).set_index("controller")
    pd.testing.assert_frame_equal(tab, expected, check_dtype=False)
    noop_cost = cells[cells.controller == "noop"].cost_usd.sum()
    rules_cost = cells[cells.controller == "rules"].cost_usd.sum()
    assert tab.loc["noop", "cost_savings_pct"] == pytest.approx(100 * (1 - noop_cost / rules_cost))
    md = csvs[0].with_suffix(".md").read_text()
    assert "# Main results (1 seeds x 1 scenarios" in md


def test_reproduce_overrides_change_results_and_are_validated(tmp_path):
    """Per-controller overrides rerun the controller apart, change its rows, and are checked."""
    import hydra as _hydra

    from experiments.config import CONFIG_DIR
    from experiments.reproduce import reproduce as _reproduce

    def rows(extra):
        with _hydra.initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
            cfg = _hydra.compose("reproduce", overrides=[
                f"raw_dir={tmp_path}/raw", f"tables_dir={tmp_path}/t", "n_seeds=1",
                "n_jobs=1", "controllers=[rules]", "select=cov_sudden_campaign",
                "regret=false", *extra])
        return _reproduce(cfg)

    base = rows([])
    fast = rows(["+overrides.rules.cooldown=5"])
    assert base.controller.unique().tolist() == ["rules"]
    assert fast.controller.unique().tolist() == ["rules[cooldown=5]"]
    assert fast.n_actions_taken.sum() > base.n_actions_taken.sum()
    assert base.config_hash.iloc[0] != fast.config_hash.iloc[0]
    with pytest.raises(ValueError, match=r"overrides\.rules\.bogus: Key 'bogus' not in"):
        rows(["+overrides.rules.bogus=1"])
    with pytest.raises(ValueError, match=r"overrides name controllers that are not run"):
        rows(["+overrides.hybrid.alpha=0.1"])


def test_reproduce_refuses_bad_settings_early_naming_them(tmp_path):
    """Bad settings are refused before any cell runs, each message naming the setting.

    Bad override values, duplicate controllers, n_jobs=0 and unwritable folders.
    """
    import hydra as _hydra

    from experiments.config import CONFIG_DIR
    from experiments.reproduce import reproduce as _reproduce

    def run(*extra, raw=None):
        with _hydra.initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
            cfg = _hydra.compose("reproduce", overrides=[
                f"raw_dir={raw or tmp_path / 'raw'}", f"tables_dir={tmp_path}/t", "n_seeds=1",
                "n_jobs=1", "select=cov_sudden_campaign", "regret=false", *extra])
        return _reproduce(cfg)

    cases = [
        (["controllers=[noop,hybrid]", "+overrides.hybrid.use_shield=maybe"],
         r"overrides\.hybrid\.use_shield: Value 'maybe' is not a valid bool"),
        (["controllers=[noop,hybrid]", "+overrides.hybrid.sla_threshold=2"],
         r"overrides\.hybrid: sla_threshold must be in \(0, 1\], got 2"),
        (["controllers=[noop,hybrid]", "+overrides.hybrid.sla_threshold=abc"],
         r"overrides\.hybrid\.sla_threshold: Value 'abc' .* could not be converted to Float"),
        (["controllers=[rules]", "+overrides.rules.cooldown=2.7"],
         r"overrides\.rules\.cooldown: Value '2\.7' .* could not be converted to Integer"),
        (["controllers=[human]", "+overrides.human.random_delay=maybe"],
         r"overrides\.human\.random_delay: Value 'maybe' is not a valid bool"),
        (["controllers=[rules,rules]"], r"controllers lists \['rules'\] more than once"),
        (["controllers=[rules]", "n_jobs=0"], r"n_jobs must be >= 1"),
        (["controllers=[linucb]", "+overrides.linucb=5"],
         r"overrides\.linucb must map parameter names to values"),
        (["controllers=[rl]", "+overrides.rl.lam=nan"],
         r"overrides\.rl: lam must be finite and > 0, got nan"),
        (["controllers=[human]", "+overrides.human.handling_minutes=inf"],
         r"overrides\.human: handling_minutes must be finite and >= 0, got inf"),
        (["controllers=[conservative_ucb]", "+overrides.conservative_ucb.alpha_c=abc"],
         r"overrides\.conservative_ucb\.alpha_c: Value 'abc' .* converted to Float"),
    ]
    for extra, msg in cases:
        with pytest.raises(ValueError, match=msg):
            run(*extra)
    assert not (tmp_path / "raw").exists()  # a refused run creates no folder
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ValueError, match=r"raw_dir=.*cannot create the folder"):
        run("controllers=[rules]", raw=blocker / "sub")
    with pytest.raises(ValueError, match=r"tables_dir=.*cannot create the folder"):
        run("controllers=[rules]", f"tables_dir={blocker / 'tables'}", raw=tmp_path / "raw2")
    assert not (tmp_path / "raw2").exists()  # checked together: raw_dir was not created
    df = run("controllers=[hybrid]", "+overrides.hybrid.canary_judge=mann_whitney")
    assert df.controller.unique().tolist() == ["hybrid[canary_judge=mann_whitney]"]


def test_table_stem_main_only_for_the_full_default_run():
    """Fewer seeds, another first seed, a subset or overrides write a hashed table."""
    from omegaconf import OmegaConf

    from experiments.reproduce import table_stem

    base = {"select": None, "controllers": ["noop", "rules", "human", "rl", "bandit",
                                            "hybrid_literal", "hybrid"],
            "scenario_set": {"name": "paper43"}, "n_seeds": 5, "first_seed": 0}
    assert table_stem(OmegaConf.create(base)) == "main_results"
    assert table_stem(OmegaConf.create({**base, "n_seeds": 100})) == "main_results"
    for change in ({"n_seeds": 1}, {"first_seed": 3}, {"select": "cov_*"},
                   {"controllers": ["rules"]},
                   {"scenario_overrides": {"economics": {"usd_per_replica_minute": 0.1}}}):
        assert table_stem(OmegaConf.create({**base, **change})).startswith("main_results_")


def test_a_controller_schema_is_not_a_controller_config(tmp_path):
    """``controller=hybrid_schema`` (a Hydra option, the schema) is refused, naming both."""
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "experiments.run", "controller=hybrid_schema",
         "select=cov_sudden_campaign", f"hydra.run.dir={tmp_path}"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode != 0
    assert ("controller=hybrid_schema is the parameter schema of controller=hybrid"
            in done.stderr)
