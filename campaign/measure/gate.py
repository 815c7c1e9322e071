"""``campaign compare --gate``: a CI gate that fails only on a significant slowdown beyond a stated threshold.

Pure functions over a ``compare_commits`` result: the decision, the markdown
summary (for ``$GITHUB_STEP_SUMMARY``) and the JUnit XML (for any CI that
shows test reports). The gate fails when the whole interval of the speedup
lies below ``1 / (1 + max_slowdown)``: HEAD is slower than BASE by more than
the threshold, at the comparison's own confidence level. A slowdown inside
the threshold, an inconclusive comparison or noise never fails it.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any

from campaign.errors import UserError

DEFAULT_MAX_SLOWDOWN = 0.05


class GateOptionError(UserError, ValueError):
    """A threshold that is not a percentage or a fraction."""


def parse_threshold(text: str | float) -> float:
    """``"5%"`` -> 0.05, ``"0.05"`` -> 0.05; refuses negatives and 100% or more."""
    if isinstance(text, (int, float)):
        value = float(text)
    else:
        m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*(%?)\s*", str(text))
        if not m:
            raise GateOptionError(f"--max-slowdown {text!r} is not a threshold: write e.g. 5% or 0.05.")
        value = float(m.group(1)) / (100 if m.group(2) else 1)
    if not 0 <= value < 1:
        raise GateOptionError(f"--max-slowdown {text!r} is outside 0%..99%.")
    return value


def decide(result: dict[str, Any], max_slowdown: float = DEFAULT_MAX_SLOWDOWN) -> dict[str, Any]:
    """The gate's decision on one comparison (speedup = BASE time / HEAD time, so a slowdown is below 1)."""
    floor = 1 / (1 + max_slowdown)
    ci = result.get("ci") or [None, None]
    hi = ci[1]
    failed = result.get("verdict") == "slower" and hi is not None and hi < floor
    speedup = result.get("speedup")
    slowdown = None if not speedup else 1 / speedup - 1
    if failed:
        reason = (f"HEAD is slower than BASE by {slowdown:.1%}; the whole interval lies beyond the "
                  f"{max_slowdown:.1%} threshold")
    elif result.get("verdict") == "slower":
        reason = (f"HEAD measured slower ({slowdown:.1%}), but not significantly beyond the {max_slowdown:.1%} "
                  f"threshold: passes")
    else:
        reason = f"verdict {result.get('verdict')}: no significant slowdown beyond {max_slowdown:.1%}"
    return {"passed": not failed, "max_slowdown": max_slowdown, "floor": floor, "slowdown": slowdown,
            "reason": reason}


def _x(value) -> str:
    return "-" if value is None else f"{value:.3f}x"


def _ms(value) -> str:
    return "-" if value is None else f"{value * 1e3:.2f} ms"


def markdown(result: dict[str, Any], gate: dict[str, Any]) -> str:
    """The summary a CI job page shows: the outcome first, then the numbers that decided it."""
    from campaign.measure.stats import describe_interval

    b = result.get("benchmark") or {}
    mark = "PASS" if gate["passed"] else "FAIL"
    lines = [f"## campaign gate: {mark}", "",
             f"**{gate['reason']}.**", "",
             f"`{result['new'][:10]}` (HEAD) against `{result['old'][:10]}` (BASE), target `{result['target']}`, "
             f"case `{result['case']}`, metric {result['metric']}.", "",
             "| | BASE | HEAD | speedup |", "|---|---:|---:|---:|"]
    for p in result.get("phases") or []:
        lines.append(f"| {p['phase']} | {_ms(p['old_s'])} | {_ms(p['new_s'])} | {_x(p['speedup'])} |")
    t = result.get("total") or {}
    lines.append(f"| **total** (fastest warm) | {_ms(t.get('old_s'))} | {_ms(t.get('new_s'))} | "
                 f"**{_x(result.get('speedup'))}** |")
    lines += ["", f"Verdict **{result['verdict']}**: "
                  f"{describe_interval(result.get('ci'), result.get('ci_level'), b.get('ci_kind'))} "
                  f"({b.get('blocks', '?')} blocks). The gate fails only when the whole interval lies below "
                  f"{gate['floor']:.3f}x (a slowdown beyond {gate['max_slowdown']:.1%})."]
    return "\n".join(lines) + "\n"


def junit_xml(result: dict[str, Any], gate: dict[str, Any]) -> str:
    """One test suite with one test case (the benchmark case); a ``<failure>`` when the gate fails."""
    suite = ET.Element("testsuite", name="campaign gate", tests="1", failures="0" if gate["passed"] else "1",
                       errors="0", skipped="0")
    case = ET.SubElement(suite, "testcase", classname=f"campaign.{result['target']}", name=str(result["case"]))
    ET.SubElement(case, "system-out").text = (f"verdict {result['verdict']}, speedup {_x(result.get('speedup'))}, "
                                              f"interval {result.get('ci')}; {gate['reason']}")
    if not gate["passed"]:
        failure = ET.SubElement(case, "failure", message=gate["reason"], type="slowdown")
        failure.text = markdown(result, gate)
    suites = ET.Element("testsuites")
    suites.append(suite)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"
