"""The CI gate's outputs (``campaign compare --gate``) and ``campaign noise`` (A/A false-alarm rates)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click

from campaign.cli.common import CampaignError, dir_option, emit, json_option, quiet_option


def threshold(ctx, param, value):
    """click callback: ``5%`` or ``0.05`` -> 0.05 (a usage error otherwise)."""
    from campaign.measure.gate import GateOptionError, parse_threshold

    try:
        return parse_threshold(value)
    except GateOptionError as exc:
        raise click.BadParameter(str(exc)) from None


def max_slowdown_option(func):
    return click.option("--max-slowdown", default="5%", show_default=True, callback=threshold,
                        help="The gate fails only when HEAD is significantly slower than BASE by more than this "
                             "(e.g. 5% or 0.05).")(func)


def apply_gate(result: dict[str, Any], max_slowdown: float, summary: Path | None, junit: Path | None) -> dict[str, Any]:
    """Decide, write the markdown summary ($GITHUB_STEP_SUMMARY is appended to) and the JUnit XML; the decision."""
    from campaign.measure.gate import decide, junit_xml, markdown

    gate = decide(result, max_slowdown)
    text = markdown(result, gate)
    targets = [p for p in (summary,) if p]
    step_summary = os.environ.get("GITHUB_STEP_SUMMARY")
    try:
        for path in targets:
            Path(path).write_text(text, encoding="utf-8")
        if step_summary:
            with open(step_summary, "a", encoding="utf-8") as fh:
                fh.write(text)
        if junit:
            Path(junit).write_text(junit_xml(result, gate), encoding="utf-8")
    except OSError as exc:
        raise CampaignError(f"cannot write the gate's report: {exc}") from None
    gate.update(summary=str(summary) if summary else None, junit=str(junit) if junit else None,
                step_summary=step_summary or None)
    return gate


@click.command(name="noise")
@click.argument("rev", default="HEAD")
@click.option("--runs", "-n", type=click.IntRange(1, 1000), default=10, show_default=True,
              help="How many A/A comparisons (REV against itself).")
@max_slowdown_option
@click.option("--case", default=None, help="Workload case (default: the target's fast case).")
@click.option("--target", "target_spec", default=None, help="Target (as for `campaign compare`).")
@click.option("--max-blocks", type=click.IntRange(2, 1000), default=None, help="Most blocks per comparison.")
@click.option("--budget", "budget_s", type=float, default=None, help="Seconds per comparison.")
@quiet_option
@dir_option
@json_option
def noise(rev, runs, max_slowdown, case, target_spec, max_blocks, budget_s, quiet, workspace, as_json):
    """Run N A/A comparisons of your own benchmark: the measured false-alarm rate and the detectable effect.

    Each run is `campaign compare REV REV` with the same settings as a real
    comparison; a verdict of faster or slower on identical code is a false
    alarm, and so is a gate (--max-slowdown) that would fail. The rates come
    with 95% Wilson intervals.
    """
    from campaign.cli.live import live_progress
    from campaign.measure.compare import CompareError
    from campaign.measure.noise import format_text, run_noise

    try:
        with live_progress(quiet or as_json) as progress:
            result = run_noise(workspace, rev, runs, max_slowdown=max_slowdown, case=case, target_spec=target_spec,
                               max_blocks=max_blocks, budget_s=budget_s, progress=progress)
    except CompareError as exc:
        raise CampaignError(str(exc)) from None
    emit(result, as_json, format_text)
