"""Weight combination search -- the naive baseline (the correctness oracle).

A plain-Python reading of the spec (shared/specs/weight_search.md) that one
can check by eye. Deliberately naive in the way the original was: every cycle
evaluates ALL 2**N - 1 combinations in canonical order into a list of
(result, delta, delta_cond, line) rows and then picks the winner by scanning /
sorting that list. Self-contained (standard library only): it is also the
``kernel.py`` that a campaign optimizes.
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
# Evaluating 2**N - 1 lines in Python costs ~N microseconds each: N = 22 is
# already ~1.5 minutes per cycle, so the baseline refuses anything larger.
MAX_N = 22


@dataclass
class SearchResult:
    W: list
    error: float
    converged: bool
    cycles: int
    combinations: int
    history: list = field(default_factory=list)  # per cycle: {"wpn", "best_delta", "early_stop_line"}
    mode: str = MODE


def validate(coefficients, target, tolerance, max_iter, initial_wpn, wpn_bounds, max_n):
    """Check the arguments as the spec lists them; return (c, target, lo, hi)."""
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
    """|sum(c[i]*W[i]) - target|, summed left to right like every result."""
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
    for _ in range(max_iter):
        cycles += 1
        b = [w if w != 0 else 1.0 for w in W]
        with phase("evaluate"):
            rows = []
            for line, sel in enumerate(itertools.product((False, True), repeat=n)):
                if line == 0:
                    continue  # the all-false combination is excluded
                result = 0.0
                for i in range(n):
                    result += c[i] * (b[i] * wpn if sel[i] else W[i])
                rows.append((result, abs(result - target), result - target, line))
            combinations += len(rows)
        with phase("select"):
            winner = None
            early_line = None
            if early_stopping:
                for row in rows:
                    if row[1] <= tol:
                        winner = row
                        early_line = row[3]
                        break
            if winner is None:
                # smallest delta; tie -> larger result; tie -> earliest line
                winner = sorted(rows, key=lambda r: (r[1], -r[0], r[3]))[0]
        with phase("update"):
            line = winner[3]
            for i in range(n):
                if (line >> (n - 1 - i)) & 1:
                    W[i] = b[i] * wpn
            history.append({"wpn": wpn, "best_delta": winner[1], "early_stop_line": early_line})
            if winner[1] <= tol:
                converged = True
                break
            if all(r[2] < 0 for r in rows):
                wpn *= 2
            else:
                wpn /= 2
            wpn = min(max(wpn, lo), hi)
    return SearchResult(W=W, error=final_error(c, W, target), converged=converged,
                        cycles=cycles, combinations=combinations, history=history)
