"""The terminal view of a review (``campaign review``): the result of ``campaign.review.report.collect`` as text.

Pure: one function per section of the page, each taking its part of the result.
"""

from __future__ import annotations

from typing import Any

from campaign.loop import usage as _usage


def _x(value: Any, digits: int = 3) -> str:
    from campaign.measure.humane import times

    return times(value)


def _excerpt(text: Any, width: int = 44) -> str:
    if text is None:
        return "(no LOG)"
    text = " ".join(str(text).split())
    if not text:
        return "(EMPTY)"
    return text if len(text) <= width else text[: width - 1] + "…"


def _table(headers: list[str], rows: list[list[str]], wrap: tuple[str, ...] = (), width: int | None = None) -> list[str]:
    """A table drawn to the terminal's width (rich); the ``wrap`` columns wrap inside their cells."""
    from campaign.measure.humane import table

    return table(headers, rows, width=width, wrap=wrap)


def full_case_line(fc: dict[str, Any] | None) -> str:
    """The headline in words: the full case vs the baseline, and whether its outputs were checked."""
    if not fc:
        return "full case: not run yet (FINISH runs it before the merge)"
    from campaign.measure.humane import span

    ci = f" {span(fc['ci'])}" if fc.get("ci") else ""
    outputs = ("outputs match the baseline's" if fc.get("outputs_match")
               else f"outputs DIFFER, nothing merged: {fc.get('failure')}" if fc.get("outputs_match") is False
               else "outputs not checked at FINISH (an older record)")
    return f"full case {fc.get('case')}: {_x(fc.get('speedup'))}{ci} vs the baseline; {outputs}"


def format_text(result: dict[str, Any], width: int | None = None) -> str:
    """The terminal view, drawn to the terminal's width (``width`` overrides it)."""
    from campaign.measure.humane import fit, terminal_width

    width = width or terminal_width()
    out = header_lines(result) + [""]
    out += iteration_table(result["iterations"], width)
    out += interval_lines(result["iterations"])
    out += [""] + finding_lines(result["findings"], len(result["rules"]))
    out += ["", calibration_line(result["calibration"])]
    out += [""] + cost_lines(result["code_cost"], width)
    return fit(out, width)


def header_lines(result: dict[str, Any]) -> list[str]:
    """The campaign in one line, the full case, why it stopped, its decisions and the agent's spend."""
    s = result["summary"]
    return [
        campaign_line(s, _cases(result.get("headline"))),
        full_case_line(s.get("full_case")),
        f"stopped: {s.get('stop_reason') or 'not yet'}",
        *(f"  {d}" for d in s.get("decisions") or []),
        *spend_lines(result.get("agent_usage")),
    ]


