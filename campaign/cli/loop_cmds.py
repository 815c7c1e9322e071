"""The loop, step by step: thin click commands over ``campaign.loop.session``.

Each command parses, calls one library function, prints (``--json``: one
JSON object). Exit codes (``campaign.contract.ExitCode``): 0 ok; 1 a user
error (the message says what to do); 2 this step may not come next (the
message names the step due and its exact command); 3 TEST failed.
``campaign status`` is the compass.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import click

from campaign.contract import ExitCode
from campaign.cli.common import dir_option, emit, emit_failure, json_option, quiet_option
from campaign.cli.common import user_errors as _errors


def _name_option(func: Callable) -> Callable:
    return click.option("--name", default=None, help="The campaign (optim/<name>/); needed only when there are several.")(func)


def _progress(quiet: bool):
    """What a long step reports to: a live line on a terminal, heartbeats in a log (``campaign.cli.live``)."""
    from campaign.cli.live import live_progress

    return live_progress(quiet)


def _note(line: str) -> None:
    click.echo(f"note: {line}", err=True)


def _open(workspace: Path, name: str | None, say: Callable[[str], None] | None = None):
    from campaign.loop.session import Campaign

    campaign = Campaign.open(workspace, name)
    campaign.notify = _note if say is None else (lambda line: say(f"note: {line}"))
    return campaign


def _next_line(result: dict[str, Any]) -> str:
    nxt = result.get("next") or {}
    return f"next: {nxt.get('description', '')}\n  {nxt.get('command', '')}"


def _x(value) -> str:
    from campaign.measure.humane import times  # 2,777x, never 2.78e+03x

    return "n/a" if value is None else times(value)


# -- init ---------------------------------------------------------------------------


@click.command("init")
@click.option("--target", "target_spec", default=None, metavar="SPEC",
              help="What to optimize: a built-in target name, 'module:Class', campaign.toml, "
                   "'pytest-benchmark:PATH' or 'perf-test:SCRIPT' (see `campaign targets`).")
@click.option("--name", default=None, help="Campaign name (default: the target's name); the record is optim/<name>/.")
@click.option("--goal-speedup", default="2", show_default=True, metavar="X",
              help="Stop when the cumulative speedup over the baseline reaches X (e.g. 3 or 3x).")
@click.option("--max-iterations", default=15, show_default=True, type=int, help="Iteration cap.")
@click.option("--resume", is_flag=True, help="Complete an interrupted init (tag, branch, baseline, start commit).")
@quiet_option
@dir_option
@json_option
@_errors
def init(target_spec, name, goal_speedup, max_iterations, resume, quiet, workspace, as_json):
    """Start a campaign on a clean git repository.

    Checks that the workload runs, tags <name>/pre-optimization, creates and
    switches to branch optimization/<name>, snapshots the scope files, records
    the baseline (optim/<name>/baseline.json), writes AGENTS.md and SKILL.md
    (for coding agents) and commits the record as the start commit. Refuses a
    dirty working tree.

    Example: campaign init --target campaign.toml --goal-speedup 3
    """
    from campaign.loop.session import init_campaign, resume_init

    with _progress(quiet) as progress:
        if resume:
            campaign = resume_init(workspace, name, progress)
        else:
            campaign = init_campaign(workspace, target_spec, name, goal_speedup, max_iterations, progress)
    result = campaign.status()
    result["step_done"] = "init"
    result["environment"] = (campaign.state().init or {}).get("environment")  # whose Python runs the workload
    emit(result, as_json, lambda r: f"campaign {r['name']} started on branch optimization/{r['name']} "
                                    f"(record: {r['record']})\n" + _env_line(r) + _next_line(r))


def _env_line(r: dict[str, Any]) -> str:
    env = r.get("environment") or {}
    return f"the workload and tests run under {env['python']} ({env['how']})\n" if env.get("python") else ""


# -- status -------------------------------------------------------------------------


def _status_text(r: dict[str, Any]) -> str:
    """The status to the terminal's width: the iterations as a table whose titles wrap at words."""
    from campaign.measure.humane import fit, goal, span, table

    state = ("FINISHED elsewhere (exported record)" if r.get("finished_elsewhere")
             else "FINISHED" if r["finished"] else "iteration " + str(r["iteration"]))
    lines = [f"campaign {r['name']} (target {r['target']}, goal {goal(r['goal_speedup'])}, "
             f"cap {r['max_iterations']} iterations) - {state}"]
    lines.append(f"cumulative speedup: {_x(r['cumulative_speedup'])}"
                 + (f" (interval {span(r['cumulative_ci'])})" if r.get("cumulative_ci") else "")
                 + f"; {r['iterations_done']} iteration(s) done, {r['kept']} kept")
    rows = []
    for it in r["iterations"]:
        if it["kept"] is None:
            outcome = "in progress"
        elif it["kept"]:
            outcome = f"kept {_x(it['speedup'])} (cumulative {_x(it['cumulative'])})"
        elif it["test_passed"] is False:
            outcome = "TEST FAILED, reverted"
        else:
            outcome = f"reverted {_x(it['speedup'])} ({it['verdict']})"
        rows.append([str(it["iteration"]), it["phase"] or "-", it["title"], _x(it["predicted"]), outcome])
    if rows:
        lines += table(["iter", "phase", "change", "predicted", "outcome"], rows, wrap=("change",))
    if (r.get("agent") or {}).get("cluster"):  # `campaign run --cluster`, kept for `--resume`
        lines.append(f"cluster: TEST + BENCHMARK on the workers of {r['agent']['cluster']} (--resume measures there)")
    for a in r.get("attempts") or []:  # `campaign run --parallel`: what each attempt in flight is doing
        lines.append(f"attempt {a['attempt']}: {a['step']}" + (f" on {a['host']}" if a.get("host") else "")
                     + (f", {a['elapsed_s']:.0f} s since THINK" if a.get("elapsed_s") is not None else "")
                     + f" - {a.get('title')}")
    spend = _spend_line(r.get("agent_usage"))
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
    return fit(lines) + "\n" + _next_line(r)


