"""``campaign run --agent claude|codex`` with the real CLIs, the model replaced by a scripted local endpoint.

The CLIs (npm ``@anthropic-ai/claude-code`` and ``@openai/codex``, installed by
``scripts/install_agent_clis.sh``) run headless against stand-ins on
127.0.0.1: Claude Code with ``ANTHROPIC_BASE_URL`` pointed at
``anthropic_standin`` (Messages API), Codex CLI with a custom model provider
pointed at ``openai_standin`` (Responses API). The scripted model reads each
prompt and answers like a model would: at IMPLEMENT it uses the CLI's own edit
tools (Claude Code's Read/Edit/Write; Codex's shell and apply_patch), at THINK
and LOG it replies with prose and a fenced JSON answer. The tests assert on
the campaign's record. A last test resumes a run killed with -9, no flags.

Skipped only when the CLI is not installed and ``CI`` is not ``true``; under CI a
missing CLI fails.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import scripted_model as model
from anthropic_standin import AnthropicStandIn, text, tool_results, tool_use, user_texts
from loop_fixtures import SIEVE, cli_env, finished_record, git, make_repo
from run_fixtures import assert_failed_test_then_sieve_kept, cli, events_of, ok
from suite_env import in_ci

NODE_BIN = Path(os.environ.get("CAMPAIGN_NODE_PREFIX", Path.home() / ".cache" / "campaign-node")) / "node_modules" / ".bin"
REPO_ROOT = str(Path(__file__).resolve().parents[1])
MCP_STATUS = "mcp__campaign__status"  # `campaign mcp`'s status tool as Claude Code names it, when registered


PINNED = {"claude": "CLAUDE_CODE_VERSION", "codex": "CODEX_VERSION"}  # scripts/install_agent_clis.sh's pins


def pinned_version(name: str) -> str:
    script = (Path(REPO_ROOT) / "scripts" / "install_agent_clis.sh").read_text()
    return re.search(rf'^{PINNED[name]}="([^"]+)"', script, re.MULTILINE).group(1)


def find_cli(name: str) -> str:
    """The installed CLI at the version scripts/install_agent_clis.sh pins, or skip (fail under CI: .ci/run
    installs it). Another version on PATH is not the one these scripted conversations were written for."""
    found = shutil.which(name, path=os.pathsep.join([str(NODE_BIN), os.environ.get("PATH", "")]))
    want = pinned_version(name)
    if found:
        version = subprocess.run([found, "--version"], capture_output=True, text=True, timeout=120).stdout
        if re.search(rf"(?<![\d.]){re.escape(want)}(?![\d.])", version):  # 2.1.332 but not 2.1.3320
            return found
        message = f"{found} is version {version.strip()!r}, not the pinned {want} (scripts/install_agent_clis.sh)"
    else:
        message = f"{name} is not installed (scripts/install_agent_clis.sh installs it into {NODE_BIN})"
    if in_ci():
        pytest.fail(message + "; CI must run it")
    pytest.skip(message)


def claude_model(body: dict) -> list[dict]:
    """The scripted conversation: Claude Code's tools at IMPLEMENT, fenced JSON at THINK and LOG."""
    prompt = "\n".join(user_texts(body))
    step, iteration = model.step_of(prompt)
    if step == "think" and MCP_STATUS in json.dumps(body) and len(tool_results(body)) < 2:
        # campaign mcp is registered: Claude Code lists its tools as deferred; load the schema, then call it
        if not tool_results(body):
            return [text("First, where does the campaign stand?"), tool_use("ToolSearch", {"query": f"select:{MCP_STATUS}"})]
        return [tool_use(MCP_STATUS, {})]
    if step != "implement":
        return [text(model.reply(prompt))]
    path, done = model.scope_file(prompt), tool_results(body)
    if not done:  # Claude Code edits only a file it has read
        return [text("Let me read the file first."), tool_use("Read", {"file_path": path})]
    if len(done) == 1:
        if iteration <= 1:
            return [tool_use("Edit", {"file_path": path, "old_string": model.WRONG_OLD, "new_string": model.WRONG_NEW})]
        return [tool_use("Write", {"file_path": path, "content": SIEVE})]
    return [text(model.reply(prompt))]


def res_error(content: str) -> bool:
    return "permission" in content.lower() or "denied" in content.lower()


