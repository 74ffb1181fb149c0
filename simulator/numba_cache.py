"""Numba's on-disk cache, keyed by the sources of every compiled function.

Numba invalidates a cached function when *its own* source file changes, not when a
function it calls changes in another file: after an edit of ``simulator/stats.py`` the
cached step of ``simulator/step.py`` and the batched rollout of ``experiments/fast.py``
would still run the old KS statistic. This
module, imported by ``simulator/__init__.py`` before any kernel is decorated, points
Numba's cache at ``<base>/<hash of the sources compiled code can depend on>`` (all of
``simulator/``, and the files of ``controllers/`` and ``experiments/`` that import Numba),
so that any change to them starts a fresh cache. ``<base>`` is ``NUMBA_CACHE_DIR`` when
set, else ``.numba_cache`` at the repository root; old folders can be deleted at any time.

It also makes a cache index that cannot be unpickled a cache miss rather than an error.
A controller defined outside this repository (a module on an appended path, as in
``tests/test_toy_controller.py``) adds to the index of the fast path's episode loop a
signature whose types live in that module; a later process without the module would
otherwise fail in Numba's loader with ``ModuleNotFoundError`` on every call of the loop.
"""

from __future__ import annotations

import hashlib
import os
import pickle
from pathlib import Path

import numba
from numba.core import caching

_ROOT = Path(__file__).resolve().parents[1]
_PACKAGES = ("simulator", "controllers", "experiments")


def files_hash(files: list[Path]) -> str:
    """Short SHA-256 (16 hex digits) of the repository-relative paths and bytes of ``files``."""
    h = hashlib.sha256()
    for f in files:
        h.update(str(f.relative_to(_ROOT)).encode())
        h.update(f.read_bytes())
    return h.hexdigest()[:16]


def source_files() -> list[Path]:
    """Return the ``.py`` files of the compiled packages, in a fixed order."""
    return [f for folder in _PACKAGES for f in sorted((_ROOT / folder).rglob("*.py"))]


def compiled_sources() -> list[Path]:
    """Return the files compiled code can depend on.

    All of ``simulator/`` and every file of ``controllers/`` and ``experiments/`` that
    imports Numba. A user's pure-Python controller in ``controllers/`` is not among them,
    so adding or editing one does not start a new cache.
    """
    files = sorted((_ROOT / "simulator").rglob("*.py"))
    for folder in _PACKAGES[1:]:
        files += [f for f in sorted((_ROOT / folder).rglob("*.py"))
                  if "numba" in f.read_text(encoding="utf-8", errors="replace")]
    return files


def source_hash() -> str:
    """:func:`files_hash` of :func:`compiled_sources`."""
    return files_hash(compiled_sources())


def configure() -> str:
    """Set ``numba.config.CACHE_DIR`` to the keyed directory and return it."""
    base = os.environ.get("NUMBA_CACHE_DIR") or str(_ROOT / ".numba_cache")
    path = os.path.join(base, source_hash())
    numba.config.CACHE_DIR = path
    return path


_load_index = caching.IndexDataCacheFile._load_index


def _load_index_or_miss(self) -> dict:
    """Numba's ``IndexDataCacheFile._load_index``; an unreadable index is an empty one.

    An index naming a module or class that cannot be imported here (or a truncated file)
    is treated as a cache miss: the function is compiled and the index rewritten.
    """
    try:
        return _load_index(self)
    except (ImportError, AttributeError, EOFError, pickle.UnpicklingError):
        return {}


caching.IndexDataCacheFile._load_index = _load_index_or_miss

CACHE_DIR = configure()
