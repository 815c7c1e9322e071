"""The coding-CLI adapters: prompts, answers out of prose, retries, timeouts, and whole runs with stand-in CLIs."""

from __future__ import annotations

import json
import os
import sys
import textwrap
from pathlib import Path

import pytest

import cli_standins
import scripted_model as model
from loop_fixtures import SIEVE, cli_env, finished_record, git, make_repo
from run_fixtures import assert_failed_test_then_sieve_kept, cli, events_of, ok

from campaign.agents.adapters import CliAgent, build_argv, final_text, prompt_command
from campaign.agents.prompts import extract_answer, render_prompt
from campaign.agents.command_agent import CommandAgent
from campaign.agents.protocol import AgentFailed, ask, build_request
from campaign.agents.choice import resumed_settings

REPO_ROOT = str(Path(__file__).resolve().parents[1])
THINK = model.think_answer(2)

CONTEXT = {
    "campaign": {"name": "primes", "target": "primes", "goal_speedup": 2.0, "max_iterations": 15, "iteration": 2,
                 "iterations_done": 1, "cumulative_speedup": None, "exhausted_phases": [], "skipped_phases": [],
                 "open_phases": ["count", "setup"]},
    "profile": {"total_s": 0.05, "shares": {"count": 0.97, "setup": 0.03}, "amdahl": {"count": 33.0, "setup": 1.03},
                "top_functions": [{"function": "count_primes", "file": "primes.py", "line": 5, "cumtime": 0.05,
                                   "ncalls": 1}]},
    "history": [{"iteration": 1, "title": "loop bound", "phase": "count", "predicted": 1.1, "speedup": None,
                 "verdict": None, "test_passed": False, "kept": False}],
    "scope": ["primes.py"],
    "workspace": "/work/ws",
}


# -- answers out of prose -----------------------------------------------------------------


def test_the_last_valid_json_block_is_the_answer():
    reply = ("The schema example was:\n```json\n" + json.dumps({**THINK, "predicted_speedup": "x"}) + "\n```\n"
             "After reading the profile, here is my answer:\n\n" + model.fenced(THINK) + "\nThanks.")
    assert extract_answer("think", reply) == (THINK, None)


def test_a_bare_json_object_in_prose_is_read_too():
    answer, error = extract_answer("log", 'Result as expected. {"surprise": "None: 1.4x as predicted"} Done.')
    assert error is None and answer == {"surprise": "None: 1.4x as predicted"}


@pytest.mark.parametrize("step, reply, needles", [
    ("think", "I think we should use a sieve.", ["holds no JSON object", "fenced ```json block", "predicted_speedup"]),
    ("log", "", ["empty"]),
    ("log", "```json\n{\"surprise\": 'single quotes'}\n```", ["is not valid JSON", "fenced ```json block"]),
    ("think", model.fenced({**THINK, "predicted_speedup": "fast"}), ["predicted_speedup", "'fast' is not of type 'number'"]),
    ("log", "```json\n[1, 2]\n```", ["list, not an object"]),
])
def test_a_reply_without_a_valid_answer_says_what_was_wrong_and_what_is_wanted(step, reply, needles):
    answer, error = extract_answer(step, reply)
    assert answer is None
    for needle in needles:
        assert needle in error, error


def test_command_agent_non_json_error_says_what_form_is_wanted(tmp_path):
    """Fix (issue 15): the error used to be only 'the answer is not JSON: Expecting value ...'."""
    script = tmp_path / "prose.py"
    script.write_text("import sys; sys.stdin.read(); print('I would use a sieve.')\n")
    agent = CommandAgent(f"{sys.executable} {script}", tmp_path, timeout_s=60)
    with pytest.raises(AgentFailed) as info:
        ask(agent, "think", CONTEXT, tmp_path / "agent", 1)
    message = str(info.value)
    assert "print exactly one JSON object matching answer_schema" in message and "no other text" in message
    assert "'I would use a sieve.'" in message
    assert (tmp_path / "agent" / "iter-01-think-1.reply.txt").read_text().strip() == "I would use a sieve."


# -- prompts --------------------------------------------------------------------------------


def test_each_step_prompt_explains_the_step_the_rules_and_the_answer_format():
    think = render_prompt(build_request("think", CONTEXT))
    assert "**THINK**" in think and "(iteration 2 of at most 15)" in think
    assert "`primes.py`" in think and "Never touch `optim/`" in think  # the rules
    assert "| count | 97.0% | 33.00x |" in think and "count_primes" in think  # the profile
    assert "| 1 | loop bound | count | 1.10x | TEST failed | - | reverted |" in think  # the history
    assert '"predicted_speedup": 1.5' in think and '"oneOf"' in think  # example + schema
    assert "previous reply was rejected" not in think
    plan = {**THINK, "key": None}
    implement = render_prompt(build_request("implement", {**CONTEXT, "plan": plan}))
    assert "**IMPLEMENT**" in implement and "`/work/ws/primes.py`" in implement and "sieve of Eratosthenes" in implement
    result = {"predicted": 8.0, "test_passed": True, "verdict": "faster", "speedup": 30.0, "ci": [29.0, 31.0],
              "vs_baseline": {"speedup": 30.0}, "postmortem_required": True, "postmortem_factor": 2.0}
    log = render_prompt(build_request("log", {**CONTEXT, "plan": plan, "result": result},
                                      "postmortem: required (why and lesson)"))
    assert "**LOG**" in log and "faster, 30.00x" in log and "**required now**" in log
    assert "previous reply was rejected" in log and "postmortem: required (why and lesson)" in log
    # the interval carries the benchmark's own level (it used to say "95% CI" whatever the level)
    assert "(99.958% CI 29.000-31.000)" in render_prompt(build_request(
        "log", {**CONTEXT, "plan": plan, "result": {**result, "ci_level": 1 - 0.01 / 24}}))
    ranged = render_prompt(build_request("log", {**CONTEXT, "plan": plan,
                                                 "result": {**result, "ci_level": None, "ci_kind": "range"}}))
    assert "every block 29.000-31.000, overwhelming" in ranged and "% CI" not in ranged


