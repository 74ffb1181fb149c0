"""Conformance suite: every controller config of ``configs/controller/`` against the protocol.

The configs are discovered at collection (every ``*.yaml``, none skipped; a new config is
picked up without touching this file), plus a toy controller defined here and registered the
way ``docs/adding_a_controller.md`` says: one class and one YAML, the YAML written to a
temporary config directory. Each config is instantiated with ``seed=0`` and checked for:

- valid actions: an ``int`` in [0, n_actions) at every minute of a short run over three
  scenarios (the last with the extended action set), learning carried over;
- determinism: the same seed gives the same action sequence;
- reset: ``reset`` keeps learned arrays bit for bit, empties per-episode containers (dicts,
  deques, sets), leaves no cooldown or engineer time behind, and the next episode does not
  depend on where the previous one was interrupted;
- hidden state: the runner strips ``info["truth"]`` unless ``uses_hidden_state`` is set, and
  controllers without that flag never touch it (a sentinel that raises on any access);
- the shield (configs whose controller has an active shield): a hypothesis property test that
  no action the shield forbids is ever played, for any observation stream; the same invariant
  as ``tests/test_controllers.py::test_hybrid_never_plays_a_forbidden_action``, restated here
  so that the suite is self-contained.

Protocol conventions the checks rely on (``docs/adding_a_controller.md``): learned state lives
in arrays and changes only in ``update``; ``act`` may change per-episode state and draw from
the controller's generators; controllers that fork the simulation set ``uses_simulation`` and
receive it through ``attach`` after each ``env.reset``.
"""

from __future__ import annotations

import copy
import math
from collections import deque
from pathlib import Path

import numpy as np
import pytest
from helpers import same_array
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate
from hypothesis import given, settings
from hypothesis import strategies as st
from omegaconf import OmegaConf

from controllers.base import Controller, KernelController, Transition
from controllers.learners import paper_reward
from experiments.config import CONFIG_DIR, controller_config
from experiments.episode import run_episode
from simulator import layout as L
from simulator.core import Simulation
from simulator.env import SelfHealEnv
from simulator.scenarios import load_scenario, parse_scenario, scenario_files

REPO_CONFIGS = sorted((CONFIG_DIR / "controller").glob("*.yaml"))
TOY = "toy_greedy"
ALL_CONFIGS = [*(p.stem for p in REPO_CONFIGS), TOY]
SEED = 0


# =========================================================================== the toy controller
class ToyGreedyController(Controller):
    """Toy: at an alarm, the action with the best running-mean paper reward (epsilon-greedy).

    Written as a new controller would be: learned state in arrays (``q``, ``n``), changed only
    by ``update``; per-episode state (``_pending``) cleared by ``reset``.

    Parameters
    ----------
    lam : float
        Success bonus of the paper's reward.
    epsilon : float
        Exploration probability.
    """

    name = "toy_greedy"

    def __init__(self, seed: int = 0, cooldown: int = 30, alpha: float = 0.05,
                 lam: float = 10.0, epsilon: float = 0.1):
        super().__init__(seed=seed, cooldown=cooldown, alpha=alpha)
        self.lam = lam
        self.epsilon = epsilon
        self.q = np.zeros(L.N_EXTENDED_ACTIONS)
        self.n = np.zeros(L.N_EXTENDED_ACTIONS)
        self._pending: dict[int, int] = {}

    def reset(self, seed: int) -> None:
        """Forget the episode's pending decisions; q and n are kept."""
        super().reset(seed)
        self._pending = {}

    def decide(self, x, info) -> int:
        """Explore a random remediation with probability epsilon, else the best so far."""
        n = int(info.get("n_actions", 4))
        if self.rng.random() < self.epsilon:
            a = int(self.rng.integers(1, n))
        else:
            a = 1 + int(np.argmax(self.q[1:n]))
        self._pending[int(info.get("minute", 0)) + 1] = a
        return a

    def update(self, transition: Transition) -> None:
        """Update a running mean of -C(a) + lambda * success from the env's delayed feedback."""
        for fb in transition.info.get("feedback", ()):
            a = self._pending.pop(int(fb["decision_minute"]), None)
            if a is not None:
                self.n[a] += 1.0
                r = paper_reward(fb["paper_cost"], fb["success"], self.lam)
                self.q[a] += (r - self.q[a]) / self.n[a]


