"""The rendered logs: ``optimization_log.md``, ``thinking_log.md``, ``summary.md``.

``render_all(events)`` is pure: journal events in, ``{filename: text}`` out,
through Jinja2 templates (``campaign/templates/*.md.j2``, StrictUndefined).
Nothing depends on the time of rendering, so re-rendering the same journal is
byte-identical. ``write_all(record_dir, events)`` writes the files (only
those whose bytes changed).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from campaign.loop import usage
from campaign.loop.machine import DESCRIPTIONS, Iteration, State, Step, derive
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


def _measurement(bench: dict[str, Any]) -> str | None:
    """How the verdict was reached: blocks, the noise as it is, the machine's load, the inconclusive policy."""
    if not any(k in bench for k in ("policy", "noise", "load")):
        return None  # recorded before these were kept
    parts = [f"{bench.get('blocks')} blocks ({_text(bench.get('stop_reason'), 'stopped')})"]
    noise = bench.get("noise") or {}
    if noise.get("run_noise") is not None:
        parts.append(f"noise: runs of the same code vary by {noise['run_noise']:.1%} (sd), block ratios by "
                     f"{(noise.get('block_sd') or 0):.1%}, drift {(noise.get('drift') or 0):.1%}")
    if bench.get("needed"):
        parts.append(bench["needed"])
    if (bench.get("load") or {}).get("note"):
        parts.append(bench["load"]["note"])
    if bench.get("policy"):
        parts.append(f"policy: {bench['policy']}")
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


