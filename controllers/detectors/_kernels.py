"""All kernels of the streaming drift detectors, one namespace (see :mod:`._header`).

Each detector's kernels live in a module of their own (``_ks``, ``_page_hinkley``,
``_cusum``, ``_ewma``, ``_adwin``; the warm-up shared by CUSUM and EWMA in ``_warmup``);
the state layout, the return codes and the header are in ``_header``.
"""

from controllers.detectors._adwin import *  # noqa: F403

# The private kernels too, so that this namespace holds every compiled kernel (the tests
# check each against its interpreted ``py_func``).
from controllers.detectors._adwin import (  # noqa: F401
    _adwin_delete_oldest,
    _adwin_drop_front,
    _adwin_insert,
    _adwin_views,
)
from controllers.detectors._cusum import *  # noqa: F403
from controllers.detectors._ewma import *  # noqa: F403
from controllers.detectors._header import *  # noqa: F403
from controllers.detectors._header import _finish, _reset_header  # noqa: F401
from controllers.detectors._ks import *  # noqa: F403
from controllers.detectors._page_hinkley import *  # noqa: F403
from controllers.detectors._warmup import *  # noqa: F403
from controllers.detectors._warmup import _warmup_reset  # noqa: F401
from simulator.stats import ks_statistic  # noqa: F401  (one KS kernel for the project)