def claude_env(tmp_path: Path, base_url: str) -> dict[str, str]:
    home = tmp_path / "home"
    (home / ".claude").mkdir(parents=True, exist_ok=True)
    return cli_env(
        PYTHONPATH=os.pathsep.join([REPO_ROOT] + ([os.environ["PYTHONPATH"]] if os.environ.get("PYTHONPATH") else [])),
        PATH=os.pathsep.join([str(NODE_BIN), os.environ.get("PATH", "")]),
        HOME=str(home), CLAUDE_CONFIG_DIR=str(home / ".claude"), ANTHROPIC_BASE_URL=base_url,
        ANTHROPIC_API_KEY="test", CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC="1", DISABLE_AUTOUPDATER="1",
        CAMPAIGN_TRUST_FILE=str(tmp_path / "trusted"), CAMPAIGN_LOCK_TIMEOUT="5",
    )


def register_as_documented(repo: Path, env: dict[str, str]) -> dict:
    """What docs/agents.md tells a user: `campaign mcp --print-config claude > .mcp.json`, before init."""
    snippet = ok(cli(repo, env, "mcp", "--print-config", "claude", "--json"))
    (repo / ".mcp.json").write_text(snippet["text"])
    return snippet


def install_skill(repo: Path) -> Path:
    """What docs/agents.md tells a user: copy SKILL.md to .claude/skills/campaign/ (after init wrote it)."""
    skill = repo / ".claude" / "skills" / "campaign" / "SKILL.md"
    skill.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(repo / "SKILL.md", skill)
    return skill


def assert_committed_clean(repo: Path) -> None:
    """Nothing but agent configuration is uncommitted outside the record, and none of it was committed."""
    from campaign.vcs import is_agent_config

    left = [line[3:] for line in git(repo, "status", "--porcelain", "--untracked-files=all", "--", ".",
                                     ":!optim").splitlines()]
    assert left and all(is_agent_config(p) for p in left), left
    assert not [p for p in git(repo, "ls-files").splitlines() if p.startswith((".mcp.json", ".claude/"))]


def test_claude_code_runs_a_campaign_against_a_scripted_model(tmp_path):
    find_cli("claude")
    repo = make_repo(tmp_path / "repo")
    with AnthropicStandIn(claude_model, log_path=tmp_path / "requests.jsonl") as api:
        env = claude_env(tmp_path, api.base_url)
        register_as_documented(repo, env)
        ok(cli(repo, env, "init", "--target", "campaign.toml", "--goal-speedup", "1.5", "--json"))
        skill = install_skill(repo)
        skill_text = skill.read_text()
        result = cli(repo, env, "run", "--resume", "--agent", "claude", "--json", timeout=600)
        out = ok(result)
    assert out["finished"], out
    record = finished_record(repo, "primes")
    status = ok(cli(repo, env, "status", "--json"))
    assert status["step"] == "done"
    rows = status["iterations"]
    # iteration 1 (Claude Code's Edit tool): a wrong loop bound, TEST failed, reverted; iteration 2 (Write): the sieve, kept
    assert [r["kept"] for r in rows] == [False, True], rows
    assert rows[0]["test_passed"] is False and rows[1]["verdict"] == "faster"
    assert events_of(record, "revert")[0]["data"]["reason"] == "test-failed"
    assert "d * d < k" in (record / "patches" / "iter-01-reverted.patch").read_text()
    assert "bytearray" in (record / "patches" / "iter-02-kept.patch").read_text()
    assert (repo / "primes.py").read_text() == SIEVE
    decide = events_of(record, "decide")[-1]["data"]
    assert decide["stop"] and decide["rule"] == "goal"
    assert events_of(record, "finish")
    marks = git(repo, "for-each-ref", "--format=%(refname:lstrip=1)", "refs/campaign").split()
    assert "campaign/primes/pre-optimization" in marks and "campaign/primes/post-optimization" in marks
    assert git(repo, "status", "--porcelain", "--", "optim") == ""
    assert_committed_clean(repo)
    assert skill.read_text() == skill_text  # neither reverted nor committed
    # who drove it is on record, and every exchange with it
    assert [e["data"]["agent"] for e in events_of(record, "run")] == ["claude"]
    agents = events_of(record, "agent")
    assert {(e["data"]["step"], e["iteration"]) for e in agents} == {
        (step, n) for step in ("think", "implement", "log") for n in (1, 2)}
    assert all(e["data"]["agent"] == "claude" and e["data"]["error"] is None for e in agents)
    # what each exchange cost, as Claude Code's JSON result reported it (the stand-in's usage, Claude Code's price)
    assert all(e["data"]["usage"]["source"] == "claude" and e["data"]["usage"]["output_tokens"] > 0
               and isinstance(e["data"]["usage"]["cost_usd"], (int, float)) for e in agents), agents
    assert status["agent_usage"]["total"]["reported"] == 6
    for e in agents:
        assert (record / e["data"]["reply"]).exists() and (record / e["data"]["answer"]).exists()
    think = json.loads((record / "agent" / "iter-02-think-1.answer.json").read_text())
    assert think["title"] == "sieve of Eratosthenes"
    assert events_of(record, "think")[1]["data"]["predicted_speedup"] == 8.0
    log = (record / "optimization_log.md").read_text()
    assert "perfect squares" in log and "## Iteration 2: replace trial division by a bytearray sieve" in log
    assert events_of(record, "log")[0]["data"]["surprise"].startswith("The bound d * d < k")
    # the real client did make the tool calls: its requests carried the tool results back
    assert any(tool_results(r["body"]) for r in api.requests)
    from campaign.agents.adapters import mcp_server_available

    assert mcp_server_available()  # mcp is a dependency: campaign mcp is registered, and answers from the journal
    assert MCP_STATUS in json.dumps(api.requests[0]["body"])  # offered (deferred) from the first request on
    calls = {b["id"] for r in api.requests for m in r["body"]["messages"] if m["role"] == "assistant"
             for b in m["content"] if isinstance(b, dict) and b.get("name") == MCP_STATUS}
    answers = [json.dumps(res.get("content")) for r in api.requests for res in tool_results(r["body"])
               if res.get("tool_use_id") in calls]
    assert answers and all("think" in a and "primes" in a and not res_error(a) for a in answers), answers
    assert all(r["path"].startswith("/v1/messages") for r in api.requests)