def _cases(headline: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The headline's per-case times (none in a result made without a headline)."""
    if not headline:
        return []
    return headline.get("cases") or []


def campaign_line(s: dict[str, Any], cases: list[dict[str, Any]]) -> str:
    """``campaign NAME (target T): 7 iterations, 4 kept, 3 reverted; final 91.4x [...] (case fast: ...)``."""
    from campaign.measure.humane import duration, goal, span

    first = cases[0] if cases else {}
    return (
        f"campaign {s['name'] or '?'} (target {s['target'] or '?'}): {s['iterations']} iterations, "
        f"{s['kept']} kept, {s['reverted']} reverted; final {_x(s['final_speedup'])}"
        + (f" {span(s['final_ci'])}" if s.get("final_ci") else "")
        + (f" (case {first['case']}: {duration(first['before_s'])} -> {duration(first['after_s'])})"
           if first.get("before_s") and first.get("after_s") else "")
        + (f", goal {goal(s['goal_speedup'])}" if s.get("goal_speedup") else "")
        + ("" if s["finished"] else " (not finished)")
    )


def interval_lines(iterations: list[dict[str, Any]]) -> list[str]:
    """The level of the intervals shown, and each iteration measured on a busy machine."""
    out = []
    levels = sorted({r["ci_level"] for r in iterations if r.get("ci_level")})
    if levels:
        from campaign.measure.stats import format_level

        out.append(f"intervals: the decisive ones, at {', '.join(format_level(v) for v in levels)} "
                   "(an overwhelming win shows the range of its blocks)")
    return out + [f"iter {r['iteration']}: {r['machine_busy']}" for r in iterations if r.get("machine_busy")]


def finding_lines(findings: list[dict[str, Any]], rules: int) -> list[str]:
    """One finding a line (grep-able), or how many rules found nothing."""
    if not findings:
        return [f"findings: none ({rules} rules checked)"]
    out = [f"findings ({len(findings)}): the record breaks the method"]
    for f in findings:
        where = f"iter {f['iteration']}" if f["iteration"] is not None else "campaign"
        out.append(f"  {where:<8} {f['rule']:<24} {f['message']}")
    return out


def calibration_line(c: dict[str, Any]) -> str:
    if not c["n"]:
        return "calibration: no iteration has both a prediction and a measurement"
    return (f"calibration: median measured/predicted {c['median_ratio']:.2f}; "
            f"{c['share_within']:.0%} of {c['n']} predictions within {c['factor']:g}x; typical miss {c['typical_miss']:.2f}x")


def cost_lines(code_cost: list[dict[str, Any]], width: int) -> list[str]:
    """The code-cost table: lines, complexity and NLOC per iteration, and the touched functions."""
    out = ["code cost (in scope):"]
    rows = []
    for r in code_cost:
        if r.get("iteration") is None:
            out.append(f"  {r.get('error')}")
        else:
            rows.append(_cost_row(r))
    out += ["  " + line for line in _table(["iter", "", "added", "removed", "complexity", "NLOC", "functions"], rows,
                                           wrap=("functions",), width=width - 2)]
    return out


def _cost_row(r: dict[str, Any]) -> list[str]:
    cc = (f"{r['complexity_before']} -> {r['complexity_after']}" if r.get("complexity_before") is not None
          else f"? ({_excerpt(r.get('error'), 30)})")
    funcs = ", ".join(f"{f['function']} {f['before'] if f['before'] is not None else 'new'}->"
                      f"{f['after'] if f['after'] is not None else 'gone'}" for f in r["functions"])
    nloc = f"{r['nloc_before']} -> {r['nloc_after']}" if r.get("nloc_before") is not None else "-"
    return [str(r["iteration"]), "kept" if r["kept"] else "reverted", f"+{r['added']}", f"-{r['removed']}", cc, nloc,
            funcs]


def iteration_table(iterations: list[dict[str, Any]], width: int) -> list[str]:
    """The terminal's iteration table; a peak-memory column only where BENCHMARK measured it."""
    from campaign.measure.humane import span

    memory = any(r.get("memory") for r in iterations)
    rows = []
    for r in iterations:
        ci = f" {span(r['ci'])}" if r.get("ci") else ""
        verdict = r["verdict"] or ("test failed" if r["test_passed"] is False else "-")
        row = [str(r["iteration"]), r["phase"] or "-", _x(r["predicted"]), _x(r["measured"]) + ci, verdict]
        rows.append(row + ([memory_cell(r.get("memory"))] if memory else [])
                    + ["yes" if r["kept"] else "no", _excerpt(r["surprise"], 400)])
    headers = ["iter", "phase", "predicted", "measured [interval]", "verdict"] + (["peak memory"] if memory else [])
    return _table(headers + ["kept", "surprise"], rows, wrap=("surprise",), width=width)


def memory_cell(mem: dict[str, Any] | None) -> str:
    """``40.0 MiB -> 60.0 MiB (+50%, beyond +25%, accepted)`` for the terminal table; ``-`` when not measured."""
    from campaign.measure.memory import percent, size

    if not mem:
        return "-"
    beyond = ""
    if mem.get("over_limit"):
        beyond = f", beyond {percent(1 + mem['limit'])}" + (", accepted" if mem.get("accepted") else "")
    return f"{size(mem['before_kb'])} -> {size(mem['after_kb'])} ({percent(mem['ratio'])}{beyond})"


def spend_lines(agent_usage: dict[str, Any] | None) -> list[str]:
    """The agent's reported spend, when it reported any (a record without it shows nothing new)."""
    if not agent_usage or not _usage.any_reported(agent_usage):
        return []
    return [f"agent spend: {_usage.describe(agent_usage['total'])}"]