@pytest.fixture(scope="session")
def toy_config_dir(tmp_path_factory) -> Path:
    """Write a config directory with only ``controller/toy_greedy.yaml`` (class + YAML)."""
    root = tmp_path_factory.mktemp("toy_configs")
    (root / "controller").mkdir()
    cls = ToyGreedyController
    (root / "controller" / f"{TOY}.yaml").write_text(
        "# A toy controller added the documented way: one class, one YAML.\n"
        f"_target_: {cls.__module__}.{cls.__qualname__}\n"
        "cooldown: 30\nalpha: 0.05\nlam: 10.0\nepsilon: 0.1\n"
    )
    return root


def _config_path(name: str, toy_dir: Path) -> Path:
    """Path of the YAML of config ``name`` (the toy's lives in the temporary directory)."""
    if name == TOY:
        return toy_dir / "controller" / f"{TOY}.yaml"
    return CONFIG_DIR / "controller" / f"{name}.yaml"


def _make(name: str, toy_dir: Path, seed: int = SEED) -> Controller:
    """Instantiate config ``name`` the way the experiment runners do (Hydra composes it)."""
    cfg = (OmegaConf.load(_config_path(name, toy_dir)) if name == TOY
           else controller_config(name))
    ctrl = instantiate(cfg, seed=seed)
    assert isinstance(ctrl, Controller), type(ctrl)
    return ctrl


# =========================================================================== scenarios
def _short(kind: str, horizon: int = 150, onset: int = 20):
    """First paper43 scenario with a single ``kind`` fault, cut to ``horizon`` minutes."""
    for path in scenario_files("paper43"):
        sc = load_scenario(path)
        if len(sc.faults) == 1 and sc.faults[0].kind == kind:
            data = sc.model_dump(mode="json")
            shift = min(f["onset"] for f in data["faults"]) - onset
            for f in data["faults"]:
                f["onset"] -= shift
            data.update(horizon=horizon, id=f"{data['id']}_conformance")
            return parse_scenario(data)
    raise AssertionError(f"no paper43 scenario with a single {kind} fault")


#: (scenario, action set) of the conformance runs: drift, data quality, infrastructure.
RUNS = [
    (_short("covariate_shift"), "auto"),
    (_short("feature_corruption"), "auto"),
    (_short("dependency_failure"), "extended"),
]


# =========================================================================== the loop
class HiddenTruth:
    """Stands in for ``info["truth"]``: any access raises (repr stays safe for reports)."""

    def _refuse(self, *args, **kwargs):
        raise AssertionError("the controller read info['truth'] (hidden state)")

    __getattr__ = __getitem__ = __iter__ = __len__ = __contains__ = _refuse
    __bool__ = __eq__ = __ne__ = __hash__ = __float__ = __int__ = __str__ = _refuse
    __format__ = __setitem__ = __delitem__ = __copy__ = __deepcopy__ = __reduce_ex__ = _refuse

    def __repr__(self) -> str:
        return "<HiddenTruth>"


def _view(info: dict, controller: Controller, truth: str, env) -> dict:
    """Return the info a controller sees.

    ``runner``: as the runner gives it (``env.truth`` to hidden-state controllers only);
    ``sentinel``: a truth that raises on any access, to the others.
    """
    if controller.uses_hidden_state:
        return {**info, "truth": env.truth}
    return info if truth == "runner" else {**info, "truth": HiddenTruth()}


