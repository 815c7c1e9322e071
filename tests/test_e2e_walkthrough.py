"""End to end, as a new user would: a throwaway repo, campaign.toml, the real CLI in a subprocess.

init -> profile -> think -> plan -> (a real algorithmic speedup) -> try -> log (kept, committed)
-> decide -> profile -> think -> plan -> (a change that breaks correctness) -> try (TEST fails)
-> log (reverted, diff kept) -> decide -> finish (tags + merge).
"""

from __future__ import annotations

import json
import re
import tarfile


from loop_fixtures import PRIMES, SIEVE, campaign, finished_record, git, make_repo

FIELDS = ("Target", "Optimization", "Bottleneck", "Prediction", "Result", "Performance", "Correctness",
          "Commit", "Surprise", "Notes")


def ok(result, *, code: int = 0) -> dict:
    assert result.returncode == code, f"exit {result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    assert "Traceback" not in result.stderr
    return json.loads(result.stdout) if result.stdout.lstrip().startswith("{") else {}


def test_walkthrough(tmp_path):
    repo = make_repo(tmp_path / "primes-repo")
    c = lambda *args: campaign(repo, *args)  # noqa: E731

    targets = ok(c("targets", "--json"))
    assert targets["toml"]["ok"] and targets["toml"]["name"] == "primes"

    ok(c("init", "--target", "campaign.toml", "--goal-speedup", "1000", "--max-iterations", "2", "--json"))
    record = repo / "optim" / "primes"
    assert git(repo, "rev-parse", "--abbrev-ref", "HEAD") == "optimization/primes"
    assert git(repo, "tag") == ""  # campaign's marks are refs, never tags (git describe, setuptools-scm)
    assert "refs/campaign/primes/pre-optimization" in git(repo, "for-each-ref", "refs/campaign")
    assert (record / "baseline.json").exists()
    with tarfile.open(record / "baseline_snapshot.tar.gz") as tar:
        assert tar.extractfile("primes.py").read().decode() == PRIMES
    assert "AGENTS.md" in git(repo, "ls-files") and "campaign status" in (repo / "AGENTS.md").read_text()
    assert git(repo, "status", "--porcelain", "--", ".", ":!optim") == ""  # the record moves on between commits
    assert ok(c("status", "--json"))["step"] == "profile"

    # -- iteration 1: a real algorithmic speedup, kept -----------------------------------------
    prof = ok(c("profile", "--json"))
    assert prof["shares"]["count"] > 0.5
    ok(c("think", "--hypothesis", "trial division costs O(n sqrt n) in count_primes",
         "--option", "sieve of Eratosthenes: O(n log log n), a bytearray of n",
         "--option", "skip even divisors: ~2x, trivial", "--chosen", "sieve: the profile says count dominates",
         "--predict", "20x", "--risk", "memory at full scale", "--json"))
    refused = c("plan", "--phase", "setup", "--change", "cache the range")
    assert refused.returncode == 1 and "Amdahl" in refused.stderr  # a phase under 5% needs a reason
    planned = ok(c("plan", "--phase", "count", "--change", "sieve of Eratosthenes", "--bottleneck",
                   "count_primes inner loop", "--json"))
    assert any("Amdahl" in w for w in planned["warnings"])  # count alone cannot reach 1000x: warned, not refused
    (repo / "primes.py").write_text(SIEVE)
    tried = ok(c("try", "--json"))
    assert tried["test"]["passed"] and tried["benchmark"]["verdict"] == "faster"
    assert tried["benchmark"]["speedup"] > 3 and tried["benchmark"]["vs_baseline"]["speedup"] > 3
    logged = ok(c("log", "--surprise", "The sieve beat the prediction by a wide margin",
                  "--notes", "setup (list building) is next", "--why", "the sieve inner loop runs in C",
                  "--lesson", "slice assignment on a bytearray is nearly free", "--json"))
    assert logged["kept"] is True
    assert git(repo, "status", "--porcelain") == ""  # the record's own commit on top (loop/record_commits.py)
    assert git(repo, "log", "-1", "--format=%s") == "campaign primes: the record of iter 1 (kept)"
    head = git(repo, "log", "-1", "--format=%s", logged["commit"])
    assert head.startswith("campaign primes iter 1: sieve of Eratosthenes (") and re.search(r"x, ([\d.]+% CI |every block )", head)
    assert git(repo, "show", "HEAD:primes.py") == SIEVE.rstrip("\n")
    assert git(repo, "rev-parse", "HEAD~1") == logged["commit"]

    # a crash after the git commit but before its journal event: status explains, decide completes it
    git(repo, "reset", "-q", "--soft", "HEAD~1")  # the crash came before the record's commit too
    journal = record / "journal.jsonl"
    lines = journal.read_bytes().splitlines(keepends=True)
    assert json.loads(lines[-1])["type"] == "commit"
    copy = repo / ".git" / "campaign" / "primes" / "journal.jsonl"  # the journal's protected copy
    assert copy.read_bytes() == journal.read_bytes()
    for path in (journal, copy):  # the crash came before either was written
        path.write_bytes(b"".join(lines[:-1]))
    blob = git(repo, "hash-object", "-w", str(journal))  # nor its blob under refs/campaign/ (loop/journal_ref.py)
    git(repo, "update-ref", "refs/campaign/primes/journal", blob)
    status = ok(c("status", "--json"))
    assert status["step"] == "commit" and "commit" in status["recovery"]
    decided = ok(c("decide", "--json"))
    assert decided["stop"] is False and decided["next"]["step"] == "profile"
    # base, start and its record, iter 1 (the commit was reused) and its record
    assert git(repo, "rev-list", "--count", "HEAD") == "5"

    # -- iteration 2: a change that breaks correctness, reverted ------------------------------------
    ok(c("profile", "--json"))
    ok(c("think", "--hypothesis", "sum() over the bytearray is the rest of count", "--option", "count while sieving",
         "--option", "leave it", "--chosen", "count while sieving", "--predict", "1.2", "--risk", "off-by-one", "--json"))
    ok(c("plan", "--phase", "count", "--change", "count while sieving", "--override-amdahl", "stretch goal", "--json"))
    (repo / "primes.py").write_text(SIEVE.replace("return sum(sieve)", "return sum(sieve) - 1"))
    failed = c("try", "--json")
    assert failed.returncode == 3 and "TEST failed" in failed.stderr and "Traceback" not in failed.stderr
    assert json.loads(failed.stdout)["test"]["passed"] is False
    wrong = c("decide")
    assert wrong.returncode == 2 and "campaign log" in wrong.stderr
    logged = ok(c("log", "--surprise", "Off by one: the fused count dropped a prime", "--json"))
    assert logged["kept"] is False and logged["revert"]["reason"] == "test-failed"
    assert (repo / "primes.py").read_text() == SIEVE  # restored to the last kept commit
    patches = sorted(p.name for p in (record / "patches").iterdir())
    assert patches == ["iter-01-kept.patch", "iter-02-reverted.patch"]
    assert "sum(sieve) - 1" in (record / "patches" / "iter-02-reverted.patch").read_text()
    decided = ok(c("decide", "--json"))
    assert decided["stop"] is True and decided["rule"] == "cap"

    # -- finish -----------------------------------------------------------------------------------
    finished = ok(c("finish", "--json"))
    assert finished["post_tag"] == "campaign/primes/post-optimization" and finished["full"]["speedup"] > 1
    # the headline is measured at FINISH, fast case vs the baseline, never carried over or multiplied (issue 24)
    headline = finished["headline"]
    assert headline["case"] == "fast" and headline["blocks"] >= 1 and headline["stop_reason"]
    assert finished["final_speedup"] == headline["speedup"] and finished["ci"] == headline["ci"]
    assert finished["last_iteration_cumulative"]["speedup"] is not None
    marks = git(repo, "for-each-ref", "--format=%(refname)", "refs/campaign").split()
    assert {"refs/campaign/primes/pre-optimization", "refs/campaign/primes/post-optimization"} <= set(marks)
    assert git(repo, "tag") == ""
    assert git(repo, "rev-parse", "--abbrev-ref", "HEAD") == "main"
    git(repo, "merge-base", "--is-ancestor", "campaign/primes/post-optimization", "main")
    assert (repo / "primes.py").read_text() == SIEVE
    assert not (repo / "AGENTS.md").exists() and not (repo / "SKILL.md").exists()  # the campaign is over
    assert not record.exists() and git(repo, "status", "--porcelain") == ""  # main gets the code change only
    record = finished_record(repo, "primes")  # the record stays in git (refs/campaign/primes/record)
    journal = record / "journal.jsonl"

    opt = (record / "optimization_log.md").read_text()
    for n in (1, 2):
        block = opt.split(f"## Iteration {n}:")[1].split("## Iteration")[0]
        for field in FIELDS:
            assert f"**{field}:**" in block, (n, field)
    assert "Off by one: the fused count dropped a prime" in opt
    assert "**Correctness:** FAIL (reverted)" in opt and "**Correctness:** PASS" in opt
    thinking = (record / "thinking_log.md").read_text()
    assert "### Before Iteration 1" in thinking and "### Before Iteration 2" in thinking
    assert "### Postmortem — Iteration 1" in thinking
    summary = (record / "summary.md").read_text()
    assert "Final speedup:" in summary and "## What dominates now" in summary and "iteration cap" in summary
    assert "Full-scale validation against `campaign/primes/pre-optimization`: outputs of case `full` match" in summary
    assert [e for e in map(json.loads, journal.read_text().splitlines()) if e["type"] == "validate"][0]["data"]["passed"]

    status = ok(c("status", "--json"))
    assert status["finished"] is True and status["step"] == "done"
    before = {p.name: p.read_bytes() for p in record.glob("*.md")}
    assert ok(c("render", "--json"))["changed"] == []
    assert before == {p.name: p.read_bytes() for p in record.glob("*.md")}
    assert git(repo, "status", "--porcelain") == ""


