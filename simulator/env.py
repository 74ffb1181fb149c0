"""Gymnasium environment of a production ML pipeline living through one failure scenario.

## Description
Each step is one simulated minute of a model-serving system (DESIGN 3). A scenario (YAML,
``scenarios/``) injects faults; the agent chooses a remediation action each minute.
Observations are *measured* from samples the simulator draws, with real sampling noise.

## Action Space
``Discrete(4)`` (paper set) or ``Discrete(8)`` (extended set, scenarios with
``extended_actions: true`` or ``action_set="extended"``):

| Num | Action              | Effect (DESIGN 3.5)                                           |
|-----|---------------------|---------------------------------------------------------------|
| 0   | `no_op`             | nothing                                                       |
| 1   | `fallback`          | serve the simple robust model for `fallback_ttl` minutes      |
| 2   | `rollback`          | deploy the previous model version (direct or canary)          |
| 3   | `retrain`           | fit on the last `train_window` labelled minutes, then deploy  |
| 4   | `scale_out`         | add `scale_step` replicas                                     |
| 5   | `restart`           | restart pods: clears leaked memory, half capacity for a while |
| 6   | `quarantine_inputs` | drop rows failing validation from serving and training        |
| 7   | `escalate`          | page an engineer; after a delay, the right fix (88% of pages) |

An action that conflicts with one in progress becomes a no-op (``info["action_applied"]``
is False); the environment never raises on a valid index.

## Observation Space
``observation_mode="paper"``: ``Box(0, 1, (3,), float64)``; ``"full"`` appends 7 more:

| Num | Observation                 | Unit          | Min | Max |
|-----|-----------------------------|---------------|-----|-----|
| 0   | `d`: KS statistic vs the serving model's reference (max) | - | 0 | 1 |
| 1   | `a`: accuracy drop vs baseline on delayed labels | accuracy | 0 | 1 |
| 2   | `rho`: share of live rows with abs(z) > 3      | share | 0 | 1 |
| 3   | p99 latency (measured)      | ms            | 0   | 1e5 |
| 4   | error rate (measured)       | share         | 0   | 1   |
| 5   | utilisation                 | load/capacity | 0   | 1e3 |
| 6   | traffic                     | requests/s    | 0   | 1e7 |
| 7   | billed cost rate            | dollars/min   | 0   | 1e7 |
| 8   | canary traffic share        | share         | 0   | 1   |
| 9   | data-validation failures    | share of rows | 0   | 1   |

## Rewards
Minus every dollar this minute cost (compute, retraining, revenue lost, SLA penalty,
engineer time), scaled (``reward_scale`` = 10 by default): the benchmark's objective.
``info["cost_usd"]`` and observation 7 show only the billed part (compute, retraining,
engineer time); lost revenue and SLA penalties follow the true accuracy. The step
that ends in a catastrophic failure also carries the dollars of the rest of the horizon
(see Episode End), so an early failure is never cheaper than surviving. Learning
controllers use the paper's reward -C(a) + lambda * success from ``info["feedback"]``, whose
success is measured (:mod:`simulator.observed`), never a counterfactual fork's.

## Info (public keys, documented and fixed)
``cost`` (the paper's C(a) of the action), ``cost_usd``, ``catastrophic`` (bool),
``catastrophe_kind``, ``slo_violation`` (bool: some SLO missed this minute),
``action_applied``, ``minute``, ``fallback_active``, ``retrain_running``,
``canary_active``, ``previous_available``, ``previous_schema_compatible``,
``label_delay``, ``train_window``, ``ks_n``, ``ks_m``, ``n_actions``, the scenario's SLOs
``slo_availability``, ``slo_p99_ms`` (ms), ``slo_accuracy`` and the clients' ``timeout_ms``
(the limits of every controller's latency, error and availability alarms), and ``feedback``:
a list of what monitoring measured after each action (``decision_minute``, ``action``,
``paper_cost``, ``success``: the measured SLOs were met at the end of the window,
``sla_degraded``: the measured SLA score fell below 80% of its value before the action,
``pre_sla``, ``minutes`` observed; :mod:`simulator.observed`), each delivered
``outcome_window`` minutes after its action (at once when the episode ends). The
counterfactual verdicts (harm, safety violation, containment against a ``no_op`` fork) are
evaluation only: they go to ``env.assessments``, never into ``info``.
The hidden ground truth of the last step (served accuracy, availability, p99, SLA score,
bad-model and corrupted shares, the scenario's annotated action) is evaluation only: it is
``env.truth``, never in ``info``; the runner hands it to the labelled hidden-state
controllers alone: the oracle, and the human model, which reads only the annotated
action (an engineer's investigation that finds the expert-agreed fix, with its error
rate). The keys but ``catastrophe_kind`` and ``feedback`` are the fields of the record
:data:`simulator.records.INFO`, filled by one kernel
(:func:`simulator.records.fill_info`) for this env and for the batched fast path.

## Starting State
Each ``reset`` draws an episode seed from the env's seeded generator. A scenario whose file
gives fields as distributions (:mod:`simulator.scenarios.randomise`) is an incident class:
``reset`` draws the episode's incident from that seed (``env.incident``; the nominal
incident is ``env.scenario``), so every controller reset with the same seed meets the same
incident. The system starts healthy: serving v1, previous v0 available, fallback ready.

## Episode End
Terminated on a catastrophic failure (DESIGN 3.6); truncated at the scenario's horizon.
On termination the simulation plays the rest of the horizon without the agent (an outage
until a human restores the last good version, then ``no_op``; :mod:`simulator.playout`),
so that ``env.sim.hist`` and the episode's cost, SLA and recovery cover every minute.

## Arguments
``scenario`` (id, path or Scenario), ``observation_mode`` ("paper" | "full"),
``action_set`` ("auto" | "paper" | "extended"), ``deployment`` ("direct" | "canary"),
``canary_judge`` ("delta_sla" | "mann_whitney": the paper's delta-SLA rule or a one-sided
Mann-Whitney U test on per-request correctness, see ``simulator.deploy._judge_canary``),
``assess_actions`` (bool), ``reward_scale`` (float).

## Version History
* v0: initial version.
"""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.utils import seeding

