"""Measurement commands: ``campaign compare``.

Thin wiring: parse, call ``campaign.measure.compare.compare_commits``, print. Heavy
modules (git, numpy, scipy) are imported inside the function body only.
"""

from __future__ import annotations

from pathlib import Path

import click

from campaign.cli.common import CampaignError, dir_option, emit, json_option


@click.command(name="compare")
@click.argument("old")
@click.argument("new")
@click.option("--case", default=None, help="Workload case (default: the target's fast case).")
@click.option("--target", "target_spec", default=None,
              help="Target: built-in name, module:Class or a campaign.toml (default: campaign.toml in the repo, "
                   "else the only campaign under optim/).")
@click.option("--instructions", is_flag=True, help="Also count instructions under valgrind (slow, deterministic).")
@click.option("--max-blocks", type=click.IntRange(3, 1000), default=30, show_default=True,
              help="Most interleaved blocks (each runs both commits twice in fresh processes).")
@click.option("--budget", "budget_s", type=float, default=120.0, show_default=True,
              help="Seconds to spend measuring before deciding with what there is.")
@dir_option
@json_option
def compare(old: str, new: str, case: str | None, target_spec: str | None, instructions: bool, max_blocks: int,
            budget_s: float, workspace: Path, as_json: bool) -> None:
    """Benchmark commit NEW against commit OLD (interleaved, fresh processes, temporary worktrees).

    Prints a per-phase table, the verdict (faster / slower / same /
    inconclusive) and the 95% confidence interval of NEW's speedup over OLD.
    """
    from campaign.measure.compare import CompareError, compare_commits, format_comparison

    progress = None if as_json else (lambda line: click.echo(line, err=True))
    try:
        result = compare_commits(workspace, old, new, case=case, target_spec=target_spec, instructions=instructions,
                                 max_blocks=max_blocks, budget_s=budget_s, progress=progress)
    except CompareError as exc:
        raise CampaignError(str(exc)) from None
    emit(result, as_json, format_comparison)