def test_kill_9_during_try_then_status_and_rerun(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    from loop_fixtures import cli_env

    repo = make_repo(tmp_path / "repo")
    c = lambda *args: campaign(repo, *args)  # noqa: E731
    ok(c("init", "--target", "campaign.toml", "--goal-speedup", "2"))
    ok(c("profile"))
    ok(c("think", "--hypothesis", "h", "--option", "sieve", "--chosen", "sieve", "--predict", "5", "--risk", "r"))
    ok(c("plan", "--phase", "count", "--change", "sieve"))
    (repo / "primes.py").write_text(SIEVE)
    journal = repo / "optim" / "primes" / "journal.jsonl"
    # After TEST's run, every workload run blocks until killed: the kill lands mid-BENCHMARK at any load.
    hold = {**cli_env(), "PRIMES_HOLD_AFTER": str(tmp_path / "runs")}
    proc = subprocess.Popen([sys.executable, "-m", "campaign", "try"], cwd=repo, env=hold,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 600
    while len(set((tmp_path / "runs").read_text().split()) if (tmp_path / "runs").exists() else ()) < 2:
        assert proc.poll() is None, "try ended before BENCHMARK could be interrupted"
        if time.monotonic() > deadline:
            os.killpg(proc.pid, signal.SIGKILL)
            raise AssertionError("try did not reach BENCHMARK in 600 s")
        time.sleep(0.05)
    assert b'"type": "test"' in journal.read_bytes()
    os.killpg(proc.pid, signal.SIGKILL)  # campaign and its workload children, mid-BENCHMARK
    proc.wait()
    status = ok(c("status", "--json"))
    assert status["step"] == "try" and "interrupted" in status["recovery"]
    tried = ok(c("try", "--json"))  # simply re-run: the lock died with the killed process
    assert tried["test"]["passed"] and tried["benchmark"]["verdict"] == "faster"
    assert ok(c("status", "--json"))["step"] == "log"


def test_init_interrupted_after_its_first_event_is_resumed(tmp_path, monkeypatch):
    from campaign.loop.journal import Journal
    from campaign.loop.session import init_campaign

    repo = make_repo(tmp_path / "repo")
    base = git(repo, "rev-parse", "HEAD")
    # what a kill -9 right after the init event leaves: the event, no tag, no branch, no baseline
    monkeypatch.setattr("campaign.loop.steps.init.complete_init", lambda ctx, progress=None: None)
    init_campaign(repo, "campaign.toml", goal_speedup=2)
    monkeypatch.undo()
    assert [e["type"] for e in Journal(repo / "optim" / "primes").events()] == ["init"]
    status = ok(campaign(repo, "status", "--json"))
    assert status["step"] == "init" and "--resume" in status["next"]["command"]
    assert campaign(repo, "profile").returncode == 2
    ok(campaign(repo, "init", "--resume"))
    assert ok(campaign(repo, "status", "--json"))["step"] == "profile"
    assert git(repo, "rev-parse", "campaign/primes/pre-optimization^{commit}") == base
    assert git(repo, "rev-parse", "--abbrev-ref", "HEAD") == "optimization/primes"
    assert git(repo, "log", "-1", "--format=%s", "HEAD~1") == "campaign primes: start (baseline recorded)"
    assert git(repo, "log", "-1", "--format=%s") == "campaign primes: the record of the start"
    assert git(repo, "status", "--porcelain") == ""
