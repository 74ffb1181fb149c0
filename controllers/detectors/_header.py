"""Numba kernels of the streaming drift detectors: codes, the common state header.

Every detector keeps its whole state, parameters included, in one 1-D ``float64``
NumPy array that its ``*_update(state, x)`` kernel updates in place. Kernels take only
arrays and scalars, are compiled with ``numba.njit(cache=True)`` (no ``fastmath``, so
IEEE-754 results are reproducible and equal to the ``.py_func`` results) and never
allocate Python objects, so they can be called from other Numba code, e.g. a batched
simulator loop.

State layout
------------
Slots ``0 .. HEADER - 1`` are common to all detectors:

====================  ===========================================================
slot                  meaning
====================  ===========================================================
``H_PENDING_RESET``   1.0 if the last finite update raised a drift alarm; the next
                      finite update resets the statistics first (river semantics)
``H_N_DETECTIONS``    drift alarms raised since the state was created
``H_N_NONFINITE``     non-finite inputs (NaN, +-inf) rejected since creation
``H_N_SEEN``          finite inputs absorbed since the last reset
``H_STAT``            last value of the detector's test statistic (see each kernel)
====================  ===========================================================

The detector-specific slots follow; their indices are the module constants below.
Use the ``make_*_state`` functions to build a valid state.

Return codes of every ``*_update`` kernel
-----------------------------------------
``ALARM_NONE`` (0)
    Nothing to report.
``ALARM_DRIFT`` (1)
    The update raised a drift alarm.
``ALARM_DATA_QUALITY`` (2)
    ``x`` was NaN or infinite. It did not enter the statistics (the state is unchanged
    except for the ``H_N_NONFINITE`` counter), and the detector keeps working.
"""

from __future__ import annotations

import numba

# --------------------------------------------------------------------------- codes
ALARM_NONE = 0
ALARM_DRIFT = 1
ALARM_DATA_QUALITY = 2

MODE_UP = 0
MODE_DOWN = 1
MODE_BOTH = 2

# --------------------------------------------------------------------------- header
H_PENDING_RESET = 0
H_N_DETECTIONS = 1
H_N_NONFINITE = 2
H_N_SEEN = 3
H_STAT = 4
HEADER = 5


@numba.njit(cache=True)
def _finish(state, alarm):
    """Record the verdict of a finite update and return its code."""
    if alarm:
        state[H_PENDING_RESET] = 1.0
        state[H_N_DETECTIONS] += 1.0
        return ALARM_DRIFT
    return ALARM_NONE


@numba.njit(cache=True)
def _reset_header(state):
    """Clear the per-run header slots (counters of alarms and non-finite inputs stay)."""
    state[H_PENDING_RESET] = 0.0
    state[H_N_SEEN] = 0.0
    state[H_STAT] = 0.0