def _iteration_view(it: Iteration, state: State, tune: dict[str, Any] | None = None) -> dict[str, Any]:
    think, plan, test, bench, log = it.think or {}, it.plan or {}, it.test, it.benchmark, it.log
    shares = (it.profile or {}).get("shares") or {}
    phase = plan.get("phase")
    if bench:
        vs_base = bench.get("vs_baseline") or {}
        cumulative = vs_base.get("speedup") if vs_base.get("speedup") is not None else bench.get("cumulative_speedup")
        result = (
            f"{_x(bench.get('speedup'))} speedup ({_ci(bench.get('ci'), bench.get('ci_level'), bench.get('ci_kind'))}, {bench.get('verdict')}) "
            f"(cumulative: {_x(cumulative)} over baseline, "
            f"{_ci(vs_base.get('ci'), vs_base.get('ci_level'), vs_base.get('ci_kind'))})"
        )
        cand = bench.get("candidate") or {}
        ref = bench.get("reference") or {}
        performance = (
            f"warm {_ms(cand.get('warm_s'))} (last kept: {_ms(ref.get('warm_s'))}), "
            f"first call {_ms(cand.get('first_call_s'))}"
        )
        full = bench.get("full")
        if full:
            result += (f"; full case: {_x(full.get('speedup'))} "
                       f"({_ci(full.get('ci'), full.get('ci_level'), full.get('ci_kind'))}, "
                       f"{full.get('verdict')})")
    else:
        cumulative = None
        result = "not measured (TEST failed)" if test and not test.get("passed") else "not measured yet"
        performance = "n/a"
    if test is None:
        correctness = "not tested yet"
    elif test.get("passed"):
        correctness = "PASS"
    else:
        reasons = [f.get("message") or f.get("output") for f in test.get("failures") or []]
        if test.get("out_of_scope"):
            reasons.append("edits outside the scope: " + ", ".join(test["out_of_scope"]))
        cmd = test.get("test_command") or {}
        if cmd and not cmd.get("passed"):
            reasons += [f"failed: {t['name']} — {t.get('message') or ''}".rstrip(" —") for t in cmd.get("failed_tests") or []]
        reasons.append(test_command_failure(test.get("test_command")))
        correctness = "FAIL (reverted)" + (": " + "; ".join(str(r) for r in reasons if r) if reasons else "")
    if it.commit:
        commit = str(it.commit.get("commit", ""))[:10]
    elif it.revert:
        commit = f"(reverted: {it.revert.get('reason')})"
    elif log is not None:
        commit = "(pending)"
    else:
        commit = "—"
    outcome = "kept" if it.kept else ("reverted" if log is not None else "in progress")
    postmortem = (log or {}).get("postmortem")
    notes = _text((log or {}).get("notes"))
    if log and log.get("keep_reason"):
        notes += f" (kept despite a '{(bench or {}).get('verdict')}' verdict: {log['keep_reason']})"
    if plan.get("override"):
        notes += f" (Amdahl warning overridden: {plan['override']})"
    if tune:
        pred = (tune.get("report") or {}).get("prediction") or {}
        notes += (f" (tuned with `campaign tune --record`: chosen {tune.get('knobs')}, tune measured "
                  f"{_x(pred.get('measured_speedup'))} vs THINK's {_x(pred.get('predicted_speedup'))})")
    if it.skip:
        notes += f" (bottleneck {it.skip.get('bottleneck')} skipped after {it.skip.get('failed_attempts')} failed attempts: {it.skip.get('why')})"
    return {
        "n": it.n,
        "title": _text(plan.get("change") or think.get("chosen"), f"iteration {it.n}").splitlines()[0],
        "target": f"{phase} ({_pct(shares.get(phase))} of runtime)" if phase else "—",
        "optimization": _text(plan.get("change")) + (
            f" — {think['chosen']}" if think.get("chosen") and think.get("chosen") != plan.get("change") else ""),
        "bottleneck": _text(plan.get("bottleneck")),
        "prediction": f"{_x(think.get('predicted_speedup'))} — {_text(think.get('hypothesis'))}",
        "result": result,
        "measurement": _measurement(bench) if bench else None,
        "performance": performance,
        "memory": _memory_line(bench, log),
        "correctness": correctness,
        "commit": commit,
        "surprise": _text((log or {}).get("surprise"), "(not logged yet)"),
        "notes": notes,
        "outcome": outcome,
        "speedup": _x(it.speedup),
        "cumulative": _x(cumulative) if it.kept else "—",
        "predicted": _x(think.get("predicted_speedup")),
        "phase": _text(phase),
        "hypothesis": _text(think.get("hypothesis")),
        "options": [str(o) for o in think.get("options") or []],
        "chosen": _text(think.get("chosen")),
        "risk": _text(think.get("risk")),
        "postmortem": {
            "predicted": _x(think.get("predicted_speedup")),
            "actual": _x(it.speedup),
            "why": _text(postmortem.get("why")),
            "lesson": _text(postmortem.get("lesson")),
        } if postmortem else None,
        "passed": "PASS" if test and test.get("passed") else ("FAIL" if test else "—"),
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


def _memory_line(bench: dict[str, Any] | None, log: dict[str, Any] | None) -> str | None:
    """Peak memory before -> after: as LOG judged it, else as BENCHMARK measured it (None on older records)."""
    from campaign.measure import memory

    return memory.log_line((log or {}).get("memory") or memory.change(bench, None))


def _last_kept_level(state: State) -> float | None:
    kept = [it for it in state.iterations if it.kept and it.benchmark]
    return ((kept[-1].benchmark.get("vs_baseline") or {}).get("ci_level")) if kept else None


def decision_views(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every written decision, in order: phases declared exhausted, bottlenecks skipped, stops by decision. Pure."""
    out, iterations = [], 0
    for event in events:
        kind, data, n = event["type"], event["data"], event.get("iteration")
        if kind == "think":
            iterations += 1
        when = f"iteration {n}" if n is not None else (
            f"after iteration {iterations}" if iterations else "before the first iteration")
        if kind == "decide" and data.get("rule") == "declared":
            out.append({"kind": "stop", "when": when, "text": f"Stopped by decision ({when}): {_text(data.get('why'))}"})
        elif kind == "decide" and data.get("exhausted"):
            out.append({"kind": "exhausted", "when": when, "text": (
                f"Phase `{_text(data.get('phase'))}` declared exhausted ({when}): {_text(data.get('why'))}")})
        elif kind == "skip":
            out.append({"kind": "skip", "when": when, "text": (
                f"Bottleneck `{_text(data.get('bottleneck'))}` skipped after {data.get('failed_attempts')} failed "
                f"attempts ({when}): {_text(data.get('why'))}")})
    return out


def full_case_view(finish: dict[str, Any], validation: dict[str, Any] | None) -> dict[str, str]:
    """What the summary says about the full case: "validation" only when FINISH checked its outputs. Pure."""
    full = finish.get("full") or {}
    bench = (f"{_x(full.get('speedup'))} ({_ci(full.get('ci'), full.get('ci_level'), full.get('ci_kind'))}, "
             f"{full.get('verdict')}, case {full.get('case')})")
    checked = finish.get("validation") or {}
    if finish and checked.get("passed"):
        return {"full_label": "Full-scale validation", "full": (
            f"outputs of case `{checked.get('case')}` match the baseline's within the tolerances; speedup {bench}")}
    if finish:
        return {"full_label": "Full-case benchmark (outputs not checked at FINISH)", "full": bench if full else "not run"}
    if validation and not validation.get("passed"):
        from campaign.loop.steps.finish import full_case_failure

        return {"full_label": "Full-case check", "full": f"FAILED at FINISH, nothing merged: {full_case_failure(validation)}"}
    return {"full_label": "Full-case check", "full": "not run yet (FINISH runs it before the merge)"}


def view(events: list[dict[str, Any]]) -> dict[str, Any]:
    """The templates' data, derived from the journal. Pure."""
    state = derive(events)
    tunes = {e.get("iteration"): e["data"] for e in events if e["type"] == "tune"}  # the last tune per iteration
    init = state.init or {}
    baseline = state.baseline or {}
    target = init.get("target") or {}
    base_phases = baseline.get("phases") or {}
    total = sum(v for v in base_phases.values() if isinstance(v, (int, float))) or None
    profile = state.last_profile or {}
    shares = profile.get("shares") or {}
    dominant = sorted(shares.items(), key=lambda kv: (-(kv[1] or 0), kv[0]))
    last_decide = next((e["data"] for e in reversed(events) if e["type"] == "decide"), None)
    finish = state.finish or {}
    if finish:
        stopping = _text((last_decide or {}).get("reason"), "finished")
    elif last_decide and last_decide.get("stop"):
        stopping = last_decide.get("reason")
    else:
        stopping = f"not stopped yet (next: {DESCRIPTIONS[state.step]})"
    final = finish.get("final_speedup", state.cumulative)
    spend = usage.summarize(events)  # shown only where an agent reported its spend: older records render as before
    iteration_spend = {row["iteration"]: usage.describe(row) for row in spend["iterations"] if row["reported"]}
    final_ci = finish.get("ci", state.cumulative_ci)
    return {
        "name": state.name or "(uninitialised)",
        "target": _text(target.get("name") if isinstance(target, dict) else target),
        "goal": _x(init.get("goal_speedup")),
        "max_iterations": init.get("max_iterations", "n/a"),
        "pre_tag": _text(init.get("pre_tag")),
        "branch": _text(init.get("branch")),
        "base_commit": _text(baseline.get("commit") or init.get("base_commit"))[:10],
        "baseline": {
            "case": _text(baseline.get("case")),
            "warm": _ms(baseline.get("warm_s")),
            "first_call": _ms(baseline.get("first_call_s")),
            "phases": [
                {"name": k, "time": _ms(v), "share": _pct(v / total if total and isinstance(v, (int, float)) else None)}
                for k, v in sorted(base_phases.items())
            ],
        },
        "iterations": [{**_iteration_view(it, state, tunes.get(it.n)), "spend": iteration_spend.get(it.n)}
                       for it in state.iterations],
        "agent_spend": usage.describe(spend["total"]) if usage.any_reported(spend) else None,
        "final": _x(final),
        "final_ci": _ci(final_ci, finish.get("ci_level") or _last_kept_level(state)),
        **full_case_view(finish, state.validation),
        "dominant": dominant_view(dominant),
        "dominant_iteration": state.last_profile_iteration,
        "stopping": _text(stopping),
        "decisions": decision_views(events),
        "finished": bool(finish),
        "post_tag": _text(finish.get("post_tag")),
        "merged_into": _text(finish.get("merged_into")),
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
