"""What real agent clients write is neither code under test nor a reason to refuse (issue 23, items 13-16).

Registering the MCP server (``.mcp.json``), installing the skill
(``.claude/skills/...``), a Codex folder or the user's edit of AGENTS.md:
init accepts the tree, TEST does not count them as out-of-scope edits, LOG
never reverts them. The registration hint prints the whole working command
line, and an out-of-order MCP answer's ``call`` can be made as it is.
"""

from __future__ import annotations

import json
import subprocess

import pytest

from campaign import vcs
from loop_fixtures import PRIMES, campaign, cli_env, git, make_repo
from test_cli_loop import crafted, run

BROKEN = "raise SystemExit('broken on purpose')\n"
SKILL = "---\nname: campaign-primes\ndescription: x\n---\nRun the campaign.\n"


@pytest.fixture
def repo(tmp_path):
    return make_repo(tmp_path / "repo")


def test_init_accepts_the_documented_mcp_registration_and_leaves_it_alone(repo):
    snippet = campaign(repo, "mcp", "--print-config", "claude")
    assert snippet.returncode == 0, snippet.stderr
    (repo / ".mcp.json").write_text(snippet.stdout)  # `campaign mcp --print-config claude > .mcp.json`
    (repo / ".codex").mkdir()
    (repo / ".codex" / "config.toml").write_text("[mcp_servers.campaign]\n")
    result = campaign(repo, "init", "--target", "campaign.toml", "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    assert (repo / ".mcp.json").read_text() == snippet.stdout
    assert ".mcp.json" not in git(repo, "ls-files") and ".codex/config.toml" not in git(repo, "ls-files")


def test_a_skill_installed_mid_campaign_is_not_an_out_of_scope_edit_and_survives_log(repo):
    crafted(repo, "plan")
    skill = repo / ".claude" / "skills" / "campaign" / "SKILL.md"
    skill.parent.mkdir(parents=True)
    skill.write_text(SKILL)
    (repo / "AGENTS.md").write_text("my own notes for the agent\n")
    (repo / "primes.py").write_text(BROKEN)
    result = run(repo, "try", "--json")
    assert result.exit_code == 3, result.output
    data = json.loads(result.stdout)
    assert data["files"] == ["primes.py"] and data["test"]["out_of_scope"] == []
    result = run(repo, "log", "--surprise", "broken on purpose", "--json")
    assert result.exit_code == 0, result.output
    assert skill.read_text() == SKILL and (repo / "AGENTS.md").read_text() == "my own notes for the agent\n"
    assert (repo / "primes.py").read_text() == PRIMES
    patch = (repo / "optim" / "primes" / "patches" / "iter-01-reverted.patch").read_text()
    assert ".claude" not in patch and "AGENTS.md" not in patch


def test_agent_config_is_recognised_at_the_root_only_for_files():
    assert vcs.is_agent_config(".mcp.json") and vcs.is_agent_config(".claude/skills/campaign/SKILL.md")
    assert vcs.is_agent_config("AGENTS.md") and vcs.is_agent_config(".codex/config.toml")
    assert not vcs.is_agent_config("src/AGENTS.md") and not vcs.is_agent_config("primes.py")
    assert not vcs.is_agent_config("sub/.claude/x")


def test_following_an_out_of_order_answer_literally_is_not_refused_again(repo):
    from campaign.agents.mcp_server import LoopTools
    from test_cli_loop import _at_log_with_benchmark

    _at_log_with_benchmark(repo, "slower", 0.8)  # predicted 5x, measured 0.8x: LOG needs a postmortem
    tools = LoopTools(repo)
    early = tools.think("h", ["a", "b"], "c", 2, "r")
    assert early["code"] == "step_out_of_order"
    call = early["call"]
    assert call["tool"] == "log" and {"surprise", "why", "lesson"} <= set(call["arguments"]), call
    missing = tools.log(None, None, None, None, None)
    assert missing["code"] == "rule_refused" and "--surprise" not in missing["message"]
    assert "`surprise`" in missing["message"]
    done = tools.log(**{"surprise": None, "notes": None, "why": None, "lesson": None, "keep": None, **call["arguments"]})
    assert done["ok"] is True, done
