"""What the agent is told about the campaign so far (pure): its history, the LOG facts, the end result.

Every number comes from the journal's typed record (``campaign.loop.record``)
through the one ``IterationSummary`` (``campaign.loop.state``) that status,
the logs and the report read too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from campaign.loop import machine, record, stopping

TOP_FUNCTIONS = 12


HISTORY_ROW = ("phase", "predicted", "speedup", "ci", "ci_level", "verdict", "test_passed", "kept", "surprise")


def history(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Predictions vs results per finished or running iteration, for the agent (pure)."""
    keys: dict[int, dict[str, Any]] = {}
    for event in events:
        data = event["data"]
        if event["type"] == "agent" and data.get("step") == "think" and data.get("key") is not None:
            keys[event["iteration"]] = {"key": data["key"], "title": data.get("title")}
    rows = []
    for summary in machine.derive(events).summaries():
        key = keys.get(summary.n, {})
        rows.append({
            "iteration": summary.n, "key": key.get("key"), "title": key.get("title") or summary.title,
            **{name: getattr(summary, name) for name in HISTORY_ROW},
        })
    return rows


def trim_profile(profile: dict[str, Any] | None) -> dict[str, Any] | None:
    if not profile:
        return None
    trimmed = {k: v for k, v in profile.items() if k not in ("top_functions", "lines")}
    trimmed["top_functions"] = (profile.get("top_functions") or [])[:TOP_FUNCTIONS]
    trimmed["lines"] = profile.get("lines") or {}
    return trimmed


def log_result(state, workspace: Path | None = None) -> dict[str, Any]:
    """What the agent is told at LOG: the prediction, the measurement, whether a postmortem is due."""
    from campaign.measure.correctness import test_command_failure

    it = state.current
    test, bench = it.test or record.Test(), it.benchmark or record.Benchmark()
    summary, factor = it.summary(), state.postmortem_factor
    failed = test_command_failure(test.test_command)
    return {
        "predicted": summary.predicted,
        "test_passed": bool(test.passed),
        "first_failure": test.failures[0].message if test.failures else failed,
        "failures": [dict(f) for f in test.failures[:5]],
        "test_command_failed": failed is not None,
        "verdict": summary.verdict,
        "speedup": summary.speedup,
        "ci": summary.ci,
        "ci_level": summary.ci_level,
        "ci_kind": summary.ci_kind,
        "policy": bench.policy,
        "vs_baseline": bench.get("vs_baseline"),
        "phases": bench.phases,
        "postmortem_required": stopping.postmortem_required(summary.predicted, summary.speedup, factor),
        "postmortem_factor": factor,
        "memory": memory_at_log(state, workspace),
    }


def memory_at_log(state, workspace: Path | None) -> dict[str, Any] | None:
    """Peak memory before and after, against the limit in force (campaign.measure.memory); None when unmeasured."""
    from campaign.measure import memory
    from campaign.measure.settings import SettingsError, load_settings

    try:
        limit = load_settings(workspace).memory_limit
    except SettingsError:  # LOG itself says what is wrong with the settings
        limit = memory.DEFAULT_LIMIT
    mem = memory.change(state.current.benchmark, limit)
    return {**mem, "text": memory.describe(mem)} if mem else None


def final_speedup_text(finish: dict[str, Any]) -> str:
    """The end result, both cases named: the fast case's cumulative speedup and the full case's own measurement.

    They differ, sometimes by orders of magnitude (an early exit pays most at
    full scale), so a bare "Nx over the baseline" would misstate one of them.
    """
    typed = record.load_data("finish", finish)
    text = f"{typed.final_speedup:.2f}x over the baseline on the fast case"
    if typed.full and typed.full.speedup:
        text += f"; full case {typed.full.speedup:.2f}x ({typed.full.verdict})"
    return text