def test_a_retry_prompt_carries_the_exact_error(tmp_path):
    """A prompt CLI that first answers in prose only, then with the block: the second prompt names the problem."""
    tool = tmp_path / "tool.py"
    tool.write_text(textwrap.dedent(f"""
        import sys
        from pathlib import Path
        prompt = Path(sys.argv[1]).read_text()
        calls = Path({str(tmp_path / 'calls')!r})
        calls.mkdir(exist_ok=True)
        n = len(list(calls.iterdir())) + 1
        (calls / f"{{n}}.md").write_text(prompt)
        print("Let me think about it." if n == 1 else {model.fenced(THINK)!r})
    """))
    agent = CliAgent("prompt", tmp_path, ["primes.py"], f"{sys.executable} {tool} {{prompt_file}}", timeout_s=60)
    answer, event = ask(agent, "think", CONTEXT, tmp_path / "agent", 2)
    assert answer == THINK and event["attempts"] == 2 and "holds no JSON object" in event["errors"][0]
    second = (tmp_path / "calls" / "2.md").read_text()
    assert "Your previous reply was rejected" in second and "the reply holds no JSON object" in second
    assert (tmp_path / "agent" / "iter-02-think-1.prompt.md").read_text() == (tmp_path / "calls" / "1.md").read_text()


def test_prompt_command_substitutes_quoted_or_uses_stdin(tmp_path):
    cmd, stdin = prompt_command("tool -p {prompt}", "it's a prompt", tmp_path / "p.md")
    assert cmd == "tool -p 'it'\"'\"'s a prompt'" and stdin is None
    cmd, stdin = prompt_command("tool --file {prompt_file}", "x", tmp_path / "p.md")
    assert cmd == f"tool --file {tmp_path / 'p.md'}" and stdin is None
    assert prompt_command("tool", "x", tmp_path / "p.md") == ("tool", "x")


def test_a_hanging_cli_is_killed_with_its_children(tmp_path):
    import psutil

    pid_file = tmp_path / "child.pid"
    tool = tmp_path / "hang.sh"
    tool.write_text(f"#!/bin/sh\nsleep 300 &\necho $! > {pid_file}\nwait\n")
    tool.chmod(0o755)
    agent = CliAgent("prompt", tmp_path, ["primes.py"], f"{tool} {{prompt}}", timeout_s=2)
    with pytest.raises(AgentFailed, match="timed out after 2 s"):
        agent.answer(build_request("think", CONTEXT))
    child = int(pid_file.read_text())
    gone = not psutil.pid_exists(child) or psutil.Process(child).status() == psutil.STATUS_ZOMBIE
    assert gone, "the CLI's child survived the timeout"


# -- command lines --------------------------------------------------------------------------


def test_command_lines_follow_each_cli_s_documented_flags(tmp_path, monkeypatch):
    monkeypatch.delenv("CAMPAIGN_CLAUDE_ARGS", raising=False)
    answer_file = tmp_path / "last.txt"
    claude = build_argv("claude", ["claude"], "PROMPT", tmp_path, ["primes.py"], answer_file)
    assert claude[:6] == ["claude", "-p", "PROMPT", "--output-format", "json", "--permission-mode"]
    assert "acceptEdits" in claude and "Edit" in claude[claude.index("--allowedTools") + 1]
    assert "--mcp-config" not in claude
    with_mcp = build_argv("claude", ["claude"], "PROMPT", tmp_path, ["primes.py"], answer_file, mcp=True)
    server = json.loads(with_mcp[with_mcp.index("--mcp-config") + 1])["mcpServers"]["campaign"]
    assert server["command"] == sys.executable and server["args"][:2] == ["-m", "campaign"] and "mcp" in server["args"]
    assert "mcp__campaign__status" in with_mcp[with_mcp.index("--allowedTools") + 1]
    assert "mcp__campaign__try" not in with_mcp[with_mcp.index("--allowedTools") + 1]
    codex = build_argv("codex", ["codex"], "PROMPT", tmp_path, ["primes.py"], answer_file)
    assert codex[:2] == ["codex", "exec"] and codex[-1] == "PROMPT"
    assert codex[codex.index("--sandbox") + 1] == "workspace-write" and str(answer_file) in codex
    aider = build_argv("aider", ["aider"], "PROMPT", tmp_path, ["/w/primes.py"], answer_file)
    assert aider[aider.index("--message") + 1] == "PROMPT" and "--yes-always" in aider and "--no-auto-commits" in aider
    assert aider[-1] == "/w/primes.py"
    monkeypatch.setenv("CAMPAIGN_CLAUDE_ARGS", "--model sonnet")
    assert build_argv("claude", ["claude"], "P", tmp_path, [], answer_file)[-2:] == ["--model", "sonnet"]


