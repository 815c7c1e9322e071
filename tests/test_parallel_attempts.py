"""The pure parts of ``--parallel``: the attempts read back from the journal, the queue's pick, THINK's rules."""

from __future__ import annotations

from campaign.agents.attempt_plans import (
    attempt_plans,
    live_line,
    live_rows,
    parallel_problem,
)
from campaign.loop import attempts as att
from campaign.loop import machine as loop


def ev(seq, data, iteration=None, ts="2026-12-05T10:00:00+00:00"):
    return {"schema": 1, "seq": seq, "type": "agent", "iteration": iteration, "ts": ts,
            "data": {"step": "attempt", **data}}


def planned(seq, aid, predicted=2.0, ts="2026-12-05T10:00:00+00:00"):
    return ev(seq, {"attempt": aid, "status": "planned", "plan": {"title": aid, "predicted_speedup": predicted},
                    "base": "c0", "host": "h1"}, ts=ts)


def test_fold_follows_each_attempt_to_its_latest_status():
    events = [planned(1, "a1"), planned(2, "a2"), planned(3, "a3"),
              ev(4, {"attempt": "a1", "status": "implemented", "patch": "attempts/a1.patch"}),
              ev(5, {"attempt": "a2", "status": "failed", "error": "boom"}),
              ev(6, {"attempt": "a1", "status": "measuring", "iteration": 1}, 1)]
    got = att.fold(events, iterations=1)
    assert {k: a.status for k, a in got.items()} == {"a1": "measuring", "a2": "failed", "a3": "planned"}
    assert got["a1"].patch == "attempts/a1.patch" and got["a1"].iteration == 1 and got["a2"].error == "boom"
    assert att.of_iteration(got, 1).id == "a1"
    assert [a.id for a in att.pending(got)] == ["a1", "a2", "a3"]
    assert att.next_id(events) == 4


def test_a_measuring_whose_think_never_came_is_ready_again():
    """A crash between the ``measuring`` status and the iteration's think: the attempt is queued again."""
    events = [planned(1, "a1"), ev(2, {"attempt": "a1", "status": "implemented", "patch": "p"}),
              ev(3, {"attempt": "a1", "status": "measuring", "iteration": 3}, 3)]
    got = att.fold(events, iterations=2)
    assert got["a1"].status == "implemented" and got["a1"].iteration is None and got["a1"].ready


def test_done_attempts_are_not_pending():
    events = [planned(1, "a1"), planned(2, "a2"), ev(3, {"attempt": "a1", "status": "kept", "iteration": 1}),
              ev(4, {"attempt": "a2", "status": "dropped", "why": "stopped"})]
    assert att.pending(att.fold(events, 1)) == []


def test_the_queue_takes_the_largest_prediction_first():
    ready = [att.Attempt("a1", {"predicted_speedup": 1.2}), att.Attempt("a2", {"predicted_speedup": 5.0}),
             att.Attempt("a3", {"predicted_speedup": 5.0})]
    assert att.pick(ready).id == "a2"
    assert att.pick([]) is None


def test_outcome_names_superseded_only_when_another_was_kept_meanwhile():
    assert att.outcome(True, True) == "kept"
    assert att.outcome(False, False) == "reverted"
    assert att.outcome(False, True) == "superseded"


def test_think_must_give_the_options_wanted():
    state = loop.State(last_profile={"shares": {"p": 0.9, "q": 0.1}})
    answer = {"action": "optimize", "title": "t", "chosen": "c", "predicted_speedup": 2.0, "phase": "p",
              "change": "x", "hypothesis": "h", "risk": "r", "options": ["c", "d"]}
    assert "at least 2 options" in parallel_problem(state, answer, 2)
    assert parallel_problem(state, answer, 1) is None
    two = {**answer, "attempts": [{"title": "A", "chosen": "A", "predicted_speedup": 2.0, "phase": "p", "change": "a"},
                                  {"title": "B", "chosen": "B", "predicted_speedup": 1.5, "phase": "p", "change": "b",
                                   "risk": "own risk"}]}
    assert parallel_problem(state, two, 2) is None
    plans = attempt_plans(two, 2)
    assert [p["title"] for p in plans] == ["A", "B"]
    assert plans[0]["hypothesis"] == "h" and plans[0]["risk"] == "r" and plans[1]["risk"] == "own risk"
    assert plans[0]["options"] == ["c", "d"]
    assert [p["title"] for p in attempt_plans(answer, 1)] == ["t"]  # one slot: the answer is the plan
    assert parallel_problem(state, {"action": "exhausted", "why": "w"}, 3) is None
    elsewhere = {**two, "attempts": [two["attempts"][0], {**two["attempts"][1], "phase": "nowhere"}]}
    assert parallel_problem(state, elsewhere, 2).startswith("attempts/1/phase:")  # each option meets the PLAN rules


def test_live_view_says_each_attempts_step_host_and_elapsed():
    events = [planned(1, "a1", ts="2026-12-05T10:00:00+00:00"), planned(2, "a2", ts="2026-12-05T10:00:30+00:00"),
              ev(3, {"attempt": "a2", "status": "implemented", "patch": "p", "host": "h1"})]
    rows = att.live_view(events, loop.State(), "2026-12-05T10:01:00+00:00")
    assert [(r["attempt"], r["step"], r["host"], r["elapsed_s"]) for r in rows] == [
        ("a1", "implement", "h1", 60.0), ("a2", "queued", "h1", 30.0)]
    line = live_line(live_rows(att.pending(att.fold(events, 0)), 100.0, {"a1": 40.0, "a2": 90.0}))
    assert line == "attempts: a1 implement on h1 60 s; a2 queued on h1 10 s"
