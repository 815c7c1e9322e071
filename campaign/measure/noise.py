"""``campaign noise``: how often the benchmark and the gate are wrong on identical code (A/A comparisons).

Runs ``campaign compare REV REV`` N times (the same engine, settings and
budget as a real comparison; each run with its own seed) and counts the
false alarms: a verdict of faster or slower on identical code, and a gate
that would have failed (``campaign.measure.gate``). The rate comes with a
Wilson interval (scipy's), since N is small. The smallest effect detectable
at that budget comes from the intervals the A/A runs measured: with a median
half-width ``w`` (on the log of the speedup), a true effect of ``exp(w) - 1``
is called about half the time, ``exp(2w) - 1`` nearly always.
"""

from __future__ import annotations

import math
import statistics
import time
from typing import Any, Callable

from campaign.measure.gate import DEFAULT_MAX_SLOWDOWN, decide


def wilson(k: int, n: int, level: float = 0.95) -> list[float]:
    """The Wilson score interval of a proportion ``k / n`` (scipy.stats.binomtest)."""
    from scipy.stats import binomtest

    if n == 0:
        return [0.0, 1.0]
    ci = binomtest(k, n).proportion_ci(confidence_level=level, method="wilson")
    return [float(ci.low), float(ci.high)]


def _rate(k: int, n: int) -> float | None:
    return k / n if n else None


def _half_width(runs: list[dict[str, Any]]) -> float | None:
    """The median half-width of the runs' intervals, on the log scale (None: no interval)."""
    widths = [(math.log(r["ci"][1]) - math.log(r["ci"][0])) / 2 for r in runs
              if r.get("ci") and r["ci"][0] and r["ci"][1] and r["ci"][0] > 0]
    return statistics.median(widths) if widths else None


def _detectable(w: float | None, min_effect: float, max_slowdown: float) -> dict[str, float | None]:
    """The smallest effects an interval of half-width ``w`` resolves half the time, nearly always, and at the gate."""
    if w is None:
        return {"detectable_half_the_time": None, "detectable_nearly_always": None, "gate_catches_half_the_time": None}
    return {"detectable_half_the_time": max(min_effect, math.exp(w) - 1),
            "detectable_nearly_always": max(min_effect, math.exp(2 * w) - 1),
            "gate_catches_half_the_time": (1 + max_slowdown) * math.exp(w) - 1}


def _bench_number(run: dict[str, Any], key: str) -> float:
    """A number of one A/A comparison's benchmark (0 where the comparison recorded none)."""
    bench = run.get("benchmark")
    return (bench.get(key) if bench else None) or 0


def summarize(runs: list[dict[str, Any]], max_slowdown: float = DEFAULT_MAX_SLOWDOWN) -> dict[str, Any]:
    """False alarms, their Wilson intervals and the smallest detectable effect, from A/A comparison results (pure)."""
    n = len(runs)
    alarms = sum(1 for r in runs if r["verdict"] in ("faster", "slower"))
    gate_alarms = sum(1 for r in runs if not decide(r, max_slowdown)["passed"])
    w = _half_width(runs)
    min_effect = max(_bench_number(r, "min_effect") for r in runs) if runs else 0
    return {
        "runs": n,
        "false_alarms": alarms,
        "false_alarm_rate": _rate(alarms, n),
        "false_alarm_ci": wilson(alarms, n),
        "gate_false_alarms": gate_alarms,
        "gate_false_alarm_rate": _rate(gate_alarms, n),
        "gate_false_alarm_ci": wilson(gate_alarms, n),
        "max_slowdown": max_slowdown,
        "half_width_median": w,
        **_detectable(w, min_effect, max_slowdown),
        "verdicts": {v: sum(1 for r in runs if r["verdict"] == v) for v in ("same", "inconclusive", "faster", "slower")},
        "blocks_median": statistics.median([_bench_number(r, "blocks") for r in runs]) if runs else None,
    }


def run_noise(repo_dir, rev: str, runs: int, *, max_slowdown: float = DEFAULT_MAX_SLOWDOWN, case: str | None = None,
              target_spec: str | None = None, max_blocks: int | None = None, budget_s: float | None = None,
              progress: Callable[[str], None] | None = None, settings: dict | None = None) -> dict[str, Any]:
    """N A/A comparisons of ``rev`` with itself; the summary plus each run's verdict, speedup and interval."""
    from campaign.measure.compare import compare_commits
    from campaign.measure.load import sample

    say = progress or (lambda line: None)
    results, rows = [], []
    started = time.monotonic()
    before = sample()
    for i in range(runs):
        say(f"A/A comparison {i + 1}/{runs} of {rev} with itself")
        r = compare_commits(repo_dir, rev, rev, case=case, target_spec=target_spec, max_blocks=max_blocks,
                            budget_s=budget_s, progress=say, seed=i, settings=settings)
        results.append(r)
        rows.append({"run": i + 1, "verdict": r["verdict"], "speedup": r["speedup"], "ci": r["ci"],
                     "blocks": r["benchmark"].get("blocks"), "gate_passed": decide(r, max_slowdown)["passed"]})
    summary = summarize(results, max_slowdown)
    first = results[0] if results else {}
    return {**summary, "rev": first.get("old"), "target": first.get("target"), "case": first.get("case"),
            "settings": first.get("settings"), "rows": rows, "wall_s": time.monotonic() - started,
            "load": {"before": _round(before.load1), "after": _round(sample().load1), "cpus": before.cpus}}


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def _pct(value) -> str:
    return "-" if value is None else f"{value:.1%}"


def format_text(result: dict[str, Any]) -> str:
    """What a person reads: the measured false-alarm rates with their intervals, and the detectable effect."""
    lo, hi = result["false_alarm_ci"]
    glo, ghi = result["gate_false_alarm_ci"]
    lines = [f"noise: {result['runs']} A/A comparisons of {str(result['rev'])[:10]} with itself "
             f"(target {result['target']}, case {result['case']}, {result['wall_s']:.0f} s)"]
    for row in result["rows"]:
        ci = "-" if not row["ci"] else f"{row['ci'][0]:.3f}-{row['ci'][1]:.3f}"
        lines.append(f"  run {row['run']:>3}: {row['verdict']:<12} {row['speedup']:.3f}x  interval {ci}  "
                     f"{row['blocks']} blocks  gate {'pass' if row['gate_passed'] else 'FAIL'}")
    lines += [
        f"false alarms (faster/slower on identical code): {result['false_alarms']}/{result['runs']} = "
        f"{_pct(result['false_alarm_rate'])} (95% Wilson interval {_pct(lo)}-{_pct(hi)})",
        f"gate false alarms (--max-slowdown {result['max_slowdown']:.0%}): {result['gate_false_alarms']}/"
        f"{result['runs']} = {_pct(result['gate_false_alarm_rate'])} (95% Wilson interval {_pct(glo)}-{_pct(ghi)})",
        f"smallest effect detectable at this budget: {_pct(result['detectable_half_the_time'])} half the time, "
        f"{_pct(result['detectable_nearly_always'])} nearly always; the gate catches a slowdown of "
        f"{_pct(result['gate_catches_half_the_time'])} half the time",
        f"load average (1 min) {result['load']['before']} before, {result['load']['after']} after, on "
        f"{result['load']['cpus']} cores",
    ]
    return "\n".join(lines)
