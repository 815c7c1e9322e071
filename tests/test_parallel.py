"""``campaign run --parallel K`` end to end: the real CLI on the tiny sum target with scripted agents.

Only large deliberate effects decide (a >10x closed form, wrong answers, patches that conflict), never a
timing threshold; who implemented what, where and how often is read from the scripted agent's call log.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from loop_fixtures import finished_record, git
from parallel_fixtures import FAST_B, WRONG_BUILD, read_calls, write_parallel_agent
from run_fixtures import (
    FAST,
    cli,
    events_of,
    journal,
    make_sum_repo,
    ok,
    run_env,
    write_target_module,
)

from campaign.loop import attempts as att


@pytest.fixture
def setup(tmp_path):
    lib = write_target_module(tmp_path / "lib")
    repo = make_sum_repo(tmp_path / "repo")
    return repo, run_env(lib), tmp_path


def attempt_events(record: Path) -> list[dict]:
    return [e["data"] for e in journal(record) if att.is_attempt_event(e)]


def final_status(record: Path) -> dict[str, str]:
    return {d["attempt"]: d["status"] for d in attempt_events(record)}


def test_three_attempts_at_once_each_in_its_worktree(setup):
    """THINK plans 3 options; 3 agents implement them in 3 worktrees; each becomes an iteration of its own."""
    repo, env, tmp_path = setup
    cmd, calls = write_parallel_agent(tmp_path, [("closed form", 20.0, FAST, 0),
                                                 ("closed form, other names", 10.0, FAST_B, 2),
                                                 ("shorter range", 1.1, WRONG_BUILD, 2)])
    done = cli(repo, env, "run", "--target", "sumtarget:SumTarget", "--agent", "command", "--agent-cmd", cmd,
               "--parallel", "3", "--goal-speedup", "1000", "--max-iterations", "3", "--json")
    out = ok(done)
    assert out["finished"]
    assert "attempts: a1 test+benchmark on " in done.stderr  # the progress lines: each attempt's step and host
    record = finished_record(repo, "sum")
    seen = read_calls(calls)
    thinks = [c for c in seen if c["step"] == "think"]
    assert len(thinks) == 1 and thinks[0]["parallel"]["options_wanted"] == 3  # the cap leaves no room for more
    implements = [c for c in seen if c["step"] == "implement"]
    assert sorted(c["title"] for c in implements) == ["closed form", "closed form, other names", "shorter range"]
    cwds = {c["cwd"] for c in implements}
    assert len(cwds) == 3 and str(repo.resolve()) not in cwds  # each in its own worktree, never the repository
    assert all("campaign-wt-" in c for c in cwds)
    # one iteration per attempt, in the order they became ready; the first is kept, the others came after it
    st = out
    assert [r["title"] for r in st["iterations"]] == ["closed form", "closed form, other names", "shorter range"]
    assert [r["kept"] for r in st["iterations"]] == [True, False, False]
    status = final_status(record)
    assert status == {"a1": "kept", "a2": "superseded", "a3": "superseded"}, status
    tests = events_of(record, "test")
    assert "no longer applies" in tests[1]["data"]["failures"][0]["message"]  # FAST_B conflicts with FAST kept
    assert tests[2]["data"]["passed"] is False and tests[2]["data"]["cases"]  # applied on top, then TEST failed
    # every attempt's patch and its agent's IMPLEMENT exchange are in the record
    for data in attempt_events(record):
        if data["status"] == "implemented":
            assert (record / data["patch"]).exists()
    implement_exchanges = [e for e in journal(record) if e["type"] == "agent" and e["data"].get("step") == "implement"]
    assert sorted(e["data"]["attempt"] for e in implement_exchanges) == ["a1", "a2", "a3"]  # journaled when done
    assert out["agent_usage"]["total"]["exchanges"] == 1 + 3 + 3  # one THINK, three IMPLEMENTs, three LOGs
    assert len(events_of(record, "log")) == 3  # a Surprise for every attempt
    worktrees = [line for line in git(repo, "worktree", "list", "--porcelain").splitlines() if line.startswith("worktree ")]
    assert len(worktrees) == 1, worktrees


def test_resume_after_kill_9_with_attempts_in_flight(setup):
    """kill -9 while one attempt is mid-BENCHMARK and another is still implementing; --resume loses nothing.

    The measured attempt is measured again without asking its agent again; the one being implemented is
    implemented again (its first agent died with the run); THINK is not asked again.
    """
    repo, env, tmp_path = setup
    cmd, calls = write_parallel_agent(tmp_path, [("closed form", 20.0, FAST, 0),
                                                 ("shorter range", 1.1, WRONG_BUILD, "HOLD")])
    record = repo / "optim" / "sum"  # while it runs the record is in the tree
    runs = tmp_path / "fast-runs"  # after its TEST, every run of the closed form blocks until killed
    proc = subprocess.Popen([sys.executable, "-m", "campaign", "run", "--target", "sumtarget:SumTarget", "--agent",
                             "command", "--agent-cmd", cmd, "--parallel", "2", "--goal-speedup", "1000",
                             "--max-iterations", "2"], cwd=repo, env={**env, "SUM_HOLD_AFTER": str(runs)},
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.monotonic() + 300
    try:
        while len(set(runs.read_text().split()) if runs.exists() else ()) < 2:
            assert proc.poll() is None, f"the run ended before it could be killed:\n{proc.stderr.read().decode()}"
            assert time.monotonic() < deadline, "the closed form did not reach its benchmark"
            time.sleep(0.05)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        proc.stderr.close()
    before = final_status(record)
    assert before == {"a1": "measuring", "a2": "planned"}, before
    killed = ok(cli(repo, env, "status", "--json"))  # the live view: each attempt's step, host, elapsed
    assert [(a["attempt"], a["step"]) for a in killed["attempts"]] == [("a1", "iteration 1: try"), ("a2", "implement")]
    assert all(a["host"] and a["elapsed_s"] >= 0 for a in killed["attempts"])
    text = cli(repo, env, "status").stdout
    assert "attempt a2: implement on " in text and "since THINK - shorter range" in text

    resumed = cli(repo, env, "run", "--resume", "--json")
    out = ok(resumed)
    assert out["finished"]
    seen = read_calls(calls)
    assert [c["step"] for c in seen].count("think") == 1
    by_title = [c["title"] for c in seen if c["step"] == "implement"]
    assert by_title.count("closed form") == 1  # recorded: never asked again
    assert by_title.count("shorter range") == 2  # killed mid-IMPLEMENT: asked again
    assert [r["kept"] for r in out["iterations"]] == [True, False]
    record = finished_record(repo, "sum")  # finished: the record stays in git, not in the tree
    assert final_status(record) == {"a1": "kept", "a2": "superseded"}
    events = journal(record)
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert [e["type"] for e in events].count("think") == 2  # one iteration per attempt, none twice
    worktrees = [line for line in git(repo, "worktree", "list", "--porcelain").splitlines() if line.startswith("worktree ")]
    assert len(worktrees) == 1, worktrees


def test_the_iteration_cap_counts_attempts_in_flight(setup):
    """--max-iterations 2 with --parallel 3: THINK is asked for 2 options only, and 2 iterations are recorded."""
    repo, env, tmp_path = setup
    cmd, calls = write_parallel_agent(tmp_path, [("shorter range", 1.1, WRONG_BUILD, 0),
                                                 ("closed form", 20.0, FAST, 0),
                                                 ("closed form, other names", 10.0, FAST_B, 0)])
    out = ok(cli(repo, env, "run", "--target", "sumtarget:SumTarget", "--agent", "command", "--agent-cmd", cmd,
                 "--parallel", "3", "--goal-speedup", "1000", "--max-iterations", "2", "--json"))
    thinks = [c for c in read_calls(calls) if c["step"] == "think"]
    assert [t["parallel"]["options_wanted"] for t in thinks] == [2]
    assert len(out["iterations"]) == 2
    assert events_of(finished_record(repo, "sum"), "decide")[-1]["data"]["rule"] == "cap"


def test_attempts_still_in_flight_when_the_goal_is_reached_are_dropped(setup):
    """The first attempt reaches the goal: DECIDE stops, and the attempt not yet measured is journaled as dropped."""
    repo, env, tmp_path = setup
    cmd, _calls = write_parallel_agent(tmp_path, [("closed form", 20.0, FAST, 0),
                                                 ("closed form, other names", 10.0, FAST_B, 1)])
    out = ok(cli(repo, env, "run", "--target", "sumtarget:SumTarget", "--agent", "command", "--agent-cmd", cmd,
                 "--parallel", "2", "--goal-speedup", "1.5", "--json"))
    assert out["finished"] and [r["kept"] for r in out["iterations"]] == [True]
    record = finished_record(repo, "sum")
    assert final_status(record) == {"a1": "kept", "a2": "dropped"}
    assert events_of(record, "decide")[-1]["data"]["rule"] == "goal"
    st = ok(cli(repo, env, "status", "--json"))
    assert st["attempts"] == []  # nothing in flight once finished
