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

from loop_fixtures import finished_record
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
    cli = req.get("cli") or (sys.executable + " -m campaign")
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
        fh.write(json.dumps({{"step": step, "tried": tried, "cli": req.get("cli")}}) + "\\n")
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
        assert turn["cli"] and Path(turn["cli"].split()[0]).is_absolute()  # the request names campaign's CLI
        status, *steps = turn["tried"]
        assert status["rc"] == 0, status  # the absolute CLI works from a shell that lost PATH
        assert "doing it now" in status["out"]["next"]["description"], status
        for tried in steps:
            assert tried["rc"] == 5, tried
            assert tried["out"]["code"] == "driven_by_runner", tried
            assert "answer the request" in tried["out"]["message"]
    record = finished_record(repo, "sum")
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


# -- the lease seen from elsewhere: another PID namespace, a read-only .git -----------------------------


def _init_primes(tmp_path):
    from loop_fixtures import campaign as run_cli, cli_env, make_repo

    repo = make_repo(tmp_path / "primes")
    env = cli_env()
    result = run_cli(repo, "init", "--target", "campaign.toml", "--json", env=env)
    assert result.returncode == 0, result.stderr
    return repo, env, run_cli


def _foreign_lease(repo: Path, name: str = "primes", beat_age_s: float = 0.0) -> dict:
    """A lease as a runner in another PID namespace writes it: its pid means nothing here."""
    import socket
    import time

    here = {"host": socket.gethostname(), "boot_id": Path("/proc/sys/kernel/random/boot_id").read_text().strip()}
    lease = {**here, "pid_ns": "pid:[4026531999]", "pid": 4_000_000, "started": 0.0, "nonce": "f" * 32,
             "since": "2026-01-01T00:00:00+00:00", "agent": "codex", "command": "campaign run --agent codex",
             "beat": time.time() - beat_age_s}
    path = repo / ".git" / "campaign" / name / "driver.json"
    path.write_text(json.dumps(lease))
    return lease


def test_status_and_steps_see_a_runner_in_another_pid_namespace(tmp_path):
    """Liveness is the lease's heartbeat: a pid that kill -0 cannot see (a Codex sandbox) is still a live run."""
    repo, env, run_cli = _init_primes(tmp_path)
    from campaign.loop.record_guard import campaign_journal

    campaign_journal(repo, "primes", repo / "optim" / "primes").append(
        "run", {"agent": "codex", "agent_cmd": None, "timeout_s": 60.0, "resumed": False, "pid": 4_000_000,
                "started": 0.0})
    before = (repo / "optim" / "primes" / "journal.jsonl").read_bytes()
    _foreign_lease(repo)
    status = json.loads(run_cli(repo, "status", "--json", env=env).stdout)
    assert status["next"]["command"] == "campaign status", status["next"]
    assert "pid 4000000" in status["next"]["description"] and "doing it now" in status["next"]["description"]
    refused = run_cli(repo, "profile", "--json", env=env)
    assert refused.returncode == 5, refused.stderr
    payload = json.loads(refused.stdout)
    assert payload["code"] == "driven_by_runner" and payload["driver"]["pid"] == 4_000_000
    from campaign.contract import validation_errors

    assert validation_errors(payload, "error") == []
    assert "Traceback" not in refused.stderr
    from campaign.agents.mcp_server import LoopTools

    over_mcp = LoopTools(repo).profile([])  # the MCP server an agent starts: the same refusal, as a tool answer
    assert over_mcp["ok"] is False and over_mcp["code"] == "driven_by_runner", over_mcp
    assert LoopTools(repo).status()["ok"] is True  # looking is allowed
    assert (repo / "optim" / "primes" / "journal.jsonl").read_bytes() == before  # nothing written
    _foreign_lease(repo, beat_age_s=3600)  # the heartbeat stopped: the run is gone, the user may take over
    status = json.loads(run_cli(repo, "status", "--json", env=env).stdout)
    assert status["next"]["command"].startswith("campaign run --resume"), status["next"]


