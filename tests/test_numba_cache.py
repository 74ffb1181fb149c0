"""The Numba cache index of ``simulator/numba_cache.py``: an unreadable index is a miss."""

from __future__ import annotations

import sys
import types

from numba.core import caching

import simulator.numba_cache  # noqa: F401  (installs the tolerant loader)


def test_an_index_naming_a_missing_module_is_an_empty_index(tmp_path, monkeypatch):
    """A signature whose type lives in a module gone since is a cache miss, not an error."""
    ghost = types.ModuleType("ghost_controller_module")

    class Params:  # a type of an out-of-tree controller, as the toy of the docs
        pass

    Params.__module__ = "ghost_controller_module"
    Params.__qualname__ = "Params"
    ghost.Params = Params
    monkeypatch.setitem(sys.modules, "ghost_controller_module", ghost)
    index = caching.IndexDataCacheFile(str(tmp_path), "play_episode-1", ("stamp", 1))
    index.save(("sig", Params()), b"compiled")
    index.save(("sig", 2), b"compiled too")
    assert len(index._load_index()) == 2
    assert index.load(("sig", 2)) == b"compiled too"

    monkeypatch.delitem(sys.modules, "ghost_controller_module")  # a later process
    assert index._load_index() == {}
    assert index.load(("sig", 2)) is None  # recompiled by Numba, then saved again
    index.save(("sig", 2), b"recompiled")
    assert index.load(("sig", 2)) == b"recompiled"


def test_a_truncated_index_is_an_empty_index(tmp_path):
    """A half-written index (a killed process) is a miss too."""
    index = caching.IndexDataCacheFile(str(tmp_path), "f-1", ("stamp", 1))
    index.save(("sig", 1), b"compiled")
    path = tmp_path / "f-1.nbi"
    path.write_bytes(path.read_bytes()[:-5])
    assert index._load_index() == {}