def _spend_line(agent_usage: dict[str, Any] | None) -> str | None:
    """"agent spend: $0.42, 12,345 tokens (...) over 9 exchanges; budget $5.00": only when there is one to show."""
    from campaign.loop.usage import describe

    if not agent_usage:
        return None
    total = agent_usage["total"]
    limits = [f"${agent_usage['budget_usd']:.2f}" if agent_usage.get("budget_usd") is not None else None,
              f"{agent_usage['budget_tokens']:,} tokens" if agent_usage.get("budget_tokens") is not None else None]
    limits = [x for x in limits if x]
    if not total["reported"] and not limits:
        return None
    return f"agent spend: {describe(total)}" + (f"; budget {' and '.join(limits)}" if limits else "")


@click.command("status")
@_name_option
@dir_option
@json_option
@_errors
def status(name, workspace, as_json):
    """Where the campaign stands and the exact command to run next (reads the journal only)."""
    emit(_open(workspace, name).status(), as_json, _status_text)


# -- profile ------------------------------------------------------------------------


@click.command("profile")
@click.option("--lines", "lines", multiple=True, metavar="FUNC",
              help="Also line-profile FUNC ('module:function'; repeatable).")
@_name_option
@quiet_option
@dir_option
@json_option
@_errors
def profile(lines, name, quiet, workspace, as_json):
    """PROFILE: phase times, top functions (cProfile) and, with --lines, line timings.

    Example: campaign profile --lines primes:count
    """
    from campaign.measure.profiling import format_lines

    with _progress(quiet) as say:
        result = _open(workspace, name, say).profile(list(lines), say)

    def text(r):
        out = [f"profile before iteration {r['iteration']} (total {r['total_s'] or 0:.3f} s):"]
        for phase, share in sorted((r["shares"] or {}).items(), key=lambda kv: -(kv[1] or 0)):
            bound = (r["amdahl"] or {}).get(phase)
            out.append(f"  {phase:<24} {share:6.1%}   Amdahl bound {'inf' if bound is None else f'{bound:.2f}x'}")
        for fn in r["top_functions"][:8]:
            out.append(f"  top: {fn.get('function')} ({fn.get('file')}:{fn.get('line')}) self {fn.get('tottime', 0):.3f} s, "
                       f"cum {fn.get('cumtime', 0):.3f} s")
        out += format_lines(r.get("lines") or {})
        out += [f"note: {n}" for n in r.get("notes") or []]
        out += [f"warning: {w}" for w in r["warnings"]]
        return "\n".join(out + [_next_line(r)])

    emit(result, as_json, text)


