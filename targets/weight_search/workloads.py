"""Fixed, seeded workloads of the weight_search target (from the spec).

* ``seq-N``: c = [1, 2, ..., N] with the original plan's targets/tolerances.
* ``rand-N-s``: integer coefficients uniform in [-1000, 1000] from numpy seed
  ``s``, integer target uniform in [-5000, 5000], tolerance 0, max_iter 32.
* edge cases: single coefficient, one dominant coefficient, negative-only
  coefficients, target 0, unreachable target.

Held-out twins (``heldout``): for every problem of a case, a fresh problem of
the same shape (the same N, kind, tolerance and iteration cap) drawn from a
seed campaign picks at TEST (docs/integrity.md). Coefficients and targets stay
integers, so the exhaustive contract (W bit for bit) holds on them too.

Every problem is a dict of keyword arguments for ``search(**problem)`` plus a
``name``.
"""

from __future__ import annotations

HELDOUT_CYCLES = 4  # the cap on a held-out twin's cycles (heldout)
SEQ_TABLE = {3: (28, 2), 10: (50, 3), 15: (80, 5), 20: (100, 5), 30: (230, 10), 50: (600, 20)}


def seq(n: int) -> dict:
    c = [float(i) for i in range(1, n + 1)]
    if n in SEQ_TABLE:
        target, tol = SEQ_TABLE[n]
    elif n == 100:
        target, tol = sum(range(1, n + 1)) // 2, 10
    else:  # not in the original table: same recipe as N=100
        target, tol = sum(range(1, n + 1)) // 2, 10
    return {"name": f"seq-{n}", "coefficients": c, "target": float(target), "tolerance": float(tol)}


def rand(n: int, seed: int) -> dict:
    import numpy as np

    rng = np.random.default_rng(seed)
    c = rng.integers(-1000, 1001, size=n).astype(float).tolist()
    target = float(rng.integers(-5000, 5001))
    return {"name": f"rand-{n}-{seed}", "coefficients": c, "target": target, "tolerance": 0.0, "max_iter": 32}


def edge_cases() -> list[dict]:
    return [
        {"name": "edge-single", "coefficients": [3.0], "target": 12.0, "tolerance": 0.0},
        {"name": "edge-dominant", "coefficients": [1e9] + [1.0] * 9, "target": 1e9 + 5, "tolerance": 0.0},
        {"name": "edge-negative", "coefficients": [-float(i) for i in range(1, 11)], "target": -37.0, "tolerance": 0.0},
        {"name": "edge-target0", "coefficients": [5.0, -3.0, 2.0, 7.0, -11.0, 4.0], "target": 0.0, "tolerance": 0.0},
        {"name": "edge-unreachable", "coefficients": [1.0, 1.0, 1.0, 1.0], "target": -1000.0, "tolerance": 0.0},
    ]


def heldout(problems: list[dict], seed: int) -> list[dict]:
    """Held-out twins of ``problems``, drawn from ``seed``: what a cache of the benchmark's answers cannot know.

    A ``rand-N-s`` problem becomes ``rand-N-<fresh seed>`` (the same distribution); every other problem keeps
    its shape (length, signs, a zero target, a dominant coefficient, tolerance) with each coefficient moved by
    a small integer and a non-zero target by up to 3, so early stopping and convergence behave as on the
    benchmark's problem. A twin runs at most ``HELDOUT_CYCLES`` cycles: a fresh random problem may not
    converge, and 32 full cycles of N = 16 would cost the naive baseline seconds instead of a fraction.
    """
    import numpy as np

    rng = np.random.default_rng(seed)
    twins = []
    for problem in problems:
        name = problem["name"]
        if name.startswith("rand-"):
            n = len(problem["coefficients"])
            twin = rand(n, int(rng.integers(1, 2**31 - 1)))
        else:
            c = np.asarray(problem["coefficients"], dtype=float)
            moved = c + rng.integers(-2, 3, size=len(c))
            keep = (np.sign(moved) != np.sign(c)) | (moved == 0)  # never flip a sign or zero a coefficient
            target = problem["target"]
            twin = {**problem, "coefficients": np.where(keep, c, moved).tolist(),
                    "target": float(target + rng.integers(-3, 4)) if target else 0.0}
        twins.append({**twin, "name": f"{name}@heldout", "max_iter": min(twin.get("max_iter", 32), HELDOUT_CYCLES)})
    return twins


def parse(name: str) -> dict:
    """``seq-20`` / ``rand-16-3`` / ``edge-single`` -> problem dict."""
    parts = name.split("-")
    if parts[0] == "seq":
        return seq(int(parts[1]))
    if parts[0] == "rand":
        return rand(int(parts[1]), int(parts[2]) if len(parts) > 2 else 0)
    for p in edge_cases():
        if p["name"] == name:
            return p
    raise KeyError(name)


def kwargs(problem: dict) -> dict:
    """The problem without its name: keyword arguments for ``search``."""
    return {k: v for k, v in problem.items() if k != "name"}
