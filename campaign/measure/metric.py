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
- waiting code is decided on wall time: code that gives up the CPU of its own
  accord (a sleep, blocking I/O, waiting for a helper process) in at least
  ``WAITING_SHARE`` of its warm repeats, by the process's voluntary context
  switches (``warm_waits``), which a busy machine's preemption does not cause;
  where the runs do not count them, a variant none of whose warm repeats ever
  spent ``CPU_BOUND_RATIO`` of its wall time on the CPU;
- otherwise CPU time decides unless its A/A spread (run to run, same code) is
  clearly larger than wall time's (``CLEARLY_NOISIER``, 2x). A single-threaded,
  CPU-bound run's wall time is its CPU time plus the wait for a core, so CPU
  time is the quieter metric but for a coarse CPU clock; at the first look
  the two spreads rest on six A/A pairs each, and chance alone put CPU's
  above wall's in 35 of 137 three-block windows of identical code beside
  three bursty burners (2026-12-06, load up to 3.7; over all 411 blocks the
  run noise was 6.5% on CPU time, 9.9% on wall; `scripts/aa_noise.py`), none twice above.
  Under "no larger" such benchmarks were decided on wall time, then the
  burners woke and the wall-time interval could not decide.
"""

from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass, field

METRICS = ("auto", "wall", "cpu")
PARALLEL_RATIO = 1.3
CPU_BOUND_RATIO = 0.7
WAITING_SHARE = 0.5
CLEARLY_NOISIER = 2.0  # CPU's A/A spread over wall's above which wall time decides single-threaded, CPU-bound code

Run = tuple  # (warm wall times, warm CPU times[, voluntary context switches per warm repeat])


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


def unit_evidence(runs: list[Run]) -> dict | None:
    """Per variant: the best and the median CPU/wall ratio over every warm repeat of its runs, and the share
    of its repeats that waited of their own accord (None where the runs do not count voluntary switches)."""
    ratios = [r for run in runs for r in repeat_ratios(run[0], run[1])]
    if not ratios:
        return None
    waits = [w for run in runs for w in (run[2] if len(run) > 2 else [])]
    counted = bool(runs) and all(len(run) > 2 and run[2] and len(run[2]) == len(run[0]) for run in runs)
    return {"best_cpu_share": max(ratios), "median_cpu_share": statistics.median(ratios), "repeats": len(ratios),
            "waiting_share": (sum(1 for w in waits if w > 0) / len(waits)) if counted else None}


def _waits(e: dict) -> bool:
    if e.get("waiting_share") is not None:
        return e["waiting_share"] >= WAITING_SHARE
    return e["best_cpu_share"] < CPU_BOUND_RATIO


def choose(units: dict[str, list[Run]], spreads: dict[str, float | None],
           pinned: str = "auto") -> MetricChoice:
    """Pick the deciding metric. ``units``: per variant, each run's (warm wall times, warm CPU times);
    (and voluntary switches); ``spreads``: the A/A spread of each metric's block pairs (``stats.pair_spread``), None where absent."""
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
    waiting = [n for n, e in evidence.items() if e and _waits(e)]
    if waiting:
        e = evidence[waiting[0]] or {}
        how = (f"{e['waiting_share']:.0%} of its warm repeats gave up the CPU of their own accord"
               if e.get("waiting_share") is not None else
               f"at best {e['best_cpu_share']:.0%} of a repeat's wall time on the CPU")
        return MetricChoice("wall", f"the code waits (sleep, I/O): {how} in {', '.join(waiting)}", info)
    wall_spread, cpu_spread = spreads.get("wall"), spreads["cpu"]
    if wall_spread is not None and cpu_spread is not None and cpu_spread > CLEARLY_NOISIER * wall_spread:
        return MetricChoice("wall", f"CPU time is clearly noisier than wall time on identical code "
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
