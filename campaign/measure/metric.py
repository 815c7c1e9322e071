"""Which time decides a benchmark: wall time or the process's own CPU time (pure).

On a busy machine most of the noise in a wall time is the time a process
waited for a core. A single-threaded workload's CPU time does not contain that
wait, so it gives far narrower intervals under load; but CPU time misses what
parallel code gains (threads add CPU time while they cut wall time) and what
waiting code costs (sleep, I/O). So the choice is made per benchmark, from
what the runs themselves show, and never mixed: each metric keeps its own block
series and the interval that decides is computed on one of them.

The rule (``choose``), taken once at the first look and kept:

- a pinned metric (``metric = "wall"`` or ``"cpu"`` in ``[measure]``, or
  ``--metric``) decides, where the runs carry it;
- CPU time needs every run to report it (``warm_cpu_s``: campaign's Python
  worker does, a ``campaign.toml`` workload may);
- parallel code (a variant's CPU time above its wall time by ``PARALLEL_RATIO``)
  is decided on wall time;
- waiting code (no warm repeat of a variant ever spent ``CPU_BOUND_RATIO`` of its
  wall time on the CPU, even its least disturbed one) is decided on wall time;
- otherwise CPU time decides when its A/A spread (run to run, same code) is no
  larger than wall time's: the metric that is quieter on identical code.
"""

from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass, field

METRICS = ("auto", "wall", "cpu")
PARALLEL_RATIO = 1.3
CPU_BOUND_RATIO = 0.7


@dataclass(frozen=True)
class MetricChoice:
    """The metric that decides, why, and the evidence it was chosen on (recorded with the result)."""

    metric: str
    reason: str
    evidence: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


def repeat_ratios(warm_s: list[float], warm_cpu_s: list[float]) -> list[float]:
    """CPU time over wall time, repeat by repeat (only where both are there and the wall is positive)."""
    if len(warm_s) != len(warm_cpu_s):
        return []
    return [c / w for w, c in zip(warm_s, warm_cpu_s) if w > 0 and c >= 0]


def unit_evidence(runs: list[tuple[list[float], list[float]]]) -> dict | None:
    """Per variant: the best and the median CPU/wall ratio over every warm repeat of its runs."""
    ratios = [r for warm, cpu in runs for r in repeat_ratios(warm, cpu)]
    if not ratios:
        return None
    return {"best_cpu_share": max(ratios), "median_cpu_share": statistics.median(ratios), "repeats": len(ratios)}


def choose(units: dict[str, list[tuple[list[float], list[float]]]], spreads: dict[str, float | None],
           pinned: str = "auto") -> MetricChoice:
    """Pick the deciding metric. ``units``: per variant, each run's (warm wall times, warm CPU times);
    ``spreads``: the A/A spread of each metric's block pairs (``stats.pair_spread``), None where absent."""
    if pinned not in METRICS:
        raise ValueError(f"metric must be one of {', '.join(METRICS)}, not {pinned!r}")
    evidence = {name: unit_evidence(runs) for name, runs in units.items()}
    info = {"units": evidence, "aa_spread": spreads}
    has_cpu = all(e is not None for e in evidence.values()) and spreads.get("cpu") is not None
    if pinned == "wall":
        return MetricChoice("wall", "pinned by the user", info)
    if pinned == "cpu":
        if has_cpu:
            return MetricChoice("cpu", "pinned by the user", info)
        return MetricChoice("wall", "cpu was pinned, but the runs do not report CPU time (warm_cpu_s)", info)
    if not has_cpu:
        return MetricChoice("wall", "the runs do not report CPU time", info)
    parallel = [n for n, e in evidence.items() if e and e["median_cpu_share"] > PARALLEL_RATIO]
    if parallel:
        return MetricChoice("wall", f"parallel code: CPU time exceeds wall time in {', '.join(parallel)}", info)
    waiting = [n for n, e in evidence.items() if e and e["best_cpu_share"] < CPU_BOUND_RATIO]
    if waiting:
        return MetricChoice("wall", f"the code waits (sleep, I/O): at best {min(evidence[n]['best_cpu_share'] for n in waiting):.0%}"
                                    f" of a repeat's wall time on the CPU in {', '.join(waiting)}", info)
    wall_spread, cpu_spread = spreads.get("wall"), spreads["cpu"]
    if wall_spread is not None and cpu_spread > wall_spread:
        return MetricChoice("wall", f"CPU time is noisier than wall time on identical code "
                                    f"({cpu_spread:.2%} against {wall_spread:.2%})", info)
    return MetricChoice("cpu", "single-threaded and CPU-bound: CPU time leaves out the wait for a core"
                               + (f" (A/A spread {cpu_spread:.2%} against {wall_spread:.2%} for wall time)"
                                  if wall_spread is not None else ""), info)


def contradiction(chosen: str, speedup: float, ci: tuple[float, float], wall_verdict: str,
                  wall_ci: tuple[float, float]) -> str | None:
    """When CPU time decided: a wall time that says the opposite, or that the gain never reached the clock.

    CPU time can be cut by moving work out of the measured process (a helper process, a thread that
    outlives the call); wall time would then not follow. Returns the reason to withhold the verdict.
    """
    if chosen != "cpu":
        return None
    if wall_verdict in ("faster", "slower") and speedup > 0:
        cpu_dir = "faster" if ci[0] > 1 else "slower" if ci[1] < 1 else None
        if cpu_dir and cpu_dir != wall_verdict:
            return f"CPU time says {cpu_dir}, wall time says {wall_verdict}"
    if ci[0] > 1 and wall_ci[1] < ci[0]:
        return (f"CPU time fell ({ci[0]:.3g}-{ci[1]:.3g}x) but wall time did not follow "
                f"({wall_ci[0]:.3g}-{wall_ci[1]:.3g}x): was work moved out of the measured process?")
    return None
