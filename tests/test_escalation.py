"""``escalate`` pages an engineer (the human baseline's model), it is not an oracle.

The page is answered ``escalation_delay`` minutes later; the engineer applies the
scenario's annotated action with probability ``escalation_accuracy`` (paper Sec. 5: 0.88),
otherwise a uniformly drawn other action, and ``escalation_engineer_minutes`` are charged.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import binomtest, chisquare

from simulator import layout as L
from simulator.core import Simulation
from simulator.deploy import paged_fix
from simulator.scenarios import compile_scenario, draw_incident, load_scenarios, parse_scenario

SC = load_scenarios("extended", select="compound_corruption_deploy")[0]
OPT = L.ACTION_NAMES.index(SC.annotations.optimal_action)


def _sim(seed=0, **deployment):
    data = draw_incident(SC, seed).model_dump(mode="json")
    data["deployment"].update(deployment)
    sim = Simulation(compile_scenario(parse_scenario(data)))
    sim.reset(seed)
    return sim


def test_the_paged_engineer_is_right_at_the_documented_rate():
    """Over 2,000 pages (seeds x minutes) the right fix's share is 0.88; wrong ones uniform."""
    sim = _sim()
    assert sim.p[L.P_ESCALATE_ACC] == 0.88 and int(sim.p[L.P_N_ACTIONS]) == 8
    picks = []
    for seed in range(200):
        sim.s[L.S_SEED] = seed
        picks += [paged_fix(sim.arrays, float(t)) for t in range(10)]
    picks = np.array(picks)
    right = int((picks == OPT).sum())
    assert binomtest(right, picks.size, 0.88).pvalue > 1e-3
    wrong = picks[picks != OPT]
    assert L.ESCALATE not in wrong
    others = [a for a in range(8) if a not in (OPT, L.ESCALATE)]
    counts = [int((wrong == a).sum()) for a in others]
    assert min(counts) > 0 and chisquare(counts).pvalue > 1e-3
    # common random numbers: a pure function of (seed, minute); compiled == interpreted
    assert paged_fix(sim.arrays, 3.0) == paged_fix.py_func(sim.arrays, 3.0)


@pytest.mark.parametrize("accuracy", [0.0, 1.0])
def test_the_page_is_answered_after_the_delay_and_charged(accuracy):
    """Nothing happens until the delay; then the fix (right or wrong) and engineer time."""
    sim = _sim(escalation_accuracy=accuracy, escalation_delay=30,
               escalation_engineer_minutes=90.0)
    sim.step(L.ESCALATE)
    paged = sim.t - 1
    assert sim.s[L.S_ESCALATE_AT] == paged + 30
    while sim.t < paged + 30:
        rec, _ = sim.step(L.NO_OP)
        assert rec[L.R_USD_ENGINEER] == 0.0
    fix = paged_fix(sim.arrays, float(sim.t))
    assert (fix == OPT) == (accuracy == 1.0)
    quarantined_before = sim.s[L.S_QUARANTINE_UNTIL]
    rec, _ = sim.step(L.NO_OP)
    assert rec[L.R_USD_ENGINEER] == pytest.approx(90.0 * sim.p[L.P_USD_ENGINEER_H] / 60.0)
    assert sim.s[L.S_ESCALATE_AT] == -1.0
    if fix == L.QUARANTINE_INPUTS:  # the annotated action of this scenario
        assert sim.s[L.S_QUARANTINE_UNTIL] > quarantined_before
    else:
        assert sim.s[L.S_QUARANTINE_UNTIL] == quarantined_before
