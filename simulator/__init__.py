"""Simulator of a production ML pipeline under failure scenarios (DESIGN 3).

Importing the package registers the Gymnasium ids: ``SelfHeal-v0`` (generic; pass
``scenario=<id or path>``) and ``SelfHeal-<scenario id>-v0`` for every scenario file of the
shipped library. Registration reads file names only; a scenario is parsed and validated
when its environment is made.
"""

from gymnasium.envs.registration import register, registry

from simulator import numba_cache  # noqa: F401  (first: keys the Numba cache on the sources)
from simulator.scenarios.loader import SCENARIO_ROOT

ENTRY_POINT = "simulator.env:SelfHealEnv"


def _register_all() -> None:
    if "SelfHeal-v0" not in registry:
        register(id="SelfHeal-v0", entry_point=ENTRY_POINT)
    for path in sorted(SCENARIO_ROOT.glob("*/*.yaml")):
        env_id = f"SelfHeal-{path.stem}-v0"
        if env_id not in registry:
            register(id=env_id, entry_point=ENTRY_POINT, kwargs={"scenario": path.stem})


_register_all()
