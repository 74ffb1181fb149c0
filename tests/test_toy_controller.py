"""The toy controller of ``docs/adding_a_controller.md``, added exactly as that page says.

The page's Python block is the module (``controllers/toy.py``) and its YAML block the config
(``configs/controller/toy.yaml``); this test writes those two files and nothing else, into
a temporary folder that stands in for ``controllers/`` (appended to the package's path) and
one on Hydra's search path, so the repository is untouched. Nothing else is registered by
hand: the schema is found by importing the package's modules, the fast path composes the
toy's kernels. Then:

- Hydra composes the config, typed by the toy's schema, and refuses a wrong type or an
  unknown key, naming it;
- a whole run is bit-identical on the Gymnasium path and the fast path (rows, learned
  arrays, rewards, generator state), and ``experiments.run`` plays it (on the fast path);
- the conformance checks of ``tests/test_conformance.py`` hold for it.

The module's name carries a hash of the page's code, so an edit of the page can never meet
Numba's cache of an older toy (the cache is keyed by module and type names).
"""

from __future__ import annotations

import hashlib
import re

import numpy as np
import pandas as pd
import pytest
from hydra import compose, initialize_config_dir
from hydra.errors import HydraException
from hydra.utils import instantiate
from omegaconf.errors import OmegaConfBaseException

import controllers
from experiments.config import CONFIG_DIR, REPO_ROOT, register
from experiments.episode import run_controller
from experiments.fast import has_fast_path, run_controller_fast
from simulator.scenarios import load_scenarios

DOC = REPO_ROOT / "docs" / "adding_a_controller.md"


def _block(text: str, lang: str) -> str:
    """Return the first fenced code block of ``lang`` in ``text``."""
    m = re.search(rf"```{lang}\n(.*?)```", text, re.S)
    assert m, f"no {lang} block in {DOC.name}"
    return m.group(1)


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    """Write the page's module and YAML; return (config name, config folder)."""
    text = DOC.read_text(encoding="utf-8")
    source, yaml = _block(text, "python"), _block(text, "yaml")
    tag = hashlib.sha256((source + yaml).encode()).hexdigest()[:10]
    name = f"toy_{tag}"
    assert '"controllers.toy.ToyController"' in source and 'name = "toy"' in source
    assert "toy_schema" in yaml
    source = source.replace('"controllers.toy.ToyController"',
                            f'"controllers.{name}.ToyController"')
    source = source.replace('name = "toy"', f'name = "{name}"')
    root = tmp_path_factory.mktemp("toy")
    package = root / "controllers"
    (package).mkdir()
    (package / f"{name}.py").write_text(source)  # as controllers/toy.py
    configs = root / "configs"
    (configs / "controller").mkdir(parents=True)
    (configs / "controller" / f"{name}.yaml").write_text(yaml.replace("toy_schema",
                                                                      f"{name}_schema"))
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(controllers, "__path__", [*controllers.__path__, str(package)])
        register()  # what every entry point does: schemas of the package's modules
        yield name, configs


def _compose(toy, *overrides):
    name, configs = toy
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        return compose("config", overrides=[f"controller={name}",
                                            f"hydra.searchpath=[file://{configs}]",
                                            *overrides])


def test_the_schema_types_the_config(toy):
    """Hydra composes the toy with its schema's defaults and refuses bad values by key."""
    cfg = _compose(toy)
    assert cfg.controller.epsilon == 0.1 and cfg.controller.lam == 10.0
    assert cfg.controller.cooldown == 30 and cfg.controller.alpha == 0.05
    with pytest.raises((HydraException, OmegaConfBaseException), match="epsilon"):
        _compose(toy, "controller.epsilon=abc")
    with pytest.raises((HydraException, OmegaConfBaseException), match="epsilonn"):
        _compose(toy, "controller.epsilonn=0.2")
    with pytest.raises(Exception, match="epsilon must be in"):
        instantiate(_compose(toy, "controller.epsilon=2.0").controller, seed=0)


def test_the_toy_runs_identically_on_both_paths(toy):
    """A whole run: same rows, learned arrays, rewards and generator state on both paths."""
    cfg = _compose(toy).controller
    scenarios = [sc for sc in load_scenarios("paper43") if sc.horizon <= 480][:12]
    fast_ctrl, gym_ctrl = instantiate(cfg, seed=4), instantiate(cfg, seed=4)
    assert has_fast_path(fast_ctrl)
    fast = pd.DataFrame(run_controller_fast(fast_ctrl, scenarios, 4))
    gym = pd.DataFrame(run_controller(gym_ctrl, scenarios, 4))
    pd.testing.assert_frame_equal(fast, gym, check_exact=True)
    assert gym["n_actions_taken"].sum() > 10
    for field in ("q", "n"):
        np.testing.assert_array_equal(getattr(fast_ctrl.state, field),
                                      getattr(gym_ctrl.state, field), strict=True)
    assert gym_ctrl.state.n.sum() > 5  # it learned
    assert fast_ctrl.rewards == gym_ctrl.rewards and len(gym_ctrl.rewards) > 5
    assert fast_ctrl.rng.random() == gym_ctrl.rng.random()


def test_experiments_run_plays_the_toy(toy):
    """``python -m experiments.run controller=<toy>`` (its run function) on one scenario."""
    from experiments.run import run

    sc = load_scenarios("paper43")[0]
    rows = run(_compose(toy, f"select={sc.id}", "seed=2"))
    assert [r["scenario"] for r in rows] == [sc.id]
    assert rows[0]["controller"] == toy[0] and np.isfinite(rows[0]["cost_usd"])


def test_the_conformance_checks_hold(toy):
    """Reset and hidden-state checks of the conformance suite, on the toy."""
    from test_conformance import _check_hidden_state, _check_reset  # tests/ is on sys.path

    def make():
        return instantiate(_compose(toy).controller, seed=0)

    _check_reset(make)
    _check_hidden_state(make)
