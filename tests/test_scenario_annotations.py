"""The annotated optimal action of every paper43 scenario is the simulator's best first response.

The paper (Sec. 5) annotates each of its 43 scenarios with an expert-agreed optimal action.
A scenario is an incident class: each seed draws its own incident from the file's ranges.
The simulator judges each annotation with the protocol of ``python -m simulator.scenarios
check`` (:mod:`simulator.scenarios.holdrate`): for each of ``N_DRAWS`` seeds, play
``no_op`` to the first alarm after the earliest onset (the envelope's alarm, computed in
:mod:`simulator.scenarios.plot`), fork once per action, play the action once and ``no_op``
to the horizon under common random numbers, and call the draw *held* if the annotated
action had no catastrophe and is within max($10, 2% of no-op dollars) of the cheapest.
An annotation must hold in at least ``MIN_HOLD_RATE`` (60%) of the draws (issue 11).
The per-scenario hold rates are in ``docs/scenario_annotations.md``
(``python -m simulator.scenarios check --set paper43 --markdown``).

The last test pins the paper's taxonomy counts (Sec. 5) of scenarios/paper43/. Runtime:
about 0.6 s of CPU per scenario (20 draws x 4 open-loop branches), warm cache.
"""

from __future__ import annotations

from collections import Counter

import pytest

from simulator.scenarios import load_scenario, scenario_files
from simulator.scenarios.holdrate import MIN_HOLD_RATE, hold_rate

N_DRAWS = 20
FILES = scenario_files("paper43")

#: The paper's counts (Sec. 5): family -> sub-type -> number of scenarios.
COUNTS = {
    "data_drift": {"covariate_shift": 7, "concept_drift": 6, "feature_corruption": 5},
    "model_degradation": {"accuracy_decay": 8, "latency_increase": 3, "memory_leak": 1},
    "infrastructure": {"resource_exhaustion": 4, "network_latency": 2, "dependency_failure": 2},
    "anomaly_patterns": {"adversarial_inputs": 2, "outlier_cluster": 2, "temporal_anomaly": 1},
}
CORRUPTION_VARIANTS = {"missing_values", "outliers", "schema_change", "unit_change", "skew"}
RESOURCE_VARIANTS = {"cpu", "memory", "disk", "pool"}


@pytest.mark.slow
@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_annotation_holds_in_most_drawn_incidents(path):
    """The annotated action is the cheapest (within tolerance) in >= 60% of 20 draws."""
    sc = load_scenario(path)
    r = hold_rate(sc, range(N_DRAWS))
    assert r.rate >= MIN_HOLD_RATE, (
        f"{sc.id}: annotated {r.annotated} holds in {sum(r.holds)} of {N_DRAWS} draws; "
        f"cheapest per draw: {r.cheapest_counts}"
    )


def test_paper43_counts():
    """scenarios/paper43 holds exactly the paper's 43: counts per family, sub-type and variant."""
    scenarios = [load_scenario(p) for p in FILES]
    assert len(scenarios) == 43
    by_sub = Counter((s.family, s.subtype) for s in scenarios)
    want = {(f, s): n for f, subs in COUNTS.items() for s, n in subs.items()}
    assert dict(by_sub) == want
    by_family = Counter(s.family for s in scenarios)
    assert by_family == {
        "data_drift": 18,
        "model_degradation": 12,
        "infrastructure": 8,
        "anomaly_patterns": 5,
    }

    def variants(subtype: str) -> list[str]:
        """Variant of each scenario's first fault of its own sub-type."""
        out = []
        for s in scenarios:
            if s.subtype == subtype:
                out.append(next(f.variant for f in s.faults if f.kind == subtype))
        return out

    corr, res = variants("feature_corruption"), variants("resource_exhaustion")
    assert sorted(corr) == sorted(CORRUPTION_VARIANTS), corr
    assert sorted(res) == sorted(RESOURCE_VARIANTS), res
    migrated = [
        s.id
        for s in scenarios
        for f in s.faults
        if f.kind == "feature_corruption" and f.variant == "schema_change" and f.migrate
    ]
    assert len(migrated) >= 1, "one schema_change scenario must migrate the live schema"
