"""What an agent exchange cost: read from each CLI's own output, summed from the journal, and the budget rule.

The outputs below are the shapes the CLIs print: Claude Code's one JSON result
(``claude -p --output-format json``) and Codex's JSON lines (``codex exec
--json``), trimmed of fields the reader ignores.
"""

from __future__ import annotations

import json

import pytest

from campaign.agents import usage
from campaign.agents.adapters import final_text
from campaign.agents.choice import resumed_budget, run_settings
from campaign.loop import stopping
from campaign.loop import usage as sums

CLAUDE_RESULT = {
    "type": "result", "subtype": "success", "is_error": False, "duration_ms": 20543, "duration_api_ms": 19870,
    "num_turns": 6, "result": "Done.\n```json\n{\"summary\": \"closed form\"}\n```",
    "session_id": "5f0c3c1e-0000-4000-8000-000000000000", "total_cost_usd": 0.0873145,
    "usage": {"input_tokens": 18, "cache_creation_input_tokens": 6120, "cache_read_input_tokens": 41230,
              "output_tokens": 1247, "server_tool_use": {"web_search_requests": 0}, "service_tier": "standard"},
    "permission_denials": [],
}

CODEX_EVENTS = [
    {"type": "thread.started", "thread_id": "0199a213-81c0-7800-8aa1-bbab2a035a53"},
    {"type": "turn.started"},
    {"type": "item.completed", "item": {"id": "item_0", "type": "reasoning", "text": "**Reading the profile**"}},
    {"type": "item.completed", "item": {"id": "item_1", "type": "command_execution", "command": "bash -lc ls",
                                        "aggregated_output": "work.py\n", "exit_code": 0, "status": "completed"}},
    {"type": "item.completed", "item": {"id": "item_2", "type": "agent_message",
                                        "text": "Plan:\n```json\n{\"summary\": \"closed form\"}\n```"}},
    {"type": "turn.completed", "usage": {"input_tokens": 26549, "cached_input_tokens": 22272, "output_tokens": 1590}},
]


def codex_stdout(events=CODEX_EVENTS) -> str:
    return "\n".join(json.dumps(e) for e in events) + "\n"


def test_claude_result_usage_counts_cached_input_and_keeps_the_reported_price():
    got = usage.for_cli("claude", json.dumps(CLAUDE_RESULT) + "\n")
    assert got == {"input_tokens": 18 + 6120 + 41230, "cached_input_tokens": 41230, "output_tokens": 1247,
                   "cost_usd": 0.0873145, "source": "claude"}


def test_claude_without_usage_or_with_junk_reports_nothing():
    assert usage.for_cli("claude", json.dumps({"type": "result", "subtype": "success", "result": "x"})) is None
    assert usage.for_cli("claude", "not json") is None
    assert usage.for_cli("claude", "") is None
    junk = {**CLAUDE_RESULT, "total_cost_usd": "a lot", "usage": {"input_tokens": -3, "output_tokens": True}}
    assert usage.for_cli("claude", json.dumps(junk)) is None  # never a made-up number


def test_codex_usage_is_summed_over_its_turns_and_has_no_price():
    assert usage.for_cli("codex", codex_stdout()) == {"input_tokens": 26549, "cached_input_tokens": 22272,
                                                      "output_tokens": 1590, "cost_usd": None, "source": "codex"}
    two = CODEX_EVENTS + [{"type": "turn.completed", "usage": {"input_tokens": 1000, "cached_input_tokens": 0,
                                                               "output_tokens": 10}}]
    assert usage.for_cli("codex", "[progress] not json\n" + codex_stdout(two))["input_tokens"] == 27549
    assert usage.for_cli("codex", codex_stdout(CODEX_EVENTS[:-1])) is None  # no turn.completed: not reported


def test_codex_final_text_falls_back_to_the_last_agent_message(tmp_path):
    assert "closed form" in final_text("codex", codex_stdout(), tmp_path / "missing.txt")
    last = tmp_path / "last.txt"
    last.write_text("from -o")
    assert final_text("codex", codex_stdout(), last) == "from -o"