def _play(controller: Controller, scenario, seed: int, action_set: str = "auto", *,
          truth: str = "runner", learn: bool = True, minutes: int | None = None) -> list[int]:
    """Play one episode as ``experiments.episode.run_episode`` does; return the actions.

    ``learn=False`` skips ``update`` (act only); ``minutes`` stops early.
    """
    env = SelfHealEnv(scenario, observation_mode="full", action_set=action_set,
                      deployment=getattr(controller, "deployment", "direct"),
                      canary_judge=getattr(controller, "canary_judge", "delta_sla"))
    controller.reset(seed)
    obs, info = env.reset(seed=seed)
    if controller.uses_simulation:
        controller.attach(env.sim)
    actions = []
    while minutes is None or len(actions) < minutes:
        a = controller.act(obs, _view(info, controller, truth, env))
        assert isinstance(a, int | np.integer) and not isinstance(a, bool | np.bool_), (
            f"{controller.name} returned {a!r} of type {type(a).__name__}")
        assert 0 <= a < env.n_actions, f"{controller.name} returned {a} (n={env.n_actions})"
        actions.append(int(a))
        env.charge_engineer_time(controller.take_engineer_minutes())
        nobs, reward, term, trunc, ninfo = env.step(int(a))
        if learn:
            controller.update(Transition(obs, int(a), reward, nobs, term, trunc,
                                         _view(ninfo, controller, truth, env)))
        obs, info = nobs, ninfo
        if term or trunc:
            break
    return actions


_RUN_CACHE: dict[tuple[str, int], list[list[int]]] = {}


def _run(name: str, toy_dir: Path, copy_no: int) -> list[list[int]]:
    """Return the action sequences of a fresh controller over RUNS (cached per config and copy)."""
    key = (name, copy_no)
    if key not in _RUN_CACHE:
        ctrl = _make(name, toy_dir)
        _RUN_CACHE[key] = [_play(ctrl, sc, 100 + i, aset) for i, (sc, aset) in enumerate(RUNS)]
    return _RUN_CACHE[key]


# =========================================================================== object graph
def _walk(obj, path: str = "", seen: set | None = None):
    """Yield (path, value) of every array, generator, container and None in ``obj``'s state.

    Descends into instance attributes, lists, tuples, dicts and deques; skips the env's
    :class:`~simulator.core.Simulation` (not the controller's own state).
    """
    seen = set() if seen is None else seen
    if isinstance(obj, Simulation) or id(obj) in seen:
        return
    if obj is None or isinstance(obj, np.ndarray | np.random.Generator):
        yield path, obj
        return
    if isinstance(obj, str | bytes | int | float | bool | np.generic):
        return
    seen.add(id(obj))
    if isinstance(obj, dict | deque | set | frozenset):
        yield path, obj
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _walk(v, f"{path}[{k!r}]", seen)
    elif isinstance(obj, list | tuple | deque):
        for i, v in enumerate(obj):
            yield from _walk(v, f"{path}[{i}]", seen)
    elif hasattr(obj, "__dict__") and not isinstance(obj, type):
        for k, v in vars(obj).items():
            yield from _walk(v, f"{path}.{k}", seen)


def _dropped(value) -> bool:
    """Whether ``value`` is None or an empty container (state ``reset`` cleared)."""
    return value is None or (isinstance(value, dict | deque | set | frozenset) and not value)


def _arrays(ctrl) -> dict[str, np.ndarray]:
    """Return copies of every array reachable from the controller, by path."""
    return {p: v.copy() for p, v in _walk(ctrl) if isinstance(v, np.ndarray)}


def _restore_generators(ctrl, like) -> None:
    """Set every generator of ``ctrl`` to the state of the one at the same path in ``like``."""
    ref = {p: v for p, v in _walk(like) if isinstance(v, np.random.Generator)}
    for p, g in _walk(ctrl):
        if isinstance(g, np.random.Generator):
            g.bit_generator.state = ref[p].bit_generator.state


# =========================================================================== the checks
def test_suite_covers_every_config():
    """Discovery: every YAML of configs/controller is a case, plus the toy; none skipped."""
    assert len(REPO_CONFIGS) >= 14
    assert {"noop", "rules", "human", "rl", "bandit", "hybrid", "hybrid_literal", "linucb",
            "lin_ts", "conservative_ucb"} <= set(ALL_CONFIGS)
    assert ALL_CONFIGS[-1] == TOY


@pytest.mark.parametrize("name", ALL_CONFIGS)
def test_actions_are_always_valid(name, toy_config_dir):
    """Every action of a three-scenario run is an int in [0, n_actions); non-noop ones act."""
    runs = _run(name, toy_config_dir, 0)  # _play asserts validity at every minute
    for actions, (sc, _) in zip(runs, RUNS, strict=True):
        assert 1 <= len(actions) <= sc.horizon  # the horizon, or earlier on a catastrophe
    if name != "noop":
        assert any(any(a) for a in runs), f"{name} never acted during three incidents"


