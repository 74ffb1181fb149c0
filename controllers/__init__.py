"""controllers package."""

import simulator  # noqa: F401  (keys the Numba cache before any kernel is compiled)
