"""``campaign mcp`` through the SDK's own client over stdio: the loop as tools, the logs as resources.

The server is the real command (``python -m campaign mcp``) in a fresh process,
on a small campaign.toml target in a throwaway git repo.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import anyio
import mcp  # noqa: F401  a hard dependency (pyproject.toml): missing, it fails the import, never skips
import pytest

from campaign.agents.mcp_hints import STEP_TOOLS, with_tool_hints
from loop_fixtures import SIEVE, campaign, cli_env, git, make_repo

ROOT = Path(__file__).resolve().parents[1]
TOOLS = {"init", "status", "profile", "think", "plan", "try", "log", "decide", "skip", "finish", "review"}


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    repo = make_repo(tmp_path_factory.mktemp("mcp") / "repo")
    started = campaign(repo, "init", "--target", "campaign.toml", "--goal-speedup", "3", "--json")
    assert started.returncode == 0, started.stderr
    return repo


def _server_env() -> dict[str, str]:
    env = cli_env()
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


def with_client(repo: Path, body) -> None:
    """Run ``await body(client)`` against ``python -m campaign mcp --dir REPO`` spoken to over stdio."""
    from mcp import Client, StdioServerParameters

    params = StdioServerParameters(command=sys.executable, args=["-m", "campaign", "mcp", "--dir", str(repo)],
                                   env=_server_env(), cwd=str(repo))

    async def main():
        async with Client(params, cache=None, read_timeout_seconds=300) as client:
            await body(client)

    anyio.run(main)


def answer(result) -> dict:
    """A tool's answer: structured content, the same object as the JSON text block."""
    assert json.loads(result.content[0].text) == result.structured_content
    assert result.is_error is (not result.structured_content["ok"])
    assert result.structured_content["schema_version"] == 1
    return result.structured_content


