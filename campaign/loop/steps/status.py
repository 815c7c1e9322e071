"""STATUS: where the campaign stands and the one command due next - from the journal.

Takes no lock, so it answers while another command runs: it names that
command while its process lives (a killed one's leftover holder file is not
"running"; then ``recovery_note`` says how to continue). Reads the journal's
protected copy when the journal lost events, and git only once the journal
says finished: FINISHED needs the post tag and the merge, else FINISH is
due. Reports a torn last journal line, the Amdahl warning and init's
warnings, and the agent's reported spend (``agent_usage``). For a campaign that ``campaign run`` drives, ``next`` is
``campaign run --resume`` once that run has stopped (``status_next``).
Refuses nothing.
"""

from __future__ import annotations

from typing import Any

from campaign.loop import machine
from campaign.loop import record, record_guard
from campaign.loop.machine import Step
from campaign.loop.state import IterationSummary
from campaign.loop.steps.context import CampaignContext
from campaign.loop.render import full_case_failure
from campaign.loop.steps.finish import finish_missing
from campaign.loop.steps.profile import amdahl_warnings


STATUS_ROW = ("title", "phase", "predicted", "speedup", "ci", "verdict", "cumulative", "test_passed", "kept", "commit")


def iteration_row(summary: IterationSummary) -> dict[str, Any]:
    """One iteration as ``status`` (and ``campaign run``'s result) lists it: its ``IterationSummary``, by the keys
    status has always used. ``cumulative`` only on a kept row: on a reverted or open one it is the candidate against
    the baseline, not where the campaign stands (the optimization log shows "—" there)."""
    row = {"iteration": summary.n, **{key: getattr(summary, key) for key in STATUS_ROW}}
    if summary.kept is not True:
        row["cumulative"] = None
    return row


def _record_warnings(ctx: CampaignContext, contents: Any, init: record.Init) -> list[str]:
    """init's warnings, a torn last line, and a journal read from its protected copy."""
    warnings = [w for w in init.warnings or [] if isinstance(w, str)]
    if contents.torn is not None:
        warnings.append(contents.torn.message(ctx.journal.path))
    if contents.from_copy:
        warnings.append(f"the journal {ctx.journal.path} lost {contents.from_copy} event(s) (deleted or replaced); "
                        f"this status reads its protected copy {ctx.journal.copy_path}, and the next command "
                        f"restores the journal from it.")
    return warnings


def _finish_check(ctx: CampaignContext, state: machine.State, init: record.Init, warnings: list[str]) -> bool:
    """A finished journal checked against git: an incomplete finish makes FINISH due again. True when the
    campaign finished in another repository (exported without its tags and branch)."""
    missing = finish_missing(ctx, state) if state.step is Step.DONE else []
    finish = state.finish or record.Finish()
    elsewhere = bool(missing) and record_guard.finished_elsewhere(ctx.repo, init, finish)
    if elsewhere:  # exported without its tags and branch: finished where it was made, nothing to complete here
        missing = []
        merged = finish.merged_into or init.start_branch
        warnings.append(f"this campaign finished in the repository where it was made (merged into {merged} there); "
                        f"it came here without its tags and branch, so there is nothing to finish or resume. "
                        f"`campaign review`, `campaign report` and `campaign replay` read it as it is.")
    if missing:
        state.step = Step.FINISH
        warnings.append(f"the finish is incomplete: {' and '.join(missing)} "
                        f"{'is' if len(missing) == 1 else 'are'} missing; `campaign finish` completes it.")
    if state.step is not Step.DONE:
        warnings += amdahl_warnings(state)
    return elsewhere


def _running(ctx: CampaignContext, lease: dict[str, Any] | None) -> dict[str, Any] | None:
    """The command holding the lock while its process lives (or the driving run's, across PID namespaces)."""
    holder = record_guard.running_command(ctx.lock)
    if holder is None and lease is not None:  # in another PID namespace the holder's pid is not visible
        held = ctx.lock.holder()
        holder = held if held is not None and held.get("pid") == lease.get("pid") else None
    return holder


