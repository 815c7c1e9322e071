"""What ``derive`` folds out of a journal, field by field, and the exact commands it asks for.

Written against the surviving mutants of ``campaign/loop/machine.py`` (docs/mutation.md).
"""

import pytest

from campaign.errors import StepError
from campaign.loop.machine import Step, check_command, derive, expected_command
from campaign.loop.stopping import Attempt
from test_loop import J

SURPRISE = "campaign log --surprise '<what surprised you, or None>'"
POSTMORTEM = " --why '<why the result missed the prediction>' --lesson '<what it teaches>'"
KEEP_HINT = "  (add --keep '<reason>' to keep a change the benchmark cannot call faster)"


def test_derive_keeps_every_record_of_a_whole_campaign():
    j = J().started()
    j.add("agent", {"note": "neutral events in the middle are skipped, not the end of the journal"})
    j.iteration(1, speedup=1.8)
    j.iteration(2, kept=False, passed=False, decide=False)
    j.add("skip", {"bottleneck": "hot"}, 2)
    j.add("decide", {"stop": True}, 2)
    j.add("finish", {"tag": "post"})
    j.add("tune", {})
    state = derive(j.events)
    assert state.init == {"name": "c", "goal_speedup": 2.0, "postmortem_factor": 1.5} and state.name == "c"
    assert state.baseline == {}
    assert state.start_commit == "base" and state.last_kept_commit == "c1"
    assert state.last_profile == {"shares": {"hot": 0.9, "cold": 0.1}} and state.last_profile_iteration == 2
    assert [it.n for it in state.iterations] == [1, 2]
    first, second = state.iterations
    assert first.profile == {"shares": {"hot": 0.9, "cold": 0.1}}
    assert first.plan == {"phase": "hot", "change": "change 1"} and first.implement == {}
    assert first.test == {"passed": True} and first.commit == {"commit": "c1"} and first.revert is None
    assert first.decide == {"stop": False, "exhausted": False}
    assert second.test == {"passed": False} and second.revert == {"commit": "c2"} and second.commit is None
    assert second.skip == {"bottleneck": "hot"} and second.decide == {"stop": True}
    assert state.cumulative == 1.8 and state.cumulative_ci == [1, 2]
    assert state.skipped == ["hot"] and state.exhausted == []
    assert state.finish == {"tag": "post"}
    assert state.last_event["type"] == "finish" and state.step is Step.DONE
    assert state.attempts() == [Attempt(1, "hot", True, 1.8), Attempt(2, "hot", False, None)]


def test_cumulative_falls_back_to_cumulative_speedup():
    j = J().started().add("profile", {}, 1).add("think", {}, 1).add("plan", {"phase": "hot"}, 1).add("implement", {}, 1)
    j.add("test", {"passed": True}, 1).add("benchmark", {"speedup": 1.3, "cumulative_speedup": 1.4}, 1)
    j.add("log", {"kept": True}, 1)
    state = derive(j.events)
    assert state.cumulative == 1.4 and state.cumulative_ci is None


def test_a_rerun_try_forgets_the_old_test_and_benchmark():
    j = J().started().add("profile", {}, 1).add("think", {}, 1).add("plan", {"phase": "hot"}, 1).add("implement", {}, 1)
    j.add("test", {"passed": True}, 1).add("benchmark", {"speedup": 2}, 1).add("implement", {"again": 1}, 1)
    it = derive(j.events).current
    assert it.implement == {"again": 1} and it.test is None and it.benchmark is None


def test_open_phases_by_share_then_name_unknown_share_last():
    j = J().started().add("profile", {"shares": {"b": 0.3, "c": None, "a": 0.3, "d": 0.5}}, 1)
    assert derive(j.events).open_phases() == ["d", "a", "b", "c"]


def test_skip_and_exhausted_before_any_iteration():
    j = J().started().add("profile", {"shares": {"hot": 1.0}}).add("skip", {"bottleneck": "hot"})
    state = derive(j.events)
    assert state.skipped == ["hot"] and state.iterations == [] and state.step is Step.DECIDE
    j = J().started().add("decide", {"exhausted": True, "phase": "hot"}).add("decide", {"exhausted": True, "phase": "hot"})
    state = derive(j.events)
    assert state.exhausted == ["hot"] and state.step is Step.PROFILE
    state = derive(J().started().add("decide", {"exhausted": True}).events)
    assert state.exhausted == []  # no phase named and none planned: nothing to record


