"""Where the campaign stands: ``campaign status`` (the compass) and ``campaign render`` (the logs again)."""

from __future__ import annotations

from typing import Any

import click

from campaign.cli.common import dir_option, emit, json_option
from campaign.cli.common import user_errors as _errors
from campaign.cli.loop_common import name_option, next_line, open_campaign, times_text


# -- status -------------------------------------------------------------------------


def _status_text(r: dict[str, Any]) -> str:
    """The status to the terminal's width: the iterations as a table whose titles wrap at words."""
    from campaign.measure.humane import fit, goal, span, table

    state = ("FINISHED elsewhere (exported record)" if r.get("finished_elsewhere")
             else "FINISHED" if r["finished"] else "iteration " + str(r["iteration"]))
    lines = [f"campaign {r['name']} (target {r['target']}, goal {goal(r['goal_speedup'])}, "
             f"cap {r['max_iterations']} iterations) - {state}"]
    lines.append(f"cumulative speedup: {times_text(r['cumulative_speedup'])}"
                 + (f" (interval {span(r['cumulative_ci'])})" if r.get("cumulative_ci") else "")
                 + f"; {r['iterations_done']} iteration(s) done, {r['kept']} kept")
    rows = []
    for it in r["iterations"]:
        if it["kept"] is None:
            outcome = "in progress"
        elif it["kept"]:
            outcome = f"kept {times_text(it['speedup'])} (cumulative {times_text(it['cumulative'])})"
        elif it["test_passed"] is False:
            outcome = "TEST FAILED, reverted"
        else:
            outcome = f"reverted {times_text(it['speedup'])} ({it['verdict']})"
        rows.append([str(it["iteration"]), it["phase"] or "-", it["title"], times_text(it["predicted"]), outcome])
    if rows:
        lines += table(["iter", "phase", "change", "predicted", "outcome"], rows, wrap=("change",))
    agent = r.get("agent")
    if agent and agent.get("cluster"):  # `campaign run --cluster`, kept for `--resume`
        lines.append(f"cluster: TEST + BENCHMARK on the workers of {agent['cluster']} (--resume measures there)")
    for a in r.get("attempts") or []:  # `campaign run --parallel`: what each attempt in flight is doing
        lines.append(f"attempt {a['attempt']}: {a['step']}" + (f" on {a['host']}" if a.get("host") else "")
                     + (f", {a['elapsed_s']:.0f} s since THINK" if a.get("elapsed_s") is not None else "")
                     + f" - {a.get('title')}")
    spend = spend_line(r.get("agent_usage"))
    if spend:
        lines.append(spend)
    for warning in r["warnings"]:
        lines.append(f"warning: {warning}")
    running = r.get("running")
    if running:
        from campaign.loop.journal import command_line

        lines.append(f"running: `{command_line(running.get('argv') or [])}` (pid {running.get('pid')}, since "
                     f"{running.get('since')}); wait for it to finish, then run `campaign status` again.")
    if r.get("recovery"):
        lines.append(f"{'note' if r['recovery'].startswith('FINISH refused') else 'after a crash'}: {r['recovery']}")
    return fit(lines) + "\n" + next_line(r)


def spend_line(agent_usage: dict[str, Any] | None) -> str | None:
    """"agent spend: $0.42, 12,345 tokens (...) over 9 exchanges; budget $5.00": only when there is one to show."""
    from campaign.loop.usage import describe

    if not agent_usage:
        return None
    total = agent_usage["total"]
    limits: list[str] = []
    if agent_usage.get("budget_usd") is not None:
        limits.append(f"${agent_usage['budget_usd']:.2f}")
    if agent_usage.get("budget_tokens") is not None:
        limits.append(f"{agent_usage['budget_tokens']:,} tokens")
    if not total["reported"] and not limits:
        return None
    return f"agent spend: {describe(total)}" + (f"; budget {' and '.join(limits)}" if limits else "")


@click.command("status")
@name_option
@dir_option
@json_option
@_errors
def status(name, workspace, as_json):
    """Where the campaign stands and the exact command to run next (reads the journal only)."""
    emit(open_campaign(workspace, name).status(), as_json, _status_text)


@click.command("render")
@name_option
@dir_option
@json_option
@_errors
def render(name, workspace, as_json):
    """Re-render optimization_log.md, thinking_log.md and summary.md from the journal (idempotent)."""
    result = open_campaign(workspace, name).render()
    emit(result, as_json, lambda r: f"rendered {', '.join(r['files'])} in {r['record']} "
                                    f"({len(r['changed'])} changed)")
