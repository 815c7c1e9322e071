"""The measured region of a workload program, and the functions a profiler is told to watch (standard library only).

A program that spends most of its wall time starting up (a pytest session
collecting and rewriting modules) and little in the workload itself wraps
each measured call in ``region()``. When ``script_profile_worker`` runs such
a program it installs its profiler's start/stop here instead of profiling
the whole run; otherwise ``region()`` does nothing.

``resolve_function`` turns a ``module:qualname`` name (``--lines``, a
target's hot functions) into the function object; both profile workers use
it, one of them under the target's own interpreter, hence the standard
library only.
"""

from __future__ import annotations

import importlib
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


def resolve_function(spec: str):
    """``module:Qual.name`` -> the object it names, a method unwrapped to its function.

    A bound method or a classmethod read from its class gives its
    ``__func__`` (the code line_profiler instruments); anything else, a
    numba dispatcher included, is returned as is. ``ValueError`` without a
    colon; the import's or the attribute lookup's own error otherwise.
    """
    if ":" not in spec:
        raise ValueError(f"name functions as 'module:qualname', got {spec!r}")
    module_name, qualname = spec.split(":", 1)
    obj = importlib.import_module(module_name)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return getattr(obj, "__func__", obj)


def code_keys(func) -> list[tuple[str, int, str]]:
    """The keys line_profiler may file ``func``'s timings under: (file, first line, name).

    line_profiler 4 names a function by ``co_name`` (``method``); line_profiler
    5 by ``co_qualname`` (``Class.method``), so a method matched on
    ``co_name`` alone was "never executed". Both are accepted.
    """
    code = func.__code__
    names = {code.co_name, getattr(code, "co_qualname", code.co_name)}
    return [(code.co_filename, code.co_firstlineno, name) for name in sorted(names)]