def test_a_sequence_of_steps_over_stdio(repo):
    seen: dict = {}

    async def body(client):
        listed = await client.list_tools()
        tools = {t.name: t for t in listed.tools}
        seen["tools"] = tools
        seen["status"] = answer(await client.call_tool("status", {}))
        seen["bad_arguments"] = answer(await client.call_tool("think", {"hypothesis": "h"}))
        seen["unknown"] = answer(await client.call_tool("no_such_tool", {}))
        seen["early"] = answer(await client.call_tool("think", {
            "hypothesis": "h", "options": ["a"], "chosen": "a", "predict": 2, "risk": "r"}))
        seen["profile"] = answer(await client.call_tool("profile", {}))
        seen["no_number"] = answer(await client.call_tool("think", {
            "hypothesis": "h", "options": ["a"], "chosen": "a", "predict": "a lot", "risk": "r"}))
        seen["think"] = answer(await client.call_tool("think", {
            "hypothesis": "trial division is O(n sqrt n) in count_primes",
            "options": ["sieve: O(n log log n), more memory", "skip even numbers: 2x at most"],
            "chosen": "sieve", "predict": 5, "risk": "memory at full scale"}))
        seen["plan"] = answer(await client.call_tool("plan", {"phase": "count", "change": "sieve of Eratosthenes"}))
        (repo / "primes.py").write_text(SIEVE.replace("return sum(sieve)", "return sum(sieve) - 1"))  # IMPLEMENT, wrongly
        seen["try"] = answer(await client.call_tool("try", {}))
        seen["log"] = answer(await client.call_tool("log", {"surprise": "an off-by-one in the sieve"}))
        resources = await client.list_resources()
        seen["resources"] = {str(r.uri) for r in resources.resources}
        thinking = await client.read_resource("campaign://record/thinking_log.md")
        seen["thinking"] = thinking.contents[0].text
        optimization = await client.read_resource("campaign://record/optimization_log.md")
        seen["optimization"] = optimization.contents[0].text
        journal = await client.read_resource("campaign://record/journal.jsonl")
        seen["journal"] = [json.loads(line) for line in journal.contents[0].text.splitlines()]
        seen["stop"] = answer(await client.call_tool("decide", {"stop": True, "why": "out of time"}))  # as --stop

    with_client(repo, body)

    from campaign.contract import validation_errors

    schemas = {"status": "status", "bad_arguments": "think", "unknown": "envelope", "early": "think",
               "profile": "profile", "no_number": "think", "think": "think", "plan": "plan", "try": "try", "log": "log"}
    for key, schema in schemas.items():  # the CLI's published schemas hold for the MCP answers too
        assert validation_errors(seen[key], schema) == [], (key, seen[key])

    tools = seen["tools"]
    assert set(tools) == TOOLS
    think_schema = tools["think"].input_schema
    assert set(think_schema["required"]) == {"hypothesis", "options", "chosen", "predict", "risk"}
    assert think_schema["properties"]["options"]["type"] == "array"
    assert tools["status"].annotations.read_only_hint is True
    assert "stop" in tools["decide"].input_schema["properties"]  # the CLI's `decide --stop`, which MCP lacked
    assert seen["stop"]["stop"] is True and seen["stop"]["rule"] == "declared", seen["stop"]
    assert seen["stop"]["next"]["tool"] == "finish"

    assert seen["status"]["ok"] and seen["status"]["next"]["step"] == "profile"
    assert seen["status"]["next"]["tool"] == "profile"

    bad = seen["bad_arguments"]  # the schema refuses: the MCP form of a parser error, still one contract object
    assert bad["code"] == "usage_error" and "options" in bad["message"] and "predict" in bad["message"]
    assert seen["unknown"]["code"] == "usage_error" and "no_such_tool" in seen["unknown"]["message"]

    early = seen["early"]  # out of order: structured, names the step due and the call to make
    assert early["ok"] is False and early["code"] == "step_out_of_order" and early["due"] == "profile"
    assert early["call"] == {"tool": "profile", "arguments": {}}
    assert "campaign profile" in early["message"] and "Traceback" not in json.dumps(early)

    assert seen["profile"]["ok"] and set(seen["profile"]["shares"]) == {"setup", "count"}
    assert seen["profile"]["next"]["tool"] == "think"
    assert seen["no_number"]["code"] == "rule_refused" and not seen["no_number"]["ok"]  # the method's rule, as in the CLI
    assert seen["think"]["predicted_speedup"] == 5.0 and seen["think"]["next"]["tool"] == "plan"
    assert seen["plan"]["phase"] == "count" and seen["plan"]["scope"] == ["primes.py"]
    assert seen["plan"]["next"]["tool"] == "try"

    failed = seen["try"]
    assert failed["code"] == "test_failed" and failed["test"]["passed"] is False and failed["next"]["tool"] == "log"
    assert any("TEST" in line for line in failed["progress"])
    assert seen["log"]["kept"] is False and seen["log"]["revert"]["reason"] == "test-failed"
    assert "sum(sieve) - 1" not in (repo / "primes.py").read_text()  # reverted by the framework

    assert seen["resources"] == {f"campaign://record/{f}" for f in
                                 ("optimization_log.md", "thinking_log.md", "summary.md", "journal.jsonl")}
    assert "trial division is O(n sqrt n)" in seen["thinking"]
    assert "an off-by-one in the sieve" in seen["optimization"]
    types = [e["type"] for e in seen["journal"]]
    assert types[-7:] == ["profile", "think", "plan", "implement", "test", "log", "revert"]
    implement = next(e for e in seen["journal"] if e["type"] == "implement")
    assert implement["data"]["agent"] == "mcp"
    assert git(repo, "status", "--porcelain", "--", "primes.py") == ""  # the record is committed at the next kept commit


def test_a_missing_campaign_then_init_and_review(tmp_path):
    empty = make_repo(tmp_path / "empty")  # a repository without a campaign: every tool says so, in one line
    seen: dict = {}

    async def body(client):
        seen["status"] = answer(await client.call_tool("status", {}))
        seen["review"] = answer(await client.call_tool("review", {}))
        try:
            await client.read_resource("campaign://record/summary.md")
        except Exception as exc:  # noqa: BLE001 - the SDK raises its MCPError
            seen["resource_error"] = str(exc)
        seen["no_target"] = answer(await client.call_tool("init", {}))
        seen["init"] = answer(await client.call_tool("init", {"target": "campaign.toml", "goal_speedup": 3}))
        seen["again"] = answer(await client.call_tool("init", {"target": "campaign.toml"}))
        seen["review_now"] = answer(await client.call_tool("review", {}))
        summary = await client.read_resource("campaign://record/summary.md")
        seen["summary"] = summary.contents[0].text

    with_client(empty, body)
    assert seen["status"]["code"] == "no_campaign" and "campaign init" in seen["status"]["message"]
    assert seen["review"]["code"] == "no_campaign"
    assert "no campaign" in seen["resource_error"]
    assert seen["no_target"]["code"] == "user_error" and "target" in seen["no_target"]["message"]
    started = seen["init"]
    from campaign.contract import validation_errors

    assert validation_errors(started, "init") == [] and validation_errors(seen["review_now"], "review") == []
    assert started["ok"] and started["step_done"] == "init" and started["goal_speedup"] == 3.0
    assert started["next"]["tool"] == "profile" and (empty / "SKILL.md").exists()
    assert seen["again"]["ok"] is False and seen["again"]["code"] != "internal_error"  # one campaign per name
    assert seen["review_now"]["ok"] and seen["review_now"]["findings"] == []
    assert "primes" in seen["summary"]


