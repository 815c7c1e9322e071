"""campaign review: each rule trips on exactly its crafted defect; clean records pass."""

from __future__ import annotations

import json
import math

import pytest
from click.testing import CliRunner

from campaign.review import calibration

from campaign.review import lint as review
from campaign.cli import cli
from records import DEFECT_ITERATION, DEFECTS, clean_record


def run(*args: str):
    # a wide terminal: the checks below read whole cells (tests/test_terminal_fit.py checks narrow ones)
    return CliRunner().invoke(cli, list(args), env={"COLUMNS": "200"})


@pytest.fixture(scope="module")
def clean_dir(tmp_path_factory):
    return clean_record().write(tmp_path_factory.mktemp("clean"))


def test_every_rule_has_a_crafted_defect():
    assert set(DEFECTS) == {r.id for r in review.RULES}


def test_clean_record_has_no_finding_and_exits_0(clean_dir):
    assert review.check(review.load_record(clean_dir)) == []
    result = run("review", str(clean_dir))
    assert result.exit_code == 0, result.output
    assert "findings: none" in result.output


def test_terminal_view_shows_table_calibration_and_cost(clean_dir):
    out = run("review", str(clean_dir)).output
    for header in ("iter", "predicted", "measured [interval]", "verdict", "kept", "surprise"):
        assert header in out
    assert "The cache never hit" in out
    assert "calibration: median measured/predicted" in out
    assert "code cost" in out and "_fast new->2" in out


@pytest.mark.parametrize("rule", sorted(DEFECTS))
def test_each_defect_trips_exactly_its_rule(rule, tmp_path):
    builder = clean_record()
    DEFECTS[rule](builder)
    record = builder.write(tmp_path / rule)
    findings = review.check(review.load_record(record))
    assert [(f.rule, f.iteration) for f in findings] == [(rule, DEFECT_ITERATION[rule])]

    result = run("review", str(record), "--json")
    assert result.exit_code == 4  # ExitCode.FINDINGS: distinct from a user error (1)
    data = json.loads(result.stdout)
    assert data["ok"] is False and data["code"] == "review_findings"
    assert [f["rule"] for f in data["findings"]] == [rule]

    text = run("review", str(record))
    assert text.exit_code == 4 and rule in text.output


# ---------------------------------------------------------------- rule edges, on events alone


def _events(builder):
    for seq, e in enumerate(builder.events, start=1):
        e["seq"] = seq
    return builder.events


def test_skip_after_three_failed_attempts_is_fine():
    b = clean_record()
    for n in (5, 6):
        b.iteration(n, phase="load", predicted=1.2, measured=0.95, ci=(0.9, 0.99), cumulative=2.5, kept=False, files={"pkg/core.py": "x = 1\n"},
                    postmortem={"why": "w", "lesson": "l"})
    b.add("skip", 6, bottleneck="load", why="three tries, no gain", failed_attempts=3)
    assert review.check(_events(b)) == []


def test_skip_counts_only_attempts_before_it():
    b = clean_record()
    b.add("skip", 4, bottleneck="load", why="early", failed_attempts=1)
    for n in (5, 6):
        b.iteration(n, phase="load", predicted=1.2, measured=0.95, ci=(0.9, 0.99), cumulative=2.5, kept=False, files={}, postmortem={"why": "w", "lesson": "l"})
    assert [f.rule for f in review.check(_events(b))] == ["skip-without-3-failures"]


def test_postmortem_factor_comes_from_init():
    b = clean_record()
    DEFECTS["postmortem-missing"](b)
    b.events[0]["data"]["postmortem_factor"] = 2.0  # 1.5 predicted, 0.9 measured: off by 1.67x, allowed
    assert review.check(_events(b)) == []


def test_postmortem_also_due_when_far_better_than_predicted():
    b = clean_record()
    b.find("benchmark", 3)["data"]["speedup"] = 1.9  # predicted 1.2
    assert [(f.rule, f.iteration) for f in review.check(_events(b))] == [("postmortem-missing", 3)]


def test_missing_log_counts_as_missing_surprise():
    b = clean_record()
    b.events.remove(b.find("log", 3))
    assert [(f.rule, f.iteration) for f in review.check(_events(b))] == [("surprise-missing", 3)]


def test_unfinished_last_iteration_is_not_judged_yet():
    b = clean_record()
    b.events[:] = [e for e in b.events if e["type"] != "finish" and not (e["iteration"] == 4 and e["type"] in ("log", "commit", "decide"))]
    assert review.check(_events(b)) == []


def test_plan_without_profile():
    b = clean_record()
    b.events[:] = [e for e in b.events if e["type"] != "profile"]
    findings = review.check(_events(b))
    assert {f.rule for f in findings} == {"phase-under-5pct"} and len(findings) == 4


# ---------------------------------------------------------------- calibration (pure)


def test_calibration_numbers(clean_dir):
    c = calibration.calibration(review.load_record(clean_dir))
    assert c["n"] == 4
    ratios = sorted([1.9 / 2.0, 0.9 / 1.5, 1.25 / 1.2, 1.12 / 1.1])
    assert math.isclose(c["median_ratio"], (ratios[1] + ratios[2]) / 2)
    assert c["share_within"] == 0.75  # 0.6 is outside [0.8, 1.25]
    assert [p["iteration"] for p in c["points"] if not p["within"]] == [2]


def test_calibration_empty():
    assert calibration.summarize([])["median_ratio"] is None


# ---------------------------------------------------------------- bad input: one paragraph, no traceback


def _bad(path, *extra):
    result = run("review", str(path), *extra)
    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    return result.output


def test_missing_dir(tmp_path):
    assert "not a directory" in _bad(tmp_path / "nope")


def test_no_journal(tmp_path):
    assert "no journal.jsonl" in _bad(tmp_path)


def test_torn_journal(clean_dir, tmp_path):
    data = (clean_dir / "journal.jsonl").read_text()
    (tmp_path / "journal.jsonl").write_text(data + '{"schema": 1, "seq": 99, "ty')
    assert "torn" in _bad(tmp_path)


def test_newer_schema(clean_dir, tmp_path):
    lines = (clean_dir / "journal.jsonl").read_text().splitlines()
    event = json.loads(lines[-1])
    event["schema"] = 99
    (tmp_path / "journal.jsonl").write_text("\n".join(lines[:-1] + [json.dumps(event)]) + "\n")
    assert "newer" in _bad(tmp_path)

