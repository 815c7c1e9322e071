"""The rendered logs: ``optimization_log.md``, ``thinking_log.md``, ``summary.md``.

``render_all(events)`` is pure: journal events in, ``{filename: text}`` out,
through Jinja2 templates (``campaign/templates/*.md.j2``, StrictUndefined).
Nothing depends on the time of rendering, so re-rendering the same journal is
byte-identical. ``write_all(record_dir, events)`` writes the files (only
those whose bytes changed).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from campaign.loop import record, usage
from campaign.loop.machine import DESCRIPTIONS, Iteration, State, Step, derive
from campaign.loop.render_attempts import attempt_views
from campaign.measure.correctness import test_command_failure

TEMPLATES = {
    "optimization_log.md": "optimization_log.md.j2",
    "thinking_log.md": "thinking_log.md.j2",
    "summary.md": "summary.md.j2",
}
TEMPLATE_DIR = Path(__file__).parent.parent / "templates"


def _x(value: float | None, digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}x"


def _ci(ci: list[float] | tuple[float, float] | None, level: float | None = None, kind: str | None = None) -> str:
    """A confidence interval is called one only with its level; an interval of unknown kind (old records) is not."""
    if not ci or ci[0] is None or ci[1] is None:
        return "no interval"
    if kind == "range":
        return f"every block {ci[0]:.2f}-{ci[1]:.2f}, overwhelming"
    if level:
        from campaign.measure.stats import format_level

        return f"{format_level(level)} CI {ci[0]:.2f}-{ci[1]:.2f}"
    return f"interval {ci[0]:.2f}-{ci[1]:.2f}"


def _measurement(bench: record.Benchmark) -> str | None:
    """How the verdict was reached: blocks, the noise as it is, the machine's load, the inconclusive policy."""
    if not any(k in bench for k in ("policy", "noise", "load")):
        return None  # recorded before these were kept
    parts = [f"{bench.blocks} blocks ({_text(bench.stop_reason, 'stopped')})"]
    noise = bench.noise
    if noise.run_noise is not None:
        parts.append(f"noise: runs of the same code vary by {noise.run_noise:.1%} (sd), block ratios by "
                     f"{(noise.block_sd or 0):.1%}, drift {(noise.drift or 0):.1%}")
    if bench.needed:
        parts.append(bench.needed)
    if bench.load.note:
        parts.append(bench.load.note)
    if bench.policy:
        parts.append(f"policy: {bench.policy}")
    return "; ".join(parts)


def _ms(seconds: float | None) -> str:
    return "n/a" if seconds is None else f"{seconds * 1e3:.1f} ms"


def _pct(share: float | None) -> str:
    return "n/a" if share is None else f"{share * 100:.0f}%"


def _text(value: Any, default: str = "—") -> str:
    if value is None:
        return default
    value = str(value).strip()
    return value if value else default


def _interval(c: record.Comparison | record.Benchmark | record.FullCase) -> str:
    return _ci(c.ci, c.ci_level, c.ci_kind)


def _result(it: Iteration) -> tuple[str, str]:
    """The measured result (with the cumulative speedup and the full case) and the timings, or why there are none."""
    bench, test = it.benchmark, it.test
    if not bench:
        result = "not measured (TEST failed)" if test and not test.passed else "not measured yet"
        return result, "n/a"
    cumulative = (f"cumulative: {_x(bench.cumulative)} over baseline, {_interval(bench.vs_baseline)}"
                  if bench.cumulative is not None else "not measured against the baseline: not faster")
    result = f"{_x(bench.speedup)} speedup ({_interval(bench)}, {bench.verdict}) ({cumulative})"
    if bench.full:
        result += f"; full case: {_x(bench.full.speedup)} ({_interval(bench.full)}, {bench.full.verdict})"
    performance = (f"warm {_ms(bench.candidate.warm_s)} (last kept: {_ms(bench.reference.warm_s)}), "
                   f"first call {_ms(bench.candidate.first_call_s)}")
    return result, performance


def _correctness(test: record.Test | None) -> str:
    if test is None:
        return "not tested yet"
    if test.passed:
        return "PASS"
    reasons: list[Any] = [f.message or f.output for f in test.failures]
    if test.out_of_scope:
        reasons.append("edits outside the scope: " + ", ".join(test.out_of_scope))
    cmd = test.test_command
    if cmd and not cmd.passed:
        reasons += [f"failed: {t['name']} — {t.get('message') or ''}".rstrip(" —") for t in cmd.failed_tests or []]
    reasons.append(test_command_failure(test.test_command))
    return "FAIL (reverted)" + (": " + "; ".join(str(r) for r in reasons if r) if reasons else "")