def test_every_step_maps_to_a_tool():
    from campaign.loop.machine import Step

    assert set(STEP_TOOLS) == {s.value for s in Step}
    assert {t for t in STEP_TOOLS.values() if t} <= TOOLS
    hinted = with_tool_hints({"ok": False, "code": "step_out_of_order", "due": "commit", "command": "campaign log"})
    assert hinted["call"] == {"tool": "log", "arguments": {}}  # an interrupted LOG completes with no arguments
    hinted = with_tool_hints({"ok": False, "code": "step_out_of_order", "due": "log", "command": "campaign log"})
    assert hinted["call"] == {"tool": "log", "arguments": {"surprise": "<what surprised you, or None>"}}
    assert with_tool_hints({"ok": True, "next": {"step": "done"}})["next"]["tool"] == "status"
    hinted = with_tool_hints({"ok": False, "code": "step_out_of_order", "due": "init", "command": "campaign init"})
    assert hinted["call"] == {"tool": "init", "arguments": {"resume": True}}


# -- SKILL.md and the client configuration snippets ----------------------------------------------------


def test_init_writes_skill_md_beside_agents_md(repo):
    import yaml

    text = (repo / "SKILL.md").read_text()
    assert text.startswith("---\n")
    front = yaml.safe_load(text.split("---\n")[1])
    assert front["name"] == "campaign-primes"
    assert "primes" in front["description"] and len(front["description"]) <= 1024
    body = text.split("---\n", 2)[2]
    assert "`primes.py`" in body and "step_out_of_order" in body and "campaign status" in body
    assert {"SKILL.md", "AGENTS.md"} <= set(git(repo, "ls-files").splitlines())  # committed with the start commit


@pytest.mark.parametrize("client", ["claude", "codex"])
def test_print_config_registers_this_interpreter(repo, client, tmp_path):
    import tomllib

    printed = campaign(tmp_path, "mcp", "--print-config", client, "--dir", str(repo), env=_server_env())
    assert printed.returncode == 0, printed.stderr
    if client == "claude":
        server = json.loads(printed.stdout)["mcpServers"]["campaign"]
        assert server["type"] == "stdio"
        assert "claude mcp add" in printed.stderr
    else:
        server = tomllib.loads(printed.stdout)["mcp_servers"]["campaign"]
        assert server["tool_timeout_sec"] >= 600
        assert "codex mcp add" in printed.stderr
    assert server["command"] == sys.executable and Path(server["command"]).is_absolute()
    assert server["args"] == ["-m", "campaign", "mcp", "--dir", str(repo.resolve())]

    as_json = json.loads(campaign(tmp_path, "mcp", "--print-config", client, "--dir", str(repo), "--json",
                                  env=_server_env()).stdout)
    assert as_json["ok"] and as_json["command"] == sys.executable and as_json["text"].strip() == printed.stdout.strip()


def test_the_printed_config_starts_a_working_server(repo, tmp_path):
    """What --print-config claude says to run is what a client runs: it serves the tools."""
    server = json.loads(campaign(tmp_path, "mcp", "--print-config", "claude", "--dir", str(repo),
                                 env=_server_env()).stdout)["mcpServers"]["campaign"]
    from mcp import Client, StdioServerParameters

    seen = {}

    async def main():
        params = StdioServerParameters(command=server["command"], args=server["args"], env=_server_env(),
                                       cwd=str(tmp_path))
        async with Client(params, cache=None) as client:
            seen["status"] = answer(await client.call_tool("status", {}))

    anyio.run(main)
    assert seen["status"]["ok"] and seen["status"]["name"] == "primes"