@pytest.mark.parametrize("name", ALL_CONFIGS)
def test_same_seed_same_actions(name, toy_config_dir):
    """Two controllers built with the same seed play the same actions over the same run."""
    assert _run(name, toy_config_dir, 0) == _run(name, toy_config_dir, 1)


def _check_kernel_reset(snapshot: KernelController, other: KernelController, make) -> None:
    """Check a kernel controller's ``reset``: learned fields kept, episode fields as new.

    ``snapshot`` is the controller before an interrupted episode, ``other`` the same after
    it and its ``reset``. The state record names its per-episode fields (``EPISODE``) and
    run statistics (``RUN_STATS``, never reset, never read by a decision); every other
    field is learned.
    """
    fresh = make()
    fresh.reset(0)
    kind = type(other.state)
    episode = set(getattr(kind, "EPISODE", ()))
    stats = set(getattr(kind, "RUN_STATS", ()))
    assert episode <= set(kind._fields) and stats <= set(kind._fields), kind
    for field in kind._fields:
        now = getattr(other.state, field)
        if field in episode:
            assert same_array(now, getattr(fresh.state, field)), (
                f"reset left per-episode state in state.{field}")
        elif field not in stats:
            assert same_array(now, getattr(snapshot.state, field)), (
                f"reset changed state.{field} (or act did: learning belongs in update)")


def _check_reset(make) -> None:
    """Reset keeps learned arrays, empties per-episode state and forgets an interruption.

    ``make()`` returns a fresh controller.
    """
    (sc0, set0), (sc1, set1), (sc2, set2) = RUNS
    ctrl = make()
    _play(ctrl, sc0, 7, set0)  # learn something first
    snapshot = copy.deepcopy(ctrl)
    expected = _play(ctrl, sc2, 9, set2)  # a clean episode after the learned one

    other = copy.deepcopy(snapshot)
    # Interrupt another episode in the middle of its incident (cooldown running, decisions
    # pending, a page outstanding): act only, no update, so nothing is learned.
    _play(other, sc1, 8, set1, learn=False, minutes=sc1.faults[0].onset + 15)
    before = _arrays(snapshot)  # learned arrays as the last update left them
    other.reset(9)
    state = dict(_walk(other))
    if isinstance(other, KernelController):  # its state record says what is per-episode
        _check_kernel_reset(snapshot, other, make)
    else:
        after = _arrays(other)
        for path, arr in before.items():
            if path in after:
                assert same_array(arr, after[path]), (
                    f"reset changed {path} (or act did: learning belongs in update)")
            else:  # only a dropped (None) or emptied per-episode container takes arrays
                assert any(_dropped(state.get(path[:i], 0))
                           for i in range(1, len(path) + 1)), path
    for path, v in state.items():
        if isinstance(v, dict | deque | set | frozenset):
            assert len(v) == 0, f"reset left per-episode state in {path}: {v!r}"
    assert not other.in_cooldown({"minute": 0}), "reset left a cooldown running"
    assert other.take_engineer_minutes() == 0.0, "reset left engineer minutes to charge"
    _restore_generators(other, snapshot)  # the interruption's random draws aside
    assert _play(other, sc2, 9, set2) == expected, "the interruption changed the next episode"


def _check_hidden_state(make, reference: list[list[int]] | None = None) -> None:
    """Run over RUNS with a truth that raises on access (unless ``uses_hidden_state``)."""
    ctrl = make()
    assert isinstance(ctrl.uses_hidden_state, bool)
    got = [_play(ctrl, sc, 100 + i, aset, truth="sentinel") for i, (sc, aset) in enumerate(RUNS)]
    if reference is not None:
        assert got == reference  # the same run as with the truth stripped


@pytest.mark.parametrize("name", ALL_CONFIGS)
def test_reset_clears_the_episode_and_keeps_learning(name, toy_config_dir):
    """``reset`` keeps learned arrays, empties per-episode state, forgets the interruption."""
    _check_reset(lambda: _make(name, toy_config_dir))


