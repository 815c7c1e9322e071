"""The change measured and judged: ``campaign try`` (IMPLEMENT + TEST + BENCHMARK) and ``campaign log``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from campaign.contract import ExitCode
from campaign.cli.common import dir_option, emit, emit_failure, json_option, quiet_option
from campaign.cli.common import user_errors as _errors
from campaign.cli.loop_common import live, name_option, next_line, open_campaign, times_text


# -- try ----------------------------------------------------------------------------


@click.command("try")
@click.option("--full", is_flag=True, help="Also TEST and BENCHMARK the full-scale case (automatic every 3rd kept iteration).")
@click.option("--more", is_flag=True,
              help="While LOG is due: more blocks for this attempt's inconclusive benchmark, pooled with the blocks "
                   "it measured on the same metric, decided once more (at most twice per attempt).")
@click.option("--blocks", type=int, default=None, metavar="N",
              help="With --more: how many blocks (default: what the benchmark said a decision needs; at most "
                   "max_blocks of the measurement settings).")
@name_option
@quiet_option
@dir_option
@json_option
@_errors
def try_(full, more, blocks, name, quiet, workspace, as_json):
    """IMPLEMENT + TEST + BENCHMARK the working-tree change.

    Captures the diff (optim/<name>/patches/), refuses edits outside the
    target's scope, compares the outputs with the baseline's (per-output
    tolerances) and runs the target's test command; when TEST passes,
    benchmarks the candidate against the last kept commit and the baseline,
    interleaved. Exit code 3 when TEST fails (then `campaign log` reverts).
    """
    if blocks is not None and not more:
        raise click.UsageError("--blocks goes with --more.")
    with live(quiet) as say:
        camp = open_campaign(workspace, name, say)
        result = camp.try_more(blocks, progress=say) if more else camp.try_change(full=full, progress=say)

    def text(r):
        if not r["ok"]:
            from campaign.measure.correctness import test_command_failure
            from campaign.measure.junit import describe_failed

            reasons = [str(f.get("message") or f.get("output")) for f in r["test"]["failures"]]
            cmd = r["test"].get("test_command") or {}
            if cmd and not cmd.get("passed"):
                reasons += [describe_failed(cmd.get("failed_tests") or [])]
                reasons.append(test_command_failure(cmd))
            return f"TEST FAILED: {'; '.join(r for r in reasons if r)}\n" + next_line(r)
        b = r["benchmark"]
        from campaign.measure.stats import describe_interval

        vs = b.get("vs_baseline")
        line = (f"TEST passed. BENCHMARK ({b['case']}): {b['verdict']} {times_text(b['speedup'])} vs last kept "
                f"({describe_interval(b['ci'], b.get('ci_level'), b.get('ci_kind'), b.get('metric'))}); "
                + (f"{times_text(vs['speedup'])} vs baseline" if vs else "not measured vs baseline (not faster)"))
        if r.get("extended"):
            last = r["extended"]["history"][-1]
            line += f" after {last['blocks_added']} more blocks pooled with {last['blocks_before']}"
        if b.get("policy") and b["verdict"] not in ("faster", "slower"):
            line += f"; policy: {b['policy']}"
        from campaign.loop.steps.more_blocks import MORE_LIMIT

        from campaign.loop.record import Extension

        extensions = Extension.from_json(r["extended"]).count if r.get("extended") else 0
        if b["verdict"] == "inconclusive" and extensions < MORE_LIMIT:
            line += "\nmore blocks for this attempt, pooled with these: campaign try --more"
        if b.get("full"):
            line += f"; full case {times_text(b['full']['speedup'])} ({b['full']['verdict']})"
        return line + "\n" + memory_note(b, camp.workspace) + next_line(r)

    if not result["ok"]:
        emit_failure(result, as_json, text, "test_failed",
                     "TEST failed: the change will be reverted at LOG (its diff is kept in patches/). "
                     f"Run: {result['next']['command']}", ExitCode.TEST_FAILED)
    emit(result, as_json, text)


def memory_note(bench: dict[str, Any], workspace: Path) -> str:
    """The peak-memory line after BENCHMARK, warning before LOG when the change needs --accept-memory."""
    from campaign.measure import memory
    from campaign.measure.settings import SettingsError, load_settings

    try:
        limit = load_settings(workspace).memory_limit
    except SettingsError:
        limit = memory.DEFAULT_LIMIT
    mem = memory.change(bench, limit)
    if mem is None:
        return ""
    if mem["over_limit"]:
        return (f"{memory.over_limit_text(mem)}: LOG reverts it unless you add --accept-memory REASON "
                f"(why the memory is worth the speed)\n")
    return memory.describe(mem) + "\n"


# -- log ----------------------------------------------------------------------------


@click.command("log")
@click.option("--surprise", default=None, help="MANDATORY: what surprised you (prediction vs reality); 'None' if nothing.")
@click.option("--notes", default=None, help="Observations, what to try next.")
@click.option("--why", default=None, help="Postmortem: why the result diverged from the prediction.")
@click.option("--lesson", default=None, help="Postmortem: what this teaches about the code.")
@click.option("--keep", default=None, metavar="REASON",
              help="Keep a change the benchmark calls 'same' or 'inconclusive' (never a slower or failed one).")
@click.option("--accept-memory", default=None, metavar="REASON",
              help="Keep a change whose peak memory rises beyond the memory limit (default +25%), saying why it is "
                   "worth it; without it such a change is reverted.")
@click.option("--memory-limit", default=None, metavar="PCT",
              help="The memory limit for this LOG (e.g. 40%); default: memory_limit in [measure] of campaign.toml, "
                   "else 25%. Recorded with the LOG.")
@name_option
@dir_option
@json_option
@_errors
def log(surprise, notes, why, lesson, keep, accept_memory, memory_limit, name, workspace, as_json):
    """LOG, then COMMIT (kept) or REVERT.

    Kept only when TEST passed and BENCHMARK says 'faster' (or 'same'/'inconclusive' with --keep REASON).
    A postmortem (--why, --lesson) is required when the result misses the prediction by more than the
    postmortem factor (1.5x) either way. With no options after an interrupted LOG, completes its commit/revert.

    Example: campaign log --surprise "None - matched the prediction" --notes "next: the load phase"
    """
    from campaign.measure import memory as _memory

    limit = None
    if memory_limit is not None:
        try:
            limit = _memory.parse_limit(memory_limit)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--memory-limit") from None
    result = open_campaign(workspace, name).log(surprise, notes, why, lesson, keep, accept_memory, limit)

    def text(r):
        if r.get("completed"):
            return r["message"] + "\n" + next_line(r)
        from campaign.loop.record import Revert

        revert = Revert.from_json(r["revert"]) if r.get("revert") else Revert()
        outcome = f"kept and committed ({(r['commit'] or '')[:10]})" if r["kept"] else \
            f"reverted ({revert.reason}; diff kept in {revert.patch})"
        mem = r.get("memory")
        lines = [f"iteration {r['iteration']} logged: {outcome}"]
        if mem:
            lines.append(_memory.describe(mem) + (f"; accepted: {mem['accepted']}" if mem.get("accepted") else ""))
        if mem and mem.get("refused"):
            lines.append(f"reverted for memory: {r['refused']}")
        return "\n".join(lines) + "\n" + next_line(r)

    emit(result, as_json, text)
