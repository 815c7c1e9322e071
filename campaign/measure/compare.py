"""``campaign compare OLD NEW``: benchmark two commits side by side.

Both commits are checked out in temporary detached worktrees (the user's
working tree is not touched), built if the target has a build command, and
measured interleaved by ``campaign.measure.bench.benchmark`` (NEW is the candidate,
so a speedup > 1 means NEW is faster). Which target: ``--target``, else a
``campaign.toml`` in the repository, else the target of the only campaign
recorded under ``optim/``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Callable

from campaign.errors import UserError


RECORD_ROOTS = ("optim", "optim-records")  # as campaign.loop.record_place (a layer above) places records


class CompareError(UserError):
    """The comparison cannot run (no target, unknown commit, failing workload)."""


def default_target_spec(repo_dir: Path) -> str:
    """The target to use when none is named: campaign.toml, else the only campaign under optim/."""
    repo_dir = Path(repo_dir)
    if (repo_dir / "campaign.toml").exists():
        return "campaign.toml"
    specs = {}
    journals = [j for root in RECORD_ROOTS for j in sorted((repo_dir / root).glob("*/journal.jsonl"))]
    for journal in journals:
        try:
            first = journal.open().readline()
            spec = json.loads(first)["data"]["target_spec"]
        except (OSError, ValueError, KeyError, TypeError):
            continue
        specs[journal.parent.name] = spec
    if len(set(specs.values())) == 1:
        return next(iter(specs.values()))
    if specs:
        listing = ", ".join(f"{k} ({v})" for k, v in specs.items())
        raise CompareError(f"several campaigns under optim/ use different targets ({listing}); name one with --target.")
    raise CompareError(
        f"no target to compare with: {repo_dir} has no campaign.toml and no campaign under optim/. "
        "Name one with --target (a built-in name, module:Class, or a campaign.toml path)."
    )


def _load(spec: str, workdir: Path):
    from campaign.plugins.loading import load_target

    sys.path.insert(0, str(workdir))
    before = set(sys.modules)
    try:
        return load_target(spec, workdir)  # a TargetError is a UserError: it says itself what to fix
    finally:
        try:
            sys.path.remove(str(workdir))
        except ValueError:
            pass
        for name in set(sys.modules) - before:  # forget modules imported from the temporary worktree
            if str(getattr(sys.modules[name], "__file__", "") or "").startswith(str(workdir)):
                del sys.modules[name]


def compare_commits(
    repo_dir: Path,
    old: str,
    new: str,
    *,
    case: str | None = None,
    target_spec: str | None = None,
    instructions: bool = False,
    max_blocks: int | None = None,
    budget_s: float | None = None,
    progress: Callable[[str], None] | None = None,
    seed: int = 0,
    settings: dict | None = None,
) -> dict:
    """Benchmark commit ``new`` against ``old``; a plain-JSON result with the verdict and per-phase table.

    The measurement settings come from ``campaign.measure.settings`` (the
    repository's campaign.toml / pyproject.toml, the environment), with
    ``max_blocks``, ``budget_s`` and ``settings`` (flags) on top.
    """
    from campaign.measure.bench import benchmark
    from campaign.measure.settings import SettingsError, load_settings
    from campaign.measure.worktrees import WorktreeError, resolve_commit, worktree
    from campaign.measure.workload import WorkloadError, build

    repo_dir = Path(repo_dir).resolve()
    try:
        measure = load_settings(repo_dir, {**(settings or {}), "max_blocks": max_blocks, "budget_s": budget_s})
    except SettingsError as exc:
        raise CompareError(str(exc)) from None
    try:
        old_sha, new_sha = resolve_commit(repo_dir, old), resolve_commit(repo_dir, new)
    except WorktreeError as exc:
        raise CompareError(str(exc)) from None
    spec = target_spec or default_target_spec(repo_dir)
    if instructions:
        from campaign.measure.callgrind import pick_counter

        try:
            pick_counter()
        except WorkloadError as exc:
            raise CompareError(str(exc)) from None
    try:
        with worktree(repo_dir, old_sha) as old_dir, worktree(repo_dir, new_sha) as new_dir:
            target = _load(spec, new_dir)
            case = case or target.fast_case
            for d in (old_dir, new_dir):
                build(target, d)
            results = benchmark(target, case, {"old": old_dir, "new": new_dir}, "new", instructions=instructions,
                                progress=progress, seed=seed, **measure.bench_kwargs())
    except (WorkloadError, WorktreeError) as exc:
        raise CompareError(str(exc)) from None
    r = results["old"]
    phases = []
    ref_ph, cand_ph = r.reference.get("phases", {}), r.candidate.get("phases", {})
    for name in ref_ph:
        phases.append({"phase": name, "old_s": ref_ph.get(name), "new_s": cand_ph.get(name),
                       "speedup": r.phases.get(name)})
    return {
        "ok": True,
        "old": old_sha,
        "new": new_sha,
        "target": spec,
        "case": case,
        "verdict": r.verdict,
        "speedup": r.speedup,
        "ci": list(r.ci),
        "ci_level": r.ci_level,
        "metric": r.metric,
        "metric_choice": r.metric_choice,
        "other_metric": r.other_metric,
        "settings": measure.bench_kwargs(),
        "phases": phases,
        "total": {"old_s": r.reference.get("block_s"), "new_s": r.candidate.get("block_s"), "speedup": r.speedup,
                  "old_median_s": r.reference.get("warm_s"), "new_median_s": r.candidate.get("warm_s")},
        "first_call": {"old_s": r.reference.get("first_call_s"), "new_s": r.candidate.get("first_call_s"),
                       "old_compile_s": r.reference.get("compile_s"), "new_compile_s": r.candidate.get("compile_s")},
        "benchmark": r.to_dict(),
    }


def _ms(v) -> str:
    return "-" if v is None else f"{v * 1e3:.2f} ms"


def noise_line(b: dict) -> str:
    """The noise as it is: run-to-run spread, block-to-block spread and drift (not only drift)."""
    wall = b.get("wall") or {}
    parts = []
    if wall.get("run_noise") is not None:
        parts.append(f"runs of the same code vary by {wall['run_noise']:.1%} (sd)")
    if wall.get("block_sd"):
        parts.append(f"block ratios by {wall['block_sd']:.1%}")
    samples = b.get("samples")
    ratio_range = samples.get("ratio_range") if samples else None
    if ratio_range:
        parts.append(f"block ratios ranged {ratio_range[0]:.3f}-{ratio_range[1]:.3f}")
    parts.append(f"drift between first and second run {b.get('noise_floor', 0):.1%}")
    return "noise: " + "; ".join(parts)


def verdict_line(verdict: str, speedup: float, ci, level, b: dict, metric: str) -> str:
    """The verdict with the interval that decided it (and its level), never a range called a CI."""
    from campaign.measure.stats import describe_interval

    interval = describe_interval(ci, level, b.get("ci_kind"))
    instructions = b.get("instructions")
    if metric == "instructions" and instructions and instructions.get("ratio"):
        interval = (f"decided by the instruction count, {b['instructions']['ratio']:.3f}x; wall time alone was "
                    f"inconclusive: {interval}")
    return (f"verdict: {verdict.upper()}  new is {speedup:.3f}x the speed of old "
            f"({interval}; {b['blocks']} blocks, repeat {b['repeat']}, metric {metric}, "
            f"same within +-{b['min_effect']:.1%})")


def format_comparison(result: dict) -> str:
    """The human table: per phase old / new / speedup, the total, the verdict, its interval and the noise."""
    b = result["benchmark"]
    lines = [f"compare {result['old'][:10]} (old) -> {result['new'][:10]} (new), target {result['target']}, "
             f"case {result['case']}"]
    lines.append(f"{'phase':<24}{'old':>14}{'new':>14}{'speedup':>10}")
    for p in result["phases"]:
        sp = "-" if p["speedup"] is None else f"{p['speedup']:.3f}x"
        lines.append(f"{p['phase']:<24}{_ms(p['old_s']):>14}{_ms(p['new_s']):>14}{sp:>10}")
    t = result["total"]
    total = "TOTAL (fastest warm)" if result["metric"] != "cpu" else "TOTAL (fastest, cpu)"
    lines.append(f"{total:<24}{_ms(t['old_s']):>14}{_ms(t['new_s']):>14}{t['speedup']:>9.3f}x")
    fc = result["first_call"]
    if fc["old_s"] is not None and fc["new_s"] is not None:
        lines.append(f"{'first call (cold)':<24}{_ms(fc['old_s']):>14}{_ms(fc['new_s']):>14}"
                     f"{fc['old_s'] / fc['new_s']:>9.3f}x")
    lines.append("")
    lines.append(verdict_line(result["verdict"], result["speedup"], result["ci"], result.get("ci_level"), b,
                              result["metric"]))
    lines.append(noise_line(b))
    from campaign.measure.stats import describe_interval

    choice = b.get("metric_choice") or {}
    if choice.get("reason"):
        lines.append(f"decided on {choice['metric']} time: {choice['reason']}")
    other = b.get("other_metric") or {}
    if other.get("speedup") is not None:
        lines.append(f"{other['metric']} time, for comparison: {other['speedup']:.3f}x "
                     f"({describe_interval(other.get('ci'), other.get('ci_level'))}) {other.get('verdict')}")
    cost = b.get("block_cost") or {}
    if cost.get("block_s"):
        lines.append(f"a block took {cost['block_s']:.2f} s ({cost['runs_per_block']} fresh processes), of which "
                     f"{cost['measured_s']:.2f} s measured work; calibration {cost['calibration_s']:.2f} s")
    if b.get("instructions"):
        ins = b["instructions"]
        lines.append(f"instructions: old {ins['reference']['per_run']:.4g}, new {ins['candidate']['per_run']:.4g} per warm "
                     f"run: {ins['ratio']:.3f}x (counted by {ins['reference'].get('counter', 'callgrind')})")
    lines += [f"note: {n}" for n in b.get("notes", [])]
    return "\n".join(lines)


def compare_with_baseline(
    target,
    workspace: Path,
    record_dir: Path,
    case: str,
    *,
    stored: bool = False,
    max_blocks: int | None = None,
    budget_s: float | None = None,
    instructions: bool = False,
    progress: Callable[[str], None] | None = None,
) -> dict:
    """The workspace now against the recorded baseline: per-phase table, verdict, correctness.

    Measured interleaved against the baseline commit checked out in a
    temporary worktree (with the recorded scope snapshot laid over it, so an
    uncommitted baseline is reproduced). ``stored=True``, or a baseline with no
    commit, compares against the recorded numbers instead: not interleaved,
    so the result says so and lists environment differences.
    """
    from campaign.measure.baseline import (
        check_correctness, environment_warnings, extract_snapshot, has_snapshot, load_baseline,
    )
    from campaign.measure.bench import benchmark
    from campaign.measure.worktrees import worktree
    from campaign.measure.workload import build, run_workload

    workspace, record_dir = Path(workspace), Path(record_dir)
    doc = load_baseline(record_dir)
    if case not in doc["cases"]:
        raise CompareError(f"the baseline has no case {case!r} (it has {sorted(doc['cases'])}); record it first.")
    report, _ = check_correctness(target, workspace, record_dir, case)
    base_case = doc["cases"][case]
    notes: list[str] = []
    rows = []
    if stored or not doc.get("commit"):
        run = run_workload(target, case, workspace, repeat=doc.get("repeat", 3))
        notes.append("compared with the recorded baseline numbers (not interleaved): machine drift is not controlled")
        notes += [f"environment differs: {w}" for w in environment_warnings(doc)]
        for name, secs in base_case["phases"].items():
            cur = run.phases.get(name)
            rows.append({"phase": name, "baseline_s": secs, "current_s": cur,
                         "speedup": secs / cur if cur else None})
        total = {"baseline_s": base_case["warm_s"], "current_s": run.time_s,
                 "speedup": base_case["warm_s"] / run.time_s if run.time_s else None}
        verdict, ci, bench, level = "inconclusive", None, None, None
    else:
        with worktree(workspace, doc["commit"]) as base_dir:
            if has_snapshot(record_dir):
                extract_snapshot(record_dir, base_dir)
            build(target, base_dir)
            build(target, workspace)
            from campaign.measure.settings import load_settings

            measure = load_settings(workspace, {"max_blocks": max_blocks, "budget_s": budget_s})
            r = benchmark(target, case, {"baseline": base_dir, "current": workspace}, "current",
                          instructions=instructions, progress=progress, **measure.bench_kwargs())["baseline"]
        for name, secs in r.reference.get("phases", {}).items():
            rows.append({"phase": name, "baseline_s": secs, "current_s": r.candidate["phases"].get(name),
                         "speedup": r.phases.get(name)})
        total = {"baseline_s": r.reference["block_s"], "current_s": r.candidate["block_s"], "speedup": r.speedup}
        verdict, ci, bench = r.verdict, list(r.ci), r.to_dict()
        level = r.ci_level
        notes += r.notes
        notes += [f"the baseline was recorded in another environment ({w}); both were re-measured here now, "
                  "so the speedup is valid, but the recorded baseline numbers are not comparable"
                  for w in environment_warnings(doc, r.environment)]
    return {"case": case, "phases": rows, "total": total, "verdict": verdict, "ci": ci, "ci_level": level,
            "correctness": report.to_dict(), "notes": notes, "benchmark": bench}


def format_baseline_comparison(result: dict) -> str:
    """Phase / Baseline / Current / Speedup, a TOTAL row, the verdict and Correctness: PASS/FAIL."""
    lines = [f"case {result['case']}", f"{'Phase':<24}{'Baseline':>14}{'Current':>14}{'Speedup':>10}"]
    for p in result["phases"]:
        sp = "-" if p["speedup"] is None else f"{p['speedup']:.3f}x"
        lines.append(f"{p['phase']:<24}{_ms(p['baseline_s']):>14}{_ms(p['current_s']):>14}{sp:>10}")
    t = result["total"]
    sp = "-" if t["speedup"] is None else f"{t['speedup']:.3f}x"
    lines.append(f"{'TOTAL':<24}{_ms(t['baseline_s']):>14}{_ms(t['current_s']):>14}{sp:>10}")
    if result["ci"]:
        from campaign.measure.stats import describe_interval

        bench = result.get("benchmark")
        kind = bench.get("ci_kind") if bench else None
        lines.append(f"verdict: {result['verdict']} ({describe_interval(result['ci'], result.get('ci_level'), kind)})")
        if result.get("benchmark"):
            lines.append(noise_line(result["benchmark"]))
    else:
        lines.append(f"verdict: {result['verdict']} (recorded numbers only, no interval)")
    c = result["correctness"]
    lines.append(f"Correctness: {'PASS' if c['passed'] else 'FAIL'}")
    lines += [f"  {f['message']}" for f in c["failures"]]
    lines += [f"note: {n}" for n in result["notes"]]
    return "\n".join(lines)
