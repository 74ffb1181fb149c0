"""``python -m experiments.bench``: throughput, cold start, wall time and memory (issue 5).

Prints, in one run on one machine:

- Gymnasium-path env steps/s with ``hybrid`` (the full protocol: controller, env, action
  assessment forks);
- raw kernel steps/s (``Simulation.step`` with no_op, called from Python);
- the batched Numba fast path (:mod:`experiments.fast`) against the Gymnasium path on the
  *same* episodes (every paper43 scenario, seed = its position, an untrained controller;
  scenario compilation, action assessment and result rows included on both sides), for
  ``rules``, ``noop`` and ``hybrid``: env steps/s of each and ``ratio_fast_vs_gym`` (rules;
  ``ratio_fast_vs_gym_noop``, ``ratio_fast_vs_gym_hybrid``), the minimum time of
  ``--repeats`` runs (one controller at a time: no samples shared between controllers);
- one seed of the ``reproduce`` default (all its controllers, every paper43 scenario) on
  each path, as each path plays it: seconds and ``ratio_sweep_fast_vs_gym`` (the fast
  path shares each episode's samples between the seed's controllers);
- Gymnasium's ``CartPole-v1`` steps/s with random actions, as a yardstick;
- cold start: seconds for a fresh process with an empty Numba cache to finish one episode;
- wall time and peak memory (max RSS) of ``reproduce`` at the quick default (and at
  ``--seeds N`` if asked), where each seed's controllers share their episodes' samples,
  and of ``reproduce regret=true`` at ``--regret-seeds N`` if asked.

Writes ``results/bench.json`` and ``results/bench.md``. Benchmarks are scripts, never
timed tests.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time

import gymnasium as gym
import numpy as np

from experiments.config import REPO_ROOT


def gym_path_steps_per_s(controller_name: str = "hybrid", seconds: float = 5.0) -> float:
    """Env steps per second of the Gymnasium path with a built-in controller."""
    from hydra.utils import instantiate

    from experiments.config import controller_config
    from experiments.episode import run_episode
    from simulator.scenarios import load_scenarios

    scenarios = load_scenarios("paper43")
    ctrl = instantiate(controller_config(controller_name), seed=0)
    run_episode(ctrl, scenarios[0], 0)  # warm up (compile)
    steps, t0, i = 0, time.perf_counter(), 0
    while time.perf_counter() - t0 < seconds:
        row = run_episode(ctrl, scenarios[i % len(scenarios)], i)
        steps += int(row["minutes"])
        i += 1
    return steps / (time.perf_counter() - t0)


def kernel_steps_per_s(seconds: float = 3.0) -> float:
    """Raw kernel steps per second (no controller, no env wrapper, no assessment)."""
    from simulator.core import Simulation
    from simulator.scenarios import compile_scenario, load_scenarios

    sims = [Simulation(compile_scenario(sc)) for sc in load_scenarios("paper43")]
    sims[0].reset(0)
    sims[0].step(0)
    steps, t0, i = 0, time.perf_counter(), 0
    while time.perf_counter() - t0 < seconds:
        sim = sims[i % len(sims)]
        sim.reset(i)
        for _ in range(sim.horizon):
            sim.step(0)
        steps += sim.horizon
        i += 1
    return steps / (time.perf_counter() - t0)


def fast_vs_gym(controller_name: str, repeats: int = 3) -> dict:
    """Env steps/s of the Gymnasium path and of the fast path on the same episodes.

    The episodes: every paper43 scenario once, with its position in the set as the episode
    seed; the controller from its Hydra config. Both sides start from Scenario objects and
    end with result rows. Each side is timed ``repeats`` times; the minimum counts.

    Returns
    -------
    dict
        ``gym`` and ``fast`` (steps/s), ``steps`` (per pass).
    """
    from hydra.utils import instantiate

    from experiments.config import controller_config
    from experiments.episode import run_episode
    from experiments.fast import compile_for_fast, run_episodes_fast
    from simulator.scenarios import load_scenarios

    scenarios = load_scenarios("paper43")
    seeds = list(range(len(scenarios)))

    def fresh():  # each timed pass starts from an untrained controller: the same episodes
        return instantiate(controller_config(controller_name), seed=0)

    def gym() -> int:
        ctrl = fresh()
        return sum(int(run_episode(ctrl, sc, s)["minutes"]) for s, sc in enumerate(scenarios))

    def fast(n: int = len(scenarios)) -> int:
        ctrl = fresh()
        compiled = [compile_for_fast(sc, "auto", ctrl.deployment, ctrl.canary_judge, seed=s)
                    for sc, s in zip(scenarios[:n], seeds[:n], strict=True)]
        rows = run_episodes_fast(ctrl, compiled, seeds[:n])
        return sum(int(r["minutes"]) for r in rows)

    run_episode(fresh(), scenarios[0], 0)  # warm up (compile)
    fast(1)
    out: dict = {}
    for name, fn in (("gym", gym), ("fast", fast)):
        best = math.inf
        for _ in range(max(1, repeats)):
            t0 = time.perf_counter()
            steps = fn()
            best = min(best, time.perf_counter() - t0)
        if out.get("steps", steps) != steps:  # the two paths must play the same episodes
            raise RuntimeError(f"fast path played {steps} steps, Gymnasium path {out['steps']}")
        out[name] = steps / best
        out["steps"] = steps
    return out


def sweep_fast_vs_gym(run_seed: int = 0) -> dict:
    """Seconds of one seed of the ``reproduce`` default on each path, in one process.

    The workload ``reproduce`` runs per seed: its default controllers over every paper43
    scenario (seeded order and episode seeds), played on the Gymnasium path one controller
    after the other (``run_controller``), and on the fast path as ``reproduce`` plays them
    (``run_controllers_fast``: the seed's controllers share each episode's samples). The
    rows are checked equal.

    Returns
    -------
    dict
        ``gym_s``, ``fast_s`` and ``steps`` (env steps of all the runs).
    """
    from hydra.utils import instantiate

    from experiments.config import ReproduceConfig, controller_config
    from experiments.episode import run_controller
    from experiments.fast import run_controllers_fast
    from simulator.scenarios import load_scenarios

    names = ReproduceConfig().controllers
    scenarios = load_scenarios("paper43")

    def fresh():
        return [instantiate(controller_config(n), seed=run_seed) for n in names]

    run_controllers_fast(fresh(), scenarios[:1], run_seed)  # warm up (compile)
    t0 = time.perf_counter()
    fast = run_controllers_fast(fresh(), scenarios, run_seed)
    fast_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    gym_rows = [run_controller(c, scenarios, run_seed) for c in fresh()]
    gym_s = time.perf_counter() - t0
    if gym_rows != fast:
        raise RuntimeError("the fast path's rows differ from the Gymnasium path's")
    steps = sum(int(r["minutes"]) for rows in fast for r in rows)
    return {"gym_s": gym_s, "fast_s": fast_s, "steps": steps}


def cartpole_steps_per_s(seconds: float = 3.0) -> float:
    """Gymnasium CartPole-v1 steps per second with random actions."""
    env = gym.make("CartPole-v1")
    env.reset(seed=0)
    rng = np.random.default_rng(0)
    steps, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        for _ in range(1000):
            _, _, term, trunc, _ = env.step(int(rng.integers(2)))
            steps += 1
            if term or trunc:
                env.reset()
    return steps / (time.perf_counter() - t0)


#: Runs a command and prints the peak RSS (KiB) of its process tree: a fresh parent per
#: measurement, so earlier runs never count (RUSAGE_CHILDREN is a running maximum).
_PEAK_RSS = ("import resource, subprocess, sys;"
             "subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL,"
             " stderr=subprocess.DEVNULL);"
             "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")


def _timed_subprocess(args: list[str], env: dict | None = None) -> tuple[float, float]:
    """Run a Python subprocess; return (wall seconds, peak RSS in MiB of its processes).

    The peak is the largest resident set of any one process of that run (the main process
    or a joblib worker), measured through a fresh parent process.
    """
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", _PEAK_RSS, sys.executable, *args],
                         cwd=REPO_ROOT, env=env, check=True, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    return wall, float(out.stdout.split()[-1]) / 1024.0


def cold_start_seconds() -> float:
    """Seconds for a fresh process with an empty Numba cache to run one episode."""
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache}
        code = ("from experiments.episode import run_episode;"
                "from controllers.rules import RulesController;"
                "from simulator.scenarios import load_scenarios;"
                "run_episode(RulesController(), load_scenarios('paper43')[0], 0)")
        wall, _ = _timed_subprocess(["-c", code], env)
    return wall


def reproduce_cost(n_seeds: int | None, regret: bool = False) -> dict:
    """Wall seconds and peak RSS (MiB, largest single process) of ``reproduce``.

    ``regret``: with ``regret=true`` (the oracle runs too, and every decision of every
    controller is forked against it).
    """
    with tempfile.TemporaryDirectory() as tmp:
        # the main comparison and its tables (the whole evaluation's studies and figures
        # are timed by the reproduction itself: README, "Reproducing the paper")
        args = ["-m", "experiments.reproduce", f"raw_dir={tmp}/raw", f"tables_dir={tmp}/tables",
                f"hydra.run.dir={tmp}/hydra", "tables=[main,detectors]", "figures_dir=null",
                f"regret={'true' if regret else 'false'}"]
        if n_seeds is not None:
            args.append(f"n_seeds={n_seeds}")
        wall, peak = _timed_subprocess(args)
    return {"wall_s": wall, "peak_rss_mib": peak}


def main(argv: list[str] | None = None) -> dict:
    """Run the benchmarks, print a Markdown table, write results/bench.json and .md."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=None,
                    help="also time reproduce at this many seeds (e.g. 100)")
    ap.add_argument("--regret-seeds", type=int, default=None,
                    help="also time reproduce regret=true at this many seeds (e.g. 100)")
    ap.add_argument("--seconds", type=float, default=5.0, help="seconds per throughput test")
    ap.add_argument("--repeats", type=int, default=3,
                    help="timings per path of the fast-vs-Gymnasium comparison (min counts)")
    args = ap.parse_args(argv)
    for name in ("seconds", "repeats", "seeds", "regret_seeds"):
        value = getattr(args, name)
        if value is not None and not 0 < value < math.inf:
            ap.error(f"--{name.replace('_', '-')} must be finite and > 0, got {value}")
    rules = fast_vs_gym("rules", args.repeats)
    noop = fast_vs_gym("noop", args.repeats)
    hybrid = fast_vs_gym("hybrid", args.repeats)
    sweep = sweep_fast_vs_gym()
    res: dict = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python "
                   f"{platform.python_version()}",
        "cartpole_steps_per_s": cartpole_steps_per_s(args.seconds),
        "gym_path_hybrid_steps_per_s": gym_path_steps_per_s("hybrid", args.seconds),
        "gym_path_rules_steps_per_s": gym_path_steps_per_s("rules", args.seconds),
        "kernel_steps_per_s": kernel_steps_per_s(args.seconds),
        "fast_path_rules_steps_per_s": rules["fast"],
        "fast_path_noop_steps_per_s": noop["fast"],
        "fast_path_hybrid_steps_per_s": hybrid["fast"],
        "gym_path_rules_same_episodes_steps_per_s": rules["gym"],
        "gym_path_noop_same_episodes_steps_per_s": noop["gym"],
        "gym_path_hybrid_same_episodes_steps_per_s": hybrid["gym"],
        "ratio_fast_vs_gym": rules["fast"] / rules["gym"],
        "ratio_fast_vs_gym_noop": noop["fast"] / noop["gym"],
        "ratio_fast_vs_gym_hybrid": hybrid["fast"] / hybrid["gym"],
        "sweep_seed_gym_s": sweep["gym_s"],
        "sweep_seed_fast_s": sweep["fast_s"],
        "ratio_sweep_fast_vs_gym": sweep["gym_s"] / sweep["fast_s"],
        "cold_start_s": cold_start_seconds(),
        "reproduce_quick": reproduce_cost(None),
    }
    res["gym_vs_cartpole"] = res["gym_path_hybrid_steps_per_s"] / res["cartpole_steps_per_s"]
    res["kernel_vs_gym_hybrid"] = res["kernel_steps_per_s"] / res["gym_path_hybrid_steps_per_s"]
    if args.seeds:
        res[f"reproduce_{args.seeds}_seeds"] = reproduce_cost(args.seeds)
    if args.regret_seeds:
        res[f"reproduce_regret_{args.regret_seeds}_seeds"] = reproduce_cost(args.regret_seeds,
                                                                            regret=True)
    lines = ["| measure | value |", "|---|---|"]
    for k, v in res.items():
        if isinstance(v, dict):
            v = ", ".join(f"{a}={b:.1f}" for a, b in v.items())
        elif isinstance(v, float):
            v = f"{v:,.2f}"
        elif v is None:
            v = "not implemented"
        lines.append(f"| {k} | {v} |")
    md = "\n".join(lines) + "\n"
    print(md)
    out = REPO_ROOT / "results"
    out.mkdir(exist_ok=True)
    (out / "bench.json").write_text(json.dumps(res, indent=2) + "\n")
    (out / "bench.md").write_text(md)
    print(f"wrote {out / 'bench.json'} and bench.md (replacing the previous figures)")
    return res


if __name__ == "__main__":
    main()
