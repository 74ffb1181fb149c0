"""The detector-quality table: false alarms on fault-free minutes, detection delay.

Golden values of the counting rules on hand-made alarm sequences, the exact Poisson
interval against its chi-square definition, and the alarms on a real ``no_op`` episode
against the detectors fed directly.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import chi2

from controllers.detectors import CUSUM
from experiments import detector_quality as DQ
from simulator import layout as L
from simulator.scenarios import load_scenarios


def test_false_alarms_are_events_before_the_onset_and_delay_after_it():
    """Rising edges before the onset count; the first alarm at/after it gives the delay."""
    a = np.array([0, 1, 1, 0, 1, 0, 0, 0, 0, 1, 1, 0], dtype=bool)
    q = DQ.episode_quality(a, onset=6)
    assert q == {"fault_free_minutes": 6, "false_alarms": 2, "false_alarm_minutes": 3,
                 "delay_min": 3.0}
    q = DQ.episode_quality(a, onset=11)
    assert q["false_alarms"] == 3 and math.isnan(q["delay_min"])  # missed
    q = DQ.episode_quality(a, onset=2)  # an alarm running into the onset: delay 0
    assert q["false_alarms"] == 1 and q["delay_min"] == 0.0


@pytest.mark.parametrize(("count", "exposure"), [(0, 1.0), (10, 2.5), (250, 40.0)])
def test_poisson_interval_is_garwoods(count, exposure):
    """Lo = chi2(0.025; 2k) / 2 / T, hi = chi2(0.975; 2k + 2) / 2 / T."""
    lo, hi = DQ.poisson_interval(count, exposure)
    exp_lo = chi2.ppf(0.025, 2 * count) / 2 / exposure if count else 0.0
    assert lo == pytest.approx(exp_lo) and hi == pytest.approx(
        chi2.ppf(0.975, 2 * count + 2) / 2 / exposure)
    assert lo <= count / exposure <= hi
    if count == 0:
        assert hi == pytest.approx(3.6889, abs=1e-4)


def test_alarms_on_a_real_episode_and_the_table():
    """Ks = R_D above its critical value; cusum = a fresh CUSUM fed the measured drop."""
    sc = load_scenarios("paper43", select="concept_sudden_ctr_fast_labels")
    rows = DQ.detector_rows(sc, [0])
    assert set(rows.detector) == set(DQ.DETECTORS) and len(rows) == len(DQ.DETECTORS)
    assert (rows.fault_free_minutes > 0).all()
    table = DQ.detector_table(rows)
    assert set(table.family) == {sc[0].family, "all"}
    ks = table[(table.detector == "ks") & (table.family == "all")].iloc[0]
    assert ks.false_alarms_per_1000_min == pytest.approx(
        1000 * ks.false_alarms / ks.fault_free_minutes)
    # the detectors on the very records
    from experiments.episode import episode_seed
    from simulator.core import Simulation
    from simulator.env import compile_for_env, env_episode_seed
    from simulator.scenarios import draw_incident
    from simulator.stats import ks_critical_value

    ep = env_episode_seed(episode_seed(0, sc[0].id))
    sim = Simulation(compile_for_env(draw_incident(sc[0], ep)))
    sim.reset(ep)
    while sim.t <= sim.horizon:
        sim.step(L.NO_OP)
    hist = sim.hist[: sim.t]
    crit = ks_critical_value(0.05 / 4, int(sim.p[L.P_SAMPLES_PER_MIN] * sim.p[L.P_KS_WINDOW]),
                             int(sim.p[L.P_REF_SIZE]))
    assert np.array_equal(DQ.alarm_minutes(hist, sim.p, "ks"), hist[:, L.R_D] > crit)
    det = CUSUM(k=0.5, h=5.0, direction="up", warmup=30)
    direct = [det.update(float(x)).drift_detected for x in hist[:, L.R_A]]
    assert DQ.alarm_minutes(hist, sim.p, "cusum").tolist() == direct
    with pytest.raises(ValueError, match="unknown detector 'x'; allowed: ks, cusum"):
        DQ.alarm_minutes(hist, sim.p, "x")
    md = DQ.detector_markdown(table, 1)
    assert "5.3% false positives" in md and md.count("\n| ") == len(table)  # rows after the header
