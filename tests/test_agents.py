"""The agent protocol: schema validation, retries, and the playbook agent's honest Surprise."""

import sys

import pytest

from campaign.agents.command_agent import CommandAgent
from campaign.agents.playbook_agent import playbook_log_answer
from campaign.agents.protocol import (
    MAX_ATTEMPTS,
    AgentFailed,
    ask,
    validate_answer,
)

THINK = {
    "action": "optimize",
    "title": "cache the table",
    "hypothesis": "the table is rebuilt per call",
    "options": ["cache it", "precompute at import"],
    "chosen": "cache it",
    "predicted_speedup": 1.5,
    "risk": "memory",
    "phase": "compute",
    "change": "memoize build_table",
}


def test_valid_think_answer_passes():
    assert validate_answer("think", THINK) is None
    assert validate_answer("think", {"action": "exhausted", "why": "nothing left"}) is None


@pytest.mark.parametrize(
    "mutation, needle",
    [
        ({"predicted_speedup": "fast"}, "predicted_speedup"),
        ({"predicted_speedup": 0}, "predicted_speedup"),
        ({"options": []}, "options"),
    ],
)
def test_invalid_think_answer_names_the_field(mutation, needle):
    error = validate_answer("think", {**THINK, **mutation})
    assert error is not None and needle in error, error


def test_log_answer_needs_a_non_blank_surprise():
    assert validate_answer("log", {"surprise": "None"}) is None
    assert validate_answer("log", {"surprise": "   "}) is not None
    assert validate_answer("log", {"notes": "x"}) is not None


class ScriptedAgent:
    name = "scripted"

    def __init__(self, answers):
        self.answers = list(answers)
        self.requests = []

    def answer(self, request):
        self.requests.append(request)
        return self.answers.pop(0), {}


def test_invalid_answer_is_returned_with_the_error_then_accepted(tmp_path):
    agent = ScriptedAgent(["not json", {**THINK, "predicted_speedup": "2x"}, THINK])
    answer, event = ask(agent, "think", {"campaign": {}}, tmp_path / "agent", iteration=1)
    assert answer == THINK
    assert event["attempts"] == 3 and event["error"] is None
    assert agent.requests[0]["previous_error"] is None
    assert "not JSON" in agent.requests[1]["previous_error"]
    assert "predicted_speedup" in agent.requests[2]["previous_error"]
    assert (tmp_path / "agent" / "iter-01-think-1.request.json").exists()


def test_asking_the_same_step_again_never_overwrites_an_exchange(tmp_path):
    """A resumed run asks iteration 8's THINK again: the first exchange's files stay, the event points to new ones."""
    first_answer = {**THINK, "hypothesis": "first"}
    _, first = ask(ScriptedAgent([first_answer]), "think", {}, tmp_path / "agent", iteration=8)
    _, second = ask(ScriptedAgent(["not json", THINK]), "think", {}, tmp_path / "agent", iteration=8)
    assert first["answer"] != second["answer"] and first["request"] != second["request"]
    assert '"first"' in (tmp_path / first["answer"]).read_text()
    names = sorted(p.name for p in (tmp_path / "agent").glob("*.request.json"))
    assert names == [f"iter-08-think-{n}.request.json" for n in (1, 2, 3)]


def test_agent_that_never_answers_well_fails_after_the_retry_limit(tmp_path):
    agent = ScriptedAgent([{"surprise": ""}] * MAX_ATTEMPTS)
    with pytest.raises(AgentFailed) as info:
        ask(agent, "log", {}, tmp_path / "agent", iteration=2)
    assert info.value.attempts[0]["attempts"] == MAX_ATTEMPTS
    assert len(agent.requests) == MAX_ATTEMPTS


def test_command_agent_reads_stdin_and_answers_on_stdout(tmp_path):
    script = tmp_path / "agent.py"
    script.write_text(
        "import json, sys\n"
        "req = json.load(sys.stdin)\n"
        "print('thinking...', file=sys.stderr)\n"
        "print(json.dumps({'summary': 'step ' + req['step']}))\n"
    )
    agent = CommandAgent(f"{sys.executable} {script}", workspace=tmp_path, timeout_s=30)
    answer, event = ask(agent, "implement", {}, tmp_path / "agent", iteration=1)
    assert answer == {"summary": "step implement"}
    assert "thinking" in (tmp_path / "agent" / "iter-01-implement-1.stderr.txt").read_text()


def test_command_agent_that_hangs_is_killed_and_reported(tmp_path):
    agent = CommandAgent(f"{sys.executable} -c 'import time; time.sleep(30)'", workspace=tmp_path, timeout_s=1)
    with pytest.raises(AgentFailed, match="timed out"):
        ask(agent, "implement", {}, tmp_path / "agent", iteration=1)


def test_playbook_surprise_says_none_only_when_the_prediction_held():
    close = playbook_log_answer({"predicted": 2.0, "test_passed": True, "verdict": "faster", "speedup": 2.1, "ci": [2.0, 2.2]})
    assert close["surprise"].startswith("None")
    far = playbook_log_answer(
        {"predicted": 2.0, "test_passed": True, "verdict": "faster", "speedup": 5.0, "ci": [4.8, 5.2], "postmortem_required": True}
    )
    assert "150% more than predicted" in far["surprise"]
    assert far["postmortem"]["why"] and far["postmortem"]["lesson"]


def test_playbook_surprise_reports_a_failed_test():
    answer = playbook_log_answer(
        {"predicted": 3.0, "test_passed": False, "first_failure": "W[0]: expected 1.0, got 1.5", "verdict": None, "speedup": None, "ci": None}
    )
    assert "TEST failed" in answer["surprise"] and "W[0]" in answer["surprise"]
    assert validate_answer("log", answer) is None
