"""No output calls a range a confidence interval: "CI" only ever appears with its level ("99.964% CI ...")."""

import re

from campaign.loop.render import render_all
from campaign.measure import stats
from campaign.measure.bench import BenchResult
from campaign.measure.compare import format_baseline_comparison, format_comparison

BARE_CI = re.compile(r"(?<![\d.]%)(?<!% )\bCI\b")  # "CI" not preceded by "<level>% "


def bare_ci(text: str) -> list[str]:
    return [text[max(0, m.start() - 30):m.end() + 20] for m in BARE_CI.finditer(text)]


def test_the_detector_finds_an_unlabelled_ci():
    assert bare_ci("1.2x (CI 1.1-1.3)") and bare_ci("95%CI") == [] and not bare_ci("1.2x (99.964% CI 1.1-1.3)")


def events(bench_extra):
    out = []

    def add(type_, data, iteration=None):
        out.append({"schema": 1, "seq": len(out) + 1, "ts": f"2026-01-01T00:00:{len(out):02d}", "type": type_,
                    "iteration": iteration, "data": data})

    add("init", {"name": "d", "target": {"name": "t"}, "goal_speedup": 3.0, "max_iterations": 15,
                 "postmortem_factor": 1.5, "pre_tag": "d/pre", "branch": "optimization/d", "base_commit": "a" * 40})
    add("baseline", {"commit": "a" * 40, "case": "fast", "warm_s": 0.05, "phases": {"p": 0.05}, "outputs": {}})
    add("commit", {"commit": "b" * 40, "message": "start"})
    add("profile", {"shares": {"p": 1.0}}, 1)
    add("think", {"hypothesis": "h", "options": ["a"], "chosen": "a", "predicted_speedup": 1.5, "risk": "r"}, 1)
    add("plan", {"phase": "p", "change": "c", "bottleneck": "b"}, 1)
    add("implement", {"files": ["x.py"]}, 1)
    add("test", {"passed": True, "failures": [], "test_command": None, "out_of_scope": []}, 1)
    add("benchmark", {"case": "fast", "verdict": "inconclusive", "speedup": 1.05, "ci": [0.98, 1.12],
                      "vs_baseline": {"speedup": 1.05, "ci": [0.98, 1.12], **bench_extra.get("vs", {})},
                      "candidate": {}, "reference": {}, "full": None, "blocks": 3,
                      **{k: v for k, v in bench_extra.items() if k != "vs"}}, 1)
    add("log", {"surprise": "None", "notes": None, "postmortem": None, "kept": False, "keep_reason": None}, 1)
    add("revert", {"to_commit": "b" * 40, "reason": "not-faster"}, 1)
    return out


def test_rendered_logs_label_intervals_honestly():
    # an old record: no level known, so the interval is not called a CI
    old = render_all(events({}))
    for name, text in old.items():
        assert not bare_ci(text), (name, bare_ci(text))
    assert "interval 0.98-1.12" in old["optimization_log.md"]
    new = render_all(events({"ci_level": 1 - 0.01 / 28, "vs": {"ci_level": 1 - 0.01 / 28},
                             "policy": "inconclusive -> revert (keep only demonstrated wins)",
                             "noise": {"run_noise": 0.03, "block_sd": 0.04, "drift": 0.01},
                             "load": {"note": "machine busy: load above its 2 cores during 3/3 blocks (peak 8.0)"}}))
    log = new["optimization_log.md"]
    assert "99.964% CI 0.98-1.12" in log and not bare_ci(log)
    assert "policy: inconclusive -> revert" in log and "machine busy" in log and "vary by 3.0%" in log


def bench_result(ci, level):
    return BenchResult(verdict="inconclusive", speedup=1.0, ci=ci, phases={"p": 1.0}, candidate={"phases": {}},
                       reference={"phases": {}}, metric="wall", blocks=3,
                       samples={"ratios": [0.8, 1.2, 1.0], "ratio_range": [0.8, 1.2]}, noise_floor=0.0,
                       min_effect=0.02, environment={}, instructions=None,
                       wall={"run_noise": 0.05, "block_sd": 0.2}, notes=["stopped: budget"], repeat=3,
                       ci_level=level, block_cost={"block_s": 1.0, "measured_s": 0.5, "calibration_s": 0.2,
                                                   "runs_per_block": 4})