def _commit(it: Iteration) -> str:
    if it.commit:
        return str(it.commit.commit or "")[:10]
    if it.revert:
        return f"(reverted: {it.revert.reason})"
    return "(pending)" if it.log is not None else "—"


def _notes(it: Iteration, tune: record.Tune | None) -> str:
    """The LOG's notes, and what else shaped the outcome: --keep, an Amdahl override, a tune run, a skip."""
    notes = _text(it.log.notes if it.log else None)
    if it.log and it.log.keep_reason:
        notes += f" (kept despite a '{it.benchmark.verdict if it.benchmark else None}' verdict: {it.log.keep_reason})"
    if it.plan and it.plan.override:
        notes += f" (Amdahl warning overridden: {it.plan.override})"
    if tune:
        pred = tune.prediction
        notes += (f" (tuned with `campaign tune --record`: chosen {tune.knobs}, tune measured "
                  f"{_x(pred.get('measured_speedup'))} vs THINK's {_x(pred.get('predicted_speedup'))})")
    if it.skip:
        notes += (f" (bottleneck {it.skip.bottleneck} skipped after {it.skip.failed_attempts} failed attempts: "
                  f"{it.skip.why})")
    return notes


def _thinking(think: record.Think, plan: record.Plan, shares: dict[str, float]) -> dict[str, Any]:
    """THINK and PLAN as the logs show them."""
    phase = plan.phase
    chosen = f" — {think.chosen}" if think.chosen and think.chosen != plan.change else ""
    return {
        "target": f"{phase} ({_pct(shares.get(phase))} of runtime)" if phase else "—",
        "optimization": _text(plan.change) + chosen,
        "bottleneck": _text(plan.bottleneck),
        "prediction": f"{_x(think.predicted_speedup)} — {_text(think.hypothesis)}",
        "predicted": _x(think.predicted_speedup),
        "phase": _text(phase),
        "hypothesis": _text(think.hypothesis),
        "options": [str(o) for o in think.options or []],
        "chosen": _text(think.chosen),
        "risk": _text(think.risk),
    }


def _iteration_view(it: Iteration, tune: record.Tune | None = None) -> dict[str, Any]:
    """One iteration as the templates show it: its ``IterationSummary`` in words."""
    summary = it.summary()
    think, plan = it.think or record.Think(), it.plan or record.Plan()
    result, performance = _result(it)
    postmortem = it.log.postmortem if it.log else None
    return {
        "n": it.n,
        "title": _text(plan.change or think.chosen, f"iteration {it.n}").splitlines()[0],
        **_thinking(think, plan, (it.profile.shares if it.profile else None) or {}),
        "result": result,
        "measurement": _measurement(it.benchmark) if it.benchmark else None,
        "performance": performance,
        "memory": _memory_line(it.benchmark, it.log),
        "correctness": _correctness(it.test),
        "commit": _commit(it),
        "surprise": _text(summary.surprise, "(not logged yet)"),
        "notes": _notes(it, tune),
        "outcome": summary.outcome,
        "speedup": _x(summary.speedup),
        "cumulative": _x(summary.cumulative) if summary.kept else "—",
        "postmortem": {
            "predicted": _x(think.predicted_speedup),
            "actual": _x(summary.speedup),
            "why": _text(postmortem.why),
            "lesson": _text(postmortem.lesson),
        } if postmortem else None,
        "passed": "PASS" if it.test and it.test.passed else ("FAIL" if it.test else "—"),
    }


OUTSIDE = "outside the named phases (code between and around them)"


def dominant_view(dominant: list[tuple[str, Any]]) -> list[dict[str, str]]:
    """The phases' shares of the whole run and the rest outside them, in whole percents that add up to 100. Pure.

    The shares are of the profiled run's total time, so the named phases alone
    need not reach 100% (the shipped record's: 62 + 6 + 2 = 70%); the rest is
    shown as its own row, and the percents are rounded by largest remainder.
    """
    rows = [(k, v) for k, v in dominant if isinstance(v, (int, float)) and v >= 0]
    rest = 1 - sum(v for _, v in rows)
    if not rows or rest < -0.005:  # not shares of one total: show them as they are
        return [{"name": k, "share": _pct(v)} for k, v in dominant]
    if rest >= 0.005:
        rows.append((OUTSIDE, rest))
    exact = [100 * v / sum(v for _, v in rows) for _, v in rows]
    whole = [int(x) for x in exact]
    for i in sorted(range(len(rows)), key=lambda i: whole[i] - exact[i])[:100 - sum(whole)]:
        whole[i] += 1
    return [{"name": k, "share": f"{p}%"} for (k, _), p in zip(rows, whole)]


