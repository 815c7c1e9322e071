"""Held-out inputs: the claim must hold on inputs the agent never saw.

A target that declares held-out inputs (``Target.heldout``; ``{seed}`` in a
campaign.toml run command) can run any case on an input drawn from a seed.
At every TEST campaign draws fresh seeds (``draw_seeds``: from the operating
system's randomness, never written into the work tree or a prompt, recorded
in the journal only after the runs) and runs the baseline and the candidate
on them, interleaved, each seed in fresh sealed processes. Outputs must match
the baseline's on the same seed, and the candidate must be faster there too:
a speedup that lives only on the benchmark's inputs (hard-coded answers, a
cache keyed by the benchmark's sizes, a shortcut taken when argv looks like
the benchmark's) does not transfer, and ``transfer_refusal`` refuses it.

The held-out time of a run is its first call, less the JIT compile time the
target reports: on an input no process has seen before, no cache can have
answered it. For a target that declares ``jit`` (its first call compiles)
it is the warm repeat.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from campaign.measure.correctness import compare_outputs
from campaign.measure.workload import WorkloadRun, run_workload

N_SEEDS = 3
TRANSFER_MIN = 1.1  # a benchmark claim of CLAIM_MIN or more needs at least this speedup on held-out inputs
CLAIM_MIN = 1.5
NAME = "held-out inputs"


def draw_seeds(n: int = N_SEEDS) -> list[int]:
    """Fresh seeds, unpredictable to the workload (never the public seed 0)."""
    return [secrets.randbelow(2**31 - 2) + 1 for _ in range(n)]


def _cold(run: WorkloadRun, jit: bool = False) -> float:
    """A held-out run's time: its first call (JIT compile aside), or for a ``jit`` target its warm repeat."""
    first = run.first_call_s if run.first_call_s is not None and not jit else run.time_s
    return max(first - (0.0 if jit else run.compile_s or 0.0), 1e-9)


def heldout_check(target, case: str, base_dir: Path, cand_dir: Path, seeds: list[int],
                  watch=None) -> dict[str, Any]:
    """Baseline and candidate once on each seed: outputs, and the speedup of the first (cold) call."""
    from statistics import geometric_mean

    failures: list[dict[str, Any]] = []
    ratios: list[float] = []
    for i, seed in enumerate(seeds):  # one pair per seed, alternating: a cache filled by one run finds no reuse
        runs: dict[str, WorkloadRun] = {}
        for who in (("base", "cand") if i % 2 == 0 else ("cand", "base")):
            where = base_dir if who == "base" else cand_dir
            runs[who] = run_workload(target, case, where, repeat=1, seed=seed, watch=watch if who == "cand" else None)
        report = compare_outputs(runs["base"].outputs, runs["cand"].outputs, target.tolerances)
        for failure in report.to_dict()["failures"]:
            failures.append({**failure, "case": f"{case} (held-out seed)",
                             "message": f"{NAME}: {failure['message']}"})
        jit = getattr(target, "jit", False)
        ratios.append(_cold(runs["base"], jit) / _cold(runs["cand"], jit))
    return {"name": NAME, "case": case, "seeds": seeds, "passed": not failures, "failures": failures,
            "speedup": geometric_mean(ratios) if ratios else None, "per_seed": ratios}


def transfer_refusal(heldout: dict | None, bench: dict | None) -> str | None:
    """Why a benchmark's claim does not transfer to the held-out inputs (None: it does, or none ran). Pure."""
    if not heldout or heldout.get("speedup") is None or not bench:
        return None
    claim, verdict = bench.get("speedup") or 0.0, bench.get("verdict")
    held = heldout["speedup"]
    if verdict == "faster" and claim >= CLAIM_MIN and held < TRANSFER_MIN:
        return (f"{NAME}: {claim:.2f}x faster on the benchmark's inputs but {held:.2f}x on fresh ones "
                f"(seeds drawn at TEST, case {heldout.get('case')!r}): the speedup does not transfer, so it is "
                f"not a faster program but a faster answer to these inputs")
    return None
