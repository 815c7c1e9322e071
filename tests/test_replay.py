"""``campaign replay`` end to end on a record made by ``campaign run`` (the real CLI, in subprocesses).

The record (SumTarget, goal 1.5): iteration 1 breaks the answer (TEST fails, reverted),
iteration 2 is a >50x closed form (kept). Both verdicts are large deliberate effects, so a
replay must agree with the recording on any machine.
"""

from __future__ import annotations

import shutil

import pytest

from loop_fixtures import finished_record
from run_fixtures import cli, make_sum_repo, ok, run_env, write_target_module


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    root = tmp_path_factory.mktemp("replay")
    lib = write_target_module(root / "lib")
    repo = make_sum_repo(root / "repo")
    env = run_env(lib)
    out = ok(cli(repo, env, "run", "--target", "sumtarget:SumTarget", "--goal-speedup", "1.5", "--json"))
    assert out["finished"] and [r["kept"] for r in out["iterations"]] == [False, True]
    return root, repo, env, finished_record(repo, "sum")  # finished: the record stays in git


def outside_copy(root, record, name):
    """The record copied outside any git repository."""
    dest = root / name / "sum"
    shutil.copytree(record, dest)
    return dest


def test_replay_agrees_with_its_own_record(recorded):
    root, repo, env, record = recorded
    result = cli(repo, env, "replay", "optim/sum", "--json")
    out = ok(result)
    assert out["ok"] and out["baseline_reproduced"]
    assert [r["iteration"] for r in out["rows"]] == [1, 2]
    assert all(r["verdict_matches"] for r in out["rows"])
    assert [(r["recorded_verdict"], r["replayed_verdict"]) for r in out["rows"]] == [
        ("test-failed", "test-failed"), ("faster", "faster")]
    assert out["renders_identical"] and all(out["renders_identical"].values())
    # the human table says so too, and replay leaves the campaign's repository untouched
    text = cli(repo, env, "replay", "optim/sum", "--iterations", "1")
    assert text.returncode == 0 and "REPLAY AGREES" in text.stdout and "Traceback" not in text.stderr


def test_replay_of_one_iteration(recorded):
    """``--iterations 2..2`` re-measures only iteration 2 (iteration 1 was reverted: nothing to re-apply);
    run from outside any git repo, the copy is trusted because this machine recorded that journal."""
    root, repo, env, record = recorded
    copy = outside_copy(root, record, "range")
    out = ok(cli(root, env, "replay", str(copy), "--iterations", "2..2", "--json"))
    assert out["ok"] and out["iterations"] == [2, 2]
    assert [r["iteration"] for r in out["rows"]] == [2] and out["rows"][0]["replayed_verdict"] == "faster"
    bad = cli(root, env, "replay", str(copy), "--iterations", "3..4")
    assert bad.returncode != 0 and "outside" in bad.stderr and "Traceback" not in bad.stderr


def test_altered_patch_is_named_before_measuring(recorded):
    root, repo, env, record = recorded
    copy = outside_copy(root, record, "altered")
    patch = copy / "patches" / "iter-02-kept.patch"
    patch.write_bytes(patch.read_bytes() + b"\n")
    result = cli(root, env, "replay", str(copy), "--trust")
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert "iteration 2" in result.stderr and "altered" in result.stderr
    assert "re-running" not in result.stderr and "BENCHMARK" not in result.stderr  # stopped before measuring


def test_unknown_record_is_refused_without_trust(recorded):
    root, repo, env, record = recorded
    copy = outside_copy(root, record, "unknown")
    strange = {**env, "CAMPAIGN_TRUST_FILE": str(root / "nobody-trusts")}  # this machine never saw the record
    result = cli(root, strange, "replay", str(copy))
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert "--trust" in result.stderr and "unknown source" in result.stderr
    assert "re-running" not in result.stderr


def _run_with_an_agent_crashing_at_implement(tmp_path, edit: str = ""):
    """A one-iteration ``campaign run`` whose command agent does ``edit`` at IMPLEMENT, then exits 3."""
    import sys

    lib = write_target_module(tmp_path / "lib")
    repo = make_sum_repo(tmp_path / "repo")
    env = run_env(lib)
    agent = tmp_path / "agent.py"
    agent.write_text(
        "import json, sys, pathlib\n"
        "req = json.load(sys.stdin)\n"
        "if req['step'] == 'think':\n"
        "    print(json.dumps({'action': 'optimize', 'title': 't', 'hypothesis': 'h', 'options': ['a'], 'chosen': 'a',\n"
        "                      'predicted_speedup': 2, 'risk': 'r', 'phase': 'reduce', 'change': 'c'}))\n"
        "elif req['step'] == 'implement':\n"
        f"    {edit or 'pass'}\n"
        "    sys.exit(3)\n"
        "else:\n"
        "    print(json.dumps({'surprise': 'the agent crashed'}))\n"
    )
    ok(cli(repo, env, "run", "--target", "sumtarget:SumTarget", "--agent", "command", "--agent-cmd",
           f"{sys.executable} {agent}", "--max-iterations", "1", "--json"))
    return repo, env


def test_replay_of_an_agent_failure(tmp_path):
    """An IMPLEMENT the agent crashed on (nothing edited) was recorded as a failed attempt: nothing was
    tested then and nothing is re-run now, and the row says so instead of claiming an agreement."""
    repo, env = _run_with_an_agent_crashing_at_implement(tmp_path)
    out = ok(cli(repo, env, "replay", "optim/sum", "--json"))
    (row,) = out["rows"]
    assert out["ok"] and row["verdict_matches"] is None and row["replayed_verdict"] == "not re-run"
    assert row["recorded_verdict"] == "agent-failed" and "exit" in row["agent_failure"]
    text = cli(repo, env, "replay", "optim/sum")
    assert text.returncode == 0 and "not re-run" in text.stdout and "Traceback" not in text.stderr


def test_replay_re_tests_what_a_crashing_agent_left_behind(tmp_path):
    """An agent that edited the scope and then crashed left a real change: replay re-runs TEST on it."""
    repo, env = _run_with_an_agent_crashing_at_implement(
        tmp_path, "p = pathlib.Path('work.py'); p.write_text(p.read_text() + '\\n# half-done edit\\n')")
    out = ok(cli(repo, env, "replay", "optim/sum", "--json"))
    (row,) = out["rows"]
    # The change was applied and TEST ran on it (a comment: it passes); the crash itself is not re-judged.
    assert out["ok"] and row["replayed_verdict"] == "test-passed" and row["verdict_matches"] is None


def test_table_renders_a_test_that_passes_on_replay():
    """A recorded TEST failure that passes on replay is a mismatch shown in the table (not a crash)."""
    from campaign.review.replay import compare_attempt, format_table

    row = compare_attempt({"iteration": 3, "title": "t", "test_passed": False}, {"test_passed": True})
    assert not row["verdict_matches"] and row["replayed_verdict"] == "test-passed"
    table = format_table({"record": "r", "baseline_reproduced": True, "rows": [row], "renders_identical": {},
                          "environment_differences": [], "ok": False})
    assert "test-passed" in table and "DISAGREES" in table