@pytest.mark.parametrize("name", ALL_CONFIGS)
def test_hidden_state_is_never_needed(name, toy_config_dir):
    """Controllers without ``uses_hidden_state`` run with a truth that raises on any access."""
    _check_hidden_state(lambda: _make(name, toy_config_dir), _run(name, toy_config_dir, 0))


class _PeekingToy(ToyGreedyController):
    """Broken on purpose: reads the hidden truth without declaring it."""

    def decide(self, x, info):
        """Peek at the optimal action."""
        info.get("truth", {}).get("optimal_action")
        return super().decide(x, info)


class _LeakyResetToy(ToyGreedyController):
    """Broken on purpose: ``reset`` forgets to clear the pending decisions."""

    def reset(self, seed):
        """Keep the pending decisions (the bug)."""
        Controller.reset(self, seed)


class _ForgetfulToy(ToyGreedyController):
    """Broken on purpose: ``reset`` throws away what was learned."""

    def reset(self, seed):
        """Zero the learned means (the bug)."""
        super().reset(seed)
        self.q[:] = 0.0


class _StickyCooldownToy(ToyGreedyController):
    """Broken on purpose: ``reset`` keeps the cooldown of the previous episode."""

    def reset(self, seed):
        """Restore the cooldown after resetting (the bug)."""
        quiet = self._quiet_until
        super().reset(seed)
        self._quiet_until = quiet


@pytest.mark.parametrize(
    ("cls", "check", "match"),
    [
        (_PeekingToy, _check_hidden_state, "read info\\['truth'\\]"),
        (_LeakyResetToy, _check_reset, "per-episode state in ._pending"),
        (_ForgetfulToy, _check_reset, "reset changed .q"),
        (_StickyCooldownToy, _check_reset, "cooldown"),
    ],
    ids=["peeks_at_truth", "leaky_reset", "forgetful_reset", "sticky_cooldown"],
)
def test_the_checks_catch_broken_controllers(cls, check, match):
    """Negative controls: each check fails on a toy broken in the way it guards against."""
    with pytest.raises(AssertionError, match=match):
        check(lambda: cls(seed=0, epsilon=0.2))


class _Spy(ToyGreedyController):
    """Records, per call, whether ``info`` carried the truth."""

    def __init__(self, hidden: bool):
        super().__init__(seed=0, epsilon=0.0)
        self.uses_hidden_state = hidden
        self.seen: list[bool] = []

    def act(self, observation, info):
        """Record, then act as the toy."""
        self.seen.append("truth" in info)
        return super().act(observation, info)

    def update(self, transition):
        """Record, then learn as the toy."""
        self.seen.append("truth" in transition.info)
        super().update(transition)


@pytest.mark.parametrize("hidden", [False, True], ids=["public", "uses_hidden_state"])
def test_runner_strips_truth_unless_hidden_state_is_declared(hidden):
    """``run_episode`` removes info['truth'] for every call unless the controller declares it."""
    spy = _Spy(hidden)
    sc, aset = RUNS[0]
    run_episode(spy, sc, 5, aset)
    assert len(spy.seen) >= 2 and set(spy.seen) == {hidden}


# =========================================================================== shield property
def _shielded() -> list[str]:
    """Configs whose controller plays inside an active shield (collected from the YAMLs)."""
    out = []
    for path in REPO_CONFIGS:
        ctrl = instantiate(controller_config(path.stem), seed=0)
        if getattr(ctrl, "use_shield", False):
            out.append(path.stem)
    return out


SHIELDED = _shielded()


def test_shield_property_covers_the_hybrid_family():
    """The hybrid and its ablations that keep the shield are checked below."""
    assert {"hybrid", "hybrid_no_canary", "hybrid_no_sla_filter",
            "hybrid_no_error_budget"} <= set(SHIELDED)
    assert "hybrid_no_shield" not in SHIELDED


