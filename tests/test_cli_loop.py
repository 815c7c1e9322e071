"""Every bad input via the CLI: exit code, one-paragraph message, no traceback, nothing lost."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from campaign.cli import cli
from campaign.loop.journal import Journal
from loop_fixtures import campaign, git, make_repo


def run(repo: Path, *args: str):
    result = CliRunner().invoke(cli, [*args[:1], "--dir", str(repo), *args[1:]], catch_exceptions=False)
    return result


def assert_refused(result, code: int, *needles: str) -> str:
    out = result.output  # click >= 8.2: stdout and stderr together
    assert result.exit_code == code, out
    assert "Traceback" not in out
    message = [line for line in out.splitlines() if line.startswith("error:")]
    assert len(message) == 1, out  # one paragraph
    for needle in needles:
        assert needle in message[0], message[0]
    return message[0]


def snapshot(repo: Path) -> tuple:
    """What must not change when a command is refused: the journal, git refs, the working tree."""
    journals = {str(p): p.read_bytes() for p in sorted((repo / "optim").glob("*/journal.jsonl"))} if (repo / "optim").exists() else {}
    return (journals, git(repo, "show-ref"), git(repo, "status", "--porcelain"), git(repo, "rev-parse", "HEAD"))


@pytest.fixture
def repo(tmp_path):
    return make_repo(tmp_path / "repo")


# -- a campaign crafted at a given step (no measurement needed) ------------------------------------


def crafted(repo: Path, upto: str = "start") -> Journal:
    """A campaign whose journal stops after ``upto``: start | profile | think | plan | failed-test."""
    sha = git(repo, "rev-parse", "HEAD")
    git(repo, "checkout", "-q", "-b", "optimization/primes")
    j = Journal(repo / "optim" / "primes")
    j.append("init", {"name": "primes", "target_spec": "campaign.toml", "target": {"name": "primes"},
                      "goal_speedup": 10.0, "max_iterations": 15, "min_gain": 0.05, "postmortem_factor": 1.5,
                      "start_branch": "main", "branch": "optimization/primes", "pre_tag": "primes/pre-optimization",
                      "base_commit": sha, "workspace": str(repo)})
    j.append("baseline", {"commit": sha, "case": "fast", "outputs": {"count": 3245}, "phases": {"setup": 0.001, "count": 0.03}})
    j.append("commit", {"commit": sha, "message": "start", "patch": None})
    steps = ["profile", "think", "plan", "failed-test"]
    for step in steps[: steps.index(upto) + 1] if upto in steps else []:
        if step == "profile":
            j.append("profile", {"phases": {"setup": 0.001, "count": 0.03}, "shares": {"setup": 0.03, "count": 0.97},
                                 "amdahl": {"setup": 1.03, "count": 33.3}}, 1)
        elif step == "think":
            j.append("think", {"hypothesis": "h", "options": ["a"], "chosen": "c", "predicted_speedup": 5.0, "risk": "r"}, 1)
        elif step == "plan":
            j.append("plan", {"phase": "count", "change": "sieve", "bottleneck": None, "phase_share": 0.97,
                              "amdahl_bound": 33.3, "override": None}, 1)
        else:
            j.append("implement", {"files": ["primes.py"], "patch": "patches/iter-01.patch", "patch_sha256": "0",
                                   "out_of_scope": [], "agent": "cli"}, 1)
            j.append("test", {"passed": False, "failures": [], "test_command": None, "out_of_scope": []}, 1)
    return j


# -- init ------------------------------------------------------------------------------------


def test_init_unknown_target(repo):
    before = snapshot(repo)
    assert_refused(run(repo, "init", "--target", "no_such_target"), 1, "unknown target", "campaign targets")
    assert snapshot(repo) == before and not (repo / "optim").exists()


def test_init_missing_target_flag(repo):
    assert_refused(run(repo, "init"), 1, "--target is required")


def test_init_bad_toml(repo):
    (repo / "campaign.toml").write_text("[target]\nname = \n")
    git(repo, "commit", "-qam", "broken toml")
    before = snapshot(repo)
    assert_refused(run(repo, "init", "--target", "campaign.toml"), 1, "not valid TOML", "Fix campaign.toml")
    assert snapshot(repo) == before


def test_init_toml_missing_key(repo):
    (repo / "campaign.toml").write_text('[target]\nname = "x"\nscope = ["a.py"]\n')
    git(repo, "commit", "-qam", "incomplete toml")
    assert_refused(run(repo, "init", "--target", "campaign.toml"), 1, "missing the required key 'run'")


def test_init_refuses_dirty_tree_and_keeps_the_work(repo):
    (repo / "primes.py").write_text("# my unsaved work\n")
    assert_refused(run(repo, "init", "--target", "campaign.toml"), 1, "uncommitted changes", "primes.py")
    assert (repo / "primes.py").read_text() == "# my unsaved work\n"
    assert not (repo / "optim").exists()


def test_init_bad_goal(repo):
    assert_refused(run(repo, "init", "--target", "campaign.toml", "--goal-speedup", "fast"), 1, "--goal-speedup")


BAD_WORKLOADS = {
    "nonzero": (f"{sys.executable} -c 'import sys; sys.exit(3)'", "exited with code 3"),
    "no-json": ("echo hello", "workload protocol"),
    "nan": (f"{sys.executable} -c 'print(\"{{\\\"outputs\\\": {{}}, \\\"phases\\\": {{\\\"a\\\": NaN}}}}\")'",
            "non-finite time for phase 'a'"),
    "hang": (f"{sys.executable} -c 'import time; time.sleep(600)'", "timed out"),
}


@pytest.mark.parametrize("kind", sorted(BAD_WORKLOADS))
def test_init_with_a_broken_workload(tmp_path, kind):
    command, needle = BAD_WORKLOADS[kind]
    # Only the hang gets a short timeout: a loaded machine may take seconds to start Python.
    repo = make_repo(tmp_path / "repo", run=command, timeout=2 if kind == "hang" else 120)
    before = snapshot(repo)
    assert_refused(run(repo, "init", "--target", "campaign.toml"), 1, needle)
    assert snapshot(repo) == before and not (repo / "optim").exists()


# -- wrong steps and rules ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "upto,args,due",
    [
        ("start", ["think", "--hypothesis", "h", "--option", "a", "--chosen", "c", "--predict", "2", "--risk", "r"], "campaign profile"),
        ("start", ["log", "--surprise", "None"], "campaign profile"),
        ("start", ["decide"], "campaign profile"),
        ("start", ["finish"], "campaign profile"),
        ("profile", ["plan", "--phase", "count", "--change", "x"], "campaign think"),
        ("think", ["try"], "--phase count"),
        ("plan", ["log", "--surprise", "None"], "campaign try"),
        ("failed-test", ["decide"], "campaign log"),
        ("failed-test", ["profile"], "campaign log"),
    ],
)
def test_wrong_step_exits_2_with_the_due_command(repo, upto, args, due):
    crafted(repo, upto)
    if upto == "start":  # as init leaves it: the record in a commit of its own (loop/record_commits.py); else the
        git(repo, "add", "optim/primes")  # next command, even a refused one, makes that commit first
        git(repo, "commit", "-qm", "campaign primes: the record of the start")
    before = snapshot(repo)
    assert_refused(run(repo, *args), 2, "may not come next", due)
    assert snapshot(repo) == before


def test_non_numeric_prediction_refused(repo):
    crafted(repo, "profile")
    before = snapshot(repo)
    base = ["think", "--hypothesis", "h", "--option", "a", "--chosen", "c", "--risk", "r"]
    assert_refused(run(repo, *base, "--predict", "much faster"), 1, "not a number")
    assert_refused(run(repo, *base), 1, "--predict is required")
    assert_refused(run(repo, *base, "--predict", "-2"), 1, "not a number")
    assert snapshot(repo) == before
    ok = run(repo, *base, "--predict", "1.5x", "--json")
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.output)["predicted_speedup"] == 1.5


def test_plan_rules(repo):
    crafted(repo, "think")
    before = snapshot(repo)
    assert_refused(run(repo, "plan", "--phase", "parse", "--change", "x"), 1, "not measured by the latest profile")
    assert_refused(run(repo, "plan", "--phase", "setup", "--change", "x"), 1, "Amdahl", "--override-amdahl")
    assert_refused(run(repo, "plan", "--phase", "count"), 1, "--change is required")
    assert snapshot(repo) == before
    ok = run(repo, "plan", "--phase", "setup", "--change", "x", "--override-amdahl", "setup is what I can change", "--json")
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.output)["override"] == "setup is what I can change"


def test_log_needs_a_surprise(repo):
    crafted(repo, "failed-test")
    before = snapshot(repo)
    assert_refused(run(repo, "log"), 1, "--surprise is required")
    assert_refused(run(repo, "log", "--surprise", "   "), 1, "--surprise is required")
    assert_refused(run(repo, "log", "--surprise", "x", "--keep", "I like it"), 1, "never kept")
    assert snapshot(repo) == before


def test_skip_needs_three_failures(repo):
    crafted(repo, "profile")
    assert_refused(run(repo, "skip", "--why", "stuck"), 1, "3 failed attempts")


def test_status_json_names_the_step_and_command(repo):
    crafted(repo, "profile")
    result = run(repo, "status", "--json")
    assert result.exit_code == 0
    data = json.loads(result.output)
    assert data["step"] == "think" and data["next"]["command"].startswith("campaign think")
    assert data["iteration"] == 0 and data["finished"] is False


def test_status_reports_a_torn_line_and_the_next_append_moves_it(repo):
    j = crafted(repo, "profile")
    with open(j.path, "ab") as fh:
        fh.write(b'{"schema": 1, "seq": 5, "type": "thi')
    result = run(repo, "status", "--json")
    assert result.exit_code == 0
    warnings = json.loads(result.output)["warnings"]
    assert any("line 5 is torn" in w for w in warnings)
    ok = run(repo, "think", "--hypothesis", "h", "--option", "a", "--chosen", "c", "--predict", "2", "--risk", "r")
    assert ok.exit_code == 0, ok.output
    assert (j.record_dir / "journal.jsonl.torn-5").read_bytes() == b'{"schema": 1, "seq": 5, "type": "thi'
    assert [e["seq"] for e in j.events()] == [1, 2, 3, 4, 5]


def test_newer_schema_refused(repo):
    j = crafted(repo)
    with open(j.path, "a") as fh:
        fh.write(json.dumps({"schema": 99, "seq": 4, "ts": "x", "type": "profile", "iteration": 1, "data": {}}) + "\n")
    assert_refused(run(repo, "status"), 1, "newer campaign")


def test_corrupt_middle_line_named(repo):
    j = crafted(repo, "profile")
    lines = j.path.read_bytes().split(b"\n")
    lines[1] = b"{oops"
    j.path.write_bytes(b"\n".join(lines))
    assert_refused(run(repo, "status"), 1, "line 2 is corrupt")


def test_no_campaign(repo):
    assert_refused(run(repo, "status"), 1, "no campaign", "campaign init")


def test_second_command_waits_then_names_the_running_one(repo):
    crafted(repo, "profile")
    holder = textwrap.dedent(
        f"""
        import time
        from campaign.loop.journal import CampaignLock
        lock = CampaignLock({str(repo / '.git' / 'campaign' / 'primes')!r}, argv=["campaign", "try", "--full"])
        lock.acquire()
        print("locked", flush=True)
        time.sleep(30)
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", holder], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "locked"
        before = snapshot(repo)
        result = campaign(repo, "think", "--hypothesis", "h", "--option", "a", "--chosen", "c", "--predict", "2", "--risk", "r")
        assert result.returncode == 1 and "Traceback" not in result.stderr
        assert "campaign try --full" in result.stderr and str(proc.pid) in result.stderr
        assert snapshot(repo) == before
        status = campaign(repo, "status", "--json")  # status reads without the lock
        assert status.returncode == 0 and json.loads(status.stdout)["running"]["pid"] == proc.pid
    finally:
        proc.kill()
        proc.wait()


