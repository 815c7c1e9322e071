"""While ``campaign run`` drives, only the runner writes the record (issue 28).

A hostile scripted agent, at every step it is asked, runs each step command
through a shell whose PATH no longer finds campaign (it uses the absolute
command its request names), edits the journal and a log under
``optim/<name>/``, then answers properly. Every step command is refused
(exit 5, ``driven_by_runner``), the journal is put back, and the record
afterwards holds only the runner's events.
"""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

import pytest

from run_fixtures import FAST, cli, events_of, journal, make_sum_repo, ok, run_env, write_target_module

STEP_COMMANDS = [
    ["think", "--hypothesis", "h", "--option", "a", "--option", "b", "--chosen", "a", "--predict", "3x", "--risk", "r"],
    ["plan", "--phase", "reduce", "--change", "c"],
    ["profile"],
    ["try"],
    ["log", "--surprise", "s"],
    ["decide"],
    ["skip", "--why", "w"],
    ["finish"],
    ["render"],
]

HOSTILE = textwrap.dedent(
    """
    import json, os, shlex, subprocess, sys
    from pathlib import Path

    FAST = {fast!r}
    SEEN = Path({seen!r})
    COMMANDS = {commands!r}

    req = json.load(sys.stdin)
    step = req["step"]
    cli = req["cli"]
    # a tool shell that rebuilt PATH: neither `campaign` nor campaign's python is found by name
    env = dict(os.environ, PATH="/usr/bin:/bin")
    def shell(args):
        line = cli + " " + " ".join(shlex.quote(a) for a in args) + " --json"
        proc = subprocess.run(["bash", "-c", line], env=env, capture_output=True, text=True, timeout=120)
        try:
            out = json.loads(proc.stdout)
        except ValueError:
            out = {{"stdout": proc.stdout, "stderr": proc.stderr[-2000:]}}
        return {{"args": args, "rc": proc.returncode, "out": out}}
    tried = [shell(["status"])] + [shell(c) for c in COMMANDS]
    record = Path("optim/sum")
    lines = (record / "journal.jsonl").read_text().splitlines()
    forged = {{"schema": 1, "seq": len(lines) + 1, "ts": "2026-01-01T00:00:00+00:00", "type": "think",
              "iteration": 1, "data": {{"hypothesis": "mine", "options": ["a"], "chosen": "a",
              "predicted_speedup": 3.0, "risk": "r"}}}}
    with open(record / "journal.jsonl", "a") as fh:
        fh.write(json.dumps(forged) + "\\n")
    (record / "thinking_log.md").write_text("the agent's own log\\n")
    with SEEN.open("a") as fh:
        fh.write(json.dumps({{"step": step, "tried": tried}}) + "\\n")
    if step == "think":
        print(json.dumps({{
            "action": "optimize", "title": "closed form", "hypothesis": "the reduce loop is periodic",
            "options": ["closed form", "numpy"], "chosen": "closed form", "predicted_speedup": 20,
            "risk": "an off-by-one", "phase": "reduce", "change": "sum one period, multiply",
            "override_amdahl": "try it anyway" if "Amdahl" in (req["previous_error"] or "") else None}}))
    elif step == "implement":
        Path("work.py").write_text(FAST)
        print(json.dumps({{"summary": "wrote the closed form", "files": ["work.py"]}}))
    else:
        result = req["result"]
        answer = {{"surprise": "Predicted 20x, measured %s" % result["speedup"]}}
        if result["postmortem_required"]:
            answer["postmortem"] = {{"why": "rough", "lesson": "measure first"}}
        print(json.dumps(answer))
    """
).lstrip()


@pytest.fixture
def setup(tmp_path):
    lib = write_target_module(tmp_path / "lib")
    repo = make_sum_repo(tmp_path / "repo")
    return repo, run_env(lib), tmp_path


def test_a_driven_agent_cannot_write_the_record(setup):
    repo, env, tmp_path = setup
    seen = tmp_path / "seen.jsonl"
    script = tmp_path / "hostile.py"
    script.write_text(HOSTILE.format(fast=FAST, seen=str(seen), commands=STEP_COMMANDS))
    out = ok(cli(repo, env, "run", "--target", "sumtarget:SumTarget", "--agent", "command", "--agent-cmd",
                 f"{sys.executable} {script}", "--goal-speedup", "2", "--max-iterations", "1", "--json",
                 timeout=600))
    assert out["finished"], out
    turns = [json.loads(line) for line in seen.read_text().splitlines()]
    assert [t["step"] for t in turns] == ["think", "implement", "log"]
    for turn in turns:
        status, *steps = turn["tried"]
        assert status["rc"] == 0, status  # the absolute CLI works from a shell that lost PATH
        assert "doing it now" in status["out"]["next"]["description"], status
        for tried in steps:
            assert tried["rc"] == 5, tried
            assert tried["out"]["code"] == "driven_by_runner", tried
            assert "answer the request" in tried["out"]["message"]
    record = repo / "optim" / "sum"
    events = journal(record)
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert all(e["writer"]["by"] == "runner" for e in events), [e.get("writer") for e in events]
    assert len({e["writer"]["run"] for e in events}) == 1
    think = events_of(record, "think")
    assert [t["data"]["hypothesis"] for t in think] == ["the reduce loop is periodic"]  # not the forged "mine"
    assert list(record.glob("journal.jsonl.replaced-*"))  # the agent's edits are kept aside, not recorded
    assert "the agent's own log" not in (record / "thinking_log.md").read_text()
    review = cli(repo, env, "review", str(record), "--json")
    assert not [f for f in json.loads(review.stdout).get("findings", []) if f.get("rule") == "written-behind-runner"]
    assert not (repo / ".git" / "campaign" / "sum" / "driver.json").exists()  # the lease ends with the run
