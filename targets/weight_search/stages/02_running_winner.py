"""Stage 02 -- O(1) running winner instead of a list of rows and a sort.

Profile after stage 01 (rand-12-1, 32 full cycles, 131k lines): evaluate ~67%,
select ~32% (sorted() over 4095 tuples per cycle plus the key lambda), update <1%.
Change: keep the best (delta, result, line) while evaluating (strictly smaller
delta, or equal delta and larger result; earlier line kept on a full tie) and one
flag "some delta_cond >= 0"; no rows list, no sort. Selected terms b[i]*wpn are
precomputed once per cycle.
"""

from __future__ import annotations

import itertools
import math
from contextlib import contextmanager
from dataclasses import dataclass, field

try:  # phase timing when running under the campaign framework
    from campaign.plugins.phases import phase
except Exception:  # standalone drop-in: no-op phases

    @contextmanager
    def phase(name):
        yield


MODE = "exhaustive"
MAX_N = 22  # still Python per line: ~N*50 ns per line


@dataclass
class SearchResult:
    W: list
    error: float
    converged: bool
    cycles: int
    combinations: int
    history: list = field(default_factory=list)
    mode: str = MODE


def validate(coefficients, target, tolerance, max_iter, initial_wpn, wpn_bounds, max_n):
    try:
        c = [float(x) for x in coefficients]
    except TypeError:
        raise ValueError("coefficients must be a sequence of numbers") from None
    if len(c) == 0:
        raise ValueError("coefficients must not be empty")
    if not all(math.isfinite(x) for x in c):
        raise ValueError("coefficients must be finite (found nan or inf)")
    if all(x == 0.0 for x in c):
        raise ValueError("coefficients must not be all zero")
    target = float(target)
    if not math.isfinite(target):
        raise ValueError("target must be finite")
    tolerance = float(tolerance)
    if math.isnan(tolerance) or tolerance < 0:
        raise ValueError("tolerance must be >= 0")
    if int(max_iter) != max_iter or max_iter < 1:
        raise ValueError("max_iter must be an integer >= 1")
    initial_wpn = float(initial_wpn)
    if not math.isfinite(initial_wpn):
        raise ValueError("initial_wpn must be finite")
    if initial_wpn == 0:
        raise ValueError("initial_wpn must not be 0")
    lo, hi = (float(v) for v in wpn_bounds)
    if math.isnan(lo) or math.isnan(hi):
        raise ValueError("wpn_bounds must not contain nan")
    if lo > hi:
        raise ValueError(f"wpn_bounds are inverted: lower {lo} > upper {hi}")
    if len(c) > max_n:
        raise ValueError(
            f"coefficients: N={len(c)} exceeds this mode's documented limit of {max_n} parameters"
        )
    return c, target, tolerance, int(max_iter), initial_wpn, lo, hi


def final_error(c, W, target):
    total = 0.0
    for ci, wi in zip(c, W):
        total += ci * wi
    return abs(total - target)


def search(coefficients, target, tolerance=0.0, max_iter=32, initial_wpn=1.0,
           wpn_bounds=(-math.inf, math.inf), early_stopping=True):
    c, target, tol, max_iter, wpn, lo, hi = validate(
        coefficients, target, tolerance, max_iter, initial_wpn, wpn_bounds, MAX_N)
    n = len(c)
    W = [0.0] * n
    history = []
    combinations = 0
    converged = False
    cycles = 0
    idx = range(n)
    for _ in range(max_iter):
        cycles += 1
        b = [w if w != 0 else 1.0 for w in W]
        with phase("evaluate"):
            terms = [(c[i] * W[i], c[i] * (b[i] * wpn)) for i in idx]  # (unselected, selected)
            best_delta = math.inf
            best_result = -math.inf
            best_line = 0
            some_nonneg = False
            early_line = None
            line = 0
            for sel in itertools.product((0, 1), repeat=n):
                if line == 0:
                    line = 1
                    continue
                result = 0.0
                for i in idx:
                    result += terms[i][sel[i]]
                delta = abs(result - target)
                if result - target >= 0:
                    some_nonneg = True
                if delta < best_delta or (delta == best_delta and result > best_result):
                    best_delta, best_result, best_line = delta, result, line
                if early_stopping and delta <= tol:
                    early_line = line
                    best_delta, best_result, best_line = delta, result, line
                    line += 1
                    break
                line += 1
            combinations += line - 1
        with phase("select"):
            winner_line, winner_delta = best_line, best_delta
        with phase("update"):
            for i in idx:
                if (winner_line >> (n - 1 - i)) & 1:
                    W[i] = b[i] * wpn
            history.append({"wpn": wpn, "best_delta": winner_delta, "early_stop_line": early_line})
            if winner_delta <= tol:
                converged = True
                break
            wpn = wpn / 2 if some_nonneg else wpn * 2
            wpn = min(max(wpn, lo), hi)
    return SearchResult(W=W, error=final_error(c, W, target), converged=converged,
                        cycles=cycles, combinations=combinations, history=history)