@pytest.mark.parametrize("kind", ["aider", "prompt"])
def test_clis_that_report_no_usage_record_none(kind):
    assert usage.for_cli(kind, "Tokens: 12k sent, 1.2k received. Cost: $0.03 message\n") is None


def test_a_command_agent_reports_in_its_usage_file():
    got = usage.from_command_file(json.dumps({"input_tokens": 100, "output_tokens": 20, "cost_usd": 0.5}))
    assert got == {"input_tokens": 100, "cached_input_tokens": None, "output_tokens": 20, "cost_usd": 0.5,
                   "source": "command"}
    assert usage.from_command_file("{}") is None and usage.from_command_file("[1]") is None


def test_retries_of_one_exchange_are_summed():
    one = {"input_tokens": 10, "cached_input_tokens": None, "output_tokens": 2, "cost_usd": 0.1, "source": "claude"}
    assert usage.combine([None, None]) is None
    assert usage.combine([one, None]) == one
    assert usage.combine([one, one]) == {"input_tokens": 20, "cached_input_tokens": None, "output_tokens": 4,
                                         "cost_usd": 0.2, "source": "claude"}


def _agent(iteration, used):
    return {"type": "agent", "iteration": iteration, "data": {"step": "think", "usage": used}}


def test_sums_per_iteration_and_campaign_keep_unknown_apart_from_zero():
    a = {"input_tokens": 100, "cached_input_tokens": 50, "output_tokens": 10, "cost_usd": 0.25}
    events = [_agent(1, a), _agent(1, None), {"type": "test", "iteration": 1, "data": {}}, _agent(2, a), _agent(None, a)]
    summary = sums.summarize(events)
    assert summary["total"] == {"exchanges": 4, "reported": 3, "input_tokens": 300, "cached_input_tokens": 150,
                                "output_tokens": 30, "tokens": 330, "cost_usd": 0.75}
    assert [(r["iteration"], r["exchanges"], r["cost_usd"]) for r in summary["iterations"]] == [(1, 2, 0.25), (2, 1, 0.25)]
    assert summary["between"]["exchanges"] == 1
    nothing = sums.summarize([_agent(1, None)])["total"]
    assert nothing["cost_usd"] is None and nothing["tokens"] is None and nothing["reported"] == 0
    assert sums.describe(nothing) == "not reported over 1 exchange"
    assert sums.describe(summary["total"]) == "$0.75, 330 tokens (300 in, 30 out) over 4 exchanges (1 not reported)"


def test_budget_rule_is_pure_and_names_what_was_spent():
    assert stopping.budget_spent(1.25, None, 1.0, None) == "agent budget spent: $1.25 of $1.00"
    assert stopping.budget_spent(0.99, None, 1.0, None) is None
    assert stopping.budget_spent(None, 5000, None, 4000) == "agent budget spent: 5,000 of 4,000 tokens"
    assert stopping.budget_spent(None, 3999, None, 4000) is None
    assert stopping.budget_spent(None, 99_999, 1.0, None) is None  # no price reported: a dollar budget cannot stop
    assert stopping.budget_spent(5.0, 5000, None, None) is None  # no budget


def test_budget_rule_in_the_order_of_the_rules():
    attempts = [stopping.Attempt(1, "reduce", True, 1.5)]
    hit = stopping.decide(attempts, 1.5, 10.0, spent=(2.0, 10), budget=(1.0, None))
    assert (hit.stop, hit.rule, hit.reason) == (True, "budget", "agent budget spent: $2.00 of $1.00")
    assert stopping.decide(attempts, 12.0, 10.0, spent=(2.0, 10), budget=(1.0, None)).rule == "goal"
    assert stopping.decide(attempts, 1.5, 10.0, spent=(0.5, 10), budget=(1.0, None)).rule == "none"
    assert stopping.decide(attempts, 1.5, 10.0).rule == "none"