def _memory_line(bench: record.Benchmark | None, log: record.Log | None) -> str | None:
    """Peak memory before -> after: as LOG judged it, else as BENCHMARK measured it (None on older records)."""
    from campaign.measure import memory

    judged = log.get("memory") if log else None
    return memory.log_line(judged or memory.change(bench, None))


def _when(n: int | None, iterations: int) -> str:
    if n is not None:
        return f"iteration {n}"
    return f"after iteration {iterations}" if iterations else "before the first iteration"


def decision_views(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every written decision, in order: phases declared exhausted, bottlenecks skipped, stops by decision. Pure."""
    out, iterations = [], 0
    for event in events:
        kind = event["type"]
        if kind == "think":
            iterations += 1
        if kind not in ("decide", "skip"):
            continue
        data, when = record.load_data(kind, event["data"]), _when(event.get("iteration"), iterations)
        if kind == "decide" and data.rule == "declared":
            out.append({"kind": "stop", "when": when, "text": f"Stopped by decision ({when}): {_text(data.why)}"})
        elif kind == "decide" and data.exhausted:
            out.append({"kind": "exhausted", "when": when, "text": (
                f"Phase `{_text(data.phase)}` declared exhausted ({when}): {_text(data.why)}")})
        elif kind == "skip":
            out.append({"kind": "skip", "when": when, "text": (
                f"Bottleneck `{_text(data.bottleneck)}` skipped after {data.failed_attempts} failed "
                f"attempts ({when}): {_text(data.why)}")})
    return out


def full_case_failure(validation: Mapping[str, Any]) -> str:
    """One line naming what differs on the full case (the first failing output, or the test command)."""
    check = record.load_data("validate", validation)
    failures = check.failures
    if failures:
        f = failures[0]
        more = f" (and {len(failures) - 1} more)" if len(failures) > 1 else ""
        detail = f.message or f"expected {f.expected!r}, got {f.actual!r}"
        return f"the full case {check.case!r} differs from the baseline: output {f.output!r}: {detail}{more}"
    cmd = check.test_command or record.TestCommand()
    names = [str(t["name"]) for t in cmd.failed_tests or [] if t.get("name")]
    failed = f" (failed: {', '.join(names[:5])}{' ...' if len(names) > 5 else ''})" if names else ""
    return f"the full case {check.case!r} passed but the test command `{cmd.cmd}` exited {cmd.rc}{failed}"


def full_case_view(finish: record.Finish, validation: record.Validate | None) -> dict[str, str]:
    """What the summary says about the full case: "validation" only when FINISH checked its outputs. Pure."""
    full = finish.full or record.FullCase()
    at = (f", measured by iteration {full.measured_at_iteration}'s BENCHMARK on the same two trees"
          if full.measured_at_iteration else "")
    bench = f"{_x(full.speedup)} ({_interval(full)}, {full.verdict}, case {full.case}{at})"
    checked = finish.validation
    if finish and checked and checked.passed:
        return {"full_label": "Full-scale validation", "full": (
            f"outputs of case `{checked.case}` match the baseline's within the tolerances; speedup {bench}")}
    if finish:
        return {"full_label": "Full-case benchmark (outputs not checked at FINISH)", "full": bench if full else "not run"}
    if validation and not validation.passed:
        return {"full_label": "Full-case check", "full": f"FAILED at FINISH, nothing merged: {full_case_failure(validation)}"}
    return {"full_label": "Full-case check", "full": "not run yet (FINISH runs it before the merge)"}


def _stopping(events: list[dict[str, Any]], state: State) -> str:
    """Why the campaign stopped (the last DECIDE's reason), or that it has not."""
    last = next((e["data"] for e in reversed(events) if e["type"] == "decide"), None)
    decide = record.load_data("decide", last)
    if state.finish:
        return _text(decide.reason if decide else None, "finished")
    if decide and decide.stop:
        return _text(decide.reason)
    return _text(f"not stopped yet (next: {DESCRIPTIONS[state.step]})")


def _baseline_view(baseline: record.Baseline, init: record.Init) -> dict[str, Any]:
    phases = baseline.phases or {}
    total = sum(v for v in phases.values() if isinstance(v, (int, float))) or None
    return {
        "base_commit": _text(baseline.commit or init.base_commit)[:10],
        "baseline": {
            "case": _text(baseline.case),
            "warm": _ms(baseline.warm_s),
            "first_call": _ms(baseline.first_call_s),
            "phases": [
                {"name": k, "time": _ms(v), "share": _pct(v / total if total and isinstance(v, (int, float)) else None)}
                for k, v in sorted(phases.items())
            ],
        },
    }


def _outcome_view(state: State) -> dict[str, Any]:
    """The campaign's result: the final speedup and its interval, the full case, the tag and merge."""
    finish = state.finish or record.Finish()
    return {
        "final": _x(finish.get("final_speedup", state.cumulative)),
        "final_ci": _ci(finish.get("ci", state.cumulative_ci), finish.ci_level or state.cumulative_ci_level),
        **full_case_view(finish, state.validation),
        "finished": bool(finish),
        "post_tag": _text(finish.post_tag),
        "merged_into": _text(finish.merged_into),
    }


def view(events: list[dict[str, Any]]) -> dict[str, Any]:
    """The templates' data, derived from the journal. Pure."""
    state = derive(events)
    tunes = {e.get("iteration"): record.load_data("tune", e["data"]) for e in events if e["type"] == "tune"}
    init, baseline = state.init or record.Init(), state.baseline or record.Baseline()
    shares = (state.last_profile.shares if state.last_profile else None) or {}
    spend = usage.summarize(events)  # shown only where an agent reported its spend: older records render as before
    iteration_spend = {row["iteration"]: usage.describe(row) for row in spend["iterations"] if row["reported"]}
    attempts = attempt_views(events, state)  # `campaign run --parallel K` only: a serial log renders as before
    by_iteration = {a["iteration"]: a["short"] for a in attempts if a["iteration"]}
    return {
        "name": state.name or "(uninitialised)",
        "target": _text(init.target_name),
        "goal": _x(init.goal_speedup),
        "max_iterations": init.get("max_iterations", "n/a"),
        "pre_tag": _text(init.pre_tag),
        "branch": _text(init.branch),
        **_baseline_view(baseline, init),
        "iterations": [{**_iteration_view(it, tunes.get(it.n)), "spend": iteration_spend.get(it.n),
                        "attempt": by_iteration.get(it.n)} for it in state.iterations],
        "attempts": attempts,
        "agent_spend": usage.describe(spend["total"]) if usage.any_reported(spend) else None,
        **_outcome_view(state),
        "dominant": dominant_view(sorted(shares.items(), key=lambda kv: (-(kv[1] or 0), kv[0]))),
        "dominant_iteration": state.last_profile_iteration,
        "stopping": _stopping(events, state),
        "decisions": decision_views(events),
        "kept": state.kept_count,
        "done": len(state.finished_iterations),
        "step": state.step.value,
        "is_done": state.step is Step.DONE,
    }


_ENV = None


def _env():
    global _ENV
    if _ENV is None:
        import jinja2

        _ENV = jinja2.Environment(
            loader=jinja2.FileSystemLoader(str(TEMPLATE_DIR)),
            undefined=jinja2.StrictUndefined,
            keep_trailing_newline=True,
            trim_blocks=True,
            lstrip_blocks=True,
            autoescape=False,
        )
    return _ENV


def render_template(template: str, /, **context: Any) -> str:
    return _env().get_template(template).render(**context)


def render_all(events: list[dict[str, Any]]) -> dict[str, str]:
    """``{filename: text}`` for every rendered log. Pure and deterministic."""
    context = view(events)
    return {filename: render_template(template, **context) for filename, template in TEMPLATES.items()}


def write_all(record_dir: Path, events: list[dict[str, Any]]) -> list[str]:
    """Render and write the logs into ``record_dir``; returns the files whose bytes changed."""
    changed = []
    for filename, text in render_all(events).items():
        path = Path(record_dir) / filename
        data = text.encode("utf-8")
        if path.exists() and path.read_bytes() == data:
            continue
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_bytes(data)
        tmp.replace(path)
        changed.append(filename)
    return changed