from simulator import layout as L
from simulator.assessment import assess_action
from simulator.core import Simulation
from simulator.observed import observed_outcome, pre_action_sla
from simulator.records import INFO_KEYS, fill_info, new_info
from simulator.scenarios import (
    SCENARIO_ROOT,
    CompiledScenario,
    Scenario,
    ScenarioError,
    compile_scenario,
    draw_incident,
    is_randomised,
    load_scenario,
)
from simulator.scenarios.compile import CANARY_JUDGES

OBS_PAPER = ("d", "a", "rho")
OBS_FULL = OBS_PAPER + (
    "p99_ms",
    "error_rate",
    "utilisation",
    "traffic_rps",
    "cost_usd_per_min",
    "canary_share",
    "validation_fail_share",
)
#: Record column of each full-observation entry, in order.
REC_OF_OBS = (
    L.R_D,
    L.R_A,
    L.R_RHO,
    L.R_P99_OBS,
    L.R_ERR_OBS,
    L.R_UTIL,
    L.R_TRAFFIC,
    L.R_COST_BILLED,
    L.R_CANARY_SHARE,
    L.R_VALIDATION_FAIL,
)
#: Upper bounds of the full observation; values beyond are clipped (finite for check_env).
FULL_HIGH = np.array([1, 1, 1, 1e5, 1, 1e3, 1e7, 1e7, 1, 1], dtype=np.float64)


def resolve_scenario(scenario: str | Path | Scenario) -> Scenario:
    """Return a Scenario from an object, a file path or an id in the shipped library.

    Raises
    ------
    ScenarioError
        If no such file or id exists, or the file is invalid.
    """
    if isinstance(scenario, Scenario):
        return scenario
    path = Path(scenario)
    if path.suffix in (".yaml", ".yml"):
        return load_scenario(path)
    hits = sorted(SCENARIO_ROOT.glob(f"*/{scenario}.yaml"))
    if not hits:
        raise ScenarioError(
            f"unknown scenario {str(scenario)!r}: no file scenarios/*/{scenario}.yaml "
            "(list the ids with `python -m simulator.scenarios list`)"
        )
    return load_scenario(hits[0])


def env_episode_seed(seed: int) -> int:
    """Return the episode seed ``SelfHealEnv.reset(seed=seed)`` draws (see Starting State).

    The episode seed keys every random stream of the episode and its drawn incident;
    result rows record it as ``episode_seed``, and ``Simulation.reset`` takes it.
    """
    rng, _ = seeding.np_random(int(seed))
    return int(rng.integers(0, 2**53))