def test_an_append_writes_both_copies_or_neither(tmp_path, monkeypatch):
    """A read-only .git (Codex's sandbox) refuses the append before the journal changes: no traceback, no split."""
    import builtins
    import errno

    from campaign.errors import JournalError
    from campaign.loop.journal import Journal

    record, copy = tmp_path / "optim" / "c", tmp_path / "git" / "campaign" / "c"
    journal = Journal(record, copy)
    journal.append("init", {"name": "c"})
    real_open = builtins.open

    def read_only_copy(path, mode="r", *args, **kwargs):
        if str(path).startswith(str(copy)) and any(m in mode for m in "aw+"):
            raise OSError(errno.EROFS, "Read-only file system", str(path))
        return real_open(path, mode, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", read_only_copy)
    before = journal.path.read_bytes()
    with pytest.raises(JournalError, match="Read-only file system.*nothing was recorded"):
        journal.append("profile", {"shares": {}})
    monkeypatch.setattr(builtins, "open", real_open)
    assert journal.path.read_bytes() == before == (copy / "journal.jsonl").read_bytes()
    assert journal.check_copy().state == "ok"


def test_the_run_summary_says_finished_not_step_done():
    from campaign.cli.run_cmds import _summary_text

    text = _summary_text({"name": "primes", "step": "done", "finished": True, "iterations": [], "record": "optim/primes"})
    assert text.splitlines()[0] == "campaign 'primes': finished"
    assert "step done" not in text


def test_agents_md_and_the_prompt_name_campaign_by_absolute_path(tmp_path):
    """A login shell that rebuilds PATH still reaches this campaign: AGENTS.md and the prompt give its path."""
    import shlex
    import subprocess

    from campaign.agents.prompts import render_prompt
    from campaign.loop.driver import cli_command

    repo, env, _ = _init_primes(tmp_path)
    command = cli_command()
    assert Path(shlex.split(command)[0]).is_absolute()
    agents = (repo / "AGENTS.md").read_text()
    assert f"{command} status" in agents and "exit code 5" in agents
    assert "answer the runner" in agents.lower() or "Answer the runner" in agents
    skill = (repo / "SKILL.md").read_text()
    assert command in skill and "driven_by_runner" in skill
    prompt = render_prompt({"step": "think", "campaign": {"target": "primes", "iteration": 1, "max_iterations": 3},
                            "scope": ["primes.py"], "cli": command})
    assert f"{command} status" in prompt and "never run a campaign step yourself" in prompt
    bare = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PYTHONPATH": env.get("PYTHONPATH", "")}
    out = subprocess.run(["bash", "-lc", f"{command} status --json"], cwd=repo, env=bare, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0 and json.loads(out.stdout)["name"] == "primes", out.stderr


def test_every_exchange_keeps_its_prompt_and_names_only_files_that_exist(setup):
    """A coding CLI that fails at THINK: its prompt is kept, and the agent event names no missing answer file."""
    repo, env, tmp_path = setup
    tool = tmp_path / "failing-cli"
    tool.write_text("#!/bin/sh\necho 'thinking...'\necho 'model overloaded' >&2\nexit 3\n")
    tool.chmod(0o755)
    result = cli(repo, env, "run", "--target", "sumtarget:SumTarget", "--agent", "prompt", "--agent-cmd",
                 f"{tool} {{prompt_file}}", "--json", timeout=600)
    assert result.returncode == 1 and "exited with 3" in result.stdout, result.stderr
    record = finished_record(repo, "sum")
    (event,) = [e for e in events_of(record, "agent") if e["data"]["step"] == "think"]
    data = event["data"]
    assert data["error"] and data["answer"] is None  # no answer came: none is named
    assert data["prompt"] and "THINK" in (record / data["prompt"]).read_text()
    for key in ("request", "prompt", "stderr", "reply"):
        assert data[key] and (record / data[key]).exists(), (key, data)
    assert "model overloaded" in (record / data["stderr"]).read_text()


def test_lease_liveness_is_the_heartbeat_and_in_its_own_namespace_the_process(tmp_path):
    import os
    import time

    from campaign.errors import DrivenError
    from campaign.loop.driver import DriverLease, holds, identity, lease_alive, read_lease, refuse_if_driven

    here = identity()
    now = time.time()
    foreign = {**here, "pid_ns": "pid:[1]", "pid": 4_000_000, "beat": now}
    assert lease_alive(foreign, now, here)  # another PID namespace: a fresh heartbeat is all there is to see
    assert not lease_alive({**foreign, "beat": now - 3600}, now, here)  # a stopped heartbeat: gone
    assert not lease_alive({**here, "pid": 4_000_000, "started": 0.0, "beat": now}, now, here)  # same ns, dead pid
    lease = DriverLease(tmp_path / "campaign" / "x", agent="codex", heartbeat_s=3600).acquire("x")  # one beat
    try:
        seen = read_lease(tmp_path / "campaign" / "x")
        assert seen["pid"] == os.getpid() and lease_alive(seen) and holds(tmp_path / "campaign" / "x")
        refuse_if_driven(tmp_path / "campaign" / "x", "x")  # the runner itself is never refused
        other = {**seen, "nonce": "0" * 32, "pid_ns": "pid:[1]"}  # a second runner's lease, elsewhere
        (tmp_path / "campaign" / "x" / "driver.json").write_text(__import__("json").dumps(other))
        with pytest.raises(DrivenError, match="drives campaign 'x'"):
            refuse_if_driven(tmp_path / "campaign" / "x", "x")
    finally:
        lease.release()
    assert read_lease(tmp_path / "campaign" / "x")["nonce"] == "0" * 32  # release removes only its own lease
