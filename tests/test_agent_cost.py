"""``campaign run --budget-usd``: an agent that reports its spend, summed in ``status``, stopped by the budget.

The agent is ``test_run``'s command agent behind a wrapper that writes each
exchange's usage to ``$CAMPAIGN_USAGE`` (1,000 tokens in, 200 out, $0.25), as
a program wrapping a model would. Its first THINK of iteration 2 fails once
(the model "is down"): the run stops there, and ``--resume`` with no flags
must keep the budget recorded with the run.
"""

from __future__ import annotations

import shlex
import sys
import textwrap

from loop_fixtures import finished_record
from run_fixtures import cli, events_of, make_sum_repo, ok, run_env, write_target_module
from test_run import write_agent

WRAPPER = textwrap.dedent(
    """
    import json, os, subprocess, sys
    from pathlib import Path

    request = sys.stdin.read()
    req = json.loads(request)
    Path(os.environ["CAMPAIGN_USAGE"]).write_text(json.dumps(
        {{"input_tokens": 1000, "cached_input_tokens": 400, "output_tokens": 200, "cost_usd": 0.25}}))
    down = Path({down!r})
    if req["step"] == "think" and len(req["history"]) == 1 and down.exists():
        down.unlink()
        print("the model is down", file=sys.stderr)
        sys.exit(1)
    sys.exit(subprocess.run({inner!r} + sys.argv[1:], input=request, text=True).returncode)
    """
).lstrip()


def test_reported_spend_is_summed_and_the_budget_stops_the_run_across_a_resume(tmp_path):
    lib = write_target_module(tmp_path / "lib")
    repo = make_sum_repo(tmp_path / "repo")
    env = run_env(lib)
    inner, _ = write_agent(tmp_path)
    down = tmp_path / "model-down"
    down.write_text("")
    wrapper = tmp_path / "costly_agent.py"
    wrapper.write_text(WRAPPER.format(down=str(down), inner=shlex.split(inner)))
    cmd = f"{sys.executable} {wrapper}"

    first = cli(repo, env, "run", "--target", "sumtarget:SumTarget", "--agent", "command", "--agent-cmd", cmd,
                "--goal-speedup", "1000", "--max-iterations", "5", "--budget-usd", "1.5", "--json")
    assert first.returncode != 0 and "the model is down" in first.stderr  # stopped at THINK of iteration 2
    mid = ok(cli(repo, env, "status", "--json"))
    assert mid["step"] == "think" and mid["agent_usage"]["budget_usd"] == 1.5
    # iteration 1: think, implement, log; the failed THINK counts too (between iterations): 4 x $0.25
    assert mid["agent_usage"]["total"]["cost_usd"] == 1.0 and mid["agent_usage"]["between"]["exchanges"] == 1
    record = finished_record(repo, "sum")
    assert events_of(record, "decide")[0]["data"]["rule"] == "none"  # $0.75 after iteration 1: under budget

    resumed = cli(repo, env, "run", "--resume")  # no budget flag: the recorded one holds
    ok(resumed)
    assert "DECIDE: stop - agent budget spent: $2.00 of $1.50" in resumed.stderr  # the progress line says why
    assert "agent spend: $2.00, " in resumed.stdout  # and the run's summary what it cost
    st = ok(cli(repo, env, "status", "--json"))
    assert st["finished"]
    record = finished_record(repo, "sum")  # finished: the record stays in git
    decide = events_of(record, "decide")[-1]["data"]
    # iteration 2: THINK twice (the Amdahl rule sends it back once), IMPLEMENT, LOG: $2.00 in all
    assert (decide["stop"], decide["rule"], decide["reason"]) == (True, "budget", "agent budget spent: $2.00 of $1.50")
    assert [r["budget_usd"] for r in (e["data"] for e in events_of(record, "run"))] == [1.5, 1.5]
    spend = st["agent_usage"]
    assert spend["total"] == {"exchanges": 7, "reported": 7, "input_tokens": 8000, "cached_input_tokens": 3200,
                              "output_tokens": 1600, "tokens": 9600, "cost_usd": 2.0}
    assert [(r["iteration"], r["exchanges"], r["cost_usd"]) for r in spend["iterations"]] == [(1, 3, 0.75), (2, 3, 1.0)]
    usages = [e["data"]["usage"] for e in events_of(record, "agent")]
    assert all(u["source"] == "command" for u in usages) and usages[-2]["cost_usd"] == 0.25
    text = cli(repo, {**env, "COLUMNS": "200"}, "status").stdout
    assert "agent spend: $2.00, 9,600 tokens (8,000 in, 1,600 out) over 7 exchanges; budget $1.50" in text
