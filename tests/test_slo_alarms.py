"""Alarm limits come from the scenario's SLOs, as exposed in public info.

Every latency, error and availability threshold a controller's alarms and rules use is the
scenario's (``info["slo_availability"]``, ``info["slo_p99_ms"]``, ``info["timeout_ms"]``;
``controllers.kernels.slo_limits``), not a constant of the controller.
"""

from __future__ import annotations

import numpy as np
import pytest

from controllers import kernels as K
from controllers.rules import RulesController
from experiments.episode import run_episode
from simulator.records import info_record
from simulator.scenarios import load_scenarios


def _obs(err=0.0, p99=100.0):
    obs = np.zeros(10)
    obs[K.OBS_ERR], obs[K.OBS_P99] = err, p99
    return obs


@pytest.mark.parametrize(("avail", "p99_slo", "err", "p99", "expected"), [
    (0.99, 300.0, 0.03, 100.0, True),   # 3% errors break a 99% availability SLO
    (0.95, 300.0, 0.03, 100.0, False),  # but not a 95% one
    (0.99, 300.0, 0.0, 200.0, False),   # p99 200 ms meets a 300 ms SLO
    (0.99, 150.0, 0.0, 200.0, True),    # and breaks a 150 ms one
])
def test_the_operational_alarm_uses_the_info_slos(avail, p99_slo, err, p99, expected):
    """slo_limits(info) feeds infra_alarm and alarm; compiled == interpreted."""
    info = info_record({"slo_availability": avail, "slo_p99_ms": p99_slo, "timeout_ms": 900.0})
    err_limit, p99_limit, timeout = K.slo_limits(info)
    assert (err_limit, p99_limit, timeout) == (pytest.approx(1 - avail), p99_slo, 900.0)
    obs = _obs(err, p99)
    assert K.infra_alarm(obs, err_limit, p99_limit) == expected
    assert K.alarm(obs, 1.0, err_limit, p99_limit) == expected
    assert K.infra_alarm.py_func(obs, err_limit, p99_limit) == expected


def test_the_rules_follow_the_scenario_latency_slo():
    """A regex push slows p99: at the default 300 ms SLO the rules roll back; at 5 s, not."""
    default = load_scenarios("paper43", select="latency_regex_push")[0]
    lax = load_scenarios("paper43", select="latency_regex_push",
                         overrides={"slo": {"p99_latency_ms": 5000.0}})[0]
    a = run_episode(RulesController(seed=0), default, 0)
    b = run_episode(RulesController(seed=0), lax, 0)
    assert a["actions_rollback"] == 1.0 and a["mttd_min"] == 0.0
    assert b["actions_rollback"] == 0.0 and b["mttd_min"] > a["mttd_min"]
