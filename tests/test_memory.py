"""Memory as a second objective: peak RSS beside time, and LOG's explicit accept beyond the limit.

BENCHMARK keeps each variant's peak RSS (median over its processes); LOG
compares the candidate's with the last kept tree's, records both, and keeps
a change that raises it beyond the limit (default +25%, ``memory_limit`` in
``[measure]``, ``--memory-limit``) only with ``--accept-memory REASON``;
otherwise it is reverted with the reason ``memory``.
"""

from __future__ import annotations

import json

import pytest
from test_cli_loop import _at_log_with_benchmark, run

from campaign.measure import memory


@pytest.fixture
def repo(tmp_path):
    from loop_fixtures import make_repo

    return make_repo(tmp_path / "repo")


def at_log(repo, before_kb, after_kb, verdict="faster", speedup=5.0):
    j = _at_log_with_benchmark(repo, verdict, speedup)
    lines = j.path.read_text().splitlines()
    bench = json.loads(lines[-1])
    bench["data"]["reference"] = {"warm_s": 0.03, "max_rss_kb": before_kb}
    bench["data"]["candidate"] = {"warm_s": 0.006, "max_rss_kb": after_kb}
    j.path.write_text("\n".join(lines[:-1] + [json.dumps(bench, sort_keys=True)]) + "\n")
    return j


def last_log(repo):
    events = [json.loads(line) for line in (repo / "optim/primes/journal.jsonl").read_text().splitlines()]
    return next(e for e in reversed(events) if e["type"] == "log")["data"]


def test_change_and_words():
    bench = {"reference": {"max_rss_kb": 40 * 1024}, "candidate": {"max_rss_kb": 60 * 1024}}
    mem = memory.change(bench)
    assert mem["ratio"] == 1.5 and mem["over_limit"] and mem["limit"] == 0.25
    assert memory.describe(mem) == "peak memory 40.0 MiB -> 60.0 MiB (1.50x, +50%)"
    assert not memory.change(bench, limit=0.6)["over_limit"]
    assert memory.change({"reference": {}, "candidate": {"max_rss_kb": 5}}) is None  # an older record: nothing judged
    assert memory.parse_limit("40%") == 0.4 and memory.parse_limit("0.1") == 0.1
    with pytest.raises(ValueError):
        memory.parse_limit("-5%")


def test_the_benchmark_summary_keeps_the_peak_rss_of_each_variant():
    from campaign.measure.bench_result import _summary_of
    from campaign.measure.workload import WorkloadRun

    runs = [WorkloadRun({}, {}, [0.01], None, None, 0.1, max_rss_kb=kb) for kb in (30_000, 31_000, 90_000)]
    assert _summary_of(runs, [0.01], [{}])["max_rss_kb"] == 31_000  # the median: one bloated process does not decide