def test_json_errors_are_json(repo):
    crafted(repo)
    result = campaign(repo, "decide", "--json")
    assert result.returncode == 2
    data = json.loads(result.stdout)
    assert data["ok"] is False and data["due"] == "profile" and data["command"] == "campaign profile"
    assert data["code"] == "step_out_of_order" and "campaign profile" in data["message"] and data["schema_version"] == 1


# -- LOG outcomes, skip and exhausted on crafted journals (no measurement needed) ----------------------


def _attempt(j: Journal, n: int, phase: str = "count", passed: bool = False, kept: bool | None = None) -> None:
    """Append one whole iteration (think .. revert/commit, decide)."""
    j.append("think", {"hypothesis": "h", "options": ["a"], "chosen": "c", "predicted_speedup": 2.0, "risk": "r"}, n)
    j.append("plan", {"phase": phase, "change": f"attempt {n}", "bottleneck": None, "phase_share": 0.97,
                      "amdahl_bound": 33.3, "override": None}, n)
    j.append("implement", {"files": ["primes.py"], "patch": f"patches/iter-{n:02d}.patch", "patch_sha256": "0",
                           "out_of_scope": [], "agent": "cli"}, n)
    j.append("test", {"passed": passed, "failures": [], "test_command": None, "out_of_scope": []}, n)
    j.append("log", {"surprise": "s", "notes": None, "postmortem": None, "kept": bool(kept), "keep_reason": None}, n)
    j.append("revert", {"to_commit": "x", "reason": "test-failed", "patch": None}, n)
    j.append("decide", {"stop": False, "rule": "none", "reason": "go on", "exhausted": False}, n)


