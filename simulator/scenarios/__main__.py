"""``python -m simulator.scenarios``: the scenario CLI (see :mod:`simulator.scenarios.cli`)."""

from simulator.scenarios.cli import main

raise SystemExit(main())