def compile_for_env(scenario: Scenario, action_set: str = "auto", deployment: str = "direct",
                    canary_judge: str = "delta_sla") -> CompiledScenario:
    """Compile ``scenario`` as the environment runs it.

    ``deployment`` (``direct`` or ``canary``) and ``canary_judge`` set how retrain and
    rollback deploy; ``action_set`` (``auto``: the scenario's, ``paper``, ``extended``) sets
    ``P_N_ACTIONS``. The batched fast path compiles through this function too.

    Raises
    ------
    ValueError
        On an unknown action set, deployment or canary judge.
    """
    if action_set not in ("auto", "paper", "extended"):
        raise ValueError(f"action_set must be auto, paper or extended, got {action_set!r}")
    if deployment not in ("direct", "canary"):
        raise ValueError(f"deployment must be 'direct' or 'canary', got {deployment!r}")
    if canary_judge not in CANARY_JUDGES:
        raise ValueError(f"canary_judge must be one of {CANARY_JUDGES}, got {canary_judge!r}")
    compiled = compile_scenario(scenario, deploy_canary=deployment == "canary",
                                canary_judge=canary_judge)
    if action_set == "extended":
        compiled.params[L.P_N_ACTIONS] = L.N_EXTENDED_ACTIONS
    elif action_set == "paper":
        compiled.params[L.P_N_ACTIONS] = L.N_PAPER_ACTIONS
    return compiled


