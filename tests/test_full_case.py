"""Correctness at scale: FINISH tests the full case's outputs before anything is tagged or merged.

A change that is right on the fast case and wrong on the full one is kept by
its iteration (only the fast case is due), then refused by FINISH: exit code
3, the output named, no tag, no merge, THINK due and the next TEST on the full
case. The real CLI in a subprocess, on a throwaway repository.
"""

from __future__ import annotations

import json

from loop_fixtures import SIEVE, campaign, finished_record, git, make_repo

# right below 16000 (the fast case counts below 15000), one prime too many above (the full case: 18000)
WRONG_AT_SCALE = SIEVE.replace("return sum(sieve)", "return sum(sieve) + (1 if n > 16000 else 0)")


def ok(result, code: int = 0) -> dict:
    assert result.returncode == code, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    assert "Traceback" not in result.stderr
    return json.loads(result.stdout) if result.stdout.lstrip().startswith("{") else {}


def test_a_full_case_that_differs_fails_finish_before_the_merge(tmp_path):
    repo = make_repo(tmp_path / "repo")
    c = lambda *args: campaign(repo, *args)  # noqa: E731
    ok(c("init", "--target", "campaign.toml", "--goal-speedup", "1000", "--max-iterations", "1", "--json"))
    ok(c("profile", "--json"))
    ok(c("think", "--hypothesis", "trial division", "--option", "sieve", "--chosen", "sieve", "--predict", "5",
         "--risk", "bounds", "--json"))
    ok(c("plan", "--phase", "count", "--change", "sieve", "--json"))
    (repo / "primes.py").write_text(WRONG_AT_SCALE)
    tried = ok(c("try", "--json"))
    assert tried["test"]["passed"] and tried["test"]["cases"] == ["fast"]  # the full case was not due
    ok(c("log", "--surprise", "None", "--why", "w", "--lesson", "l", "--keep", "k", "--json"))
    assert ok(c("decide", "--json"))["rule"] == "cap"
    main_before = git(repo, "rev-parse", "main")

    refused = c("finish")
    assert refused.returncode == 3, refused.stderr
    assert "FINISH refused" in refused.stderr and "'count'" in refused.stderr and "'full'" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert "campaign/primes/post-optimization" not in git(repo, "for-each-ref", "--format=%(refname:lstrip=1)", "refs/campaign").split()
    assert git(repo, "rev-parse", "main") == main_before  # nothing merged
    status = ok(c("status", "--json"))
    assert status["step"] == "think" and "FINISH refused" in status["recovery"] and "'count'" in status["recovery"]
    summary = (finished_record(repo, "primes") / "summary.md").read_text()
    assert "Full-scale validation" not in summary and "FAILED at FINISH" in summary

    # the fix: its TEST includes the full case, and FINISH then validates and merges
    ok(c("think", "--hypothesis", "the full case is off by one", "--option", "drop the bias", "--chosen", "drop it",
         "--predict", "1", "--risk", "none", "--json"))
    ok(c("plan", "--phase", "count", "--change", "correct sieve", "--override-amdahl", "a correctness fix", "--json"))
    (repo / "primes.py").write_text(SIEVE)
    tried = json.loads(c("try", "--json").stdout)  # its BENCHMARK verdict does not matter here
    assert tried["test"]["cases"] == ["fast", "full"] and tried["test"]["passed"]
    logged = ok(c("log", "--surprise", "None", "--why", "w", "--lesson", "l", "--keep", "the full case was wrong",
                  "--json"))
    assert logged["kept"] is True  # even if slower than the (wrong) last kept tree
    assert ok(c("decide", "--json"))["stop"] is True
    finished = ok(c("finish", "--json"))
    # the branch ends: the last kept commit, the record's commit after it, the record's finish commit,
    # AGENTS.md/SKILL.md taken off
    assert finished["validation"] == {"case": "full", "commit": git(repo, "rev-parse", "optimization/primes~3"),
                                      "passed": True}
    assert git(repo, "rev-parse", "--abbrev-ref", "HEAD") == "main" and (repo / "primes.py").read_text() == SIEVE
    summary = (finished_record(repo, "primes") / "summary.md").read_text()
    assert "Full-scale validation against `campaign/primes/pre-optimization`: outputs of case `full` match" in summary


def test_the_refusal_names_the_failing_tests_when_the_outputs_match():
    from campaign.loop.steps.finish import full_case_failure

    validation = {"case": "full", "failures": [], "test_command": {
        "cmd": "pytest", "rc": 1, "passed": False, "failed_tests": [{"name": "tests/test_big.py::test_scale", "message": "x"}]}}
    assert full_case_failure(validation) == ("the full case 'full' passed but the test command `pytest` exited 1 "
                                             "(failed: tests/test_big.py::test_scale)")
