"""``campaign compare --gate`` and ``campaign noise``: a CI gate that fails only on a significant slowdown.

The decision, the markdown summary and the JUnit XML are pure (unit tests);
end to end, on a pytest-benchmark suite (tests/test_pytest_benchmark_kind.py's
project): a 5x slower HEAD fails the gate (exit 4, gate_failed, a JUnit
failure, the summary appended to $GITHUB_STEP_SUMMARY); a faster HEAD passes;
``campaign noise`` on identical code reports its false-alarm counts.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

from campaign.measure.gate import decide, junit_xml, markdown, parse_threshold
from campaign.measure.noise import summarize, wilson
from loop_fixtures import campaign, cli_env, git
from test_pytest_benchmark_kind import FAST, SLOW, make_project


def result(verdict, speedup, ci):
    return {"verdict": verdict, "speedup": speedup, "ci": ci, "ci_level": 0.99, "old": "a" * 40, "new": "b" * 40,
            "target": "campaign.toml", "case": "fast", "metric": "wall", "total": {"old_s": 0.01, "new_s": 0.02},
            "phases": [{"phase": "test_unique", "old_s": 0.01, "new_s": 0.02, "speedup": 0.5}],
            "benchmark": {"blocks": 4, "min_effect": 0.02}}


def test_the_gate_fails_only_on_a_significant_slowdown_beyond_the_threshold():
    assert not decide(result("slower", 0.5, [0.4, 0.6]), 0.05)["passed"]
    # slower, but the interval reaches inside the 5% threshold: passes
    assert decide(result("slower", 0.93, [0.90, 0.97]), 0.05)["passed"]
    assert not decide(result("slower", 0.93, [0.90, 0.94]), 0.05)["passed"]
    for verdict, sp, ci in [("same", 1.0, [0.99, 1.01]), ("inconclusive", 0.8, [0.5, 1.2]), ("faster", 2.0, [1.8, 2.2])]:
        assert decide(result(verdict, sp, ci), 0.05)["passed"]
    assert parse_threshold("5%") == pytest.approx(0.05) and parse_threshold("0.1") == pytest.approx(0.1)
    with pytest.raises(ValueError):
        parse_threshold("fast")


def test_summary_and_junit_say_what_failed():
    r = result("slower", 0.5, [0.4, 0.6])
    gate = decide(r, 0.05)
    md = markdown(r, gate)
    assert md.startswith("## campaign gate: FAIL") and "test_unique" in md and "99% CI" in md
    suite = ET.fromstring(junit_xml(r, gate)).find("testsuite")
    assert suite.get("failures") == "1" and suite.find("testcase/failure").get("type") == "slowdown"
    ok = decide(result("faster", 2.0, [1.8, 2.2]), 0.05)
    assert ET.fromstring(junit_xml(result("faster", 2.0, [1.8, 2.2]), ok)).find("testsuite/testcase/failure") is None


def test_noise_summary_counts_false_alarms_with_a_wilson_interval():
    runs = [result("same", 1.0, [0.98, 1.02])] * 8 + [result("slower", 0.9, [0.85, 0.95])] * 2
    s = summarize(runs, 0.05)
    assert s["false_alarms"] == 2 and s["false_alarm_rate"] == pytest.approx(0.2)
    assert s["gate_false_alarms"] == 1 * 2  # both alarms lie wholly beyond the 5% threshold
    lo, hi = s["false_alarm_ci"]
    assert lo < 0.2 < hi and lo > 0 and hi < 0.6
    assert wilson(0, 10)[0] == 0 and wilson(0, 10)[1] > 0.2  # zero alarms in 10 runs do not prove a zero rate
    assert s["detectable_half_the_time"] < s["detectable_nearly_always"]


@pytest.fixture(scope="module")
def suite(tmp_path_factory):
    """The dedup project: commit 1 SLOW (O(n^2)), 2 SLOWER (5 copies per lookup), 3 FAST (dict.fromkeys)."""
    repo = make_project(tmp_path_factory.mktemp("gate") / "p")
    slower = SLOW.replace("if x not in out:", "if x not in out + out + out + out + out:")
    assert slower != SLOW
    (repo / "dedup.py").write_text(slower)
    git(repo, "commit", "-qam", "slower")
    (repo / "dedup.py").write_text(FAST)
    git(repo, "commit", "-qam", "fast")
    return repo


def test_gate_fails_a_slower_head_on_a_pytest_benchmark_suite(suite, tmp_path):
    step_summary = tmp_path / "step_summary.md"
    env = cli_env(GITHUB_STEP_SUMMARY=str(step_summary))
    r = campaign(suite, "compare", "HEAD~2", "HEAD~1", "--gate", "--junit", str(tmp_path / "j.xml"),
                 "--summary", str(tmp_path / "s.md"), "--json", env=env, timeout=600)
    payload = json.loads(r.stdout)
    assert r.returncode == 4 and payload["code"] == "gate_failed", (r.returncode, r.stderr[-2000:])
    assert payload["verdict"] == "slower" and not payload["gate"]["passed"]
    assert "FAIL" in (tmp_path / "s.md").read_text() and "FAIL" in step_summary.read_text()
    assert ET.parse(tmp_path / "j.xml").getroot().find("testsuite").get("failures") == "1"


def test_gate_passes_a_faster_head(suite, tmp_path):
    from campaign.contract import validation_errors

    r = campaign(suite, "compare", "HEAD~1", "HEAD", "--gate", "--max-slowdown", "10%", "--json", env=cli_env(),
                 timeout=600)
    payload = json.loads(r.stdout)
    assert r.returncode == 0, r.stderr[-2000:]
    assert payload["gate"]["passed"] and payload["gate"]["max_slowdown"] == pytest.approx(0.1)
    assert validation_errors(payload, "compare") == []


def test_noise_runs_a_a_comparisons_of_the_suite(suite):
    from campaign.contract import validation_errors

    r = campaign(suite, "noise", "HEAD", "--runs", "2", "--json", env=cli_env(), timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    payload = json.loads(r.stdout)
    assert validation_errors(payload, "noise") == []
    assert payload["runs"] == 2 and len(payload["rows"]) == 2
    assert 0 <= payload["false_alarms"] <= 2 and payload["false_alarm_ci"][1] > 0
    from campaign.measure.noise import format_text

    text = format_text(payload)
    assert "false alarms" in text and "Wilson" in text and "load average" in text