# -- think --------------------------------------------------------------------------


@click.command("think")
@click.option("--hypothesis", default=None, help="What limits performance, and why (from the profile).")
@click.option("--option", "options", multiple=True, help="An approach considered, with pros/cons (repeat 2-3 times).")
@click.option("--chosen", default=None, help="The approach you pick, and why.")
@click.option("--predict", default=None, metavar="X", help="Predicted whole-run speedup: a number, e.g. 1.5 or 1.5x.")
@click.option("--risk", default=None, help="What could go wrong or invalidate the approach.")
@_name_option
@dir_option
@json_option
@_errors
def think(hypothesis, options, chosen, predict, risk, name, workspace, as_json):
    """THINK: pre-register the iteration before touching code (a numeric prediction is required).

    Example: campaign think --hypothesis "trial division is O(n sqrt n)" --option "sieve: O(n log log n), more
    memory" --option "cache primes: small win" --chosen "sieve" --predict 5x --risk "memory at full scale"
    """
    result = _open(workspace, name).think(hypothesis, list(options), chosen, predict, risk)
    emit(result, as_json, lambda r: f"iteration {r['iteration']}: predicted {_x(r['predicted_speedup'])} recorded\n" + _next_line(r))


# -- plan ---------------------------------------------------------------------------


@click.command("plan")
@click.option("--phase", default=None, help="The profiled phase the change attacks; several that one change speeds up: 'a+b' (their shares add).")
@click.option("--change", default=None, help="What you will change (becomes the iteration's title).")
@click.option("--bottleneck", default=None, help="What the profile showed (function, line, cause).")
@click.option("--override-amdahl", default=None, metavar="REASON",
              help="Plan a phase whose share cannot reach the goal anyway (the reason is logged).")
@click.option("--function", default=None, metavar="FUNC",
              help="The profiled function the change attacks (func, Class.method, pkg.mod:func): its cumulative "
                   "share of the run, in whatever phases it runs, bounds the speedup (--phase then optional).")
@_name_option
@dir_option
@json_option
@_errors
def plan(phase, change, bottleneck, override_amdahl, function, name, workspace, as_json):
    """PLAN: name the phase (or function) and the change (one the latest profile measured).

    Example: campaign plan --phase count --change "sieve of Eratosthenes" --bottleneck "is_prime: 95% of time"
    """
    result = _open(workspace, name).plan(phase, change, bottleneck, override_amdahl, function)
    emit(result, as_json, lambda r: (
        f"iteration {r['iteration']}: plan on phase {r['phase']} recorded. IMPLEMENT now: edit files in scope "
        f"({', '.join(r['scope'])}).\n" + _next_line(r)))


# -- try ----------------------------------------------------------------------------


@click.command("try")
@click.option("--full", is_flag=True, help="Also TEST and BENCHMARK the full-scale case (automatic every 3rd kept iteration).")
@click.option("--more", is_flag=True,
              help="While LOG is due: more blocks for this attempt's inconclusive benchmark, pooled with the blocks "
                   "it measured on the same metric, decided once more (at most twice per attempt).")
