"""Autonomous campaigns and records: ``campaign run``, ``campaign demo``, ``campaign replay``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from campaign.cli.common import dir_option, emit, emit_failure, json_option, quiet_option
from campaign.contract import ExitCode
from campaign.cli.common import user_errors as _errors


def _progress(quiet: bool):
    """A live line on a terminal, heartbeats in a log (``campaign.cli.live``); ``--quiet``: none."""
    from campaign.cli.live import live_progress

    return live_progress(quiet)


def _summary_text(result: dict[str, Any]) -> str:
    where = "finished" if result.get("finished") else f"step {result.get('step')}"  # not "step done" after a finish
    lines = [f"campaign {result.get('name')!r}: {where}"]
    for row in result.get("iterations", []):
        speed = "-" if row.get("speedup") is None else f"{row['speedup']:.2f}x"
        # the row carries a cumulative only where the change was kept (campaign.loop.steps.status.iteration_row)
        cum = "" if row.get("cumulative") is None else f" (cumulative {row['cumulative']:.2f}x)"
        kept = {True: "kept", False: "reverted", None: "open"}[row.get("kept")]
        lines.append(f"  iter {row['iteration']:>2}: {kept:<8} {row.get('verdict') or 'test-failed':<12} {speed:>8}{cum}  {row.get('title')}")
    final = result.get("final") or {}
    if final.get("final_speedup"):
        from campaign.agents.runner import final_speedup_text

        lines.append(f"final: {final_speedup_text(final)}")
    from campaign.cli.status_cmds import spend_line

    spend = spend_line(result.get("agent_usage"))
    if spend:
        lines.append(spend)
    if result.get("interrupted"):
        lines.append("interrupted: `campaign run --resume` continues")
    lines.append(f"record: {result.get('record')}")
    return "\n".join(lines)


@click.command("run")
@click.option("--target", "target_spec", default=None, metavar="SPEC", help="What to optimize (see `campaign targets`).")
@click.option("--agent", "agent_kind", type=click.Choice(["playbook", "command", "claude", "codex", "aider", "prompt"]),
              default=None, help="Who thinks, implements and logs: playbook (the target's catalogue, deterministic; "
              "the default for a new campaign), claude (Claude Code), codex (Codex CLI), aider, prompt (any CLI that "
              "takes a prompt: --agent-cmd 'tool -p {prompt}'), command (a program speaking the JSON protocol). "
              "--resume reuses the recorded agent.")
@click.option("--agent-cmd", default=None, metavar="CMD",
              help="command: the program (JSON request on stdin and in $CAMPAIGN_REQUEST, JSON answer on stdout or in "
              "$CAMPAIGN_ANSWER); prompt: the command line, {prompt} or {prompt_file} replaced (else the prompt is on "
              "stdin); claude/codex/aider: the executable (default: found on PATH).")
@click.option("--agent-timeout", default=None, type=float, help="Seconds an agent may take per step (default 1800).")
@click.option("--name", default=None, help="Campaign name (default: the target's name).")
@click.option("--goal-speedup", default=None, metavar="X", help="Stop when the cumulative speedup reaches X (default 2).")
@click.option("--max-iterations", default=None, type=int, help="Iteration cap (default 15).")
@click.option("--budget-usd", default=None, type=click.FloatRange(min=0, min_open=True), metavar="X",
              help="Stop at DECIDE once the agent's reported cost reaches X US dollars (kept by --resume).")
@click.option("--budget-tokens", default=None, type=click.IntRange(min=1), metavar="N",
              help="Stop at DECIDE once the agent's reported tokens (in + out) reach N (kept by --resume).")
@click.option("--parallel", default=None, type=click.IntRange(min=1), metavar="K",
              help="Keep K attempts in flight: THINK gives K options, K agents implement them at once, each in its "
              "own git worktree; TEST + BENCHMARK stay one at a time on this host (kept by --resume).")
@click.option("--cluster", default=None, metavar="SCHEDULER",
              help="Run each attempt's TEST + BENCHMARK whole on a worker of this Dask scheduler (an address, or "
              "a scheduler file *.json); workers need `--resources measure=1` (kept by --resume; `--resume --cluster "
              "local` measures here instead; docs/scaling.md).")
@click.option("--resume", is_flag=True, help="Continue the campaign in --dir where it stopped (crash, Ctrl-C, agent failure).")
@quiet_option
@dir_option
@json_option
@_errors
def run(target_spec, agent_kind, agent_cmd, agent_timeout, name, goal_speedup, max_iterations, budget_usd, budget_tokens,
        parallel, cluster, resume, quiet, workspace, as_json):
    """Drive a whole campaign: the framework runs every step, the agent thinks, implements and logs.

    Progress goes to stderr (--quiet: none); Ctrl-C stops cleanly after the current step.

    \b
    Examples:
      campaign run --target campaign.toml --agent claude
      campaign run --target campaign.toml --agent codex
      campaign run --target campaign.toml --agent aider
      campaign run --target campaign.toml --agent prompt --agent-cmd 'gemini -p {prompt}'
      campaign run --target campaign.toml --agent claude --budget-usd 5
      campaign run --target campaign.toml --agent claude --parallel 3
      campaign run --resume       # continues with the agent on record
    """
    from campaign.review.trust import remember_trusted
    from campaign.agents.launch import run_campaign

    with _progress(quiet) as say:
        result = run_campaign(workspace, target_spec, agent_kind, agent_cmd, name, goal_speedup, max_iterations,
                              resume, say, agent_timeout,
                              {"budget_usd": budget_usd, "budget_tokens": budget_tokens}, parallel, cluster)
    if result.get("finished"):
        remember_trusted(Path(result["record"]))
    if result.get("interrupted"):
        emit_failure(result, as_json, _summary_text, "interrupted",
                     "interrupted: `campaign run --resume` continues where it stopped", ExitCode.INTERRUPTED)
    emit(result, as_json, _summary_text)


@click.command("demo")
@click.argument("target_spec", required=False, default="weight_search", metavar="[TARGET]")
@click.option("--workdir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where to create the scratch workspace (must be empty or absent; default: a new temp dir).")
@click.option("--max-iterations", default=None, type=int, help="Iteration cap (default 15).")
@click.option("--goal-speedup", default=None, metavar="X", help="Goal speedup (default: the target's demo goal).")
@click.option("--export", "export_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Also copy the finished record to EXPORT/<name>/ (how optim/weight_search/ is produced).")
@quiet_option
@json_option
@_errors
def demo(target_spec, workdir, max_iterations, goal_speedup, export_dir, quiet, as_json):
    """Run the playbook campaign on TARGET (default weight_search) in a scratch git workspace.

    Creates the workspace with the target's naive baseline, runs `campaign run
    --agent playbook` in it, and prints the summary and where the logs are.
    """
    from campaign.agents.demo import run_demo

    with _progress(quiet) as say:
        result = run_demo(target_spec, workdir, max_iterations, goal_speedup, export_dir, say)

    def text(r):
        summary = Path(r["record"]) / "summary.md"
        body = summary.read_text() if summary.exists() else _summary_text(r)
        return (f"{body}\n\nworkspace: {r['workspace']}\nlogs: {r['record']}/optimization_log.md, "
                f"{r['record']}/thinking_log.md, {r['record']}/summary.md\nwall time: {r['wall_s']:.0f} s")

    emit(result, as_json, text)


@click.command("replay")
@click.argument("record_dir", type=click.Path(path_type=Path))
@click.option("--iterations", default=None, metavar="A..B", help="Re-measure only these iterations (e.g. 2..4).")
@click.option("--trust", is_flag=True, help="Run a record from an unknown source (replay executes its code).")
@click.option("--keep-workspace", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Rebuild the workspace here and keep it (default: a temp dir, removed).")
@quiet_option
@json_option
@_errors
def replay(record_dir, iterations, trust, keep_workspace, quiet, as_json):
    """Rebuild a campaign from its record and re-verify every attempt (TEST + BENCHMARK).

    Exit code 0 only when every verdict matches the recorded one and the logs
    re-render identically; 4 otherwise.
    """
    from campaign.review.replay import format_table, replay as do_replay

    with _progress(quiet) as say:
        from campaign.loop.record_store import resolve_record_dir

        result = do_replay(resolve_record_dir(record_dir), iterations, trust, say, keep_workspace)
    if not result["ok"]:
        emit_failure(result, as_json, format_table, "replay_mismatch",
                     "the replay disagrees with the record (see the rows marked NO)", ExitCode.FINDINGS)
    emit(result, as_json, format_table)