def test_compare_and_bench_summaries_name_the_level():
    r = bench_result((0.7, 1.4), 0.9996)
    assert "99.96% CI 0.700-1.400" in r.summary() and not bare_ci(r.summary())
    result = {"old": "a" * 40, "new": "b" * 40, "target": "t", "case": "fast", "phases": [],
              "total": {"old_s": 1.0, "new_s": 1.0, "speedup": 1.0}, "first_call": {"old_s": None, "new_s": None},
              "verdict": "inconclusive", "speedup": 1.0, "ci": [0.7, 1.4], "ci_level": 0.9996, "metric": "wall",
              "benchmark": r.to_dict()}
    text = format_comparison(result)
    assert not bare_ci(text), bare_ci(text)
    assert "block ratios ranged 0.800-1.200" in text  # the range is shown, and called a range
    assert "runs of the same code vary by 5.0%" in text  # the noise as spread, not only drift
    base = {"case": "fast", "phases": [], "total": {"baseline_s": 1.0, "current_s": 1.0, "speedup": 1.0},
            "verdict": "same", "ci": [0.99, 1.01], "ci_level": 0.99, "correctness": {"passed": True, "failures": []},
            "notes": [], "benchmark": r.to_dict()}
    assert "99% CI 0.990-1.010" in format_baseline_comparison(base)
    assert not bare_ci(format_baseline_comparison(base))


def test_json_of_a_result_keeps_the_level_beside_the_interval():
    d = stats.decide([1.1, 1.12, 1.09], pairs=[(1.0, 1.01)] * 6).to_dict()
    assert d["ci_level"] == d["confidence"] and "Student t" in d["interval"]
    assert not any(k in d for k in ("ci95", "bootstrap_ci", "ci_exact"))


def test_an_instruction_verdict_is_not_printed_as_if_the_wall_interval_supported_it():
    r = bench_result((0.87, 1.05), 0.9996).to_dict()
    r["instructions"] = {"ratio": 0.95, "reference": {"per_run": 1.0e6}, "candidate": {"per_run": 1.05e6}}
    result = {"old": "a" * 40, "new": "b" * 40, "target": "t", "case": "fast", "phases": [],
              "total": {"old_s": 1.0, "new_s": 1.0, "speedup": 0.995}, "first_call": {"old_s": None, "new_s": None},
              "verdict": "slower", "speedup": 0.995, "ci": [0.87, 1.05], "ci_level": 0.9996, "metric": "instructions",
              "benchmark": r}
    line = next(x for x in format_comparison(result).splitlines() if x.startswith("verdict:"))
    assert "decided by the instruction count, 0.950x; wall time alone was inconclusive: 99.96% CI" in line


def test_the_review_report_names_the_level_and_a_busy_machine():
    from campaign.review.report import format_text

    row = {"iteration": 1, "phase": "p", "predicted": 1.5, "measured": 1.3, "ci": [1.1, 1.5], "ci_level": 0.99964,
           "verdict": "faster", "kept": True, "test_passed": True, "surprise": "None",
           "machine_busy": "machine busy: load above its 2 cores during 3/3 blocks (peak 8.0)"}
    result = {"summary": {"name": "c", "target": "t", "iterations": 1, "kept": 1, "reverted": 0, "final_speedup": 1.3,
                          "final_ci": None, "goal_speedup": None, "finished": True},
              "iterations": [row], "findings": [], "rules": [], "code_cost": [],
              "calibration": {"n": 0}}
    text = format_text(result)
    assert "intervals: the decisive ones, at 99.964%" in text
    assert "iter 1: machine busy: load above its 2 cores" in text and not bare_ci(text)