@st.composite
def _streams(draw):
    """Draw a stream of (full observation, public info) with quality-alarm and busy bursts."""
    n_actions = draw(st.sampled_from([4, 8]))
    label_delay = draw(st.integers(0, 30))
    train_window = draw(st.integers(10, 60))
    ks = {"ks_n": draw(st.sampled_from([100, 300])), "ks_m": draw(st.sampled_from([200, 1000]))}
    alarm_pct = draw(st.sampled_from([0, 5, 30]))
    busy_pct = draw(st.sampled_from([0, 10, 50]))
    minute = draw(st.integers(0, 50))
    steps = []
    for _ in range(draw(st.integers(1, 60))):
        minute += draw(st.integers(1, 4))
        quality = draw(st.integers(0, 99)) < alarm_pct
        obs = np.array([
            draw(st.floats(0.0, 0.6)),
            draw(st.floats(0.0, 0.4)),
            draw(st.floats(0.031, 0.2)) if quality else draw(st.floats(0.0, 0.03)),
            draw(st.floats(20.0, 1500.0)),
            draw(st.floats(0.0, 0.3)),
            draw(st.floats(0.0, 2.0)),
            draw(st.floats(0.0, 1000.0)),
            draw(st.floats(0.0, 100.0)),
            draw(st.sampled_from([0.0, 0.01])),
            draw(st.floats(0.0, 0.2)) if quality else draw(st.floats(0.0, 0.01)),
        ])
        info = {
            "minute": minute,
            "previous_available": draw(st.integers(0, 99)) >= 20,
            "previous_schema_compatible": draw(st.integers(0, 99)) >= 20,
            "retrain_running": draw(st.integers(0, 99)) < busy_pct,
            "canary_active": draw(st.integers(0, 99)) < busy_pct,
            "slo_violation": draw(st.booleans()),
            "label_delay": label_delay,
            "train_window": train_window,
            "n_actions": n_actions,
            "feedback": [],
            **ks,
        }
        steps.append((obs, info))
    return {"n_actions": n_actions, "seed": draw(st.integers(0, 1000)), "steps": steps}


@pytest.mark.parametrize("name", SHIELDED)
@settings(max_examples=30, deadline=None)
@given(case=_streams())
def test_shielded_controllers_never_play_a_forbidden_action(name, case):
    """A decision's action is in the shield's mask; else no_op or the canary guard's fallback.

    Rollback and retrain also obey the shield's stated rules, recomputed here from the stream.
    """
    cfg = controller_config(name, {"n_actions": case["n_actions"]})
    ctrl = instantiate(cfg, seed=case["seed"])
    ctrl.reset(case["seed"])
    quality = []
    for obs, info in case["steps"]:
        ctrl.state.mask[:] = False  # last_mask: the mask of this minute's decision, if any
        a = ctrl.act(obs, info)
        if obs[9] > 0.01 or obs[2] > 0.03:
            quality.append(info["minute"])
        if ctrl.last_mask is None:  # no decision: no_op, or the hybrid's canary guard
            guard = (ctrl.config.urgent_fallback and info["canary_active"]
                     and info["slo_violation"] and not info.get("fallback_active", False))
            assert a == (L.FALLBACK if guard else L.NO_OP)
        else:
            assert ctrl.last_mask[a], (L.ACTION_NAMES[a], ctrl.last_mask)
        busy = info["retrain_running"] or info["canary_active"]
        if a == L.ROLLBACK:
            assert info["previous_available"] and info["previous_schema_compatible"]
            assert not busy
        if a == L.RETRAIN:
            assert not busy
            horizon = info["label_delay"] + info["train_window"]
            assert all(info["minute"] - m > horizon for m in quality)


# =========================================================================== the toy, end to end
def test_toy_runs_through_experiments_run(toy_config_dir):
    """The toy's YAML, outside configs/, is found by Hydra through ``hydra.searchpath``."""
    from experiments.run import run

    sc_id = RUNS[0][0].id.removesuffix("_conformance")
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        cfg = compose("config", overrides=[
            f"controller={TOY}", f"hydra.searchpath=[file://{toy_config_dir}]",
            f"select={sc_id}", "seed=1"])
    assert cfg.controller._target_.endswith("ToyGreedyController")
    rows = run(cfg)
    assert [r["scenario"] for r in rows] == [sc_id]
    assert rows[0]["controller"] == TOY and math.isfinite(rows[0]["cost_usd"])
