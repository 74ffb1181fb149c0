"""The detector layer of ``rules`` and ``hybrid`` (``controller.detector=...``).

``ks`` is the paper's alarm (results unchanged); a stream detector on the measured accuracy
drop, plus the operational alarm, opens the decisions otherwise. The fast path's parity
with these options is in ``tests/test_fast_path.py`` (its ``detector`` variants).
"""

from __future__ import annotations

import numpy as np
import pytest
from hydra.utils import instantiate

from controllers import detector_layer as DL
from controllers import kernels as K
from controllers.detectors import CUSUM
from experiments.config import controller_config
from experiments.episode import run_episode
from simulator.scenarios import load_scenarios


def test_ks_is_the_paper_alarm_and_a_stream_detector_is_fed_every_value():
    """The ks alarm is kernels.alarm; cusum's is a CUSUM fed A, or the operational alarm."""
    rng = np.random.default_rng(0)
    det = DL.detector_state("cusum")
    ref = CUSUM(k=0.5, h=5.0, direction="up", warmup=30)
    for t in range(200):
        obs = np.zeros(10)
        obs[K.OBS_A] = rng.normal(0.0, 0.01) + (0.2 if t > 120 else 0.0)
        obs[K.OBS_P99] = 500.0 if t == 50 else 100.0  # one operational alarm
        obs[K.OBS_D] = rng.uniform(0, 0.3)
        assert DL.detector_alarm(DL.DET_KS, det, obs, 0.1, 0.01, 300.0) == K.alarm(
            obs, 0.1, 0.01, 300.0)
        got = DL.detector_alarm(DL.DET_CUSUM, det, obs, 0.1, 0.01, 300.0)
        fired = ref.update(obs[K.OBS_A]).drift_detected
        assert got == (fired or t == 50)
    assert ref.n_detections >= 1
    with pytest.raises(ValueError, match="unknown stream detector 'ks'"):
        DL.stream_detector("ks")


@pytest.mark.parametrize("name", ["rules", "hybrid"])
def test_the_detector_changes_when_a_controller_decides_and_resets_per_episode(name):
    """Other decision epochs with ADWIN than with KS; the same episode twice is the same."""
    sc = load_scenarios("paper43", select="concept_sudden_ctr_fast_labels")[0]

    def row(detector):
        ctrl = instantiate(controller_config(name, {"detector": detector}), seed=0)
        first = run_episode(ctrl, sc, 0)
        again = run_episode(instantiate(controller_config(name, {"detector": detector}),
                                        seed=0), sc, 0)
        return first, again

    ks, ks2 = row("ks")
    ad, ad2 = row("adwin")
    assert ks["mttd_min"] == ks2["mttd_min"] and ad["n_actions_taken"] == ad2["n_actions_taken"]
    assert (ks["n_actions_taken"], ks["cost_usd"]) != (ad["n_actions_taken"], ad["cost_usd"])


def test_a_bad_detector_is_refused_naming_the_choices():
    """``controller.detector=bogus`` is refused with the allowed names."""
    from controllers.rules import RulesController

    with pytest.raises(ValueError, match="detector must be one of ks, cusum, page_hinkley, "
                                         "adwin, ewma, got 'bogus'"):
        RulesController(seed=0, detector="bogus")
