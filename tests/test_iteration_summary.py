"""One IterationSummary, one cumulative speedup: status, the runner, the logs and the report agree.

The record is the frozen shipped one (``tests/data/weight_search_051530a``); a second variant drops
``vs_baseline.speedup`` from every benchmark, as records written before it carry only
``cumulative_speedup``: every reader must then fall back the same way (status read None there, the logs
and DECIDE the older field, the report preferred the older field even when both were present).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from campaign.agents.briefing import history, log_result
from campaign.loop import record
from campaign.loop.journal import parse_journal
from campaign.loop.machine import derive
from campaign.loop.render import view
from campaign.loop.steps.status import iteration_row
from campaign.review.record_summary import iteration_rows

OLD = Path(__file__).resolve().parent / "data" / "weight_search_051530a"


def _events(drop_vs_baseline: bool):
    events = parse_journal((OLD / "journal.jsonl").read_bytes()).events
    if drop_vs_baseline:
        events = copy.deepcopy(events)
        for e in events:
            if e["type"] == "benchmark":
                e["data"]["cumulative_speedup"] = e["data"]["vs_baseline"].pop("speedup")
    return events


@pytest.mark.parametrize("drop", [False, True], ids=["vs_baseline", "cumulative_speedup-only"])
def test_every_reader_gives_one_cumulative_speedup(drop):
    events = _events(drop)
    state = derive(events)
    summaries = state.summaries()
    expected = [record.cumulative_speedup(it.benchmark) for it in state.iterations]
    assert sum(x is not None for x in expected) >= 4  # the iterations measured (a failed TEST is not)
    assert [s.cumulative for s in summaries] == expected
    # status (and `campaign run`'s result): only a kept row carries the cumulative, as the log's "—" says
    assert [iteration_row(s)["cumulative"] for s in summaries] == [x if s.kept else None
                                                                   for x, s in zip(expected, summaries)]
    assert any(x is not None and not s.kept for x, s in zip(expected, summaries))  # a measured, reverted row
    assert [r["cumulative"] for r in iteration_rows(events)] == expected  # the report's rows
    kept = [x for x, s in zip(expected, summaries) if s.kept]
    assert state.cumulative == kept[-1]  # what DECIDE and status's headline read
    rendered = view(events)["iterations"]
    assert [r["cumulative"] for r in rendered] == [f"{x:.2f}x" if s.kept else "—" for x, s in zip(expected, summaries)]
    assert all(f"cumulative: {x:.2f}x over baseline" in r["result"] for x, r in zip(expected, rendered) if x)


def test_the_runner_and_status_read_the_same_summary():
    events = _events(False)
    state = derive(events)
    rows = history(events)
    for row, summary in zip(rows, state.summaries()):
        status = iteration_row(summary)
        for key in ("phase", "predicted", "speedup", "ci", "verdict", "test_passed", "kept"):
            assert row[key] == status[key] == getattr(summary, key), key
    told = log_result(state)
    last = state.summaries()[-1]
    assert (told["speedup"], told["verdict"], told["predicted"]) == (last.speedup, last.verdict, last.predicted)


def test_a_summary_is_frozen_and_serializes():
    summary = derive(_events(False)).summaries()[0]
    with pytest.raises(AttributeError):
        summary.kept = False  # type: ignore[misc]
    assert json.loads(json.dumps(summary.to_json()))["n"] == 1


def test_a_typed_event_is_read_only_and_serializes_as_its_json():
    state = derive(_events(False))
    bench = state.iterations[0].benchmark
    with pytest.raises(TypeError):
        bench["speedup"] = 99.0
    with pytest.raises(AttributeError):
        bench.speedup = 99.0  # type: ignore[misc]
    assert json.loads(json.dumps({"b": bench}))["b"] == bench.to_json()


def test_a_typed_event_copies_and_pickles_as_itself():
    import pickle

    bench = derive(_events(False)).iterations[0].benchmark
    for twin in (copy.deepcopy(bench), pickle.loads(pickle.dumps(bench))):
        assert type(twin) is type(bench) and twin == bench and twin.vs_baseline.ci == bench.vs_baseline.ci


def test_each_summary_field_is_the_recorded_fact():
    # written against the surviving mutants of state.py's Iteration.summary (docs/mutation.md): every field
    # is read from its own event, never left out
    events = _events(False)
    by = {(e["type"], e["iteration"]): e["data"] for e in events if e.get("iteration")}
    summaries = derive(events).summaries()
    kept = next(s for s in summaries if s.kept)
    bench, plan = by[("benchmark", kept.n)], by[("plan", kept.n)]
    assert kept.title == plan["change"] and kept.phase == plan["phase"]
    assert kept.predicted == by[("think", kept.n)]["predicted_speedup"]
    assert (kept.speedup, kept.ci, kept.ci_level, kept.ci_kind, kept.verdict) == (
        bench["speedup"], bench["ci"], bench["ci_level"], bench["ci_kind"], bench["verdict"])
    assert kept.cumulative_ci == bench["vs_baseline"]["ci"] and kept.cumulative_ci is not None
    assert kept.test_passed is True and kept.done and kept.commit == by[("commit", kept.n)]["commit"]
    assert kept.surprise == by[("log", kept.n)]["surprise"] and kept.revert_reason is None
    failed = next(s for s in summaries if s.test_passed is False)
    assert failed.kept is False and failed.revert_reason == by[("revert", failed.n)]["reason"]
    assert failed.commit is None and failed.outcome == "reverted"