def headless_model(body: dict) -> list[dict]:
    """A model that asks the campaign where it stands through its MCP status tool, then stops."""
    done = tool_results(body)
    if not done:
        return [text("Where does the campaign stand?"), tool_use("ToolSearch", {"query": f"select:{MCP_STATUS}"})]
    if len(done) == 1:
        return [tool_use(MCP_STATUS, {})]
    return [text("The campaign is at PROFILE.")]


def test_claude_code_headless_uses_the_campaign_tools_as_the_docs_register_them(tmp_path):
    """`campaign mcp --print-config claude > .mcp.json`, init, the skill copied, then the printed command line."""
    import shlex
    import subprocess

    claude = find_cli("claude")
    repo = make_repo(tmp_path / "repo")
    with AnthropicStandIn(headless_model, log_path=tmp_path / "requests.jsonl") as api:
        env = claude_env(tmp_path, api.base_url)
        snippet = register_as_documented(repo, env)
        ok(cli(repo, env, "init", "--target", "campaign.toml", "--json"))
        install_skill(repo)
        argv = shlex.split(snippet["run_command"])
        assert argv[:2] == ["claude", "-p"] and "mcp__campaign" in argv[argv.index("--allowedTools") + 1].split(",")
        result = subprocess.run([claude, *argv[1:]], cwd=repo, env=env, capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stdout + result.stderr
    calls = {b["id"] for r in api.requests for m in r["body"]["messages"] if m["role"] == "assistant"
             for b in m["content"] if isinstance(b, dict) and b.get("name") == MCP_STATUS}
    answers = [json.dumps(res.get("content")) for r in api.requests for res in tool_results(r["body"])
               if res.get("tool_use_id") in calls]
    assert answers and all("profile" in a and not res_error(a) for a in answers), answers
    assert "campaign-primes" in json.dumps(api.requests[0]["body"])  # the skill was discovered
    assert_committed_clean(repo)


def apply_patch(path: str, old: str, new: str) -> str:
    """Codex's own edit: the apply_patch envelope, run through its shell tool (Codex intercepts it)."""
    hunk = "\n".join(["@@"] + [f"-{line}" for line in old.splitlines()] + [f"+{line}" for line in new.splitlines()])
    return f"apply_patch <<'PATCH'\n*** Begin Patch\n*** Update File: {path}\n{hunk}\n*** End Patch\nPATCH\n"


def codex_model(body: dict) -> list[dict]:
    """The scripted conversation for Codex CLI: `cat` the scope file, then apply_patch; fenced JSON at THINK and LOG."""
    from openai_standin import call_outputs, function_call, message, user_texts as texts

    prompt = "\n".join(texts(body))
    step, iteration = model.step_of(prompt)
    if step == "think" and iteration == 1:  # a model that does what AGENTS.md describes, behind the runner's back
        outputs = call_outputs(body)
        if not outputs:
            cli = model.campaign_cli(prompt)
            return [function_call("exec_command", {"cmd": f"{cli} think --hypothesis mine --option a --option b "
                                                          f"--chosen a --predict 3x --risk r --json; echo rc=$?"})]
        if len(outputs) == 1:
            return [function_call("exec_command", {"cmd": f"echo '{json.dumps(FORGED)}' >> optim/primes/journal.jsonl"
                                                          f" && echo edited"})]
        return [message(model.reply(prompt))]
    if step != "implement":
        return [message(model.reply(prompt))]
    name, outputs = Path(model.scope_file(prompt)).name, call_outputs(body)
    if not outputs:
        return [function_call("exec_command", {"cmd": f"cat {name}"})]
    if len(outputs) == 1:
        old = outputs[0].split("Output:\n", 1)[-1]
        if iteration <= 1:
            line = next(l for l in old.splitlines() if model.WRONG_OLD in l)
            return [function_call("exec_command", {"cmd": apply_patch(name, line, line.replace(model.WRONG_OLD, model.WRONG_NEW))})]
        return [function_call("exec_command", {"cmd": apply_patch(name, old.rstrip("\n"), SIEVE.rstrip("\n"))})]
    return [message(model.reply(prompt))]


FORGED = {"schema": 1, "seq": 99, "ts": "2026-01-01T00:00:00+00:00", "type": "think", "iteration": 1,
          "data": {"hypothesis": "mine", "options": ["a"], "chosen": "a", "predicted_speedup": 3.0, "risk": "r"}}


def test_codex_cli_runs_a_campaign_against_a_scripted_model(tmp_path):
    from openai_standin import ResponsesStandIn

    find_cli("codex")
    repo = make_repo(tmp_path / "repo")
    codex_home = tmp_path / "codex-home"
    codex_home.mkdir()
    with ResponsesStandIn(codex_model) as api:
        (codex_home / "config.toml").write_text(
            'model = "stand-in"\nmodel_provider = "scripted"\n\n[model_providers.scripted]\nname = "scripted"\n'
            f'base_url = "{api.base_url}"\nenv_key = "SCRIPTED_API_KEY"\nwire_api = "responses"\n')
        env = claude_env(tmp_path, "http://127.0.0.1:9")  # the same isolated HOME; no Anthropic endpoint needed
        env.update(CODEX_HOME=str(codex_home), SCRIPTED_API_KEY="test")
        out = ok(cli(repo, env, "run", "--agent", "codex", "--target", "campaign.toml", "--goal-speedup", "1.5",
                     "--json", timeout=600))
    assert out["finished"]
    record = finished_record(repo, "primes")
    status = ok(cli(repo, env, "status", "--json"))
    assert_failed_test_then_sieve_kept(status["iterations"])
    assert (repo / "primes.py").read_text() == SIEVE
    assert git(repo, "status", "--porcelain") == ""
    assert "campaign/primes/post-optimization" in git(repo, "for-each-ref", "--format=%(refname:lstrip=1)", "refs/campaign").split()
    assert events_of(record, "run")[0]["data"]["agent"] == "codex"
    assert all(e["data"]["agent"] == "codex" and e["data"]["error"] is None for e in events_of(record, "agent"))
    # the tokens of each exchange, from `codex exec --json`'s turn.completed (the stand-in's usage); no price
    usages = [e["data"]["usage"] for e in events_of(record, "agent")]
    assert all(u["source"] == "codex" and u["input_tokens"] >= 10 and u["cost_usd"] is None for u in usages), usages
    assert status["agent_usage"]["total"]["tokens"] == sum(u["input_tokens"] + u["output_tokens"] for u in usages)
    assert "d * d < k" in (record / "patches" / "iter-01-reverted.patch").read_text()
    assert any(call_outputs_of(r) for r in api.requests)  # Codex ran the tool calls and sent their output back
    # at THINK the model ran `campaign think` and appended to the journal through its shell: refused, put back
    outputs = [o for r in api.requests for o in call_outputs_of(r)]
    assert any("rc=5" in o and "driven_by_runner" in o for o in outputs), outputs[:3]
    assert any("edited" in o for o in outputs)
    events = [json.loads(line) for line in (record / "journal.jsonl").read_text().splitlines()]
    assert all(e["writer"]["by"] == "runner" for e in events)
    assert "mine" not in [e["data"].get("hypothesis") for e in events if e["type"] == "think"]
    assert list(record.glob("journal.jsonl.replaced-*"))
    review = cli(repo, env, "review", str(record), "--json")
    assert not [f for f in json.loads(review.stdout)["findings"] if f["rule"] == "written-behind-runner"]


def call_outputs_of(request: dict) -> list[str]:
    from openai_standin import call_outputs

    return call_outputs(request["body"])


def test_prompt_agent_resumes_after_kill_9_with_no_flags(tmp_path):
    """A run killed -9 mid-step continues with `campaign run --resume` alone: the agent is on record."""
    import signal
    import subprocess
    import time

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    release = tmp_path / "release"
    tool = bin_dir / "thinker"
    tool.write_text(STANDIN_PROMPT_TOOL.format(python=sys.executable, tests=str(Path(__file__).parent),
                                               waiting=str(tmp_path / "waiting"), release=str(release)))
    tool.chmod(0o755)
    repo = make_repo(tmp_path / "repo")
    env = cli_env(PYTHONPATH=os.pathsep.join([REPO_ROOT] + ([os.environ["PYTHONPATH"]] if os.environ.get("PYTHONPATH") else [])),
                  CAMPAIGN_TRUST_FILE=str(tmp_path / "trusted"), CAMPAIGN_LOCK_TIMEOUT="5")
    proc = subprocess.Popen([sys.executable, "-m", "campaign", "run", "--agent", "prompt", "--agent-cmd",
                             f"{tool} -p {{prompt}}", "--target", "campaign.toml", "--goal-speedup", "1.5"],
                            cwd=repo, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and proc.poll() is None and not (tmp_path / "waiting").exists():
            time.sleep(0.05)
        assert proc.poll() is None, f"the run ended before the kill:\n{proc.stderr.read().decode()}"
        running = ok(cli(repo, env, "status", "--json"))["next"]  # the run is alive: status says so, not "resume"
        assert running["command"] == "campaign status" and f"pid {proc.pid}" in running["description"], running
        os.killpg(proc.pid, signal.SIGKILL)  # mid-THINK of iteration 2: the agent is still thinking
        proc.wait(timeout=30)
    finally:
        release.touch()
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        proc.stderr.close()
    record = finished_record(repo, "primes")
    killed = ok(cli(repo, env, "status", "--json"))
    assert killed["step"] == "think" and not killed["finished"]
    assert killed["next"]["command"] == "campaign run --resume"
    assert killed["next"]["manual"].startswith("campaign think")
    text_status = cli(repo, env, "status")
    assert "campaign run --resume" in text_status.stdout
    resumed = cli(repo, env, "run", "--resume", "--json", timeout=600)  # no --agent, no --agent-cmd
    out = ok(resumed)
    assert out["finished"] and "with agent 'prompt'" in resumed.stderr
    status = ok(cli(repo, env, "status", "--json"))
    assert_failed_test_then_sieve_kept(status["iterations"])
    assert status["next"]["command"] == "campaign status"  # finished: nothing to resume
    record = finished_record(repo, "primes")  # finished: the record stays in git
    runs = [e["data"] for e in events_of(record, "run")]  # the start, then the resume: same agent, no flags given
    assert [(r["agent"], r["agent_cmd"], r["resumed"]) for r in runs] == [
        ("prompt", f"{tool} -p {{prompt}}", False), ("prompt", f"{tool} -p {{prompt}}", True)]
    agents = events_of(record, "agent")
    assert all(e["data"]["agent"] == "prompt" for e in agents)
    assert [e["iteration"] for e in agents if e["data"]["step"] == "think"] == list(range(1, len(status["iterations"]) + 1))


STANDIN_PROMPT_TOOL = '''#!{python}
"""A prompt-taking CLI stand-in: `thinker -p PROMPT` prints prose and a fenced JSON answer; edits the file itself."""
import argparse, os, sys, time
from pathlib import Path
sys.path.insert(0, {tests!r})
import scripted_model as model

parser = argparse.ArgumentParser(prog="thinker")
parser.add_argument("-p", "--prompt", required=True)
args = parser.parse_args()
step, iteration = model.step_of(args.prompt)
if step == "think" and iteration == 2 and not Path({release!r}).exists():
    Path({waiting!r}).touch()  # the test kills the campaign now
    deadline = time.time() + 120
    while not Path({release!r}).exists() and time.time() < deadline:
        time.sleep(0.05)
    sys.exit(3)  # the orphan of a killed run: its answer must not matter
if step == "implement":
    path = Path(model.scope_file(args.prompt))
    path.write_text(model.new_source(iteration, path.read_text()))
print(model.reply(args.prompt))
'''