def test_a_faster_change_beyond_the_limit_is_reverted_without_an_accept(repo):
    at_log(repo, 40_000, 60_000)
    result = run(repo, "log", "--surprise", "None", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["kept"] is False and data["revert"]["reason"] == "memory"
    assert "+50%" in data["refused"] and "--accept-memory" in data["refused"]
    assert last_log(repo)["memory"]["refused"] is True and last_log(repo)["memory"]["before_kb"] == 40_000


def test_the_text_says_why_it_was_reverted(repo):
    at_log(repo, 40_000, 60_000)
    result = run(repo, "log", "--surprise", "None")
    assert result.exit_code == 0, result.output
    assert "reverted (memory" in result.output and "beyond the limit of +25%" in result.output
    assert "--accept-memory REASON" in result.output


def test_an_explicit_accept_keeps_it_and_is_recorded(repo):
    at_log(repo, 40_000, 60_000)
    result = run(repo, "log", "--surprise", "None", "--accept-memory", "a 20 MB table buys 5x", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["kept"] is True
    mem = last_log(repo)["memory"]
    assert mem["accepted"] == "a 20 MB table buys 5x" and mem["over_limit"] and not mem["refused"]
    assert "Peak memory" in (repo / "optim/primes/optimization_log.md").read_text()


def test_within_the_limit_no_accept_is_needed(repo):
    at_log(repo, 40_000, 48_000)  # +20%
    result = run(repo, "log", "--surprise", "None", "--json")
    assert json.loads(result.output)["kept"] is True
    assert last_log(repo)["memory"] == {"before_kb": 40_000, "after_kb": 48_000, "ratio": 1.2, "limit": 0.25,
                                        "over_limit": False, "accepted": None, "refused": False}


def test_the_limit_comes_from_campaign_toml(repo):
    import subprocess

    toml = repo / "campaign.toml"
    toml.write_text(toml.read_text() + "\n[measure]\nmemory_limit = 0.1\n")
    subprocess.run(["git", "commit", "-q", "--amend", "-a", "--no-edit"], cwd=repo, check=True)  # before the campaign
    at_log(repo, 40_000, 48_000)  # +20%: within the default, beyond 10%
    result = run(repo, "log", "--surprise", "None", "--json")
    assert json.loads(result.output)["revert"]["reason"] == "memory" and last_log(repo)["memory"]["limit"] == 0.1


def test_the_flag_overrides_the_limit(repo):
    at_log(repo, 40_000, 60_000)
    result = run(repo, "log", "--surprise", "None", "--memory-limit", "60%", "--json")
    assert json.loads(result.output)["kept"] is True and last_log(repo)["memory"]["limit"] == 0.6
    bad = run(repo, "log", "--surprise", "None", "--memory-limit", "lots")
    assert bad.exit_code == 64 and "memory limit 'lots' is not a number" in bad.output and "Traceback" not in bad.output


def test_a_reverted_change_is_not_blamed_on_memory(repo):
    at_log(repo, 40_000, 60_000, verdict="same", speedup=1.0)
    result = run(repo, "log", "--surprise", "None", "--why", "w", "--lesson", "l", "--json")
    assert json.loads(result.output)["revert"]["reason"] == "not-faster"


def test_the_agent_is_asked_to_decide_and_an_empty_accept_is_refused():
    from test_adapters import CONTEXT, THINK

    from campaign.agents.prompts import render_prompt
    from campaign.agents.protocol import build_request
    from campaign.agents.runner import log_problem

    mem = {**memory.change({"reference": {"max_rss_kb": 40_960}, "candidate": {"max_rss_kb": 61_440}})}
    result = {"predicted": 2.0, "test_passed": True, "verdict": "faster", "speedup": 2.0, "ci": [1.9, 2.1],
              "vs_baseline": {"speedup": 2.0}, "postmortem_required": False, "postmortem_factor": 1.5,
              "memory": {**mem, "text": memory.describe(mem)}}
    prompt = render_prompt(build_request("log", {**CONTEXT, "plan": {**THINK, "key": None}, "result": result}))
    assert "`accept_memory`: **decide now**: peak memory 40.0 MiB -> 60.0 MiB (1.50x, +50%)" in prompt
    assert "null reverts it" in prompt
    assert log_problem(result, {"surprise": "None", "accept_memory": "  "}).startswith("accept_memory")
    assert log_problem(result, {"surprise": "None", "accept_memory": "worth it"}) is None
    quiet = render_prompt(build_request("log", {**CONTEXT, "plan": {**THINK, "key": None},
                                                "result": {**result, "memory": None}}))
    assert "accept_memory" not in quiet.split("## The step: LOG")[1].split('"surprise"')[0]


def test_mcp_and_the_cli_name_the_same_argument():
    from campaign.agents.mcp_hints import FLAG_ARGUMENTS

    assert FLAG_ARGUMENTS["--accept-memory"] == ("accept_memory", str)


def test_the_review_and_the_report_show_memory_per_change(repo):
    from campaign.review.report import collect, format_text, render_html

    at_log(repo, 40_960, 61_440)
    assert run(repo, "log", "--surprise", "None", "--accept-memory", "a table worth 5x").exit_code == 0
    result = collect(repo / "optim" / "primes")
    assert result["iterations"][0]["memory"]["accepted"] == "a table worth 5x"
    text = format_text(result, width=200)
    assert "peak memory" in text and "40.0 MiB -> 60.0 MiB (+50%, beyond +25%, accepted)" in text
    page = render_html(result)
    cell = page.split('class="num memory"')[1].split("</td>")[0]
    assert "40.0 MiB → 60.0 MiB" in cell and "1.50x (+50%)" in cell and "accepted: a table worth 5x" in cell


def test_a_real_benchmark_records_the_peak_memory_of_both_trees(tmp_path, monkeypatch):
    """Measured by campaign around each process (os.wait4), never reported by the workload."""
    from loop_fixtures import SIEVE, git, make_repo
    from test_benchmark_step import fast_settings, start_commit

    from campaign.loop.steps import benchmark as step
    from campaign.plugins.loading import load_target

    repo = make_repo(tmp_path / "repo")
    base = git(repo, "rev-parse", "HEAD")
    start = start_commit(repo)
    (repo / "primes.py").write_text(SIEVE)
    fast_settings(monkeypatch)
    data = step.benchmark_change(load_target("campaign.toml", repo), repo, start, base, ["fast"], lambda line: None,
                                 exclude=("optim/c1", "AGENTS.md"))
    assert data["candidate"]["max_rss_kb"] > 1000 and data["reference"]["max_rss_kb"] > 1000  # a Python process
    mem = memory.change(data)
    assert mem is not None and 0.2 < mem["ratio"] < 5


def test_the_scripted_playbook_accepts_in_words_that_say_it_is_a_script():
    """The demo's numba kernel raises peak RSS ~5x: the playbook keeps it, and says a script accepted it."""
    from campaign.agents.playbook_agent import playbook_log_answer

    mem = memory.change({"reference": {"max_rss_kb": 36_000}, "candidate": {"max_rss_kb": 176_000}})
    result = {"predicted": 3.0, "test_passed": True, "verdict": "faster", "speedup": 4.0, "ci": [3.5, 4.5],
              "postmortem_required": False, "memory": {**mem, "text": memory.describe(mem)}}
    accept = playbook_log_answer(result)["accept_memory"]
    assert accept.startswith("accepted by the scripted playbook") and "a reviewer must judge it" in accept
    assert playbook_log_answer({**result, "memory": None})["accept_memory"] is None


def test_try_warns_before_log_that_an_accept_is_needed(tmp_path):
    from campaign.cli.try_cmds import memory_note
    from campaign.loop.steps.benchmark import bench_summary

    bench = bench_summary({"reference": {"max_rss_kb": 40_960}, "candidate": {"max_rss_kb": 61_440}})
    note = memory_note(bench, tmp_path)
    assert "beyond the limit of +25%" in note and "LOG reverts it unless you add --accept-memory REASON" in note
    assert memory_note(bench_summary({"reference": {"max_rss_kb": 40_960}, "candidate": {"max_rss_kb": 40_960}}),
                       tmp_path) == "peak memory 40.0 MiB -> 40.0 MiB (1.00x, +0%)\n"
    assert memory_note({}, tmp_path) == ""


def test_the_peak_is_the_workloads_own_not_campaigns():
    """Linux gives an exec'd child at least its parent's peak RSS: a launcher keeps campaign's footprint out.

    The test process holds 200 MiB; a bare child reports it (what the demo's runner did to every variant:
    both trees of two iterations read exactly its 120 MB), the launched one reports its own few MiB, and a
    child that really holds 100 MiB reads at least that.
    """
    import sys
    from pathlib import Path

    from campaign.measure import peak_rss
    from campaign.measure.procs import run_process

    if not peak_rss.supported():
        pytest.skip("posix_spawnp and wait4 are POSIX")
    held = bytearray(200 * 1024 * 1024)
    for i in range(0, len(held), 4096):
        held[i] = 1

    def launched(code):
        cmd, report = peak_rss.wrap([sys.executable, "-c", code])
        result = run_process(cmd, Path("."), 60)
        return result, peak_rss.read(report)

    bare = run_process([sys.executable, "-c", "pass"], Path("."), 60)
    assert bare.max_rss_kb > 200 * 1024  # the parent's peak, not the child's
    result, own = launched("pass")
    assert result.returncode == 0 and own < 60 * 1024
    result, big = launched("b = bytearray(100 * 1024 * 1024)\nfor i in range(0, len(b), 4096): b[i] = 1")
    assert 100 * 1024 < big < 200 * 1024
    result, _ = launched("import sys; sys.exit(3)")
    assert result.returncode == 3  # the launcher exits as the workload did
    del held
