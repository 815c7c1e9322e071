"""The shipped record as it was before the typed record (optim/weight_search at commit 051530a) still loads,
renders byte-identically and replays.

``tests/data/weight_search_051530a`` is a frozen copy of that record (journal, logs, patches, baseline
snapshot; the agent's exchanges left out): the live ``optim/weight_search`` may be re-recorded, this copy
never is, so the loader keeps reading the format the record had then.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from campaign.loop import record
from campaign.loop.journal import parse_journal
from campaign.loop.machine import Step, derive
from campaign.loop.render import render_all
from campaign.review import replay, replay_workspace

OLD = Path(__file__).resolve().parent / "data" / "weight_search_051530a"


def _events():
    return parse_journal((OLD / "journal.jsonl").read_bytes()).events


def test_every_event_of_the_old_record_loads_into_its_typed_class():
    events = _events()
    loaded = [record.load_event(e) for e in events]
    assert [e.type for e in loaded] == [e["type"] for e in events]
    assert all(isinstance(e.data, record.EVENT_CLASSES[e.type]) for e in loaded)
    assert [e.seq for e in loaded] == list(range(1, len(events) + 1))
    bench = next(e.data for e in loaded if e.type == "benchmark")
    raw = next(e["data"] for e in events if e["type"] == "benchmark")
    assert bench.speedup == raw["speedup"] and bench.vs_baseline.speedup == raw["vs_baseline"]["speedup"]
    assert bench.cumulative == raw["vs_baseline"]["speedup"]


def test_the_old_record_derives_finished_with_its_recorded_numbers():
    events = _events()
    state = derive(events)
    finish = next(e["data"] for e in events if e["type"] == "finish")
    assert state.step is Step.DONE
    assert [s.kept for s in state.summaries()] == [True, True, True, False, True, False, False]
    kept = [s for s in state.summaries() if s.kept]
    assert state.cumulative == kept[-1].cumulative
    assert finish["final_speedup"] > 1 and state.finish.final_speedup == finish["final_speedup"]


SHIPPED = Path(__file__).resolve().parents[1] / "optim" / "weight_search"


@pytest.mark.parametrize("name", ["optimization_log.md", "thinking_log.md"])
def test_the_old_record_re_renders_byte_identically(name):
    assert render_all(_events())[name] == (OLD / name).read_text()


def test_the_old_summary_renders_as_the_shipped_one_with_the_rest_of_the_run_named():
    """summary.md changed on purpose once (issue 26): 'What dominates now' names the time outside the phases, so
    the shares add up to 100%. The old journal renders exactly the shipped summary, and differs from its 051530a
    rendering only there."""
    assert (SHIPPED / "journal.jsonl").read_bytes() == (OLD / "journal.jsonl").read_bytes()
    rendered = render_all(_events())["summary.md"]
    assert rendered == (SHIPPED / "summary.md").read_text()
    old = (OLD / "summary.md").read_text().splitlines()
    added = [line for line in rendered.splitlines() if line not in old]
    assert added == ["From the latest profile (before iteration 8), shares of the whole run's time:",
                     "- outside the named phases (code between and around them): 30%"]


def test_the_old_record_replays_its_patches_on_its_snapshot(tmp_path):
    """What replay does before measuring: every patch verified, applied in order on the rebuilt snapshot
    (kept ones committed, the others reverted), and the logs re-rendered identically."""
    rec = tmp_path / "weight_search"
    shutil.copytree(OLD, rec)
    events = _events()
    attempts = replay.attempts_from_journal(events)
    assert [a.iteration for a in attempts] == list(range(1, 8))
    assert [a.kept for a in attempts] == [True, True, True, False, True, False, False]
    repo = replay_workspace.build_workspace(rec, tmp_path / "work")
    for attempt in attempts:
        patch = replay_workspace.verified_patch(rec, attempt)
        replay_workspace.apply_patch(repo, patch)
        if attempt.kept:
            replay_workspace.commit_all(repo, f"replay iter {attempt.iteration}")
        else:
            replay_workspace.revert_changes(repo)
    # summary.md of 051530a predates the 100% shares (issue 26): replay names it, the other two are identical
    assert replay.check_renders(rec, events) == {"optimization_log.md": True, "thinking_log.md": True,
                                                 "summary.md": False}
    assert len(list(repo.iter_commits())) == 1 + sum(a.kept for a in attempts)


def test_an_event_from_a_newer_minor_writer_keeps_its_unknown_keys():
    raw = {"schema": 1, "seq": 1, "ts": "t", "type": "think", "iteration": 1,
           "data": {"hypothesis": "h", "predicted_speedup": 2.0, "novel": [1, 2]}}
    event = record.load_event(raw)
    assert event.data.predicted_speedup == 2.0 and event.data.extra == {"novel": [1, 2]}
    assert json.loads(json.dumps(event.data.to_json())) == raw["data"]


def test_an_unknown_schema_version_is_refused_by_the_loader():
    with pytest.raises(record.RecordError, match="schema 99"):
        record.load_event({"schema": 99, "seq": 1, "type": "think", "data": {}})


def test_the_old_record_replays_end_to_end(tmp_path):
    """``campaign replay`` of iteration 4 (its TEST failed): the baseline re-runs and matches, iterations 1-3
    are applied, 4 is re-tested and fails again, and the logs re-render identically. No timing is compared."""
    rec = tmp_path / "weight_search"
    shutil.copytree(OLD, rec)
    shutil.copy(SHIPPED / "summary.md", rec / "summary.md")  # the derived log brought up to date (`campaign render`)
    result = replay.replay(rec, "4..4", trust=True)
    assert result["ok"] and result["baseline_reproduced"]
    assert [(r["iteration"], r["recorded_verdict"], r["replayed_verdict"]) for r in result["rows"]] == [
        (4, "test-failed", "test-failed")]
    assert all(result["renders_identical"].values())