def test_the_budget_is_recorded_with_the_run_and_kept_by_resume():
    settings = run_settings("claude", None, 60.0, False, {"budget_usd": 5.0, "budget_tokens": None})
    assert settings["budget_usd"] == 5.0 and settings["budget_tokens"] is None
    assert sums.budget(settings) == (5.0, None)
    assert resumed_budget(settings, {"budget_usd": None, "budget_tokens": None}) == {"budget_usd": 5.0,
                                                                                    "budget_tokens": None}
    assert resumed_budget(settings, {"budget_usd": 9.0, "budget_tokens": 100}) == {"budget_usd": 9.0,
                                                                                  "budget_tokens": 100}
    assert sums.budget(None) == (None, None) and sums.budget({"agent": "playbook"}) == (None, None)


RECORD = __import__("pathlib").Path(__file__).resolve().parents[1] / "optim" / "weight_search"


def _journal(record):
    return [json.loads(line) for line in (record / "journal.jsonl").read_text().splitlines()]


def _with_usage(events):
    paid = {"input_tokens": 5000, "cached_input_tokens": 4000, "output_tokens": 300, "cost_usd": 0.05, "source": "claude"}
    return [{**e, "data": {**e["data"], "usage": paid}} if e["type"] == "agent" else e for e in events]


def test_the_logs_show_the_spend_only_where_an_agent_reported_it():
    from campaign.loop.render import render_all

    events = _journal(RECORD)
    plain = render_all(events)
    for name, text in plain.items():  # the shipped record (no usage) renders byte-identically
        assert (RECORD / name).read_text() == text, name
    paid = render_all(_with_usage(events))
    agents = [e for e in events if e["type"] == "agent"]
    n_iter = len({e["iteration"] for e in agents if e["iteration"] is not None})
    assert paid["optimization_log.md"].count("**Agent spend:** $") == n_iter
    assert f"Agent spend, as the agent reported it: ${0.05 * len(agents):.2f}, " in paid["summary.md"]
    assert "Agent spend" not in plain["optimization_log.md"] + plain["summary.md"]


def test_the_report_shows_the_spend_only_where_an_agent_reported_it():
    from campaign.review.report import collect, format_text, render_html

    result = collect(RECORD)
    assert result["agent_usage"]["total"]["reported"] == 0
    assert "spend-card" not in render_html(result) and "agent spend" not in format_text(result, 200)
    result["agent_usage"] = sums.summarize(_with_usage(_journal(RECORD)))
    html = render_html(result)
    assert 'id="spend-card"' in html and 'id="spend-table"' in html
    assert "agent spend: $" in format_text(result, 200)


def test_an_exchange_that_failed_still_records_what_it_cost(tmp_path):
    """A Claude Code error result (here: out of turns) fails the step, and its price is on the failed event."""
    import sys

    from campaign.agents.adapters import CliAgent
    from campaign.agents.protocol import AgentFailed, ask

    fake = tmp_path / "claude"
    error = {**CLAUDE_RESULT, "subtype": "error_max_turns", "is_error": True, "result": ""}
    fake.write_text(f"#!{sys.executable}\nprint({json.dumps(json.dumps(error))})\n")
    fake.chmod(0o755)
    agent = CliAgent("claude", tmp_path, ["work.py"], command=str(fake), timeout_s=60)
    context = {"campaign": {"name": "c"}, "history": [], "scope": ["work.py"], "profile": None}
    with pytest.raises(AgentFailed) as failed:
        ask(agent, "implement", context, tmp_path / "agent", 1)
    (event,) = failed.value.attempts
    assert event["error"] and event["usage"]["cost_usd"] == 0.0873145 and event["usage"]["source"] == "claude"


def test_a_budget_the_agent_cannot_report_on_is_warned_about():
    from campaign.agents.choice import budget_note

    assert budget_note("claude", {"budget_usd": 5.0, "budget_tokens": 10_000}) is None
    assert budget_note("codex", {"budget_usd": None, "budget_tokens": 10_000}) is None
    assert "--budget-usd" in budget_note("codex", {"budget_usd": 5.0, "budget_tokens": None})
    assert "--budget-usd and --budget-tokens" in budget_note("aider", {"budget_usd": 5.0, "budget_tokens": 9})
    assert budget_note("playbook", {"budget_usd": None, "budget_tokens": None}) is None
    assert budget_note("playbook", None) is None