class SelfHealEnv(gym.Env):
    """See the module docstring for spaces, rewards, info keys and episode end."""

    metadata = {"render_modes": []}

    def __init__(
        self,
        scenario: str | Path | Scenario = "cov_sudden_campaign",
        observation_mode: str = "paper",
        action_set: str = "auto",
        deployment: str = "direct",
        assess_actions: bool = True,
        reward_scale: float = 10.0,
        canary_judge: str = "delta_sla",
    ):
        if observation_mode not in ("paper", "full"):
            raise ValueError(
                f"observation_mode must be 'paper' or 'full', got {observation_mode!r}"
            )
        if action_set not in ("auto", "paper", "extended"):
            raise ValueError(f"action_set must be auto, paper or extended, got {action_set!r}")
        if deployment not in ("direct", "canary"):
            raise ValueError(f"deployment must be 'direct' or 'canary', got {deployment!r}")
        if not reward_scale > 0:
            raise ValueError(f"reward_scale must be > 0, got {reward_scale}")
        if canary_judge not in CANARY_JUDGES:
            raise ValueError(f"canary_judge must be one of {CANARY_JUDGES}, got {canary_judge!r}")
        self.scenario = resolve_scenario(scenario)
        self.observation_mode = observation_mode
        self.assess_actions = bool(assess_actions)
        self.reward_scale = float(reward_scale)
        self._deployment = deployment
        self._canary_judge = canary_judge
        self._action_set = action_set
        self.incident = self.scenario
        compiled = compile_for_env(self.scenario, action_set, deployment, canary_judge)
        self.n_actions = int(compiled.params[L.P_N_ACTIONS])
        self.sim = Simulation(compiled)
        self.action_space = spaces.Discrete(self.n_actions)
        n_obs = 3 if observation_mode == "paper" else len(OBS_FULL)
        self.observation_space = spaces.Box(
            low=np.zeros(n_obs), high=FULL_HIGH[:n_obs].copy(), dtype=np.float64
        )
        self._obs_idx = np.array(REC_OF_OBS[:n_obs])
        self._pending: list[tuple[int, dict]] = []
        self.truth: dict = {}
        self.assessments: list[dict] = []
        self._engineer_minutes = 0.0
        self._done = True

    # -- configuration ---------------------------------------------------------------
    @property
    def deployment(self) -> str:
        """Deployment mode of retrain and rollback: ``"direct"`` or ``"canary"``."""
        return self._deployment

    def set_deployment(self, mode: str) -> None:
        """Switch deployments between ``"direct"`` and ``"canary"`` (takes effect now)."""
        if mode not in ("direct", "canary"):
            raise ValueError(f"deployment must be 'direct' or 'canary', got {mode!r}")
        self._deployment = mode
        self.sim.p[L.P_DEPLOY_CANARY] = 1.0 if mode == "canary" else 0.0

    @property
    def canary_judge(self) -> str:
        """How canaries are judged: ``"delta_sla"`` or ``"mann_whitney"``."""
        return self._canary_judge

    def set_canary_judge(self, judge: str) -> None:
        """Switch the canary judge (applies to every canary judged from now on)."""
        if judge not in CANARY_JUDGES:
            raise ValueError(f"canary_judge must be one of {CANARY_JUDGES}, got {judge!r}")
        self._canary_judge = judge
        self.sim.p[L.P_CANARY_JUDGE] = float(CANARY_JUDGES.index(judge))

    def charge_engineer_time(self, minutes: float) -> None:
        """Charge engineer minutes (human handling) to the next step's cost."""
        if not np.isfinite(minutes) or minutes < 0:
            raise ValueError(f"engineer minutes must be finite and >= 0, got {minutes}")
        self._engineer_minutes += float(minutes)

    # -- Gymnasium API ---------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict | None = None):
        """Start an episode: draw its seed, then its incident (see Starting State)."""
        super().reset(seed=seed)
        ep_seed = int(self.np_random.integers(0, 2**53))  # env_episode_seed(seed) if seeded
        if is_randomised(self.scenario):
            self.incident = draw_incident(self.scenario, ep_seed)
            self.sim = Simulation(compile_for_env(self.incident, self._action_set,
                                                  self._deployment, self._canary_judge))
        rec = self.sim.reset(ep_seed)
        self._pending = []
        self.assessments = []
        self._engineer_minutes = 0.0
        self._done = False
        return self._obs(rec), self._info(rec, L.NO_OP, True, [])

    def step(self, action):
        """Advance one minute with ``action``; see the module docstring."""
        if self._done:
            raise RuntimeError(
                "step() called before reset() or after the episode ended: call reset() first"
            )
        if isinstance(action, bool | np.bool_) or not self.action_space.contains(action):
            raise ValueError(
                f"invalid action {action!r}: expected an integer in [0, {self.n_actions})"
            )
        a = int(action)
        t = self.sim.t
        if self.assess_actions and a != L.NO_OP:
            verdict = assess_action(self.sim, a)  # counterfactual: evaluation only
            verdict.update(decision_minute=t, action=L.ACTION_NAMES[a],
                           paper_cost=float(self.sim.c_paper[a]))
            self.assessments.append(verdict)
        if a != L.NO_OP:  # the controller's feedback: measured, when the window has passed
            due = t + int(self.sim.p[L.P_OUTCOME_WINDOW])
            self._pending.append((due, {
                "decision_minute": t, "action": L.ACTION_NAMES[a],
                "paper_cost": float(self.sim.c_paper[a]),
                "pre_sla": float(pre_action_sla(self.sim.hist, self.sim.p, t))}))
        eng, self._engineer_minutes = self._engineer_minutes, 0.0
        rec, applied = self.sim.step(a, eng)
        terminated = self.sim.catastrophe != L.CAT_NONE
        truncated = self.sim.t > self.sim.horizon
        self._done = terminated or truncated
        now = self.sim.t - 1
        matured = [self._observe(v, min(due - 1, now)) for due, v in self._pending
                   if due <= now or self._done]
        self._pending = [(due, v) for due, v in self._pending if not (due <= now or self._done)]
        reward = -float(rec[L.R_COST_RATE]) / self.reward_scale
        info = self._info(rec, a, bool(applied), matured)
        if terminated:  # charge the rest of the horizon (outage, restore, no_op)
            self.sim.play_out()
            reward -= float(self.sim.hist[now + 1:, L.R_COST_RATE].sum()) / self.reward_scale
        return self._obs(rec), reward, terminated, truncated, info

    # -- helpers ---------------------------------------------------------------------
    def _observe(self, fb: dict, last: int) -> dict:
        """Complete a feedback dict with what monitoring measured up to minute ``last``."""
        success, degraded, minutes = observed_outcome(
            self.sim.hist, self.sim.p, fb["decision_minute"], last, fb["pre_sla"])
        return {**fb, "success": bool(success), "sla_degraded": bool(degraded),
                "minutes": int(minutes)}

    def _obs(self, rec: np.ndarray) -> np.ndarray:
        obs = rec[self._obs_idx].astype(np.float64)
        return np.clip(obs, self.observation_space.low, self.observation_space.high)

    def _info(self, rec: np.ndarray, a: int, applied: bool, feedback: list[dict]) -> dict:
        sim = self.sim
        pub = new_info()
        fill_info(sim.p, sim.s, sim.models, rec, float(sim.c_paper[a]), int(applied), pub)
        info = {key: pub[0][key].item() for key in INFO_KEYS}  # the INFO record, as Python
        info["catastrophe_kind"] = L.CATASTROPHE_NAMES[int(sim.s[L.S_CATASTROPHIC])]
        info["feedback"] = feedback
        self.truth = {  # evaluation only: never in info
            "accuracy": float(rec[L.R_ACC_SERVED]),
            "availability": float(rec[L.R_AVAILABILITY]),
            "p99_ms": float(rec[L.R_P99_MS]),
            "sla_score": float(rec[L.R_SLA_SCORE]),
            "bad_model_share": float(rec[L.R_BAD_MODEL_SHARE]),
            "corrupt_share": float(rec[L.R_CORRUPT_SHARE]),
            "optimal_action": self.scenario.annotations.optimal_action,
        }
        return info
