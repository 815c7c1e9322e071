"""The reviewer's views of a record: the terminal table and the HTML report.

``collect(record_dir)`` gathers everything from the record alone (findings,
per-iteration rows, calibration, code cost, profiles, rendered logs) into one
JSON-able dict; ``format_text`` and ``render_html`` only present it.

The plots are inline SVG written here, not a plotting library: the report
must open with no network and no JavaScript, stay a few tens of kB, diff
cleanly in git, and be testable by reading its DOM (each plot is an
``<svg id="plot-...">`` whose marks carry classes and titles).
"""

from __future__ import annotations

import math
import subprocess
import re
from pathlib import Path
from typing import Any

from campaign import calibration as _calibration
from campaign import codecost as _codecost
from campaign import review as _review


def collect(record_dir: Path) -> dict[str, Any]:
    record = Path(record_dir)
    events = _review.load_record(record)
    findings = _review.check(events)
    profiles = _review.of_type(events, "profile")
    try:
        cost = _codecost.code_cost(record, events)
    except (OSError, subprocess.SubprocessError) as exc:  # no git: the rest of the review still stands
        cost = [{"iteration": None, "error": f"code cost unavailable: {exc}"}]
    logs = {}
    for key, name in (("optimization_log", "optimization_log.md"), ("thinking_log", "thinking_log.md")):
        path = record / name
        logs[key] = path.read_text(encoding="utf-8", errors="replace") if path.is_file() else None
    return {
        "ok": not findings,
        "record": str(record),
        "summary": _review.summary(events),
        "rules": [{"id": r.id, "description": r.description} for r in _review.RULES],
        "findings": [f.to_dict() for f in findings],
        "iterations": _review.iteration_rows(events),
        "calibration": _calibration.calibration(events),
        "code_cost": cost,
        "profiles": {
            "first": _review._data(profiles[0]).get("phases") if profiles else None,
            "last": _review._data(profiles[-1]).get("phases") if len(profiles) > 1 else None,
        },
        "logs": logs,
    }


# --------------------------------------------------------------------------- terminal


def _x(value: Any, digits: int = 3) -> str:
    return f"{value:.{digits}g}x" if isinstance(value, (int, float)) else "-"


def _excerpt(text: Any, width: int = 44) -> str:
    if text is None:
        return "(no LOG)"
    text = " ".join(str(text).split())
    if not text:
        return "(EMPTY)"
    return text if len(text) <= width else text[: width - 1] + "…"


def _table(headers: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    line = lambda cells: "  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()  # noqa: E731
    return [line(headers), line(["-" * w for w in widths]), *(line(r) for r in rows)]


def format_text(result: dict[str, Any]) -> str:
    s = result["summary"]
    out = [
        f"campaign {s['name'] or '?'} (target {s['target'] or '?'}): {s['iterations']} iterations, "
        f"{s['kept']} kept, {s['reverted']} reverted; final {_x(s['final_speedup'])}"
        + (f" [{s['final_ci'][0]:.3g}, {s['final_ci'][1]:.3g}]" if s.get("final_ci") else "")
        + (f", goal {_x(s['goal_speedup'])}" if s.get("goal_speedup") else "")
        + ("" if s["finished"] else " (not finished)"),
        "",
    ]
    rows = []
    for r in result["iterations"]:
        ci = f" [{r['ci'][0]:.3g}, {r['ci'][1]:.3g}]" if r.get("ci") else ""
        verdict = r["verdict"] or ("test failed" if r["test_passed"] is False else "-")
        rows.append([str(r["iteration"]), r["phase"] or "-", _x(r["predicted"]), _x(r["measured"]) + ci, verdict, "yes" if r["kept"] else "no", _excerpt(r["surprise"])])
    out += _table(["iter", "phase", "predicted", "measured [CI]", "verdict", "kept", "surprise"], rows)
    out.append("")
    findings = result["findings"]
    if findings:
        out.append(f"findings ({len(findings)}): the record breaks the method")
        for f in findings:
            where = f"iter {f['iteration']}" if f["iteration"] is not None else "campaign"
            out.append(f"  {where:<8} {f['rule']:<24} {f['message']}")
    else:
        out.append(f"findings: none ({len(result['rules'])} rules checked)")
    out.append("")
    c = result["calibration"]
    if c["n"]:
        out.append(
            f"calibration: median measured/predicted {c['median_ratio']:.2f}; "
            f"{c['share_within']:.0%} of {c['n']} predictions within {c['factor']:g}x; typical miss {c['typical_miss']:.2f}x"
        )
    else:
        out.append("calibration: no iteration has both a prediction and a measurement")
    out.append("")
    out.append("code cost (in scope):")
    cost_rows = []
    for r in result["code_cost"]:
        if r.get("iteration") is None:
            out.append(f"  {r.get('error')}")
            continue
        cc = f"{r['complexity_before']} -> {r['complexity_after']}" if r.get("complexity_before") is not None else f"? ({_excerpt(r.get('error'), 30)})"
        funcs = ", ".join(f"{f['function']} {f['before'] if f['before'] is not None else 'new'}->{f['after'] if f['after'] is not None else 'gone'}" for f in r["functions"])
        cost_rows.append([str(r["iteration"]), "kept" if r["kept"] else "reverted", f"+{r['added']}", f"-{r['removed']}", cc, _excerpt(funcs, 50)])
    out += ["  " + line for line in _table(["iter", "", "added", "removed", "complexity", "functions"], cost_rows)]
    return "\n".join(out)