@click.option("--blocks", type=int, default=None, metavar="N",
              help="With --more: how many blocks (default: what the benchmark said a decision needs; at most "
                   "max_blocks of the measurement settings).")
@_name_option
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
    with _progress(quiet) as say:
        camp = _open(workspace, name, say)
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
            return f"TEST FAILED: {'; '.join(r for r in reasons if r)}\n" + _next_line(r)
        b = r["benchmark"]
        from campaign.measure.stats import describe_interval

        vs = b["vs_baseline"]
        line = (f"TEST passed. BENCHMARK ({b['case']}): {b['verdict']} {_x(b['speedup'])} vs last kept "
                f"({describe_interval(b['ci'], b.get('ci_level'), b.get('ci_kind'), b.get('metric'))}); {_x(vs['speedup'])} vs baseline")
        if r.get("extended"):
            last = r["extended"]["history"][-1]
            line += f" after {last['blocks_added']} more blocks pooled with {last['blocks_before']}"
        if b.get("policy") and b["verdict"] not in ("faster", "slower"):
            line += f"; policy: {b['policy']}"
        from campaign.loop.steps.more_blocks import MORE_LIMIT

        if b["verdict"] == "inconclusive" and len((r.get("extended") or {}).get("history") or []) < MORE_LIMIT:
            line += "\nmore blocks for this attempt, pooled with these: campaign try --more"
        if b.get("full"):
            line += f"; full case {_x(b['full']['speedup'])} ({b['full']['verdict']})"
        return line + "\n" + memory_note(b, camp.workspace) + _next_line(r)

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
@_name_option
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
    result = _open(workspace, name).log(surprise, notes, why, lesson, keep, accept_memory, limit)

    def text(r):
        if r.get("completed"):
            return r["message"] + "\n" + _next_line(r)
        outcome = f"kept and committed ({(r['commit'] or '')[:10]})" if r["kept"] else \
            f"reverted ({(r['revert'] or {}).get('reason')}; diff kept in {(r['revert'] or {}).get('patch')})"
        mem = r.get("memory")
        lines = [f"iteration {r['iteration']} logged: {outcome}"]
        if mem:
            lines.append(_memory.describe(mem) + (f"; accepted: {mem['accepted']}" if mem.get("accepted") else ""))
        if mem and mem.get("refused"):
            lines.append(f"reverted for memory: {r['refused']}")
        return "\n".join(lines) + "\n" + _next_line(r)

    emit(result, as_json, text)


# -- decide / skip / finish / render ---------------------------------------------------------


@click.command("decide")
@click.option("--exhausted", is_flag=True,
              help="Declare the current bottleneck (the plan's phase) exhausted; needs --why. The campaign stops "
                   "when every phase with >5% share is exhausted, otherwise it re-profiles.")
@click.option("--stop", is_flag=True,
              help="Stop the campaign now (out of time, the goal changed); needs --why. Recorded and rendered; "
                   "FINISH is then due. Also allowed between iterations.")
@click.option("--why", default=None, help="Why the bottleneck is exhausted, or why you stop (with --stop).")
@click.option("--phase", default=None,
              help="With --exhausted between iterations (PROFILE/THINK due): the phase you have no idea left for "
                   "(default: the largest open phase).")
@_name_option
@dir_option
@json_option
@_errors
def decide(exhausted, stop, why, phase, name, workspace, as_json):
    """DECIDE: apply the stopping rules (goal, 3 iterations under 5%, iteration cap, exhausted).

    Also allowed between iterations as `decide --exhausted --why T [--phase P]`:
    declare that you have no idea left for a phase instead of inventing a change.
    `decide --stop --why T` ends the campaign for a reason of yours (out of
    time, the goal changed): recorded, rendered, then `campaign finish`.
    """
    result = _open(workspace, name).decide(exhausted, why, phase, stop)
    emit(result, as_json, lambda r: f"{'STOP' if r['stop'] else 'continue'} ({r['rule']}): {r['reason']}\n" + _next_line(r))