def status(ctx: CampaignContext) -> dict[str, Any]:
    """Where the campaign stands: the journal (or its protected copy), checked against git when finished."""
    from campaign.loop.driver import live_lease

    contents = ctx.journal.read_protected()
    state = machine.derive(contents.events)
    init = state.init or record.Init()
    warnings = _record_warnings(ctx, contents, init)
    elsewhere = _finish_check(ctx, state, init, warnings)
    lease = live_lease(ctx.driver_folder)
    holder = _running(ctx, lease)
    current = state.current
    return {
        "ok": True,
        "name": ctx.name,
        "workspace": str(ctx.workspace),
        "record": str(ctx.record_dir),
        "target": init.target_name,
        "goal_speedup": init.goal_speedup,
        "max_iterations": init.max_iterations,
        "iteration": current.n if current else 0,
        "iterations_done": len(state.finished_iterations),
        "kept": state.kept_count,
        "cumulative_speedup": state.cumulative,
        "cumulative_ci": state.cumulative_ci,
        "iterations": [iteration_row(s) for s in state.summaries()],
        "step": state.step.value,
        "next": status_next(ctx, state, lease),
        "agent": state.run.to_json() if state.run else None,
        "finished": state.step is Step.DONE,
        "finished_elsewhere": elsewhere,
        "final": state.finish.to_json() if state.finish else None,
        "warnings": warnings,
        "recovery": None if holder else recovery_note(state),
        "exhausted": state.exhausted,
        "skipped": state.skipped,
        "running": holder,
        "events": len(contents.events),
        "agent_usage": agent_usage(contents.events, state),
        "attempts": attempts_in_flight(contents.events, state),  # `campaign run --parallel`
    }


def attempts_in_flight(events: list[dict[str, Any]], state: machine.State) -> list[dict[str, Any]]:
    from campaign.loop.attempts import live_view
    from campaign.loop.journal import now_iso

    return live_view(events, state, now_iso())


def agent_usage(events: list[dict[str, Any]], state: machine.State) -> dict[str, Any]:
    """The agent's reported spend, summed per iteration and for the campaign, beside the run's budget."""
    from campaign.loop import usage

    budget_usd, budget_tokens = usage.budget(state.run)
    return {**usage.summarize(events), "budget_usd": budget_usd, "budget_tokens": budget_tokens}


def status_next(ctx: CampaignContext, state: machine.State, lease: dict[str, Any] | None = None) -> dict[str, str]:
    """What ``status`` names next. For a campaign a ``campaign run`` drives: ``campaign run --resume``
    once that run has stopped (it continues with the recorded agent), or that the run is still at it;
    the manual step command beside it either way (``manual``).

    Whether the run is alive is its driver lease's heartbeat (``campaign.loop.driver``), not ``kill -0``:
    an agent's tool shell in its own PID namespace sees the same answer as the user's terminal."""
    nxt = ctx.next_step(state)
    if state.run is None or state.step is Step.DONE:
        return nxt
    agent = state.run.agent
    if lease is not None:
        pid, agent = lease.get("pid"), lease.get("agent") or agent
        return {**nxt, "manual": nxt["command"], "command": "campaign status",
                "description": f"{nxt['description']}: `campaign run` (pid {pid}, agent {agent!r}) is doing it "
                               f"now and only it writes the record: its agent answers it and never runs steps; "
                               f"watch with `campaign status`"}
    return {**nxt, "manual": nxt["command"], "command": " ".join(["campaign run --resume", ctx.cli_extra]).strip(),
            "description": f"{nxt['description']} (a `campaign run` with agent {agent!r} drove this campaign and "
                           f"stopped: resume it, or run the step by hand: {nxt['command']})"}


def recovery_note(state: machine.State) -> str | None:
    """What an interrupted command left behind, and how the next command continues."""
    last = state.last_event["type"] if state.last_event else None
    it = state.current
    if state.full_case_failed and state.step is not Step.DONE:
        return (f"FINISH refused: {full_case_failure(state.validation)}; nothing was tagged or merged. Fix it in "
                f"a new iteration (THINK, PLAN, edit, `campaign try`: its TEST includes the full case), then "
                f"`campaign decide` and `campaign finish` again.")
    if state.step is Step.INIT and state.init is not None:
        return ("`campaign init` was interrupted after recording the campaign; `campaign init --resume` "
                "completes the tag, branch, baseline and start commit.")
    if state.step is Step.TRY and last in ("implement", "test"):
        return (f"`campaign try` of iteration {it.n} was interrupted ({last} recorded, "
                f"{'BENCHMARK' if last == 'test' else 'TEST'} missing); run `campaign try` again.")
    if state.step is Step.COMMIT:
        return (f"the LOG of iteration {it.n} kept the change but no commit is recorded (interrupted); "
                f"`campaign log` (or any next command) completes the commit - a commit already on HEAD is reused.")
    if state.step is Step.REVERT:
        return (f"the LOG of iteration {it.n} rejected the change but no revert is recorded (interrupted); "
                f"`campaign log` (or any next command) completes the revert.")
    if state.step is Step.FINISH and state.finish is not None:
        return ("`campaign finish` was interrupted or failed after recording the finish: the post-optimization "
                "tag or the merge is missing; `campaign finish` completes them.")
    return None
