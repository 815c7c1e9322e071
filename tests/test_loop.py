"""The state machine: the step due after every event, and every illegal command refused."""

import pytest

from campaign.errors import StepError
from campaign.loop.machine import ALLOWED, TRANSITIONS, Step, check_command, derive, expected_command, next_step

COMMANDS = ("init", "profile", "think", "plan", "try", "log", "decide", "skip", "finish")


class J:
    """A tiny journal builder."""

    def __init__(self):
        self.events = []

    def add(self, type_, data=None, iteration=None):
        self.events.append({"schema": 1, "seq": len(self.events) + 1, "ts": "t", "type": type_,
                            "iteration": iteration, "data": data or {}})
        return self

    def started(self):
        return (self.add("init", {"name": "c", "goal_speedup": 2.0, "postmortem_factor": 1.5})
                .add("baseline", {}).add("commit", {"commit": "base"}))

    def iteration(self, n, kept=True, passed=True, speedup=1.5, decide=True, stop=False, exhausted=False):
        self.add("profile", {"shares": {"hot": 0.9, "cold": 0.1}}, n)
        self.add("think", {"predicted_speedup": 1.5, "chosen": "x"}, n)
        self.add("plan", {"phase": "hot", "change": f"change {n}"}, n)
        self.add("implement", {}, n)
        self.add("test", {"passed": passed}, n)
        if passed:
            self.add("benchmark", {"speedup": speedup, "verdict": "faster", "vs_baseline": {"speedup": speedup, "ci": [1, 2]}}, n)
        self.add("log", {"kept": kept}, n)
        self.add("commit" if kept else "revert", {"commit": f"c{n}"}, n)
        if decide:
            self.add("decide", {"stop": stop, "exhausted": exhausted}, n)
        return self


def _states():
    """(description, events, expected step) covering every row of the table."""
    cases = [("empty", J(), Step.INIT),
             ("after init", J().add("init", {"name": "c"}), Step.INIT),
             ("after baseline", J().add("init", {"name": "c"}).add("baseline"), Step.INIT),
             ("after start commit", J().started(), Step.PROFILE)]
    j = J().started().add("profile", {"shares": {"hot": 1.0}}, 1)
    cases.append(("after profile", j, Step.THINK))
    j = J().started().add("profile", {}, 1).add("think", {}, 1)
    cases.append(("after think", j, Step.PLAN))
    cases.append(("after plan", J().started().add("profile", {}, 1).add("think", {}, 1).add("plan", {"phase": "hot"}, 1), Step.TRY))
    base = lambda: J().started().add("profile", {}, 1).add("think", {}, 1).add("plan", {"phase": "hot"}, 1).add("implement", {}, 1)
    cases.append(("after implement (try interrupted)", base(), Step.TRY))
    cases.append(("after failed test", base().add("test", {"passed": False}, 1), Step.LOG))
    cases.append(("after passed test (try interrupted)", base().add("test", {"passed": True}, 1), Step.TRY))
    cases.append(("after benchmark", base().add("test", {"passed": True}, 1).add("benchmark", {"speedup": 2}, 1), Step.LOG))
    cases.append(("after kept log", base().add("test", {"passed": True}, 1).add("log", {"kept": True}, 1), Step.COMMIT))
    cases.append(("after rejected log", base().add("test", {"passed": False}, 1).add("log", {"kept": False}, 1), Step.REVERT))
    cases.append(("after commit", J().started().iteration(1, decide=False), Step.DECIDE))
    cases.append(("after revert", J().started().iteration(1, kept=False, passed=False, decide=False), Step.DECIDE))
    cases.append(("after decide stop", J().started().iteration(1, stop=True), Step.FINISH))
    cases.append(("after decide, kept: profile is stale", J().started().iteration(1), Step.PROFILE))
    cases.append(("after decide, exhausted", J().started().iteration(1, kept=False, exhausted=True), Step.PROFILE))
    cases.append(("after decide, reverted", J().started().iteration(1, kept=False), Step.THINK))
    cases.append(("after skip", J().started().iteration(1, kept=False).add("skip", {"bottleneck": "hot"}, 1), Step.DECIDE))
    cases.append(("after decide --stop between iterations", J().started().add("profile", {}, 1).add(
        "decide", {"stop": True, "rule": "declared", "why": "out of time"}), Step.FINISH))
    cases.append(("after a full case that passed at FINISH", J().started().iteration(1, stop=True).add(
        "validate", {"passed": True}), Step.FINISH))
    cases.append(("after a full case that differs at FINISH: fix it", J().started().iteration(1, stop=True).add(
        "validate", {"passed": False}), Step.THINK))
    cases.append(("after finish", J().started().iteration(1, stop=True).add("finish", {}), Step.DONE))
    cases.append(("agent events never move the step", J().started().add("agent", {}), Step.PROFILE))
    return cases