def test_exhausted_phase_is_the_named_one_else_the_planned_one():
    state = derive(J().started().iteration(1, kept=False, exhausted=True).events)
    assert state.exhausted == ["hot"]
    j = J().started().iteration(1, kept=False, decide=False).add("decide", {"exhausted": True, "phase": "cold"}, 1)
    assert derive(j.events).exhausted == ["cold"]
    assert derive(J().started().iteration(1, kept=False).events).exhausted == []  # a plain decide exhausts nothing


def test_an_iteration_event_before_any_iteration_is_ignored():
    state = derive(J().started().add("commit", {"commit": "stray"}, 1).events)
    assert state.last_kept_commit == "base" and state.iterations == [] and state.step is Step.DECIDE


def test_an_unknown_event_type_is_named():
    with pytest.raises(AssertionError, match="no transition after 'bogus'"):
        derive(J().started().add("bogus").events)


def _at_log(predicted, speedup, verdict="faster", passed=True, init_factor=None):
    j = J()
    init = {"name": "c"} if init_factor is None else {"name": "c", "postmortem_factor": init_factor}
    j.add("init", init).add("baseline", {}).add("commit", {"commit": "base"})
    j.add("profile", {}, 1).add("think", {"predicted_speedup": predicted}, 1).add("plan", {"phase": "hot"}, 1)
    j.add("implement", {}, 1).add("test", {"passed": passed}, 1)
    if passed:
        j.add("benchmark", {"speedup": speedup, "verdict": verdict}, 1)
    state = derive(j.events)
    assert state.step is Step.LOG
    return expected_command(state.step, state)


def test_log_command_variants():
    assert _at_log(1.5, 1.5) == SURPRISE
    assert _at_log(3.0, 1.2) == SURPRISE + POSTMORTEM  # default factor 1.5
    assert _at_log(1.5, 3.0) == SURPRISE + POSTMORTEM  # far faster than predicted is a miss too
    assert _at_log(3.0, 1.2, init_factor=3.0) == SURPRISE  # 2.5x off is within the campaign's own factor
    assert _at_log(1.5, 1.5, verdict="same") == SURPRISE + KEEP_HINT
    assert _at_log(1.5, 1.5, verdict="inconclusive") == SURPRISE + KEEP_HINT
    assert _at_log(3.0, 1.0, verdict="same") == SURPRISE + POSTMORTEM + KEEP_HINT
    assert _at_log(1.5, None, passed=False) == SURPRISE  # nothing to keep when the test failed


def test_expected_command_for_each_step():
    state = derive(J().started().events)
    assert expected_command(Step.INIT, state) == "campaign init --resume"
    assert expected_command(Step.PLAN, state) == (
        "campaign plan --phase '<phase>' --change '<what you will change>' --bottleneck '<what the profile showed>'")
    assert expected_command(Step.TRY, state, "--dir /x") == "campaign try --dir /x"
    assert expected_command(Step.REVERT, state) == "campaign log"
    assert expected_command(Step.DECIDE, state) == "campaign decide"
    assert expected_command(Step.FINISH, state) == "campaign finish"
    assert expected_command(Step.DONE, state) == "campaign status"


def test_refusals_say_what_is_due_with_the_callers_options():
    state = derive(J().started().events)
    with pytest.raises(StepError) as info:
        check_command("think", state, "--dir /x")
    assert info.value.command == "campaign profile --dir /x"
    assert info.value.message == (
        "`campaign think` may not come next: the step due is PROFILE (measure where the time goes in the current code). "
        "Run: campaign profile --dir /x")
    done = derive(J().started().iteration(1, stop=True).add("finish", {}).events)
    with pytest.raises(StepError) as info:
        check_command("plan", done)
    assert info.value.message == "`campaign plan` may not run: the campaign 'c' is finished. See `campaign status`."


def test_full_case_validation_decides_finish_or_a_new_iteration():
    stopped = J().started().iteration(1, stop=True)
    state = derive(stopped.add("validate", {"passed": False}).events)
    assert state.step is Step.THINK and state.validation == {"passed": False} and state.full_case_failed
    state = derive(stopped.add("validate", {"passed": True}).events)
    assert state.step is Step.FINISH and not state.full_case_failed
    assert not derive(J().started().events).full_case_failed  # nothing validated yet


def test_a_run_event_records_its_settings_and_never_moves_the_step():
    state = derive(J().started().add("run", {"agent": "demo"}).add("agent", {}).events)
    assert state.run == {"agent": "demo"} and state.step is Step.PROFILE
    assert state.last_event["type"] == "commit"
