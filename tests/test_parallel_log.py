"""What a parallel campaign's logs say about its attempts, and the run summary's cumulative column.

The optimization log (and the HTML report, which embeds it) names each iteration's attempt and lists every
attempt with its outcome (superseded / reverted / kept / dropped), verdict and speedup if measured and its patch.
"""

from __future__ import annotations

from loop_fixtures import finished_record
from parallel_fixtures import FAST_B, WRONG_BUILD, write_parallel_agent
from run_fixtures import FAST, cli, make_sum_repo, ok, run_env, write_target_module


def test_the_optimization_log_lists_every_attempt_with_its_outcome_and_patch(tmp_path):
    lib = write_target_module(tmp_path / "lib")
    repo = make_sum_repo(tmp_path / "repo")
    env = run_env(lib)
    cmd, _calls = write_parallel_agent(tmp_path, [("closed form", 20.0, FAST, 0),
                                                 ("closed form, other names", 10.0, FAST_B, 2),
                                                 ("shorter range", 1.1, WRONG_BUILD, 2)])
    ok(cli(repo, env, "run", "--target", "sumtarget:SumTarget", "--agent", "command", "--agent-cmd", cmd,
           "--parallel", "3", "--goal-speedup", "1000", "--max-iterations", "3", "--json"))
    record = finished_record(repo, "sum")
    log = (record / "optimization_log.md").read_text()
    assert "**Attempt:** a1, kept; patch `attempts/a1.patch`" in log
    assert "**Attempt:** a2, superseded; patch `attempts/a2.patch`" in log
    section = log.split("## Attempts", 1)[1].split("## Decisions", 1)[0]
    lines = [line for line in section.splitlines() if line.startswith("- a")]
    assert len(lines) == 3, section
    assert lines[0].startswith("- a1 (iteration 1): kept; faster ") and "`attempts/a1.patch`" in lines[0]
    assert lines[1].startswith("- a2 (iteration 2): superseded; TEST failed, not measured; patch `attempts/a2.patch`")
    assert lines[2].startswith("- a3 (iteration 3): superseded; TEST failed, not measured; patch `attempts/a3.patch`")
    for line in lines:
        assert (record / line.split("`")[1]).exists()
    ok(cli(repo, env, "report", str(record), "--html", str(tmp_path / "report.html"), "--json"))
    page = (tmp_path / "report.html").read_text()
    assert "a2 (iteration 2): superseded" in page


def _row(n, kept, verdict, speedup, cumulative):
    """A row as ``campaign run``'s result carries it: built by status's ``iteration_row`` from a summary."""
    from campaign.loop.state import IterationSummary
    from campaign.loop.steps.status import iteration_row

    return iteration_row(IterationSummary(
        n=n, title=f"change {n}", phase="p", predicted=None, speedup=speedup, ci=None, ci_level=None, ci_kind=None,
        verdict=verdict, cumulative=cumulative, cumulative_ci=None, test_passed=True, kept=kept, done=kept is not None,
        commit=None, revert_reason=None, surprise=None))


def test_the_run_summary_shows_the_cumulative_only_on_kept_rows():
    """A reverted row's cumulative is the candidate against the baseline, not where the campaign stands: the row
    itself carries none (status's ``iteration_row``), and the summary prints whatever the row carries."""
    from campaign.cli.run_cmds import _summary_text

    rows = [_row(3, True, "significant", 1.4, 1.40), _row(4, False, "inconclusive", 1.03, 1.55),
            _row(5, None, "faster", 1.2, 1.68)]
    assert [r["cumulative"] for r in rows] == [1.40, None, None]
    text = _summary_text({"name": "sumsq", "step": "done", "finished": True, "record": "optim/sumsq",
                          "iterations": rows})
    kept, reverted, open_ = [line for line in text.splitlines() if line.startswith("  iter")]
    assert "(cumulative 1.40x)" in kept
    assert "reverted" in reverted and "cumulative" not in reverted and "1.55" not in reverted
    assert "open" in open_ and "cumulative" not in open_ and "1.68" not in open_


def test_an_attempt_dropped_unmeasured_is_listed_with_why(tmp_path):
    """The goal is reached by a1: a2, never measured, has no iteration, but the log still names it."""
    lib = write_target_module(tmp_path / "lib")
    repo = make_sum_repo(tmp_path / "repo")
    env = run_env(lib)
    cmd, _calls = write_parallel_agent(tmp_path, [("closed form", 20.0, FAST, 0),
                                                 ("closed form, other names", 10.0, FAST_B, 1)])
    ok(cli(repo, env, "run", "--target", "sumtarget:SumTarget", "--agent", "command", "--agent-cmd", cmd,
           "--parallel", "2", "--goal-speedup", "1.5", "--json"))
    log = (finished_record(repo, "sum") / "optimization_log.md").read_text()
    assert log.count("## Iteration ") == 1
    line = next(x for x in log.splitlines() if x.startswith("- a2 "))
    assert line.startswith("- a2 (no iteration): dropped; not measured; patch `attempts/a2.patch` "
                           "(the campaign stopped before it was measured) — closed form, other names"), line