def test_out_of_scope_edit_fails_test_and_is_reverted(repo):
    crafted(repo, "plan")
    (repo / "bench.py").write_text("print('tampered')\n")
    (repo / "notes.txt").write_text("new file outside the scope\n")
    result = run(repo, "try", "--json")
    assert result.exit_code == 3  # ExitCode.TEST_FAILED
    data = json.loads(result.stdout)  # progress and the error line go to stderr
    assert data["ok"] is False and data["code"] == "test_failed"
    assert data["test"]["passed"] is False and data["test"]["out_of_scope"] == ["bench.py", "notes.txt"]
    logged = run(repo, "log", "--surprise", "I edited the harness", "--json")
    assert logged.exit_code == 0, logged.output
    assert json.loads(logged.output)["revert"]["reason"] == "out-of-scope"
    assert "tampered" not in (repo / "bench.py").read_text() and not (repo / "notes.txt").exists()
    patch = repo / "optim" / "primes" / "patches" / "iter-01-reverted.patch"
    assert "tampered" in patch.read_text()
    assert git(repo, "status", "--porcelain", "--", ".", ":!optim") == ""


def _at_log_with_benchmark(repo: Path, verdict: str, speedup: float) -> Journal:
    from campaign import vcs

    j = crafted(repo, "plan")
    (repo / "primes.py").write_text((repo / "primes.py").read_text() + "\n# faster, maybe\n")
    r = vcs.open_repo(repo)
    sha = vcs.write_patch(r, ["primes.py"], j.record_dir / "patches" / "iter-01.patch")
    j.append("implement", {"files": ["primes.py"], "patch": "patches/iter-01.patch", "patch_sha256": sha,
                           "out_of_scope": [], "agent": "cli"}, 1)
    j.append("test", {"passed": True, "failures": [], "test_command": None, "out_of_scope": []}, 1)
    j.append("benchmark", {"case": "fast", "verdict": verdict, "speedup": speedup, "ci": [speedup - 0.02, speedup + 0.02],
                           "vs_baseline": {"speedup": speedup, "ci": [speedup - 0.02, speedup + 0.02]},
                           "cumulative_speedup": speedup, "candidate": {}, "reference": {}, "full": None}, 1)
    return j