def test_claude_result_and_its_errors(tmp_path):
    ok_out = json.dumps({"type": "result", "subtype": "success", "is_error": False, "result": "done ```json\n{}\n```"})
    assert final_text("claude", ok_out, tmp_path / "x").startswith("done")
    for bad in (json.dumps({"type": "result", "subtype": "error_max_turns", "is_error": True, "result": ""}),
                "not json at all"):
        with pytest.raises(AgentFailed):
            final_text("claude", bad, tmp_path / "x")


def test_resume_takes_the_recorded_agent_unless_told_otherwise():
    recorded = {"agent": "prompt", "agent_cmd": "tool -p {prompt}", "agent_timeout_s": 600.0}
    assert resumed_settings(recorded, None, None, None) == ("prompt", "tool -p {prompt}", 600.0)
    assert resumed_settings(recorded, "command", "./agent", None) == ("command", "./agent", 600.0)
    assert resumed_settings(recorded, "prompt", None, 60) == ("prompt", "tool -p {prompt}", 60.0)
    assert resumed_settings(None, None, None, None) == ("playbook", None, 1800.0)


# -- whole runs with stand-in CLIs ----------------------------------------------------------


@pytest.fixture
def standin_env(tmp_path):
    bin_dir = cli_standins.install(tmp_path / "bin", Path(__file__).parent)
    calls = tmp_path / "calls.jsonl"
    env = cli_env(PATH=os.pathsep.join([str(bin_dir), os.environ.get("PATH", "")]), STANDIN_CALLS=str(calls),
                  PYTHONPATH=os.pathsep.join([REPO_ROOT] + ([os.environ["PYTHONPATH"]] if os.environ.get("PYTHONPATH") else [])),
                  CAMPAIGN_TRUST_FILE=str(tmp_path / "trusted"), CAMPAIGN_LOCK_TIMEOUT="5")
    return env, calls


def _calls(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _assert_two_iteration_record(repo: Path, env: dict, agent: str) -> Path:
    record = finished_record(repo, "primes")
    status = ok(cli(repo, env, "status", "--json"))
    assert status["step"] == "done"
    assert_failed_test_then_sieve_kept(status["iterations"])
    assert (repo / "primes.py").read_text() == SIEVE
    assert git(repo, "status", "--porcelain") == ""
    assert events_of(record, "run")[0]["data"]["agent"] == agent
    assert all(e["data"]["agent"] == agent and e["data"]["error"] is None for e in events_of(record, "agent"))
    assert "campaign/primes/post-optimization" in git(repo, "for-each-ref", "--format=%(refname:lstrip=1)", "refs/campaign").split()
    return record


@pytest.mark.parametrize("agent", ["codex", "aider"])
def test_a_campaign_runs_with_a_stand_in_cli(tmp_path, standin_env, agent):
    env, calls = standin_env
    repo = make_repo(tmp_path / "repo")
    out = ok(cli(repo, env, "run", "--agent", agent, "--target", "campaign.toml", "--goal-speedup", "1.5", "--json",
                 timeout=600))
    assert out["finished"]
    record = _assert_two_iteration_record(repo, env, agent)
    argvs = [c["argv"] for c in _calls(calls)]
    assert len(argvs) == 6  # think, implement, log x 2: every answer was read at the first attempt
    usages = [e["data"]["usage"] for e in events_of(record, "agent")]
    spend = ok(cli(repo, env, "status", "--json"))["agent_usage"]["total"]
    if agent == "codex":
        assert all(a[0] == "exec" and a[a.index("--cd") + 1] == str(repo.resolve()) for a in argvs)
        # codex reports tokens on its --json events (no price): each exchange's, summed by status
        assert all("--json" in a for a in argvs)
        assert all(u["source"] == "codex" and u["input_tokens"] > 0 and u["cost_usd"] is None for u in usages)
        assert spend["reported"] == 6 and spend["tokens"] == sum(u["input_tokens"] + u["output_tokens"] for u in usages)
        assert spend["cost_usd"] is None
    else:  # aider reports no usage: recorded as unknown, never guessed
        assert usages == [None] * 6 and spend["reported"] == 0 and spend["tokens"] is None
        assert all(a[-1] == str(repo.resolve() / "primes.py") for a in argvs)
        assert (repo / ".gitignore").read_text() == "__pycache__/\n"  # --no-gitignore was honoured
        assert not any(line.startswith("aider:") for line in git(repo, "log", "--all", "--format=%s").splitlines())
    assert "d * d < k" in (record / "patches" / "iter-01-reverted.patch").read_text()
