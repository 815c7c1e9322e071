"""Measurement commands: ``campaign compare``.

Thin wiring: parse, call ``campaign.measure.compare.compare_commits``, print. Heavy
modules (git, numpy, scipy) are imported inside the function body only.
"""

from __future__ import annotations

from pathlib import Path

import click

from campaign.cli.common import CampaignError, dir_option, emit, json_option, quiet_option
from campaign.cli.gate_cmds import apply_gate, max_slowdown_option


def _default(key: str) -> str:
    """The help's ``[default: N]`` from the settings themselves, so the two cannot drift apart (issue 24)."""
    from campaign.measure.settings import MeasureSettings

    value = getattr(MeasureSettings(), key)
    return f"[default: {value if isinstance(value, str) else format(value, 'g')}, or campaign.toml [measure] {key}]"


@click.command(name="compare")
@click.argument("old")
@click.argument("new")
@click.option("--case", default=None, help="Workload case (default: the target's fast case).")
@click.option("--target", "target_spec", default=None,
              help="Target: built-in name, module:Class or a campaign.toml (default: campaign.toml in the repo, "
                   "else the only campaign under optim/).")
@click.option("--instructions", is_flag=True, help="Also count instructions (deterministic): by the CPU's counters where the "
              "machine exposes them, else under valgrind (slow).")
@click.option("--max-blocks", type=click.IntRange(2, 1000), default=None,
              help=f"Most interleaved blocks (each runs both commits twice in fresh processes). {_default('max_blocks')}")
@click.option("--min-blocks", type=click.IntRange(1, 1000), default=None, help=f"First look at the data. {_default('min_blocks')}")
@click.option("--budget", "budget_s", type=float, default=None,
              help=f"Seconds to spend measuring before deciding with what there is. {_default('budget_s')}")
@click.option("--min-effect", type=float, default=None,
              help=f"Smallest effect worth resolving, e.g. 0.02 for 2%: below it the verdict is `same`. {_default('min_effect')}")
@click.option("--alpha", type=float, default=None,
              help=f"Chance that identical code is called faster or slower, over the whole benchmark. {_default('alpha')}")
@click.option("--metric", type=click.Choice(["auto", "wall", "cpu"]), default=None,
              help="Which time decides: the process's CPU time (single-threaded code on a busy machine), wall time, "
                   f"or auto: chosen from the runs' own evidence and named beside the verdict. {_default('metric')}")
@click.option("--gate", is_flag=True,
              help="CI gate: exit 4 only on a significant slowdown beyond --max-slowdown (see docs/ci.md).")
@max_slowdown_option
@click.option("--summary", "summary_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="With --gate: write the markdown summary here (it is also appended to $GITHUB_STEP_SUMMARY).")
@click.option("--junit", "junit_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="With --gate: write a JUnit XML report here.")
@quiet_option
@dir_option
@json_option
def compare(old: str, new: str, case: str | None, target_spec: str | None, instructions: bool,
            max_blocks: int | None, min_blocks: int | None, budget_s: float | None, min_effect: float | None,
            alpha: float | None, metric: str | None, gate: bool, max_slowdown: float, summary_path: Path | None,
            junit_path: Path | None, quiet: bool, workspace: Path, as_json: bool) -> None:
    """Benchmark commit NEW against commit OLD (interleaved, fresh processes, temporary worktrees).

    Prints a per-phase table, the verdict (faster / slower / same /
    inconclusive), the confidence interval that decided it (with its level)
    and the measured noise. With --gate, OLD is the base and NEW the head of
    a change: exit 4 only when NEW is significantly slower by more than
    --max-slowdown. Defaults come from [measure] in campaign.toml or
    [tool.campaign.measure] in pyproject.toml; flags override them.
    """
    from campaign.measure.compare import CompareError, compare_commits, format_comparison

    from campaign.cli.live import live_progress

    try:
        with live_progress(quiet or as_json) as progress:  # --json: no progress either (docs/contract.md)
            progress(f"compare {old} (old) with {new} (new): worktrees, build, calibration...")
            result = compare_commits(workspace, old, new, case=case, target_spec=target_spec,
                                     instructions=instructions, max_blocks=max_blocks, budget_s=budget_s,
                                     progress=progress,
                                     settings={"min_blocks": min_blocks, "min_effect": min_effect, "alpha": alpha,
                                               "metric": metric})
    except CompareError as exc:
        raise CampaignError(str(exc)) from None
    if gate:
        from campaign.cli.common import emit_failure
        from campaign.contract import ExitCode

        result["gate"] = apply_gate(result, max_slowdown, summary_path, junit_path)
        text = lambda r: f"{format_comparison(r)}\ngate: {'PASS' if r['gate']['passed'] else 'FAIL'}: {r['gate']['reason']}"  # noqa: E731
        if not result["gate"]["passed"]:
            emit_failure(result, as_json, text, "gate_failed", result["gate"]["reason"], ExitCode.FINDINGS)
        emit(result, as_json, text)
        return
    emit(result, as_json, format_comparison)
