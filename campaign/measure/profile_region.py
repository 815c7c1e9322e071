"""The measured region of a workload program, so a profiler can skip its start-up (standard library only).

A program that spends most of its wall time starting up (a pytest session
collecting and rewriting modules) and little in the workload itself wraps
each measured call in ``region()``. When ``script_profile_worker`` runs such
a program it installs its profiler's start/stop here instead of profiling
the whole run; otherwise ``region()`` does nothing.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Callable, Iterator

_hooks: tuple[Callable[[], object], Callable[[], object]] | None = None


def install(start: Callable[[], object], stop: Callable[[], object]) -> None:
    global _hooks
    _hooks = (start, stop)


@contextmanager
def region() -> Iterator[None]:
    if _hooks is None:
        yield
        return
    _hooks[0]()
    try:
        yield
    finally:
        _hooks[1]()