@pytest.mark.parametrize("desc,journal,step", _states(), ids=[c[0] for c in _states()])
def test_step_after_each_event(desc, journal, step):
    assert next_step(journal.events) is step


@pytest.mark.parametrize("desc,journal,step", _states(), ids=[c[0] for c in _states()])
def test_every_illegal_command_is_refused_with_due_step_and_command(desc, journal, step):
    state = derive(journal.events)
    for command in COMMANDS:
        if command in ALLOWED[step]:
            check_command(command, state)  # allowed: no error
            continue
        with pytest.raises(StepError) as info:
            check_command(command, state)
        err = info.value
        assert err.exit_code == 2
        assert err.due == step.value
        assert err.command == expected_command(step, state)
        assert err.command in err.message or step is Step.DONE


def test_table_covers_every_step_and_reads_in_order():
    dues = {row[2] for row in TRANSITIONS}
    assert dues == set(Step)
    assert set(ALLOWED) == set(Step)


def test_expected_commands_name_the_subcommand():
    state = derive(J().started().add("profile", {"shares": {"hot": 0.9, "cold": 0.1}}, 1).events)
    assert expected_command(Step.PLAN, state).startswith("campaign plan --phase hot")
    assert "--predict" in expected_command(Step.THINK, state)
    assert expected_command(Step.PROFILE, state, "--dir /x") == "campaign profile --dir /x"
    assert expected_command(Step.COMMIT, state) == "campaign log"


def test_log_command_asks_for_postmortem_when_prediction_missed():
    j = J().started().add("profile", {}, 1).add("think", {"predicted_speedup": 3.0}, 1).add("plan", {"phase": "hot"}, 1)
    j.add("implement", {}, 1).add("test", {"passed": True}, 1).add("benchmark", {"speedup": 1.2, "verdict": "faster"}, 1)
    state = derive(j.events)
    assert "--why" in expected_command(state.step, state)


def test_derive_tracks_kept_commits_cumulative_and_phases():
    j = J().started().iteration(1, speedup=1.8).iteration(2, kept=False, passed=False)
    j.add("skip", {"bottleneck": "hot"}, 2)
    state = derive(j.events)
    assert state.last_kept_commit == "c1"
    assert state.cumulative == 1.8
    assert state.kept_count == 1 and len(state.finished_iterations) == 2
    assert state.skipped == ["hot"] and state.open_phases() == ["cold"]


def test_a_failed_full_case_stays_due_until_a_later_check_passes():
    j = J().started().iteration(1, stop=True).add("validate", {"passed": False, "case": "full"})
    assert derive(j.events).full_case_failed
    j.iteration(2, stop=True)
    assert derive(j.events).full_case_failed  # the fix iteration's TEST still includes the full case
    j.add("validate", {"passed": True, "case": "full"})
    assert not derive(j.events).full_case_failed and next_step(j.events) is Step.FINISH


def test_the_full_case_is_tested_at_every_third_kept_change_and_after_finish_found_it_wrong():
    from campaign.loop.steps.try_change import cases_due

    j = J().started()
    due = []
    for n in range(1, 8):  # every attempt kept but the 4th
        j.add("profile", {"shares": {"hot": 1.0}}, n).add("think", {"predicted_speedup": 1.5}, n)
        due.append(cases_due(derive(j.events), "fast", "full"))
        kept = n != 4
        j.add("plan", {"phase": "hot"}, n).add("implement", {}, n).add("test", {"passed": True}, n)
        j.add("benchmark", {"speedup": 1.5, "vs_baseline": {"speedup": 1.5}}, n).add("log", {"kept": kept}, n)
        j.add("commit" if kept else "revert", {"commit": f"c{n}"}, n).add("decide", {"stop": False}, n)
    # kept before each attempt: 0, 1, 2 (3rd due), 3, 3, 4, 5 (6th due)
    assert [len(d) for d in due] == [1, 1, 2, 1, 1, 1, 2]
    assert cases_due(derive(j.events), "fast", "full", full=True) == ["fast", "full"]
    assert cases_due(derive(j.events), "same", "same", full=True) == ["same"]
    j.add("decide", {"stop": True}).add("validate", {"passed": False, "case": "full"})
    assert cases_due(derive(j.events), "fast", "full") == ["fast", "full"]  # kept 6: not a 3rd, but FINISH failed it
