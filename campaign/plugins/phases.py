"""Phase timing for Python targets: ``with phase("name"): ...``.

A target's workload wraps its logical phases in ``phase`` (a context manager
that is also a decorator); the worker process reads the accumulated seconds
with ``collect()`` after each run. Pure standard library on purpose: target
code imports it, and it must cost nothing to import.
"""

from __future__ import annotations

import threading
import time
from contextlib import ContextDecorator

_local = threading.local()


def _totals() -> dict[str, float]:
    totals = getattr(_local, "totals", None)
    if totals is None:
        totals = _local.totals = {}
    return totals


class phase(ContextDecorator):  # lower case: reads as a keyword at call sites
    """Accumulate the wall time spent inside the block under ``name``.

    Nested phases are allowed; each accumulates its own time, so a reader of
    the totals must not add a parent and its children together.
    """

    def __init__(self, name: str):
        self.name = name
        self._t0 = 0.0

    def __enter__(self) -> "phase":
        self._t0 = time.perf_counter()
        return self

    def __exit__(self, *exc) -> bool:
        totals = _totals()
        totals[self.name] = totals.get(self.name, 0.0) + time.perf_counter() - self._t0
        return False


def reset() -> None:
    """Forget all accumulated phase times (call before each measured run)."""
    _totals().clear()


def collect() -> dict[str, float]:
    """Return a copy of the accumulated seconds per phase name."""
    return dict(_totals())