@click.command("skip")
@click.option("--why", default=None, help="Why you are stuck on this bottleneck (required).")
@_name_option
@dir_option
@json_option
@_errors
def skip(why, name, workspace, as_json):
    """Skip the current bottleneck after 3 failed attempts on it, with a written reason."""
    result = _open(workspace, name).skip(why)
    emit(result, as_json, lambda r: f"skipped {r['bottleneck']} after {r['failed_attempts']} failed attempts\n" + _next_line(r))


@click.command("finish")
@_name_option
@quiet_option
@dir_option
@json_option
@_errors
def finish(name, quiet, workspace, as_json):
    """FINISH: TEST and benchmark of the full case vs the baseline, tag <name>/post-optimization, merge back.

    A full case whose outputs differ from the baseline's refuses the finish
    (exit code 3, the output named): nothing is tagged or merged, and the fix
    is a new iteration (THINK is due).
    """
    from campaign.review.trust import remember_trusted

    with _progress(quiet) as say:
        campaign = _open(workspace, name, say)
        result = campaign.finish(progress=say)
    remember_trusted(campaign.record_dir)  # this machine made the record: `campaign replay` may run it
    emit(result, as_json, lambda r: (
        f"finished: {_x(r['final_speedup'])} over baseline; full case "
        + (f"{r['validation']['case']!r}: outputs match the baseline's, " if (r.get("validation") or {}).get("passed") else "")
        + f"{_x((r['full'] or {}).get('speedup'))} vs the pre-optimization mark; "
        f"marked {r['post_tag']}, merged the code change into {r['merged_into']} (the record stays in git: "
        f"`campaign export-record DIR` writes it out)"))


@click.command("render")
@_name_option
@dir_option
@json_option
@_errors
def render(name, workspace, as_json):
    """Re-render optimization_log.md, thinking_log.md and summary.md from the journal (idempotent)."""
    result = _open(workspace, name).render()
    emit(result, as_json, lambda r: f"rendered {', '.join(r['files'])} in {r['record']} "
                                    f"({len(r['changed'])} changed)")


@click.command("targets")
@dir_option
@json_option
@_errors
def targets(workspace, as_json):
    """List the targets: built-ins (targets/ packages) and a campaign.toml in --dir."""
    from campaign.plugins.target import TargetError
    from campaign.plugins.loading import builtin_targets

    result: dict[str, Any] = {"ok": True, "builtin": builtin_targets(), "toml": None}
    path = Path(workspace) / "campaign.toml"
    if path.exists():
        from campaign.plugins.toml_target import load_toml_target

        try:
            t = load_toml_target(path)
            result["toml"] = {"path": str(path), "ok": True, "name": t.name, "scope": t.scope, "spec": "campaign.toml"}
        except TargetError as exc:
            result["toml"] = {"path": str(path), "ok": False, "error": str(exc)}

    def text(r):
        lines = ["built-in targets:"] + [f"  {n:<20} {s}" for n, s in sorted(r["builtin"].items())]
        if len(lines) == 1:
            lines.append("  (none)")
        toml = r["toml"]
        if toml:
            lines.append(f"campaign.toml: {toml['name']} (use --target campaign.toml)" if toml["ok"]
                         else f"campaign.toml is broken: {toml['error']}")
        lines.append("any class: --target module:Class")
        lines.append("a pytest-benchmark suite: --target pytest-benchmark:PATH (or kind = \"pytest-benchmark\" in campaign.toml)")
        lines.append("a GSO-style perf test script: --target perf-test:SCRIPT (or kind = \"perf-test\" in campaign.toml)")
        return "\n".join(lines)

    emit(result, as_json, text)
