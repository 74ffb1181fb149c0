"""No magic constants in the simulator's kernels (issue 11, item 5).

Every number a compiled kernel of the pipeline model uses is a named scenario parameter
(``simulator/scenarios/schema.py``: prices, SLOs, capacity factors during deploys,
restarts and out-of-memory kills, the fallback's latency, the leak's latency term, the
utilisation cap, the outlier and corruption penalties and values, ... each documented with
its unit and reason) or a named constant (units such as ``SECONDS_PER_MINUTE``, the paper's
SLA weights). This test lists, with ``ast``, the numeric literals inside the Numba kernels
of the modules that model the pipeline and fails on any outside a short allow-list.

Not scanned: ``simulator/rng.py``, ``simulator/stats.py`` and ``simulator/classifier.py``,
numerical libraries whose constants are the published algorithms' own (SplitMix64's
shifts, Hoermann's PTRS constants, the Mann-Whitney variance's 12), cited there.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SIMULATOR = Path(__file__).resolve().parents[1] / "simulator"
#: The modules that model the pipeline: every one with a Numba kernel but the libraries.
LIBRARIES = {"rng.py", "stats.py", "classifier.py"}
MODULES = sorted(p for p in SIMULATOR.glob("*.py")
                 if p.name not in LIBRARIES and "njit" in p.read_text(encoding="utf-8"))
#: The allow-list: zero and one (identities, booleans stored as floats, counters), two
#: (squares, halves and doubles in formulas), one half (a coin flip's threshold on a 0/1
#: flag), minus one ("none" markers). Literals used as an index (``x[3]``) are allowed too.
ALLOWED = {0, 1, 2, 0.5, -1}


def _is_kernel(fn: ast.FunctionDef) -> bool:
    for d in fn.decorator_list:
        target = d.func if isinstance(d, ast.Call) else d
        if isinstance(target, ast.Attribute) and target.attr == "njit":
            return True
    return False


def literals(path: Path) -> list[tuple[int, float]]:
    """Return (line, value) of each numeric literal in a kernel of ``path`` (not an index).

    ``-x`` counts as the literal ``-x``.
    """
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = {id(n.slice) for n in ast.walk(tree) if isinstance(n, ast.Subscript)}
    out = []
    for fn in ast.walk(tree):
        if not isinstance(fn, ast.FunctionDef) or not _is_kernel(fn):
            continue
        for node in ast.walk(fn):
            if id(node) in skip:
                continue
            sign, value = 1, node
            if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
                sign, value = -1, node.operand
            if (isinstance(value, ast.Constant) and isinstance(value.value, int | float)
                    and not isinstance(value.value, bool)):
                skip.add(id(value))
                out.append((node.lineno, sign * value.value))
    return out


def test_the_scan_covers_the_pipeline_modules():
    """The modules scanned are the step and its phases, outcomes, play-out and forks."""
    names = {p.name for p in MODULES}
    assert {"step.py", "deploy.py", "faults.py", "model.py", "sampling.py", "outcomes.py",
            "playout.py", "assess_kernel.py"} <= names


def test_literals_finds_what_it_should():
    """The scanner itself: it reports a literal in a kernel, not an index or a plain def."""
    src = ("import numba as nb\n@nb.njit(cache=True)\ndef f(x):\n    return x[3] * 0.75 + 1.0\n"
           "def g():\n    return 0.3\n")
    tmp = SIMULATOR.parent / "tests" / "_literals_probe.py"
    try:
        tmp.write_text(src, encoding="utf-8")
        assert sorted(v for _, v in literals(tmp)) == [0.75, 1.0]
    finally:
        tmp.unlink()


@pytest.mark.parametrize("path", MODULES, ids=[p.name for p in MODULES])
def test_no_magic_constants_in_kernels(path):
    """Every numeric literal of a kernel is on the allow-list (or an index)."""
    bad = [(line, v) for line, v in literals(path) if v not in ALLOWED]
    assert not bad, f"{path.name}: name these (a scenario parameter or a constant): {bad}"