def test_inconclusive_is_kept_only_with_a_reason_and_postmortem(repo):
    _at_log_with_benchmark(repo, "inconclusive", 1.01)
    before = snapshot(repo)
    # predicted 5x, measured 1.01x: a postmortem is due
    assert_refused(run(repo, "log", "--surprise", "tiny", "--keep", "cleaner code"), 1, "postmortem is required", "--why")
    assert snapshot(repo) == before
    result = run(repo, "log", "--surprise", "tiny", "--keep", "cleaner code", "--why", "memory bound",
                 "--lesson", "profile memory", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["kept"] is True and data["commit"]
    assert git(repo, "log", "-1", "--format=%s", data["commit"]).startswith("campaign primes iter 1: sieve (1.01x, interval 0.99-1.03)")  # no level recorded: not called a CI
    assert (repo / "optim" / "primes" / "patches" / "iter-01-kept.patch").exists()


def test_same_without_keep_is_reverted(repo):
    _at_log_with_benchmark(repo, "same", 1.0)
    result = run(repo, "log", "--surprise", "None", "--why", "w", "--lesson", "l", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["revert"]["reason"] == "not-faster"
    assert "# faster, maybe" not in (repo / "primes.py").read_text()


def test_slower_can_never_be_kept(repo):
    _at_log_with_benchmark(repo, "slower", 0.8)
    assert_refused(run(repo, "log", "--surprise", "x", "--why", "w", "--lesson", "l", "--keep", "pls"), 1, "never kept")


def test_kept_change_must_be_the_tested_one(repo):
    _at_log_with_benchmark(repo, "faster", 4.0)
    (repo / "primes.py").write_text("# edited after try\n")
    assert_refused(run(repo, "log", "--surprise", "None"), 1, "changed since `campaign try`")


def test_skip_after_three_failures_then_decide(repo):
    j = crafted(repo, "profile")
    for n in (1, 2, 3):
        _attempt(j, n)
    before = snapshot(repo)
    assert_refused(run(repo, "skip"), 1, "--why is required")
    assert snapshot(repo) == before
    result = run(repo, "skip", "--why", "three approaches broke the count", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["bottleneck"] == "count" and data["failed_attempts"] == 3 and data["next"]["step"] == "decide"
    decided = json.loads(run(repo, "decide", "--json").output)
    assert decided["stop"] is True and decided["rule"] == "diminishing"


def test_decide_exhausted(repo):
    j = crafted(repo, "profile")
    _attempt(j, 1)
    lines = j.path.read_bytes().splitlines(keepends=True)
    j.path.write_bytes(b"".join(lines[:-1]))  # drop the decide: DECIDE is due
    assert_refused(run(repo, "decide", "--exhausted"), 1, "--why is required")
    result = run(repo, "decide", "--exhausted", "--why", "nothing left to try on count", "--json")
    data = json.loads(result.output)
    # count is the only phase above 5%: exhausting it stops the campaign
    assert data["stop"] is True and data["rule"] == "exhausted" and data["phase"] == "count"


def test_try_refuses_a_hand_made_commit_and_another_branch(repo):
    crafted(repo, "plan")
    (repo / "primes.py").write_text("# mine\n")
    git(repo, "commit", "-qam", "my own commit")
    before = snapshot(repo)
    assert_refused(run(repo, "try"), 1, "that no campaign step made", "my own commit", "git reset --soft")
    assert snapshot(repo) == before
    git(repo, "checkout", "-q", "main")
    assert_refused(run(repo, "try"), 1, "not on the campaign branch", "git switch optimization/primes")


def test_decide_stop_between_iterations_is_recorded_and_rendered(repo):
    j = crafted(repo, "profile")  # THINK is due: a plain `decide` is refused, `--stop` is not
    before = snapshot(repo)
    assert_refused(run(repo, "decide"), 2, "--stop --why T")
    assert_refused(run(repo, "decide", "--stop"), 1, "--why is required")
    assert_refused(run(repo, "decide", "--stop", "--exhausted", "--why", "x"), 1, "two decisions")
    assert snapshot(repo) == before
    result = run(repo, "decide", "--stop", "--why", "out of time: the release is tomorrow", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["stop"] is True and data["rule"] == "declared" and data["next"]["step"] == "finish"
    assert j.events()[-1]["data"]["why"] == "out of time: the release is tomorrow"
    record = repo / "optim" / "primes"
    summary = (record / "summary.md").read_text()
    stopping = summary.split("## Stopping reason")[1]
    assert "stopped by decision: out of time: the release is tomorrow" in stopping
    assert "Stopped by decision (before the first iteration): out of time" in (record / "optimization_log.md").read_text()


def test_every_exhausted_why_is_rendered(repo):
    j = crafted(repo, "profile")
    j.append("profile", {"phases": {"setup": 0.01, "count": 0.03}, "shares": {"setup": 0.25, "count": 0.75},
                         "amdahl": {"setup": 1.3, "count": 4.0}}, 1)
    assert run(repo, "decide", "--exhausted", "--why", "the sieve is as good as it gets", "--phase", "count").exit_code == 0
    result = run(repo, "decide", "--exhausted", "--why", "range() is already C", "--phase", "setup", "--json")
    assert json.loads(result.output)["rule"] == "exhausted"
    record = repo / "optim" / "primes"
    for name in ("summary.md", "optimization_log.md"):
        text = (record / name).read_text()
        assert "Phase `count` declared exhausted (before the first iteration): the sieve is as good as it gets" in text
        assert "Phase `setup` declared exhausted (before the first iteration): range() is already C" in text


def test_finish_refuses_edits_no_iteration_tested(repo):
    j = crafted(repo, "profile")
    j.append("decide", {"stop": True, "rule": "declared", "reason": "r", "exhausted": False, "phase": None,
                        "why": "w", "cumulative_speedup": None})
    (repo / "primes.py").write_text("# an untested edit\n")
    before = snapshot(repo)
    assert_refused(run(repo, "finish"), 1, "uncommitted changes", "primes.py", "git stash push -u")
    assert snapshot(repo) == before
