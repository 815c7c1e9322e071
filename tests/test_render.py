"""Rendered logs: golden structure, every field, byte-identical re-rendering."""

import re

from campaign.loop.render import render_all, write_all


def _events():
    events = []

    def add(type_, data, iteration=None):
        events.append({"schema": 1, "seq": len(events) + 1, "ts": f"2026-01-01T00:00:{len(events):02d}",
                       "type": type_, "iteration": iteration, "data": data})

    add("init", {"name": "demo", "target": {"name": "primes"}, "goal_speedup": 3.0, "max_iterations": 15,
                 "postmortem_factor": 1.5, "pre_tag": "demo/pre-optimization", "branch": "optimization/demo",
                 "base_commit": "a" * 40})
    add("baseline", {"commit": "a" * 40, "case": "fast", "warm_s": 0.05, "first_call_s": 0.06,
                     "phases": {"count": 0.045, "load": 0.005}, "outputs": {"n": 1}})
    add("commit", {"commit": "b" * 40, "message": "start"})
    add("profile", {"shares": {"count": 0.9, "load": 0.1}, "phases": {"count": 0.045, "load": 0.005}}, 1)
    add("think", {"hypothesis": "trial division is O(n sqrt n)", "options": ["sieve: fast", "cache: meh"],
                  "chosen": "sieve", "predicted_speedup": 5.0, "risk": "memory"}, 1)
    add("plan", {"phase": "count", "change": "use a sieve", "bottleneck": "is_prime", "phase_share": 0.9,
                 "amdahl_bound": 10.0, "override": None}, 1)
    add("implement", {"files": ["primes.py"], "patch": "patches/iter-01.patch"}, 1)
    add("test", {"passed": True, "failures": [], "test_command": None, "out_of_scope": []}, 1)
    add("benchmark", {"case": "fast", "verdict": "faster", "speedup": 6.1, "ci": [5.9, 6.3],
                      "vs_baseline": {"speedup": 6.0, "ci": [5.8, 6.2]}, "cumulative_speedup": 6.0,
                      "candidate": {"warm_s": 0.008, "first_call_s": 0.01}, "reference": {"warm_s": 0.05}, "full": None}, 1)
    add("log", {"surprise": "None — as predicted", "notes": "try numpy next", "postmortem": None, "kept": True,
                "keep_reason": None}, 1)
    add("commit", {"commit": "c" * 40, "message": "campaign demo iter 1"}, 1)
    add("decide", {"stop": False, "rule": "none", "reason": "go on"}, 1)
    add("profile", {"shares": {"count": 0.6, "load": 0.4}}, 2)
    add("think", {"hypothesis": "h2", "options": ["a", "b"], "chosen": "off by one", "predicted_speedup": 1.5, "risk": "r"}, 2)
    add("plan", {"phase": "count", "change": "skip evens", "bottleneck": "b2", "override": None}, 2)
    add("implement", {"files": ["primes.py"]}, 2)
    add("test", {"passed": False, "failures": [{"output": "n", "message": "n: expected 1, got 2"}],
                 "test_command": None, "out_of_scope": []}, 2)
    add("log", {"surprise": "broke the count of 2", "notes": None, "postmortem": None, "kept": False, "keep_reason": None}, 2)
    add("revert", {"to_commit": "c" * 40, "reason": "test-failed", "patch": "patches/iter-02-reverted.patch"}, 2)
    add("decide", {"stop": True, "rule": "goal", "reason": "cumulative speedup 6.00x reached the goal of 3x"}, 2)
    return events


def test_optimization_log_has_every_field_for_every_iteration():
    text = render_all(_events())["optimization_log.md"]
    for n in (1, 2):
        block = text.split(f"## Iteration {n}:")[1].split("## Iteration")[0]
        for field in ("Target", "Optimization", "Bottleneck", "Prediction", "Result", "Performance",
                      "Correctness", "Commit", "Surprise", "Notes"):
            assert f"**{field}:**" in block, (n, field)
    assert "6.10x speedup (interval 5.90-6.30, faster) (cumulative: 6.00x over baseline" in text  # no level recorded: not called a CI
    assert "warm 8.0 ms" in text and "first call 10.0 ms" in text
    assert "**Correctness:** PASS" in text
    assert "**Correctness:** FAIL (reverted): n: expected 1, got 2" in text
    assert "**Commit:** cccccccccc" in text and "(reverted: test-failed)" in text
    assert "broke the count of 2" in text


def test_thinking_log_and_postmortem():
    events = _events()
    events[9]["data"]["postmortem"] = {"why": "sieve is cache friendly", "lesson": "measure memory"}
    text = render_all(events)["thinking_log.md"]
    assert "### Before Iteration 1" in text and "### Before Iteration 2" in text
    assert "  - sieve: fast" in text and "- **Risk:** memory" in text
    assert "### Postmortem — Iteration 1" in text and "- **Lesson:** measure memory" in text
    assert "Postmortem — Iteration 2" not in text


def test_summary():
    text = render_all(_events())["summary.md"]
    assert "| 1 | use a sieve | count | 5.00x | 6.10x | 6.00x | PASS | kept |" in text
    assert "| 2 | skip evens | count | 1.50x | n/a | — | FAIL | reverted |" in text
    assert "Final speedup: 6.00x" in text
    assert "- count: 60%" in text
    assert "reached the goal" in text


def test_rendering_is_deterministic_and_has_no_render_time(tmp_path):
    events = _events()
    first = render_all(events)
    assert first == render_all(events)
    for text in first.values():
        assert not re.search(r"20\d\d-\d\d-\d\d", text)
    assert set(write_all(tmp_path, events)) == set(first)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    assert write_all(tmp_path, events) == []
    assert before == {p.name: p.read_bytes() for p in tmp_path.iterdir()}


def test_every_prefix_of_the_journal_renders():
    events = _events()
    for n in range(len(events) + 1):
        files = render_all(events[:n])  # StrictUndefined: any missing variable would raise
        assert set(files) == {"optimization_log.md", "thinking_log.md", "summary.md"}
        assert all(text.strip() for text in files.values())
        stopping = files["summary.md"].split("## Stopping reason", 1)[1]
        if n < len(events):  # a campaign in progress says what is due, never a stopping rule
            assert "not stopped yet" in stopping and "reached the goal" not in stopping
        else:
            assert "cumulative speedup 6.00x reached the goal of 3x" in stopping
